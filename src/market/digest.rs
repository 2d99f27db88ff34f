//! Whole-market answers (date cross-sections, the calendar, the master) reduced once to the
//! few typed fields the derived computations read ([`Digest`]), and the bounded memo that keeps
//! them per request with the source's version and freshness ([`DigestMemo`]).
//!
//! Invariants: a digest is served without consulting the source only while the answer it was
//! made from is fresh by the source's own rule (`fresh_until`); after that the source is
//! asked, and the digest is kept when the version is unchanged (same body) and rebuilt
//! otherwise. So the memo never serves data the source would not, and a warm request parses
//! no JSON. Because the memo outlives the cache's copy of an answer, a whole-market answer the
//! cache evicted is not fetched again while its digest is fresh: the page works within the
//! default cache size. (So an admin purge does not reach a digest before its `fresh_until`
//! either.)

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::derived::Row;
use crate::derived::cross_section::DayBars;
use crate::derived::margin::{self, MarginInterest};
use crate::derived::market_cap::{Bar, Calendar, Statement, TradingDay};
use crate::derived::values::Fields;
use crate::error::{ApiError, ApiResult};

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

    fn build(path: &str, rows: &[Fields]) -> Result<Digest, crate::derived::DerivedError> {
        Ok(match path {
            "/markets/calendar" => Digest::Calendar(Calendar::new(
                &rows
                    .iter()
                    .map(|r| TradingDay::from_fields(*r))
                    .collect::<Result<Vec<_>, _>>()?,
            )),
            "/equities/bars/daily" => Digest::Bars(DayBars::new(
                &rows
                    .iter()
                    .map(|r| Bar::from_fields(*r))
                    .collect::<Result<Vec<_>, _>>()?,
            )),
            "/markets/margin-interest" => {
                let all: Vec<MarginInterest> = rows
                    .iter()
                    .map(|r| MarginInterest::from_fields(*r))
                    .collect::<Result<_, _>>()?;
                Digest::Margin(margin::dedup(&all).into_iter().cloned().collect())
            }
            "/fins/summary" => {
                let mut v = Vec::new();
                for r in rows {
                    let s = Statement::from_fields(*r)?;
                    if s.sh_out.is_some_and(|n| n > 0.0) {
                        v.push((r.text("Code").unwrap_or_default(), s));
                    }
                }
                Digest::Fins(v)
            }
            _ => Digest::Master(
                rows.iter()
                    .map(|r| {
                        let t = |k| r.text(k).unwrap_or_default();
                        (t("Code"), t("Mkt"))
                    })
                    .collect(),
            ),
        })
    }
}

/// One memoised digest: the answer's version, and until when the source holds that answer
/// fresh.
pub struct Held {
    pub digest: Arc<Digest>,
    pub version: String,
    pub fresh_until: DateTime<Utc>,
}

/// Digests by canonical request key; bounded by the rows they hold.
pub struct DigestMemo(moka::future::Cache<String, Arc<Held>>);

impl Default for DigestMemo {
    fn default() -> Self {
        DigestMemo(
            moka::future::Cache::builder()
                // Rows kept: ~ a year and a half of daily cross-sections of ~4,000 issues.
                .max_capacity(3_000_000)
                .weigher(|_, h: &Arc<Held>| h.digest.weight())
                .build(),
        )
    }
}

impl DigestMemo {
    pub async fn get(&self, key: &str) -> Option<Arc<Held>> {
        self.0.get(key).await
    }

    pub async fn insert(&self, key: String, held: Held) {
        self.0.insert(key, Arc::new(held)).await
    }
}

/// One raw row as read for a digest.
enum Read<'a> {
    /// Flat (every row from the upstream or from files is): its members' raw text.
    Flat(Vec<(&'a str, &'a str)>),
    /// Anything else, parsed whole.
    Parsed(Row),
}

fn read(r: &[u8]) -> Result<Read<'_>, String> {
    let text = std::str::from_utf8(r).map_err(|e| e.to_string())?;
    Ok(match crate::flat_json::members(text) {
        Some(m) => Read::Flat(m),
        None => Read::Parsed(serde_json::from_str(text).map_err(|e| e.to_string())?),
    })
}

/// Parses raw rows of `path` and reduces them to a digest. A flat row is read member by
/// member, and only the values the digest reads are parsed.
pub fn parse(path: &str, raw: &[bytes::Bytes]) -> ApiResult<Digest> {
    let rows: Vec<Read> = raw
        .iter()
        .map(|r| read(r))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("row of {path}: {e}")))?;
    let fields: Vec<Fields> = rows
        .iter()
        .map(|r| match r {
            Read::Flat(m) => Fields::Raw(m),
            Read::Parsed(row) => Fields::Row(row),
        })
        .collect();
    Digest::build(path, &fields).map_err(|e| ApiError::Internal(anyhow::anyhow!("{path}: {e}")))
}
