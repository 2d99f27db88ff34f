//! Validation and canonicalisation of a mirror request against the catalog.
//!
//! These are the upstream's own parameter rules, so the simulator enforces them with this
//! same code and the proxy rejects a bad request before it costs an upstream call. The
//! canonical form (sorted parameters, 5-character codes, `YYYY-MM-DD` dates) is the cache key:
//! `code=7203&date=20240105` and `date=2024-01-05&code=72030` are one request.
//!
//! Invariants: a [`CanonicalRequest`] only holds parameters the endpoint accepts, in a
//! combination it accepts, with canonical values; anything else is an [`ApiError`] worded as
//! the upstream words it (docs/upstream.md, "Protocol" and "Status codes"), never a panic.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::catalog::{Endpoint, ParamKind, Plan};
use crate::error::ApiError;
use crate::jst;

/// A validated request in canonical form. `pagination_key` is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanonicalRequest {
    pub endpoint: &'static Endpoint,
    /// Parameter name -> canonical value, sorted by name.
    pub params: BTreeMap<&'static str, String>,
}

impl CanonicalRequest {
    /// `name=value&...` in canonical order, percent-encoded; what the upstream is sent.
    pub fn query_string(&self) -> String {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            ser.append_pair(k, v);
        }
        ser.finish()
    }

    /// The cache key: path plus canonical query. Built in one allocation: every request
    /// computes it.
    pub fn key(&self) -> String {
        let path = self.endpoint.path;
        let mut key = String::with_capacity(path.len() + 16 * self.params.len() + 1);
        key.push_str(path);
        for (i, (k, v)) in self.params.iter().enumerate() {
            key.push(if i == 0 { '?' } else { '&' });
            push_form_encoded(&mut key, k);
            key.push('=');
            push_form_encoded(&mut key, v);
        }
        key
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn date_param(&self, name: &str) -> Option<NaiveDate> {
        self.get(name).and_then(jst::parse_date)
    }

    /// The issue code the request is about, if it names one.
    pub fn code(&self) -> Option<&str> {
        match self.endpoint.param("code").map(|p| p.kind) {
            Some(ParamKind::Code) => self.get("code"),
            _ => None,
        }
    }

    /// The last date the request can cover: `date`, `to`, or open-ended (`None`) when it asks
    /// for a whole history or a range without an end. Freshness rules start from this.
    pub fn last_date(&self) -> Option<NaiveDate> {
        [
            "date",
            "to",
            "disc_date",
            "disc_date_to",
            "calc_date",
            "published_date",
            "scheduled_date",
        ]
        .iter()
        .find_map(|n| self.date_param(n))
    }
}

/// A parsed raw query: the canonical request plus the `pagination_key` if one was sent.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub request: CanonicalRequest,
    pub pagination_key: Option<String>,
}

/// Validates `raw_query` (the part after `?`, undecoded) for `endpoint`.
pub fn parse(endpoint: &'static Endpoint, raw_query: Option<&str>) -> Result<Parsed, ApiError> {
    let mut params = BTreeMap::new();
    let mut pagination_key = None;
    for (name, value) in query_pairs(raw_query.unwrap_or("")) {
        if name == "pagination_key" {
            if !endpoint.paginated {
                return Err(ApiError::bad_request(
                    "pagination_key is not supported by this API.",
                ));
            }
            if pagination_key.replace(value.into_owned()).is_some() {
                return Err(ApiError::bad_request(
                    "Duplicated parameter: pagination_key",
                ));
            }
            continue;
        }
        let Some(param) = endpoint.param(&name) else {
            return Err(ApiError::bad_request(format!(
                "Unexpected parameter: {name}. This API accepts: {}",
                accepted(endpoint)
            )));
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(ApiError::bad_request(format!("Parameter {name} is empty.")));
        }
        let canonical = canonical_value(param.name, param.kind, value)?;
        if params.insert(param.name, canonical).is_some() {
            return Err(ApiError::bad_request(format!(
                "Duplicated parameter: {name}"
            )));
        }
    }
    check_combination(endpoint, &params)?;
    if let (Some(from), Some(to)) = (params.get("from"), params.get("to")) {
        // Canonical dates (or months) compare correctly as strings.
        if from > to {
            return Err(ApiError::bad_request(format!(
                "from ({from}) must not be after to ({to})."
            )));
        }
    }
    Ok(Parsed {
        request: CanonicalRequest { endpoint, params },
        pagination_key,
    })
}

/// The `name=value` pairs of a query, decoded as `url::form_urlencoded::parse` decodes them,
/// but borrowed when a pair has nothing to decode (codes and dates, the usual case): every
/// request is parsed, and decoding allocated twice per pair.
fn query_pairs(raw: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    raw.split('&').filter(|p| !p.is_empty()).map(|pair| {
        if pair.bytes().any(|b| b == b'%' || b == b'+') {
            let (n, v) = url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .unwrap_or_default();
            (Cow::Owned(n.into_owned()), Cow::Owned(v.into_owned()))
        } else {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            (Cow::Borrowed(n), Cow::Borrowed(v))
        }
    })
}

/// `s` as `application/x-www-form-urlencoded` writes it (`Serializer::append_pair`), copied
/// as is when it has nothing to encode.
fn push_form_encoded(out: &mut String, s: &str) {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_');
    if s.bytes().all(plain) {
        out.push_str(s);
    } else {
        out.extend(url::form_urlencoded::byte_serialize(s.as_bytes()));
    }
}

fn accepted(endpoint: &Endpoint) -> String {
    let mut names: Vec<&str> = endpoint.params.iter().map(|p| p.name).collect();
    if endpoint.paginated {
        names.push("pagination_key");
    }
    if names.is_empty() {
        "no parameters".into()
    } else {
        names.join(", ")
    }
}

fn canonical_value(name: &str, kind: ParamKind, value: &str) -> Result<String, ApiError> {
    match kind {
        ParamKind::Code => canonical_code(value).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid code: {value}. Specify a 4 or 5 character issue code (e.g. 7203 or 72030)."
            ))
        }),
        ParamKind::Date => jst::parse_date(value)
            .map(jst::fmt_date)
            .ok_or_else(|| invalid_date(name, value)),
        ParamKind::DayOrMonth => {
            if let Some(d) = jst::parse_date(value) {
                return Ok(jst::fmt_date(d));
            }
            let digits: String = value.chars().filter(|c| *c != '-').collect();
            let month_ok = (value.len() == 6 || (value.len() == 7 && value.as_bytes()[4] == b'-'))
                && digits.len() == 6
                && digits.bytes().all(|b| b.is_ascii_digit());
            if month_ok {
                let (y, m) = digits.split_at(4);
                let m: u32 = m.parse().unwrap_or(0);
                if (1..=12).contains(&m) {
                    return Ok(format!("{y}-{m:02}"));
                }
            }
            Err(invalid_date(name, value))
        }
        ParamKind::Text => Ok(value.to_string()),
        ParamKind::Choice(allowed) => {
            if allowed.contains(&value) {
                Ok(value.to_string())
            } else {
                Err(ApiError::bad_request(format!(
                    "Invalid value for {name}: {value}. Allowed: {}",
                    allowed.join(", ")
                )))
            }
        }
    }
}

fn invalid_date(name: &str, value: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid date for {name}: {value}. Specify an existing date as YYYYMMDD or YYYY-MM-DD."
    ))
}

/// `7203` -> `72030`; `130a0` -> `130A0`. `None` for anything else.
pub fn canonical_code(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_uppercase();
    if !(v.len() == 4 || v.len() == 5) || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(if v.len() == 4 { format!("{v}0") } else { v })
}

fn check_combination(
    endpoint: &Endpoint,
    params: &BTreeMap<&'static str, String>,
) -> Result<(), ApiError> {
    if !endpoint.api_available {
        return Err(ApiError::Forbidden(
            "This data is provided only as CSV bulk files; use /bulk/list and /bulk/get.".into(),
        ));
    }
    let given: Vec<&str> = params
        .keys()
        .copied()
        .filter(|k| !endpoint.optional.contains(k))
        .collect();
    let ok = endpoint
        .patterns
        .iter()
        .any(|pat| pat.len() == given.len() && pat.iter().all(|p| given.contains(p)));
    if ok {
        return Ok(());
    }
    if given.is_empty() {
        // The upstream's wording for a request without its required parameters: it names the
        // parameters that are enough on their own ("date, code"), not every optional one.
        let mut names: Vec<&str> = Vec::new();
        let singles = endpoint.patterns.iter().filter(|p| p.len() == 1);
        let firsts = endpoint.patterns.iter().filter_map(|p| p.first());
        let candidates: Vec<&str> = if endpoint.patterns.iter().any(|p| p.len() == 1) {
            singles.map(|p| p[0]).collect()
        } else {
            firsts.copied().collect()
        };
        for n in candidates {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        names.sort_by_key(|n| if *n == "date" { 0 } else { 1 });
        return Err(ApiError::bad_request(format!(
            "This API requires at least 1 parameter as follows; {}",
            names.join(", ")
        )));
    }
    let combos = endpoint.combinations("(none)", ", ");
    Err(ApiError::bad_request(format!(
        "Invalid combination of parameters: {}. Valid combinations: {}",
        given.join(", "),
        combos.join(" | ")
    )))
}

/// The dates a plan's subscription covers (`docs/upstream.md`, "Plans"): Free from
/// 2 years 12 weeks ago to 12 weeks ago; Light, Standard, Premium 5, 10, 20 years back (and the
/// next business day's listings ahead).
pub fn history_window(plan: Plan, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    use chrono::{Duration, Months};
    // Calendar years back; 29 February clamps to 28 February.
    let years_back = |y: u32| {
        today
            .checked_sub_months(Months::new(12 * y))
            .unwrap_or(NaiveDate::MIN)
    };
    match plan {
        Plan::Free => (
            years_back(2) - Duration::weeks(12),
            today - Duration::weeks(12),
        ),
        Plan::Light => (years_back(5), today + Duration::days(400)),
        Plan::Standard => (years_back(10), today + Duration::days(400)),
        Plan::Premium => (years_back(20), today + Duration::days(400)),
    }
}

/// An endpoint above the subscription's plan is the upstream's 403.
pub fn check_plan(endpoint: &Endpoint, plan: Plan) -> Result<(), ApiError> {
    if endpoint.min_plan > plan {
        return Err(ApiError::Forbidden(format!(
            "This API is not available on your subscription plan ({}); it requires the {} plan or higher.",
            plan.as_str(),
            endpoint.min_plan.as_str()
        )));
    }
    Ok(())
}

/// Dates outside the plan's history window are the upstream's 400. `slack` widens the window:
/// the proxy refuses only requests clearly outside it and leaves boundary days to the upstream.
pub fn check_history(
    req: &CanonicalRequest,
    plan: Plan,
    today: NaiveDate,
    slack: chrono::Duration,
) -> Result<(), ApiError> {
    let path = req.endpoint.path;
    if path == "/markets/calendar" || path.starts_with("/bulk/") {
        return Ok(());
    }
    let (first, last) = history_window(plan, today);
    let (lo, hi) = (first - slack, last + slack);
    for (name, value) in &req.params {
        if req.endpoint.param(name).map(|p| p.kind) != Some(ParamKind::Date) {
            continue;
        }
        let Some(d) = jst::parse_date(value) else {
            continue;
        };
        let outside = match *name {
            "from" | "disc_date_from" => d > hi,
            "to" | "disc_date_to" => d < lo,
            _ => d < lo || d > hi,
        };
        if outside {
            // Formatted only when refused: this check runs on every request.
            let covers = if plan == Plan::Free {
                format!("{} ~ {}", jst::fmt_date(first), jst::fmt_date(last))
            } else {
                format!("{} ~ ", jst::fmt_date(first))
            };
            return Err(ApiError::bad_request(format!(
                "Your subscription covers the following dates: {covers}. If you want more data, please check other plans: https://jpx-jquants.com/"
            )));
        }
    }
    Ok(())
}

/// How far past the plan's history window a date may lie and still be left to the upstream
/// (boundary days are its call, not ours).
const HISTORY_SLACK: chrono::Duration = chrono::Duration::days(7);

/// The one admission rule of every request the proxy sends upstream, whoever makes it (a
/// client on the mirror or the hit path, or the proxy itself for derived inputs): validates it
/// as the upstream would for this subscription, so that nothing the upstream would refuse
/// costs an upstream call: the plan's endpoints (403), parameter rules (400), and dates
/// clearly outside the plan's history window (400).
pub fn admit(
    endpoint: &'static Endpoint,
    raw_query: Option<&str>,
    plan: Plan,
    today: NaiveDate,
) -> Result<Parsed, ApiError> {
    check_plan(endpoint, plan)?;
    let parsed = parse(endpoint, raw_query)?;
    check_history(&parsed.request, plan, today, HISTORY_SLACK)?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find;

    fn parse_ok(path: &str, q: &str) -> CanonicalRequest {
        parse(find(path).unwrap(), Some(q))
            .unwrap_or_else(|e| panic!("{path}?{q}: {e}"))
            .request
    }

    fn parse_err(path: &str, q: &str) -> String {
        match parse(find(path).unwrap(), Some(q)) {
            Ok(p) => panic!("{path}?{q} accepted as {:?}", p.request.params),
            Err(e) => {
                assert_eq!(e.status().as_u16(), 400, "{e}");
                e.public_message()
            }
        }
    }

    #[test]
    fn keys_and_queries_are_decoded_and_encoded_as_form_urlencoded_does() {
        let raw = "a=1&&b=x+y&c=%E3%83%88%3D&d=&e&f=p=q&g=*-._";
        let ours: Vec<(String, String)> = query_pairs(raw)
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        let theirs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(ours, theirs);
        for (_, v) in &theirs {
            let mut ours = String::new();
            push_form_encoded(&mut ours, v);
            let theirs: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
            assert_eq!(ours, theirs, "{v}");
        }
        let r = parse_ok(
            "/equities/bars/daily",
            "to=2024-01-31&code=7203&from=20240105",
        );
        assert_eq!(
            r.key(),
            format!("/equities/bars/daily?{}", r.query_string())
        );
    }

    #[test]
    fn spellings_of_one_request_share_a_key() {
        let a = parse_ok("/equities/bars/daily", "code=7203&date=20240105");
        let b = parse_ok("/equities/bars/daily", "date=2024-01-05&code=72030");
        assert_eq!(a, b);
        assert_eq!(a.key(), "/equities/bars/daily?code=72030&date=2024-01-05");
        assert_eq!(a.code(), Some("72030"));
        let c = parse_ok("/equities/master", "code=130a");
        assert_eq!(c.get("code"), Some("130A0"));
    }

    #[test]
    fn combinations_follow_the_catalog() {
        parse_ok(
            "/equities/bars/daily",
            "code=7203&from=20240101&to=20240131",
        );
        assert!(
            parse_err("/equities/bars/daily", "")
                .contains("requires at least 1 parameter as follows; date, code")
        );
        assert!(
            parse_err("/equities/bars/daily", "code=7203&from=20240101")
                .contains("Invalid combination")
        );
        assert!(
            parse_err(
                "/equities/bars/daily",
                "date=20240105&from=20240101&to=20240102"
            )
            .contains("Invalid combination")
        );
        parse_ok("/equities/master", "");
        parse_ok("/indices/bars/daily/topix", "from=20240101");
        parse_ok("/fins/summary", "code=7203&cursor=abc");
        assert!(parse_err("/fins/summary", "cursor=abc").contains("requires at least 1 parameter"));
        parse_ok("/markets/margin-interest", "published_date=20261002");
        assert!(
            parse_err(
                "/markets/margin-interest",
                "published_date=20261002&date=20261001"
            )
            .contains("Invalid combination")
        );
        assert!(
            parse_err("/edinet/major-shareholders", "edinet_code=E03814&code=7203")
                .contains("Invalid combination")
        );
    }

    #[test]
    fn bad_values_are_rejected_with_a_reason() {
        assert!(
            parse_err("/equities/bars/daily", "date=20240230")
                .contains("Invalid date for date: 20240230")
        );
        assert!(parse_err("/equities/bars/daily", "code=72").contains("Invalid code"));
        assert!(
            parse_err("/equities/bars/daily", "code=7203&foo=1")
                .contains("Unexpected parameter: foo")
        );
        assert!(parse_err("/equities/bars/daily", "code=7203&code=6758").contains("Duplicated"));
        assert!(parse_err("/equities/bars/daily", "code=").contains("empty"));
        assert!(
            parse_err(
                "/equities/bars/daily",
                "code=7203&from=20240201&to=20240101"
            )
            .contains("must not be after")
        );
        assert!(parse_err("/markets/calendar", "hol_div=7").contains("Allowed"));
        assert!(parse_err("/markets/calendar", "pagination_key=x").contains("not supported"));
    }

    #[test]
    fn bulk_dates_take_months() {
        let r = parse_ok("/bulk/get", "endpoint=/equities/bars/daily&date=202401");
        assert_eq!(r.get("date"), Some("2024-01"));
        let r = parse_ok("/bulk/list", "date=2024-01-05");
        assert_eq!(r.get("date"), Some("2024-01-05"));
        assert!(parse_err("/bulk/get", "endpoint=/x&date=202413").contains("Invalid date"));
    }

    #[test]
    fn pagination_key_is_kept_apart_and_query_is_reencoded() {
        let p = parse(
            find("/fins/summary").unwrap(),
            Some("pagination_key=a%2Bb&date=2024-01-05"),
        )
        .unwrap();
        assert_eq!(p.pagination_key.as_deref(), Some("a+b"));
        assert_eq!(p.request.query_string(), "date=2024-01-05");
        assert_eq!(p.request.last_date(), NaiveDate::from_ymd_opt(2024, 1, 5));
    }

    #[test]
    fn history_windows_count_calendar_years() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            history_window(Plan::Light, d(2028, 2, 29)).0,
            d(2023, 2, 28)
        );
        assert_eq!(
            history_window(Plan::Premium, d(2026, 11, 21)).0,
            d(2006, 11, 21)
        );
        let (lo, hi) = history_window(Plan::Free, d(2026, 11, 21));
        assert_eq!((lo, hi), (d(2024, 8, 29), d(2026, 8, 29)));
    }

    #[test]
    fn tick_data_is_not_an_api() {
        let e = parse(find("/equities/trades").unwrap(), None).unwrap_err();
        assert_eq!(e.status().as_u16(), 403);
    }
}
