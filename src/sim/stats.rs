//! Request counters, so tests can tell how many calls reached the "upstream" and which:
//! API calls (`/v2/...`) and, apart from them, files served by the file host
//! (`/__sim/files/...`), which count against no rate limit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SimStats {
    /// Every request to `/v2/...` (control endpoints excluded).
    pub total: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Per path without `/v2`.
    pub by_path: BTreeMap<String, u64>,
    /// Per path + raw query as received, minus `pagination_key`.
    pub by_request: BTreeMap<String, u64>,
    /// Files served (200) by the file host, in total; not part of `total`.
    #[serde(default)]
    pub file_downloads: u64,
    /// Files served, per key.
    #[serde(default)]
    pub downloads_by_key: BTreeMap<String, u64>,
}

impl SimStats {
    pub fn count(&mut self, path: &str, raw_query: Option<&str>) {
        self.total += 1;
        *self.by_path.entry(path.to_string()).or_default() += 1;
        *self
            .by_request
            .entry(request_key(path, raw_query))
            .or_default() += 1;
    }

    /// One file served by the file host.
    pub fn count_download(&mut self, key: &str) {
        self.file_downloads += 1;
        *self.downloads_by_key.entry(key.to_string()).or_default() += 1;
    }
}

/// `path?query` with any `pagination_key` pair removed, the rest as received.
pub fn request_key(path: &str, raw_query: Option<&str>) -> String {
    let q: Vec<&str> = raw_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("pagination_key="))
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_key_is_not_part_of_the_request() {
        assert_eq!(
            request_key("/x", Some("code=7203&pagination_key=abc")),
            "/x?code=7203"
        );
        assert_eq!(request_key("/x", Some("pagination_key=abc")), "/x");
        assert_eq!(request_key("/x", None), "/x");
    }
}
