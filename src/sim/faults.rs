//! Injected faults, set over `POST /__sim/faults` or [`super::SimHandle::set_faults`]:
//! extra latency, error statuses (the next N requests or a deterministic rate), dropped
//! connections and a full outage, optionally scoped to a path prefix.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every matching response.
    pub latency_ms: Option<u64>,
    /// Status for injected errors (default 500).
    pub error_status: Option<u16>,
    /// The next N matching requests fail with `error_status`.
    pub error_count: Option<u64>,
    /// Fraction 0..1 of matching requests that fail, spread evenly by a counter.
    pub error_rate: Option<f64>,
    /// The next N matching requests have their connection dropped mid-response.
    pub drop_connections: Option<u64>,
    /// Every matching request fails with 503 until cleared.
    pub outage: bool,
    /// Only requests whose path (without `/v2`) starts with this are affected.
    pub path_prefix: Option<String>,
    /// The next N bulk file downloads stop halfway (a truncated gzip stream).
    pub truncate_files: Option<u64>,
    /// Bulk files are written without this column (header and values).
    pub drop_column: Option<String>,
}

impl Faults {
    /// The next `count` requests fail with `status`; nothing else is injected.
    pub fn errors(status: u16, count: u64) -> Self {
        Faults {
            error_status: Some(status),
            error_count: Some(count),
            ..Faults::default()
        }
    }
}

#[derive(Debug, PartialEq)]
pub enum Action {
    None,
    Error(u16),
    Drop,
}

/// Faults plus the counters that make them deterministic.
#[derive(Debug, Default)]
pub struct FaultState {
    pub faults: Faults,
    seen: u64,
}

impl FaultState {
    pub fn set(&mut self, f: Faults) {
        self.faults = f;
        self.seen = 0;
    }

    fn matches(&self, path: &str) -> bool {
        self.faults
            .path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
    }

    pub fn latency_ms(&self, path: &str) -> u64 {
        if self.matches(path) {
            self.faults.latency_ms.unwrap_or(0)
        } else {
            0
        }
    }

    /// Whether the next bulk file download is cut short (counting it down).
    pub fn take_truncation(&mut self) -> bool {
        match self.faults.truncate_files.filter(|n| *n > 0) {
            Some(n) => {
                self.faults.truncate_files = Some(n - 1);
                true
            }
            None => false,
        }
    }

    /// What to do with the next request to `path`.
    pub fn next(&mut self, path: &str) -> Action {
        if !self.matches(path) {
            return Action::None;
        }
        if self.faults.outage {
            return Action::Error(503);
        }
        let status = self.faults.error_status.unwrap_or(500);
        if let Some(n) = self.faults.error_count.filter(|n| *n > 0) {
            self.faults.error_count = Some(n - 1);
            return Action::Error(status);
        }
        if let Some(n) = self.faults.drop_connections.filter(|n| *n > 0) {
            self.faults.drop_connections = Some(n - 1);
            return Action::Drop;
        }
        if let Some(rate) = self.faults.error_rate.filter(|r| *r > 0.0) {
            let n = self.seen as f64;
            self.seen += 1;
            if ((n + 1.0) * rate).floor() > (n * rate).floor() {
                return Action::Error(status);
            }
        }
        Action::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_deterministic_and_counts_run_out() {
        let mut s = FaultState::default();
        s.set(Faults {
            error_rate: Some(0.25),
            ..Default::default()
        });
        let n = (0..100).filter(|_| s.next("/x") != Action::None).count();
        assert_eq!(n, 25);
        s.set(Faults {
            error_count: Some(2),
            error_status: Some(502),
            path_prefix: Some("/fins".into()),
            ..Default::default()
        });
        assert_eq!(s.next("/equities/bars/daily"), Action::None);
        assert_eq!(s.next("/fins/summary"), Action::Error(502));
        assert_eq!(s.next("/fins/summary"), Action::Error(502));
        assert_eq!(s.next("/fins/summary"), Action::None);
    }
}
