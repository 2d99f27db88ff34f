//! Query parameters of the proxy's own routes, parsed into validated types before anything
//! is computed: an issue with a date range ([`Range`]) and a market range
//! ([`MarketRange`]). Every refusal is a 400 in the upstream's words and costs no upstream
//! call.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};

use crate::cache::paging::PageKey;
use crate::error::{ApiError, ApiResult};
use crate::jst;
use crate::market::MarketRange;
use crate::market::margin;
use crate::request::canonical_code;

/// Longest range one market request may cover, so one request cannot start thousands of
/// upstream calls.
pub const MAX_RANGE_DAYS: i64 = 366 * 3;
/// Range of the per-issue page and charts without `from`: a year.
pub const ISSUE_DEFAULT_DAYS: i64 = 365;
/// Range of the market page and charts without `from`: eight weeks (the first market request
/// over a range reads months of cross-sections; see `/derived/margin/market`).
pub const MARKET_DEFAULT_DAYS: i64 = 56;

/// `code` plus either `date` or a `from`/`to` range (either end optional), validated like
/// the mirror's parameters.
#[derive(Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Issue code, 4 or 5 characters (e.g. 3350 or 33500).
    #[param(example = "33500")]
    pub code: String,
    /// One day, YYYYMMDD or YYYY-MM-DD. Not with from/to.
    pub date: Option<String>,
    /// First day (inclusive), YYYYMMDD or YYYY-MM-DD.
    #[param(example = "2025-03-20")]
    pub from: Option<String>,
    /// Last day (inclusive), YYYYMMDD or YYYY-MM-DD.
    #[param(example = "2025-04-04")]
    pub to: Option<String>,
    /// The proxy's key of the next page, from the previous page of the same query.
    pub pagination_key: Option<String>,
}

pub struct Range {
    pub code: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    page_key: Option<String>,
    /// The query, canonical: what a page key of this answer is bound to.
    pub canonical: String,
}

impl Range {
    /// The client's `pagination_key`, checked to be one issued for this query.
    pub fn pagination_key(&self) -> ApiResult<Option<PageKey>> {
        let key = self.page_key.as_deref();
        key.map(|k| PageKey::parse_for(k, &self.canonical))
            .transpose()
    }

    /// Rows carry dates as the upstream spells them (`YYYY-MM-DD`).
    pub fn contains(&self, date: &str) -> bool {
        let Some(d) = jst::parse_date(date) else {
            return false;
        };
        self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t)
    }
}

/// The query's parameters, each at most once and each one of `allowed` (else a 400 naming
/// the offending parameter, as the upstream words it).
pub fn query_map(raw: Option<&str>, allowed: &[&str]) -> ApiResult<HashMap<String, String>> {
    let mut seen: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(ApiError::bad_request(format!(
                "Unexpected parameter: {k}. This API accepts: {}",
                allowed.join(", ")
            )));
        }
        if seen.insert(k.to_string(), v.trim().to_string()).is_some() {
            return Err(ApiError::bad_request(format!("Duplicated parameter: {k}")));
        }
    }
    Ok(seen)
}

/// The date parameter `name`, if given; a 400 when it is not an existing date.
pub fn query_date(seen: &HashMap<String, String>, name: &str) -> ApiResult<Option<NaiveDate>> {
    match seen.get(name) {
        None => Ok(None),
        Some(v) => jst::parse_date(v).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid date for {name}: {v}. Specify an existing date as YYYYMMDD or YYYY-MM-DD."
            ))
        }),
    }
}

pub fn parse_range(raw: Option<&str>, allow_range: bool) -> ApiResult<Range> {
    let allowed = if allow_range {
        &["code", "date", "from", "to", "pagination_key"][..]
    } else {
        &["code", "pagination_key"][..]
    };
    let seen = query_map(raw, allowed)?;
    let code = seen
        .get("code")
        .ok_or_else(|| ApiError::bad_request("This API requires the parameter code"))?;
    let code = canonical_code(code).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid code: {code}. Specify a 4 or 5 character issue code."
        ))
    })?;
    let date = |name: &str| query_date(&seen, name);
    let (d, from, to) = (date("date")?, date("from")?, date("to")?);
    if d.is_some() && (from.is_some() || to.is_some()) {
        return Err(ApiError::bad_request(
            "Specify either date or from/to, not both.",
        ));
    }
    let (from, to) = if d.is_some() { (d, d) } else { (from, to) };
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::bad_request(format!(
            "from ({f}) must not be after to ({t})."
        )));
    }
    let canonical = format!("{code}|{from:?}|{to:?}");
    Ok(Range {
        code,
        from,
        to,
        page_key: seen.get("pagination_key").cloned(),
        canonical,
    })
}

/// The range of a per-issue chart or page: `raw`'s, its ends defaulting to the last year up
/// to `today` ([`Range::or_last_year`]).
pub fn parse_issue_range(
    raw: Option<&str>,
    today: NaiveDate,
) -> ApiResult<(Range, NaiveDate, NaiveDate)> {
    let range = parse_range(raw, true)?;
    let (from, to) = range.or_last_year(today);
    Ok((range, from, to))
}

impl Range {
    /// The range's ends, defaulting to the [`ISSUE_DEFAULT_DAYS`] up to `today`.
    pub fn or_last_year(&self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let to = self.to.unwrap_or(today);
        let from = self.from.unwrap_or(to - Duration::days(ISSUE_DEFAULT_DAYS));
        (from, to)
    }
}

#[derive(Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MarketQuery {
    /// One application date, YYYYMMDD or YYYY-MM-DD. Not with from/to.
    pub date: Option<String>,
    /// First application date (inclusive). Required unless `date` is given.
    #[param(example = "2026-10-01")]
    pub from: Option<String>,
    /// Last application date (inclusive); default today (JST). At most 1,098 days after `from`.
    #[param(example = "2026-11-20")]
    pub to: Option<String>,
    /// `Prime`, `Standard` or `Growth` (by `/equities/master` `Mkt`); default every issue.
    pub segment: Option<String>,
}

/// Validates a market query. Without `date` or `from`, `default_days` (when given) before `to`
/// is the range; otherwise that is a 400.
pub fn parse_market(
    raw: Option<&str>,
    today: NaiveDate,
    default_days: Option<i64>,
) -> ApiResult<MarketRange> {
    let seen = query_map(raw, &["date", "from", "to", "segment"])?;
    let date = |name: &str| query_date(&seen, name);
    let (d, from, to) = (date("date")?, date("from")?, date("to")?);
    let (from, to) = match (d, from, to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ApiError::bad_request(
                "Specify either date or from/to, not both.",
            ));
        }
        (Some(d), None, None) => (d, d),
        (None, Some(f), t) => (f, t.unwrap_or(today)),
        (None, None, t) => match default_days {
            Some(n) => {
                let t = t.unwrap_or(today);
                (t - Duration::days(n), t)
            }
            None => {
                return Err(ApiError::bad_request(
                    "This API requires the parameter date or from",
                ));
            }
        },
    };
    if from > to {
        return Err(ApiError::bad_request(format!(
            "from ({from}) must not be after to ({to})."
        )));
    }
    if (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(ApiError::bad_request(format!(
            "Specify at most {MAX_RANGE_DAYS} days between from and to."
        )));
    }
    let segment = match seen.get("segment") {
        None => None,
        Some(s) => Some(margin::segment(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid segment: {s}. Specify Prime, Standard or Growth."
            ))
        })?),
    };
    Ok(MarketRange {
        from,
        to: to.min(today),
        segment,
    })
}

/// How long a request for long work waits for it, and the `Preference-Applied` answer when
/// the client stated a preference (RFC 7240).
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub limit: std::time::Duration,
    pub applied: Option<String>,
}

/// Reads RFC 7240's `Prefer: wait=N` (wait up to N seconds, at most `ceiling`) and
/// `respond-async` (answer at once with the job's progress unless ready within a second);
/// anything else in `Prefer` is ignored, as the RFC asks. Without either, `default`.
pub fn wait(
    headers: &axum::http::HeaderMap,
    default: std::time::Duration,
    ceiling: std::time::Duration,
) -> Wait {
    use std::time::Duration;
    let prefs = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| {
            p.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let (mut wait, mut async_) = (None, false);
    for p in prefs {
        match p.split_once('=') {
            Some((k, v)) if k.trim() == "wait" => {
                wait = v.trim().trim_matches('"').parse::<u64>().ok().or(wait);
            }
            None if p == "respond-async" => async_ = true,
            _ => {}
        }
    }
    match (wait, async_) {
        (Some(n), _) => {
            let limit = Duration::from_secs(n).min(ceiling);
            let applied = format!("wait={}", limit.as_secs());
            Wait {
                limit,
                applied: Some(applied),
            }
        }
        (None, true) => Wait {
            limit: default.min(Duration::from_secs(1)),
            applied: Some("respond-async".into()),
        },
        (None, false) => Wait {
            limit: default.min(ceiling),
            applied: None,
        },
    }
}

/// The proxy's own base URL as the client reached it: `X-Forwarded-Proto` and
/// `X-Forwarded-Host` when a reverse proxy sets them, else `http://` and `Host`.
pub fn public_base(headers: &axum::http::HeaderMap) -> String {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.contains(['/', ' ', '"', '\\']))
    };
    let scheme = h("x-forwarded-proto")
        .filter(|p| matches!(*p, "http" | "https"))
        .unwrap_or("http");
    let host = h("x-forwarded-host")
        .or_else(|| h("host"))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use std::time::Duration;

    fn prefer(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("prefer", HeaderValue::from_str(v).unwrap());
        h
    }

    const DEFAULT: Duration = Duration::from_secs(10);
    const CEILING: Duration = Duration::from_secs(290);

    #[test]
    fn prefer_wait_asks_for_longer_up_to_the_request_timeout() {
        let w = wait(&prefer("wait=120"), DEFAULT, CEILING);
        assert_eq!(w.limit, Duration::from_secs(120));
        assert_eq!(w.applied.as_deref(), Some("wait=120"));
        let w = wait(&prefer("handling=lenient, wait=9999"), DEFAULT, CEILING);
        assert_eq!(w.limit, CEILING);
        assert_eq!(w.applied.as_deref(), Some("wait=290"));
    }

    #[test]
    fn respond_async_answers_at_once_and_unknown_preferences_are_ignored() {
        let w = wait(&prefer("respond-async"), DEFAULT, CEILING);
        assert_eq!(w.limit, Duration::from_secs(1));
        let w = wait(&prefer("return=minimal, wait=soon"), DEFAULT, CEILING);
        assert_eq!((w.limit, w.applied), (DEFAULT, None));
        let w = wait(&HeaderMap::new(), DEFAULT, CEILING);
        assert_eq!((w.limit, w.applied), (DEFAULT, None));
    }
}
