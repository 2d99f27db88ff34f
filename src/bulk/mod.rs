//! Bulk files for apps without egress: `/v2/bulk/get` answers the upstream's `{"url"}` shape
//! with a link to the proxy itself (`link`), signed and valid for five minutes, and the proxy
//! serves the file from its own copy (`store`), fetched from the upstream's file host once per
//! file version (key + `LastModified` from `/v2/bulk/list`).
//!
//! Invariants:
//! - A file version costs at most one `/bulk/get` call and one download, whatever the number
//!   of apps, replicas and restarts (with Postgres; without it, per replica); a version whose
//!   `LastModified` moved is a new version and is fetched again.
//! - What the proxy cannot place in a listing it holds or can read (an unknown key, a key of
//!   no bulk dataset) goes to the upstream as it is, and its answer is the client's, stored
//!   nowhere.
//! - A truncated or corrupt download is neither stored nor served; the next request retries.

pub mod convert;
pub mod datasets;
pub mod history;
pub mod ingest;
pub mod link;
mod months;
pub mod store;
pub mod trust;
pub mod verify;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use futures::stream::BoxStream;

use crate::cache::Cache;
use crate::catalog;
use crate::error::{ApiError, ApiResult};
use crate::jst::Clock;
use crate::request::CanonicalRequest;
use link::Signer;
use store::{FileStore, Version};

/// The endpoint whose answers are links to the proxy's own copies.
pub const LINKED: &str = "/bulk/get";

/// The bulk tier's settings.
#[derive(Debug, Clone)]
pub struct BulkConfig {
    /// Where files are kept when the proxy has no Postgres: one folder per upstream under it.
    pub dir: std::path::PathBuf,
    /// Bound of the ingested rows held in memory, bytes (Postgres holds them all).
    pub rows_max_bytes: u64,
    /// Whether the derived endpoints and the row store may read ingested files (the plan
    /// permitting). Off: date cross-sections only, as on the Free plan.
    pub ingest: bool,
}

impl Default for BulkConfig {
    fn default() -> Self {
        Self {
            dir: std::env::temp_dir().join("jquants-proxy-bulk"),
            rows_max_bytes: 1024 * 1024 * 1024,
            ingest: true,
        }
    }
}

/// One row of `/bulk/list`.
#[derive(Debug, Clone, serde::Deserialize)]
struct Listed {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "LastModified")]
    last_modified: String,
}

pub use history::{BulkHistory, BulkStats};
pub use months::MonthFile;

pub struct BulkFiles {
    signer: Signer,
    store: FileStore,
    cache: Arc<Cache>,
    http: reqwest::Client,
    clock: Clock,
    downloads: AtomicU64,
}

impl BulkFiles {
    /// `secret_seed`: what every replica shares and nobody else knows (the subscription key).
    pub fn new(cache: Arc<Cache>, secret_seed: &[u8], cfg: &BulkConfig) -> anyhow::Result<Self> {
        let store = match cache.store() {
            Some(s) => FileStore::Postgres(s.pool().clone()),
            None => FileStore::Dir(cfg.dir.clone()),
        };
        Ok(BulkFiles {
            signer: Signer::new(secret_seed),
            store,
            clock: cache.clock().clone(),
            cache,
            // The file host needs no key and gets none; gzip bodies are passed on as they are.
            http: reqwest::Client::builder().no_gzip().build()?,
            downloads: AtomicU64::default(),
        })
    }

    /// Files downloaded from the upstream's file host by this replica.
    pub fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }

    /// The proxy's answer to `/bulk/get` (`{"url": <base>/bulk/files/...}`), or `None` when
    /// the file is not one the proxy can place: then the upstream answers.
    pub async fn link(&self, req: &CanonicalRequest, base: &str) -> ApiResult<Option<String>> {
        let Some(file) = self.listed(req).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let q = self.signer.query(&file.key, &file.last_modified, now);
        let path: String = file
            .key
            .split('/')
            .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
            .collect::<Vec<_>>()
            .join("/");
        let url = format!("{base}/bulk/files/{path}?{q}");
        Ok(Some(serde_json::json!({ "url": url }).to_string()))
    }

    /// The listing row of the file `req` names, from the dataset's `/bulk/list` answer (cached
    /// until the next update, shared by replicas).
    async fn listed(&self, req: &CanonicalRequest) -> ApiResult<Option<Listed>> {
        let endpoint = match (req.get("endpoint"), req.get("key")) {
            (Some(e), _) => catalog::find(e),
            (None, Some(key)) => endpoint_of(key),
            (None, None) => None,
        };
        let Some(ep) = endpoint else {
            return Ok(None);
        };
        let (rows, _) = self.listing(ep.path).await?;
        let month = req.get("date").map(|d| d.replace('-', ""));
        Ok(rows.into_iter().find(|r| match (req.get("key"), &month) {
            (Some(k), _) => r.key == k,
            (None, Some(m)) => r.key.ends_with(&format!("_{m}.csv.gz")),
            (None, None) => false,
        }))
    }

    /// A dataset's `/bulk/list` rows (cached until the next update, shared by replicas), and
    /// until when they are fresh.
    async fn listing(&self, path: &str) -> ApiResult<(Vec<Listed>, DateTime<Utc>)> {
        let req = self.request("/bulk/list", &format!("endpoint={path}"))?;
        let served = self.cache.get(&req).await?;
        let rows = served
            .entry
            .merged
            .rows
            .iter()
            .map(|r| {
                serde_json::from_slice::<Listed>(r)
                    .map_err(|e| internal(format!("/bulk/list: {e}")))
            })
            .collect::<ApiResult<_>>()?;
        Ok((rows, served.entry.fresh_until))
    }

    /// The bytes of a listed file version, from the proxy's copy (downloaded first if need
    /// be, as for an app). Compressed files are small enough to hold whole (a month of daily
    /// bars is a few MB); an app's download is streamed instead (`open`).
    async fn file_bytes(&self, l: &Listed) -> anyhow::Result<Vec<u8>> {
        let v = Version {
            key: &l.key,
            last_modified: &l.last_modified,
        };
        self.store.ensure(&v, || self.download(&l.key)).await?;
        let chunks: Vec<Bytes> = self.store.read(&v).await?.try_collect().await?;
        Ok(chunks.concat())
    }

    fn request(&self, path: &str, query: &str) -> ApiResult<CanonicalRequest> {
        let ep = catalog::find(path).ok_or_else(|| internal(format!("{path} not in catalog")))?;
        let plan = self.cache.upstream().plan();
        let today = crate::jst::today(self.clock.now());
        Ok(crate::request::admit(ep, Some(query), plan, today)?.request)
    }

    /// The file a signed link names, from the proxy's copy, fetched first if need be.
    pub async fn open(
        &self,
        key: &str,
        query: &str,
    ) -> ApiResult<BoxStream<'static, anyhow::Result<Bytes>>> {
        let grant = self.signer.check(key, query, self.clock.now())?;
        let v = Version {
            key: &grant.key,
            last_modified: &grant.version,
        };
        self.store
            .ensure(&v, || self.download(key))
            .await
            .map_err(|e| ApiError::UpstreamUnavailable(format!("bulk file {key}: {e:#}")))?;
        self.store
            .read(&v)
            .await
            .map_err(|e| internal(format!("{e:#}")))
    }

    /// The file's bytes from the upstream's file host, through a fresh presigned URL.
    async fn download(
        &self,
        key: &str,
    ) -> anyhow::Result<impl futures::Stream<Item = anyhow::Result<Bytes>> + Send + use<>> {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("key", key)
            .finish();
        let req = self.request("/bulk/get", &q)?;
        let served = self.cache.get(&req).await?;
        let url: UrlAnswer = serde_json::from_slice(&served.entry.merged.body)?;
        let resp = self.http.get(&url.url).send().await?.error_for_status()?;
        self.downloads.fetch_add(1, Ordering::Relaxed);
        Ok(resp.bytes_stream().map_err(anyhow::Error::from))
    }
}

#[derive(serde::Deserialize)]
struct UrlAnswer {
    url: String,
}

fn internal(msg: String) -> ApiError {
    ApiError::Internal(anyhow::anyhow!(msg))
}

/// The bulk dataset a key belongs to, read from its leading path (`equities/bars/daily/...`):
/// the longest catalog path the key starts with. Only a hint: the key must still appear in
/// that dataset's listing, else the upstream answers.
fn endpoint_of(key: &str) -> Option<&'static catalog::Endpoint> {
    catalog::ENDPOINTS
        .iter()
        .filter(|ep| {
            let p = ep.path.trim_start_matches('/');
            key.starts_with(p) && key[p.len()..].starts_with('/')
        })
        .max_by_key(|ep| ep.path.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_key_names_its_dataset_by_its_leading_path() {
        let ep = super::endpoint_of("equities/bars/daily/historical/2025/x_202501.csv.gz");
        assert_eq!(ep.map(|e| e.path), Some("/equities/bars/daily"));
        let ep = super::endpoint_of("equities/bars/daily/am/x.csv.gz");
        assert_eq!(ep.map(|e| e.path), Some("/equities/bars/daily/am"));
        assert!(super::endpoint_of("nothing/like/a/dataset.csv.gz").is_none());
    }
}
