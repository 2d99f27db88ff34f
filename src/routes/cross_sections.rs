//! The date cross-sections of the market-wide margin routes, reduced once to the few typed
//! fields the computation reads ([`Digest`]) and kept in a bounded in-process memo keyed by
//! the request (path and query), with the cached answer's ETag and freshness.
//!
//! Invariants: a digest is served without consulting the cache only while the answer it was
//! made from is fresh by the cache's own rule (`fresh_until`); after that the cache is asked,
//! and the digest is kept when the ETag is unchanged (same body) and rebuilt otherwise. So the
//! memo never serves data the cache would not, and a warm request parses no JSON. Because the
//! memo outlives the cache's copy of an answer, a whole-market answer the cache evicted is not
//! fetched again while its digest is fresh: the page works within the default cache size.
//! (So an admin purge does not reach a digest before its `fresh_until` either.)

use std::sync::{Arc, OnceLock, Weak};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use super::AppState;
use crate::cache::{Cache, Entry};
use crate::catalog;
use crate::derived::cross_section::DayBars;
use crate::derived::margin::{self, MarginInterest};
use crate::derived::market_cap::{Bar, Calendar, Statement, TradingDay};
use crate::derived::{Row, values};
use crate::error::{ApiError, ApiResult};
use crate::request::CanonicalRequest;

/// Cross-sections fetched at once.
const CONCURRENCY: usize = 8;

/// What the computation keeps of one cached answer.
pub enum Digest {
    Calendar(Calendar),
    Bars(DayBars),
    /// One row per code (the later-published one when a date has two).
    Margin(Vec<MarginInterest>),
    /// (code, statement) of the filings with a share count.
    Fins(Vec<(String, Statement)>),
    /// (code, `Mkt`).
    Master(Vec<(String, String)>),
}

impl Digest {
    fn weight(&self) -> u32 {
        let n = match self {
            Digest::Calendar(_) => 1,
            Digest::Bars(v) => v.closes.len(),
            Digest::Margin(v) => v.len(),
            Digest::Fins(v) => v.len(),
            Digest::Master(v) => v.len(),
        };
        u32::try_from(n).unwrap_or(u32::MAX).max(1)
    }

    fn build(path: &str, rows: &[Row]) -> Result<Digest, crate::derived::DerivedError> {
        Ok(match path {
            "/markets/calendar" => Digest::Calendar(Calendar::new(
                &rows
                    .iter()
                    .map(TradingDay::from_row)
                    .collect::<Result<Vec<_>, _>>()?,
            )),
            "/equities/bars/daily" => Digest::Bars(DayBars::new(
                &rows
                    .iter()
                    .map(Bar::from_row)
                    .collect::<Result<Vec<_>, _>>()?,
            )),
            "/markets/margin-interest" => {
                let all: Vec<MarginInterest> = rows
                    .iter()
                    .map(MarginInterest::from_row)
                    .collect::<Result<_, _>>()?;
                Digest::Margin(margin::dedup(&all).into_iter().cloned().collect())
            }
            "/fins/summary" => {
                let mut v = Vec::new();
                for r in rows {
                    let s = Statement::from_row(r)?;
                    if s.sh_out.is_some_and(|n| n > 0.0) {
                        v.push((values::text(values::get(r, "Code")).unwrap_or_default(), s));
                    }
                }
                Digest::Fins(v)
            }
            _ => Digest::Master(
                rows.iter()
                    .map(|r| {
                        let t = |k| values::text(values::get(r, k)).unwrap_or_default();
                        (t("Code"), t("Mkt"))
                    })
                    .collect(),
            ),
        })
    }
}

/// One memoised digest: the answer's ETag, and until when the cache holds that answer fresh.
struct Held {
    /// The cache the answer came from. Holding it keeps that cache's address allocated, so
    /// the address in the memo key names one cache for as long as the entry lives.
    _owner: Weak<Cache>,
    digest: Arc<Digest>,
    etag: String,
    fresh_until: DateTime<Utc>,
}

/// (address of the app's [`Cache`], canonical request key).
type Key = (usize, String);
type Memo = moka::future::Cache<Key, Arc<Held>>;

/// Process-wide and bounded; keyed per cache, so apps in one process (tests, each with its
/// own upstream) never see each other's digests.
fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(|| {
        moka::future::Cache::builder()
            // Rows kept: ~ a year and a half of daily cross-sections of ~4,000 issues.
            .max_capacity(3_000_000)
            .weigher(|_, h: &Arc<Held>| h.digest.weight())
            .build()
    })
}

/// One cross-section as a digest: from the memo while fresh, else through the cache.
pub async fn digest(st: &AppState, path: &'static str, query: String) -> ApiResult<Arc<Digest>> {
    let ep = catalog::find(path)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("{path} not in catalog")))?;
    let req = st.admit(ep, Some(&query))?.request;
    let key = (Arc::as_ptr(&st.cache) as usize, req.key());
    let held = memo().get(&key).await;
    if let Some(h) = &held
        && st.cache.clock().now() < h.fresh_until
    {
        return Ok(h.digest.clone());
    }
    let entry = answer(st, &req).await?;
    let digest = match held {
        Some(h) if h.etag == entry.etag => h.digest.clone(),
        _ => Arc::new(parse(path, &entry.merged.rows)?),
    };
    let held = Held {
        _owner: Arc::downgrade(&st.cache),
        digest: digest.clone(),
        etag: entry.etag.clone(),
        fresh_until: entry.fresh_until,
    };
    memo().insert(key, Arc::new(held)).await;
    Ok(digest)
}

/// How often one cross-section is asked again after the cache's bounded wait ran out.
const MAX_REWAITS: u32 = 60;

/// The cached answer to `req`. A market query needs every one of its cross-sections, so when
/// the cache's bounded wait runs out (429 for a plain client) it asks again after the
/// suggested pause: the fetch kept its place and runs on, so asking again joins it and costs
/// no upstream call. Meanwhile the other cross-sections keep loading, rather than the whole
/// query failing and a retry starting over.
async fn answer(st: &AppState, req: &CanonicalRequest) -> ApiResult<Arc<Entry>> {
    let mut rewaits = 0;
    loop {
        match st.cache.get(req).await {
            Ok(served) => return Ok(served.entry),
            Err(ApiError::QueueWait { retry_after }) if rewaits < MAX_REWAITS => {
                rewaits += 1;
                tokio::time::sleep(std::time::Duration::from_secs(retry_after.clamp(1, 5))).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn parse(path: &str, raw: &[bytes::Bytes]) -> ApiResult<Digest> {
    let rows: Vec<Row> = raw
        .iter()
        .map(|r| serde_json::from_slice::<Row>(r))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("row of {path}: {e}")))?;
    Digest::build(path, &rows).map_err(|e| ApiError::Internal(anyhow::anyhow!("{path}: {e}")))
}

/// The digests of `path` for each query, in order, [`CONCURRENCY`] at a time.
pub async fn fetch_all(
    st: &AppState,
    path: &'static str,
    queries: impl Iterator<Item = String>,
) -> ApiResult<Vec<Arc<Digest>>> {
    futures::stream::iter(queries.map(|q| digest(st, path, q)))
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}
