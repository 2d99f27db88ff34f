//! Per-issue inputs of the derived routes: a code's whole histories (bars, statements, margin
//! balances, dividend notices) and the calendar, each one cached answer per code and dataset
//! that serves every date range, handed to the pure functions of `crate::derived`.
//!
//! Invariant: a row the upstream sent that cannot be read is the proxy's problem (500), never
//! the client's (400).

use chrono::NaiveDate;

use super::MarketData;
use crate::derived::dividends::{self, AnnualDividend, DividendNotice, NoticeInForce};
use crate::derived::margin::{self, MarginInterest, MarginRow};
use crate::derived::market_cap::{self, Bar, MarketCapRow, Statement, TradingDay};
use crate::derived::{DerivedError, Row};
use crate::error::{ApiError, ApiResult};

/// Dividend notices in force after the correction chain, and the annual dividends.
pub struct Dividends {
    pub notices: Vec<NoticeInForce>,
    pub annual: Vec<AnnualDividend>,
}

fn parse_all<T>(rows: &[Row], f: impl Fn(&Row) -> Result<T, DerivedError>) -> ApiResult<Vec<T>> {
    rows.iter()
        .map(|r| f(r).map_err(|e| ApiError::Internal(anyhow::anyhow!("upstream row: {e}"))))
        .collect()
}

/// The latest raw close among `bars`.
fn latest_close(bars: &[Bar]) -> Option<(NaiveDate, f64)> {
    bars.iter()
        .filter_map(|b| b.close.map(|c| (b.date, c)))
        .max_by_key(|(d, _)| *d)
}

impl MarketData {
    async fn bars(&self, code: &str) -> ApiResult<Vec<Bar>> {
        let rows = self
            .rows("/equities/bars/daily", &format!("code={code}"))
            .await?;
        parse_all(&rows, Bar::from_row)
    }

    /// Daily market cap over the code's whole history, with the bars it was computed from.
    pub async fn market_caps(&self, code: &str) -> ApiResult<(Vec<MarketCapRow>, Vec<Bar>)> {
        let q = format!("code={code}");
        let (bars, stmts, cal) = tokio::try_join!(
            self.bars(code),
            self.rows("/fins/summary", &q),
            self.rows("/markets/calendar", ""),
        )?;
        let stmts = parse_all(&stmts, Statement::from_row)?;
        let cal = parse_all(&cal, TradingDay::from_row)?;
        Ok((market_cap::compute(code, &bars, &stmts, &cal), bars))
    }

    /// Every margin row of `code` with ratios and the cost estimate.
    pub async fn margin_rows(&self, code: &str) -> ApiResult<Vec<MarginRow>> {
        let q = format!("code={code}");
        let interest = self.rows("/markets/margin-interest", &q).await?;
        let interest = parse_all(&interest, MarginInterest::from_row)?;
        let (caps, bars) = self.market_caps(code).await?;
        Ok(margin::compute(&interest, &bars, &caps))
    }

    /// The code's dividend notices in force and its annual dividends with their yields on the
    /// latest close.
    pub async fn dividends(&self, code: &str) -> ApiResult<Dividends> {
        let q = format!("code={code}");
        let (notices, bars) = tokio::try_join!(self.rows("/fins/dividend", &q), self.bars(code))?;
        let notices = parse_all(&notices, DividendNotice::from_row)?;
        let in_force = dividends::apply_chain(&notices);
        let annual = dividends::annual_yields(&in_force, latest_close(&bars));
        Ok(Dividends {
            notices: in_force,
            annual,
        })
    }

    /// The latest raw close of `code` (a canonical code), if any bar has one.
    pub async fn latest_close(&self, code: &str) -> ApiResult<Option<(NaiveDate, f64)>> {
        Ok(latest_close(&self.bars(code).await?))
    }
}
