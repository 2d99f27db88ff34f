//! Market-wide margin indicators per application date: the date cross-sections one query
//! reads (margin balances and bars per application date, bars per business day for splits,
//! filings per day of the share-count look-back, the master for a segment), at most one
//! source read per date and dataset, never one per code; then the pure computation of
//! `crate::derived::cross_section` and `crate::derived::margin_market`.
//!
//! Invariants: the rows of a query are memoised with the digests they were computed from and
//! reused only while every digest is the same (pointer-equal), so a repeated query computes
//! nothing and a changed cross-section is never hidden; the memo belongs to one application.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{Duration, NaiveDate};

use super::MarketData;
use super::digest::Digest;
use super::jobs::Progress;
use crate::derived::cross_section::{self, CrossSections, DayBars};
use crate::derived::margin::MarginInterest;
use crate::derived::margin_market::{self, MarketMarginRow};
use crate::derived::margin_pl::HOLDING_LIMIT;
use crate::derived::market_cap::Statement;
use crate::error::{ApiError, ApiResult};
use crate::jst;

/// How far before the first application date filings are read: the latest filing of every
/// issue (quarterly, filed up to ~56 days after the quarter end) lies within it.
pub const STATEMENT_LOOKBACK_DAYS: i64 = 120;

/// Market segments by their `/equities/master` `Mkt` code.
const SEGMENTS: &[(&str, &str)] = &[("Prime", "0111"), ("Standard", "0112"), ("Growth", "0113")];

/// The segment named `s` (any case), as spelled in answers.
pub fn segment(s: &str) -> Option<&'static str> {
    SEGMENTS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|(name, _)| *name)
}

/// A validated market query: application dates `from..=to` (not after today), one segment
/// or the whole market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub segment: Option<&'static str>,
}

impl MarketRange {
    pub(super) fn key(&self) -> String {
        format!("{}|{}|{}", self.from, self.to, self.segment.unwrap_or(""))
    }
}

/// A digest that must be the calendar: anything else is the proxy's own fault.
fn calendar_of(d: &Digest) -> ApiResult<&crate::derived::market_cap::Calendar> {
    match d {
        Digest::Calendar(c) => Ok(c),
        _ => Err(ApiError::Internal(anyhow::anyhow!(
            "the calendar's digest is not a calendar"
        ))),
    }
}

/// The cross-sections one market query reads, as memoised digests (see
/// [`super::digest`]). Two `Inputs` holding the same digests (pointer-equal `Arc`s)
/// describe the same data, so their rows are equal.
struct Inputs {
    calendar: Arc<Digest>,
    business: Vec<NaiveDate>,
    app_dates: Vec<NaiveDate>,
    bars: Vec<Arc<Digest>>,
    margins: Vec<Arc<Digest>>,
    fins: Vec<Arc<Digest>>,
    master: Option<Arc<Digest>>,
}

impl Inputs {
    /// Reads every cross-section of `m`, counting each read in `progress` (the totals are
    /// set once the calendar says which days there are).
    async fn load(md: &MarketData, m: &MarketRange, progress: &Progress) -> ApiResult<Inputs> {
        let (statements, other) = (&progress.statements, &progress.other);
        other.total.store(1, Ordering::Relaxed);
        let calendar = md.digest("/markets/calendar", String::new()).await?;
        other.done.store(1, Ordering::Relaxed);
        let cal = calendar_of(&calendar)?;
        let window_start = m.from.checked_sub_months(HOLDING_LIMIT).unwrap_or(m.from);
        let fins_start = m.from - Duration::days(STATEMENT_LOOKBACK_DAYS);
        let app_dates = margin_market::application_dates(cal, window_start, m.to);
        // Bars from the first application date of the window (a split before it does not
        // change the positions' cost) or the first filing read (the share book applies later
        // splits to its counts), whichever is earlier.
        let bars_start = app_dates.first().copied().unwrap_or(window_start);
        let business: Vec<NaiveDate> = days(bars_start.min(fins_start), m.to)
            .filter(|d| cal.is_business_day(*d))
            .collect();
        let filing_days = days(fins_start, m.to).count() as u64;
        let master = u64::from(m.segment.is_some());
        let reads = 1 + business.len() as u64 + app_dates.len() as u64 + master;
        other.total.store(reads, Ordering::Relaxed);
        statements.total.store(filing_days, Ordering::Relaxed);
        let fins_days: Vec<NaiveDate> = days(fins_start, m.to).collect();
        // A dataset above the plan fails the query now, before any file is fetched.
        let last = format!("date={}", jst::fmt_date(m.to));
        for path in [
            "/equities/bars/daily",
            "/markets/margin-interest",
            "/fins/summary",
        ] {
            md.admit(path, &last)?;
        }
        // Each dataset reads its days as soon as its own files are in (the others' may
        // still be on their way).
        let (bars, margins, fins, master) = tokio::try_join!(
            md.day_digests("/equities/bars/daily", &business, other),
            md.day_digests("/markets/margin-interest", &app_dates, other),
            md.day_digests("/fins/summary", &fins_days, statements),
            async {
                match m.segment {
                    None => Ok(None),
                    Some(_) => {
                        let d = md.digest("/equities/master", String::new()).await?;
                        other.done.fetch_add(1, Ordering::Relaxed);
                        Ok(Some(d))
                    }
                }
            }
        )?;
        Ok(Inputs {
            calendar,
            business,
            app_dates,
            bars,
            margins,
            fins,
            master,
        })
    }

    fn same_as(&self, other: &Inputs) -> bool {
        let same = |a: &[Arc<Digest>], b: &[Arc<Digest>]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(x, y))
        };
        Arc::ptr_eq(&self.calendar, &other.calendar)
            && self.business == other.business
            && self.app_dates == other.app_dates
            && same(&self.bars, &other.bars)
            && same(&self.margins, &other.margins)
            && same(&self.fins, &other.fins)
            && match (&self.master, &other.master) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            }
    }

    /// The rows of `m` from these inputs: the pure computation of [`cross_section`].
    fn rows(&self, m: &MarketRange) -> ApiResult<Vec<MarketMarginRow>> {
        let cal = calendar_of(&self.calendar)?;
        let empty = DayBars::default();
        let bars: BTreeMap<NaiveDate, &DayBars> = self
            .business
            .iter()
            .zip(&self.bars)
            .map(|(d, g)| match &**g {
                Digest::Bars(b) => (*d, b),
                _ => (*d, &empty),
            })
            .collect();
        let margin: BTreeMap<NaiveDate, &[MarginInterest]> = self
            .app_dates
            .iter()
            .zip(&self.margins)
            .map(|(d, g)| match &**g {
                Digest::Margin(r) => (*d, r.as_slice()),
                _ => (*d, &[][..]),
            })
            .collect();
        let statements: Vec<&(String, Statement)> = self
            .fins
            .iter()
            .flat_map(|g| match &**g {
                Digest::Fins(s) => s.as_slice(),
                _ => &[],
            })
            .collect();
        let codes = m
            .segment
            .map(|name| segment_codes(self.master.as_deref(), name));
        let x = CrossSections {
            calendar: cal,
            bars: &bars,
            margin: &margin,
            statements: &statements,
            codes: codes.as_ref(),
        };
        let wanted: Vec<NaiveDate> = self
            .app_dates
            .iter()
            .copied()
            .filter(|d| *d >= m.from && margin.get(d).is_some_and(|r| !r.is_empty()))
            .collect();
        Ok(margin_market::rows(
            &cross_section::market_days(&x, &wanted),
            m.segment,
        ))
    }
}

/// The last rows computed per query, with the inputs they were computed from.
struct Computed {
    inputs: Inputs,
    rows: Arc<Vec<MarketMarginRow>>,
}

/// The last rows computed per query (a few: each entry pins its digests, which the digest
/// memo holds anyway while they are in use).
pub struct ComputedMemo(moka::future::Cache<String, Arc<Computed>>);

impl Default for ComputedMemo {
    fn default() -> Self {
        ComputedMemo(moka::future::Cache::new(16))
    }
}

impl MarketData {
    /// The market rows of a validated query, counting its reads in `progress`. Computed
    /// again only when the query or one of its cross-sections changed.
    pub async fn market_margin_tracked(
        &self,
        m: &MarketRange,
        progress: &Progress,
    ) -> ApiResult<Arc<Vec<MarketMarginRow>>> {
        let inputs = Inputs::load(self, m, progress).await?;
        let key = m.key();
        if let Some(c) = self.computed.0.get(&key).await
            && c.inputs.same_as(&inputs)
        {
            return Ok(c.rows.clone());
        }
        let rows = Arc::new(inputs.rows(m)?);
        let computed = Computed {
            inputs,
            rows: rows.clone(),
        };
        self.computed.0.insert(key, Arc::new(computed)).await;
        Ok(rows)
    }
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

/// The codes of segment `name` by the master's `Mkt`.
fn segment_codes(master: Option<&Digest>, name: &str) -> HashSet<String> {
    let mkt = SEGMENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .unwrap_or_default();
    let Some(Digest::Master(rows)) = master else {
        return HashSet::new();
    };
    rows.iter()
        .filter(|(_, m)| m == mkt)
        .map(|(c, _)| c.clone())
        .collect()
}
