//! The simulator over HTTP, as the proxy and clients see it (bulk files in `sim/bulk.rs`).

use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use jquants_proxy::catalog::{self, Envelope, Plan};
use jquants_proxy::jst::{self, Clock};
use jquants_proxy::sim::{self, Faults, SimConfig, SimHandle};
use serde_json::Value;

const KEY: &str = "test-key";

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Friday 2026-11-20, 20:00 JST: that day's bars are out, the weekend is ahead.
fn friday_evening() -> Clock {
    Clock::fixed(jst::at(ymd(2026, 11, 20), 20, 0))
}

fn cfg(plan: Plan) -> SimConfig {
    let mut c = SimConfig::new(KEY);
    c.plan = plan;
    c.issues = 600;
    c.clock = friday_evening();
    c
}

async fn start(c: SimConfig) -> SimHandle {
    sim::spawn(c, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn client() -> reqwest::Client {
    // No automatic decompression: the gzip tests look at the raw bytes.
    reqwest::Client::builder().no_gzip().build().unwrap()
}

struct Resp {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

async fn get_with(h: &SimHandle, pq: &str, key: Option<&str>, gzip: bool) -> Resp {
    let mut rb = client().get(format!("{}{pq}", h.base_url()));
    if let Some(k) = key {
        rb = rb.header("x-api-key", k);
    }
    if gzip {
        rb = rb.header("accept-encoding", "gzip, deflate");
    }
    let r = rb.send().await.unwrap();
    Resp {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.bytes().await.unwrap().to_vec(),
    }
}

async fn get(h: &SimHandle, pq: &str) -> Resp {
    get_with(h, pq, Some(KEY), false).await
}

/// POSTs `body` to the simulator's control endpoint `/__sim/{what}`.
async fn control(h: &SimHandle, what: &str, body: &str) -> reqwest::Response {
    client()
        .post(format!("http://{}/__sim/{what}", h.addr))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn rows(v: &Value) -> &Vec<Value> {
    v["data"].as_array().expect("data array")
}

/// The rows of one answer (its `data` array).
async fn data(h: &SimHandle, pq: &str) -> Vec<Value> {
    rows(&get(h, pq).await.json()).clone()
}

fn keys(row: &Value) -> Vec<String> {
    row.as_object().unwrap().keys().cloned().collect()
}

/// Fetches every page of a query, returning the pages' bodies.
async fn all_pages(h: &SimHandle, pq: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut key: Option<String> = None;
    loop {
        let url = match &key {
            Some(k) => format!("{pq}&pagination_key={}", urlencode(k)),
            None => pq.to_string(),
        };
        let r = get(h, &url).await;
        assert_eq!(r.status, 200, "{url}: {}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        key = v["pagination_key"].as_str().map(str::to_string);
        pages.push(v);
        if key.is_none() {
            return pages;
        }
        assert!(pages.len() < 10_000, "pagination never ends");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn bad_keys_unknown_paths_and_methods_are_403() {
    let h = start(cfg(Plan::Premium)).await;
    let q = "/equities/bars/daily?code=7203";
    for key in [None, Some("wrong")] {
        let r = get_with(&h, q, key, false).await;
        assert_eq!(r.status, 403);
        assert_eq!(
            r.json(),
            serde_json::json!({"message": "The incoming api key is invalid or expired."})
        );
    }
    let r = get(&h, "/equities/nope?code=7203").await;
    assert_eq!(r.status, 403);
    assert!(!r.message().is_empty());
    let r = client()
        .post(format!("{}{q}", h.base_url()))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(get(&h, "/equities/trades").await.status, 403);
    assert_eq!(get(&h, q).await.status, 200);
}

#[tokio::test]
async fn parameter_rules_and_impossible_dates_are_400() {
    let h = start(cfg(Plan::Premium)).await;
    let r = get(&h, "/equities/bars/daily").await;
    assert_eq!(r.status, 400);
    assert!(
        r.message()
            .starts_with("This API requires at least 1 parameter as follows; date, code"),
        "{}",
        r.message()
    );
    let r = get(&h, "/equities/bars/daily?date=20240230").await;
    assert_eq!(r.status, 400);
    assert!(r.message().contains("20240230"), "{}", r.message());
    let r = get(&h, "/equities/bars/daily?code=7203&from=20240101").await;
    assert_eq!(r.status, 400);
    assert!(r.message().contains("Invalid combination"));
    let r = get(&h, "/equities/bars/daily?code=7203&bogus=1").await;
    assert_eq!(r.status, 400);
    let r = get(
        &h,
        "/markets/margin-interest?published_date=20261002&date=20261001",
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn plans_gate_endpoints_and_history() {
    let free = start(cfg(Plan::Free)).await;
    // Above the plan: 403 naming the plan.
    let r = get(&free, "/indices/bars/daily/topix").await;
    assert_eq!(r.status, 403);
    assert!(r.message().contains("plan"), "{}", r.message());
    // Free: from 2 years 12 weeks ago to 12 weeks ago.
    let r = get(&free, "/equities/bars/daily?date=20261120").await;
    assert_eq!(r.status, 400);
    assert!(
        r.message().contains("subscription covers"),
        "{}",
        r.message()
    );
    let r = get(&free, "/equities/bars/daily?date=20230105").await;
    assert_eq!(r.status, 400);
    let r = get(&free, "/equities/bars/daily?date=20260601").await;
    assert_eq!(r.status, 200);
    assert!(!rows(&r.json()).is_empty());
    // A code's whole history is clipped to the window.
    let v = get(&free, "/equities/bars/daily?code=7203").await.json();
    let dates: Vec<&str> = rows(&v)
        .iter()
        .map(|r| r["Date"].as_str().unwrap())
        .collect();
    let (lo, hi) = (
        jst::fmt_date(ymd(2026, 11, 20) - chrono::Duration::weeks(12)),
        jst::fmt_date(ymd(2024, 11, 20) - chrono::Duration::weeks(12)),
    );
    assert!(dates.iter().all(|d| *d <= lo.as_str() && *d >= hi.as_str()));
    assert!(dates.len() > 400, "{}", dates.len());

    let light = start(cfg(Plan::Light)).await;
    assert_eq!(get(&light, "/fins/dividend?code=7203").await.status, 403);
    assert_eq!(
        get(&light, "/equities/bars/daily?date=20200106")
            .await
            .status,
        400
    );
    assert_eq!(
        get(&light, "/equities/bars/daily?date=20221107")
            .await
            .status,
        200
    );
}

/// A valid query per endpoint for a clock at Friday 2026-11-20 20:00 JST.
fn sample_query(path: &str) -> &'static str {
    match path {
        "/equities/master" => "",
        "/equities/bars/daily" | "/equities/valuation" => "code=7203&from=20261101&to=20261120",
        "/equities/bars/minute" => "code=7203&date=20261120",
        "/fins/summary" | "/fins/details" | "/fins/dividend" | "/fins/earnings-date" => "code=7203",
        "/equities/bars/daily/am" => "code=7203",
        "/equities/investor-types" => "from=20261001&to=20261120",
        "/markets/margin-interest" => "code=7203",
        "/markets/short-ratio" | "/markets/breakdown" | "/markets/margin-alert" => "date=20261120",
        "/markets/short-sale-report" => "disc_date=20261120",
        "/markets/calendar" => "from=20260101&to=20261231",
        "/indices/bars/daily" => "code=0000&from=20261101&to=20261120",
        "/indices/bars/daily/topix" => "from=20261101",
        "/equities/earnings-calendar" | "/td/bulk" => "",
        "/derivatives/bars/daily/futures"
        | "/derivatives/bars/daily/options"
        | "/derivatives/bars/daily/options/225" => "date=20261119",
        "/bulk/list" => "endpoint=/equities/bars/daily",
        "/bulk/get" => "endpoint=/equities/bars/daily&date=202610",
        "/td/list" => "code=7203",
        "/td/files" => "discNo=20261105000120",
        p if p.starts_with("/edinet/") => "code=7203",
        other => panic!("no sample query for {other}"),
    }
}

#[tokio::test]
async fn every_endpoint_answers_with_the_upstream_keys_in_order() {
    let h = start(cfg(Plan::Premium)).await;
    let mut checked = 0;
    for e in catalog::ENDPOINTS.iter().filter(|e| e.api_available) {
        let q = sample_query(e.path);
        let r = get(&h, &format!("{}?{q}", e.path)).await;
        assert_eq!(
            r.status,
            200,
            "{} {}",
            e.path,
            String::from_utf8_lossy(&r.body)
        );
        let text = String::from_utf8(r.body.clone()).unwrap();
        assert!(
            !text.contains(": ") && !text.contains(", \""),
            "{}: not compact",
            e.path
        );
        let v = r.json();
        let want: Vec<String> = e.fields().iter().map(|s| s.to_string()).collect();
        match e.envelope {
            Envelope::Data => {
                let data = rows(&v);
                assert!(!data.is_empty(), "{}?{q}: no rows", e.path);
                for row in data {
                    assert_eq!(keys(row), want, "{}", e.path);
                }
                let top: BTreeSet<String> = keys(&v).into_iter().collect();
                let allowed: BTreeSet<String> = ["data", "pagination_key", "cursor"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                assert!(top.is_subset(&allowed), "{}: {top:?}", e.path);
                let has_cursor = v.get("cursor").is_some();
                assert_eq!(
                    has_cursor,
                    matches!(e.path, "/fins/summary" | "/fins/details"),
                    "{}: cursor",
                    e.path
                );
            }
            Envelope::Object => assert_eq!(keys(&v), want, "{}", e.path),
        }
        checked += 1;
    }
    assert!(checked >= 30, "{checked}");
}

#[tokio::test]
async fn value_conventions() {
    let h = start(cfg(Plan::Premium)).await;
    let v = get(&h, "/fins/summary?code=7203").await.json();
    let docs = rows(&v);
    assert!(
        docs.iter()
            .all(|d| d["ShOutFY"].is_string() && d["Sales"].is_string())
    );
    let rev: Vec<_> = docs
        .iter()
        .filter(|d| d["DocType"] == "EarnForecastRevision")
        .collect();
    for d in &rev {
        assert_eq!(d["ShOutFY"], "");
        assert_eq!(d["AvgSh"], "");
    }
    let v = get(
        &h,
        "/markets/margin-interest?code=7203&from=20260901&to=20261010",
    )
    .await
    .json();
    for r in rows(&v) {
        assert!(r["ShrtVol"].is_f64() && r["IssType"].is_string());
        let total = r["LongVol"].as_f64().unwrap();
        let parts = r["LongNegVol"].as_f64().unwrap() + r["LongStdVol"].as_f64().unwrap();
        assert_eq!(total, parts);
        let daily = r["Date"].as_str().unwrap() >= "2026-09-24";
        assert_eq!(r["LongVal"].is_null(), !daily, "{r}");
    }
    // A no-trade day exists somewhere and has nulls but AdjFactor.
    let v = get(&h, "/equities/bars/daily?date=20261120").await.json();
    let blank: Vec<_> = rows(&v).iter().filter(|r| r["C"].is_null()).collect();
    assert!(
        !blank.is_empty(),
        "expected some no-trade rows among {}",
        rows(&v).len()
    );
    for r in blank {
        for k in ["O", "H", "L", "Vo", "Va"] {
            assert!(r[k].is_null());
        }
        assert!(r["AdjFactor"].is_number());
    }
    // 4-character codes mean the common stock only.
    let m = h.market();
    let pref = m.codes().find(|c| !c.ends_with('0')).unwrap().to_string();
    let v = get(&h, &format!("/equities/master?code={}", &pref[..4]))
        .await
        .json();
    assert_eq!(rows(&v).len(), 1);
    assert_eq!(rows(&v)[0]["Code"], format!("{}0", &pref[..4]));
    let v = get(&h, &format!("/equities/master?code={pref}"))
        .await
        .json();
    assert_eq!(rows(&v)[0]["Code"], pref);
}

#[tokio::test]
async fn morning_and_afternoon_keys_only_on_premium() {
    let prem = start(cfg(Plan::Premium)).await;
    let std_ = start(cfg(Plan::Standard)).await;
    let q = "/equities/bars/daily?code=7203&date=20261120";
    let p = get(&prem, q).await.json();
    let s = get(&std_, q).await.json();
    let pk = keys(&rows(&p)[0]);
    let sk = keys(&rows(&s)[0]);
    assert_eq!(pk.len(), 42);
    assert_eq!(sk, &pk[..16]);
    assert!(!sk.iter().any(|k| k == "MO" || k == "AAdjVo"));
    assert_eq!(rows(&p)[0]["C"], rows(&s)[0]["C"]);
}

#[tokio::test]
async fn pagination_cuts_by_bytes_and_binds_keys_to_the_query() {
    let h = start(cfg(Plan::Premium)).await;
    let q = "/equities/bars/daily?date=20261120";
    let whole = get(&h, q).await.json();
    assert!(whole.get("pagination_key").is_none());
    let all = rows(&whole).clone();
    h.set_page_bytes(20_000);
    let pages = all_pages(&h, q).await;
    assert!(pages.len() > 5, "{} pages", pages.len());
    let keys_seen: Vec<&str> = pages
        .iter()
        .filter_map(|p| p["pagination_key"].as_str())
        .collect();
    assert_eq!(keys_seen.len(), pages.len() - 1);
    assert_eq!(
        keys_seen.iter().collect::<HashSet<_>>().len(),
        keys_seen.len(),
        "keys differ per page"
    );
    let mut got = Vec::new();
    for p in &pages {
        assert!(serde_json::to_vec(p).unwrap().len() <= 20_000);
        got.extend(rows(p).iter().cloned());
    }
    assert_eq!(got, all, "every row exactly once, in order");
    // Same query + key again: the same page.
    let k = keys_seen[1];
    let a = get(&h, &format!("{q}&pagination_key={}", urlencode(k))).await;
    let b = get(&h, &format!("{q}&pagination_key={}", urlencode(k))).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b.body);
    // The key is only valid with the same query.
    let r = get(
        &h,
        &format!(
            "/equities/bars/daily?date=20261119&pagination_key={}",
            urlencode(k)
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = get(&h, &format!("{q}&pagination_key=nonsense")).await;
    assert_eq!(r.status, 400);
    // Same parameters spelled differently are the same query.
    let r = get(
        &h,
        &format!(
            "/equities/bars/daily?date=2026-11-20&pagination_key={}",
            urlencode(k)
        ),
    )
    .await;
    assert_eq!(r.body, a.body);
}

#[tokio::test]
async fn gzip_only_when_asked() {
    let h = start(cfg(Plan::Premium)).await;
    let q = "/equities/bars/daily?code=7203&from=20260101&to=20261120";
    let plain = get_with(&h, q, Some(KEY), false).await;
    assert!(plain.headers.get("content-encoding").is_none());
    let z = get_with(&h, q, Some(KEY), true).await;
    assert_eq!(z.headers.get("content-encoding").unwrap(), "gzip");
    assert!(z.body.len() < plain.body.len() / 3);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&z.body[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, plain.body);
}

#[tokio::test]
async fn rate_limit_then_lockout() {
    let mut c = cfg(Plan::Free); // 5 per window
    c.rate_window = Duration::from_millis(600);
    c.lockout = Duration::from_millis(2000);
    let h = start(c).await;
    let q = "/markets/calendar?from=20260101&to=20260110";
    for _ in 0..5 {
        assert_eq!(get(&h, q).await.status, 200);
    }
    let r = get(&h, q).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.message(), "Too Many Requests");
    assert!(r.headers.get("retry-after").is_none());
    tokio::time::sleep(Duration::from_millis(650)).await;
    assert_eq!(get(&h, q).await.status, 200, "window slid");
    // More than twice the limit within a window: locked out beyond the window.
    for _ in 0..12 {
        get(&h, q).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(get(&h, q).await.status, 429, "still locked out");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(get(&h, q).await.status, 200, "lockout over");
    let st = h.stats();
    assert!(st.rate_limited >= 8, "{st:?}");
    h.reset();
    assert_eq!(h.stats().total, 0);
}

#[tokio::test]
async fn statements_have_their_own_cap() {
    let mut c = cfg(Plan::Premium);
    c.rate_window = Duration::from_secs(30);
    c.issues = 50;
    let h = start(c).await;
    for i in 0..60 {
        assert_eq!(
            get(&h, "/fins/details?code=7203").await.status,
            200,
            "call {i}"
        );
    }
    assert_eq!(get(&h, "/fins/summary?code=7203").await.status, 429);
    assert_eq!(get(&h, "/markets/calendar").await.status, 200);
}

#[tokio::test]
async fn faults_are_injected_and_cleared() {
    let h = start(cfg(Plan::Premium)).await;
    let q = "/markets/calendar?from=20260101&to=20260105";
    h.set_faults(Faults::errors(502, 2));
    assert_eq!(get(&h, q).await.status, 502);
    assert_eq!(get(&h, q).await.status, 502);
    assert_eq!(get(&h, q).await.status, 200);

    h.set_faults(Faults {
        error_rate: Some(0.5),
        ..Default::default()
    });
    let mut fails = 0;
    for _ in 0..10 {
        if get(&h, q).await.status == 500 {
            fails += 1;
        }
    }
    assert_eq!(fails, 5);

    h.set_faults(Faults {
        drop_connections: Some(1),
        ..Default::default()
    });
    let r = client()
        .get(format!("{}{q}", h.base_url()))
        .header("x-api-key", KEY)
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the dropped connection must surface as an error");
    assert_eq!(get(&h, q).await.status, 200);

    // Outage over HTTP, scoped by path, until cleared with {}.
    control(&h, "faults", r#"{"outage":true,"path_prefix":"/markets"}"#).await;
    assert_eq!(get(&h, q).await.status, 503);
    assert_eq!(get(&h, q).await.status, 503);
    assert_eq!(get(&h, "/equities/master?code=7203").await.status, 200);
    control(&h, "faults", "{}").await;
    assert_eq!(get(&h, q).await.status, 200);
    let r = control(&h, "faults", "{\"nope\":1}").await;
    assert_eq!(
        r.status().as_u16(),
        400,
        "unknown fault fields are rejected"
    );

    h.set_faults(Faults {
        latency_ms: Some(300),
        ..Default::default()
    });
    let t = Instant::now();
    assert_eq!(get(&h, q).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn stats_count_requests_but_not_pages_or_control_calls() {
    let h = start(cfg(Plan::Premium)).await;
    h.set_page_bytes(30_000);
    let pages = all_pages(&h, "/equities/bars/daily?date=20261120").await;
    get(&h, "/equities/master?code=7203").await;
    get(&h, "/equities/master?code=7203").await;
    let ctl = client()
        .get(format!("http://{}/__sim/stats", h.addr))
        .send()
        .await
        .unwrap();
    let st: sim::SimStats = ctl.json().await.unwrap();
    assert_eq!(st, h.stats());
    assert_eq!(st.total, pages.len() as u64 + 2);
    assert_eq!(st.by_path["/equities/bars/daily"], pages.len() as u64);
    assert_eq!(
        st.by_request["/equities/bars/daily?date=20261120"],
        pages.len() as u64
    );
    assert_eq!(st.by_request["/equities/master?code=7203"], 2);
    control(&h, "reset", "").await;
    assert_eq!(h.stats(), sim::SimStats::default());
}

#[tokio::test]
async fn code_33500_matches_the_market_cap_article() {
    let h = start(cfg(Plan::Premium)).await;
    let r = data(
        &h,
        "/equities/bars/daily?code=3350&from=20250327&to=20250331",
    )
    .await;
    let f: Vec<(String, f64)> = r
        .iter()
        .map(|x| {
            (
                x["Date"].as_str().unwrap().to_string(),
                x["AdjFactor"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        f,
        vec![
            ("2025-03-27".to_string(), 1.0),
            ("2025-03-28".to_string(), 0.1),
            ("2025-03-31".to_string(), 1.0)
        ]
    );
    let before = r[0]["C"].as_f64().unwrap();
    let after = r[1]["C"].as_f64().unwrap();
    assert!(before > 1000.0 && after < 1000.0, "{before} {after}");
    let adj = r[0]["AdjC"].as_f64().unwrap();
    assert!((adj - before * 0.1).abs() < 1e-6);
    let v = get(&h, "/fins/summary?code=3350").await.json();
    let find = |date: &str| {
        rows(&v)
            .iter()
            .find(|d| d["DiscDate"] == date && d["DocType"] != "EarnForecastRevision")
            .cloned()
            .unwrap_or_else(|| panic!("no document on {date}"))
    };
    let a = find("2025-03-03");
    assert_eq!(a["ShOutFY"], "36268334");
    assert_eq!(a["DiscTime"], "15:30:00");
    let b = find("2025-05-14");
    assert_eq!(b["ShOutFY"], "459906340");
    assert_eq!(b["DiscTime"], "15:30:00");
}

#[tokio::test]
async fn moving_the_clock_past_an_ex_date_rewrites_adjusted_history() {
    let c = cfg(Plan::Premium);
    let clock = c.clock.clone();
    let h = start(c).await;
    let m = h.market();
    // A split after which no other split of the code follows within the test's range.
    let (code, split) = m
        .all_splits()
        .into_iter()
        .find(|(code, s)| {
            s.ex_date > ymd(2026, 12, 1)
                && s.factor != 1.0
                && m.splits(code).iter().all(|o| o.ex_date <= s.ex_date)
        })
        .map(|(c, s)| (c.to_string(), s))
        .expect("a future split");
    let ex = split.ex_date;
    let prev = jquants_proxy::sim::calendar::prev_business_day(ex);
    let q = format!(
        "/equities/bars/daily?code={code}&from={}&to={}",
        jst::fmt_date(prev - chrono::Duration::days(20)),
        jst::fmt_date(ex)
    );
    // The evening before the ex-date: no factor, adjusted equals raw.
    clock.set(jst::at(prev, 18, 0));
    let before = get(&h, &q).await.json();
    let b = rows(&before);
    assert_eq!(b.last().unwrap()["Date"], jst::fmt_date(prev));
    for r in b.iter().filter(|r| !r["C"].is_null()) {
        assert_eq!(r["AdjFactor"], 1.0);
        assert_eq!(r["AdjC"], r["C"]);
    }
    // The ex-date at 16:00: still not published.
    clock.set(jst::at(ex, 16, 0));
    assert_eq!(rows(&get(&h, &q).await.json()).len(), b.len());
    // 16:30 has passed: the ex-date row carries the factor and history is rewritten.
    clock.set(jst::at(ex, 16, 31));
    let after = get(&h, &q).await.json();
    let a = rows(&after);
    assert_eq!(a.len(), b.len() + 1);
    let last = a.last().unwrap();
    assert_eq!(last["Date"], jst::fmt_date(ex));
    assert_eq!(last["AdjFactor"].as_f64().unwrap(), split.factor);
    assert_eq!(last["AdjC"], last["C"]);
    for (x, y) in b.iter().zip(a.iter()) {
        assert_eq!(x["C"], y["C"], "raw prices never change");
        if let (Some(raw), Some(adj)) = (y["C"].as_f64(), y["AdjC"].as_f64()) {
            assert!((adj - raw * split.factor).abs() < 1e-6, "{code} {y}");
            let (vo, avo) = (y["Vo"].as_f64().unwrap(), y["AdjVo"].as_f64().unwrap());
            assert!((avo - vo / split.factor).abs() < 1e-6);
        }
    }
}

#[tokio::test]
async fn data_follows_the_clock_and_a_cross_section_holds_every_issue() {
    let mut c = cfg(Plan::Premium);
    c.issues = 4000;
    let clock = c.clock.clone();
    let t0 = Instant::now();
    let h = start(c).await;
    let startup = t0.elapsed();
    let day = ymd(2026, 11, 19);
    clock.set(jst::at(day, 16, 29));
    let q = "/equities/bars/daily?date=20261119";
    assert!(rows(&get(&h, q).await.json()).is_empty());
    clock.set(jst::at(day, 16, 31));
    let t = Instant::now();
    let r = get(&h, q).await;
    let took = t.elapsed();
    let n = rows(&r.json()).len();
    assert!(n >= 3900, "{n}");
    eprintln!(
        "startup {startup:?}; full cross-section: {n} rows, {} bytes, {took:?}",
        r.body.len()
    );
    // Nothing after "now".
    let v = get(
        &h,
        "/equities/bars/daily?code=7203&from=20261101&to=20261231",
    )
    .await
    .json();
    assert_eq!(rows(&v).last().unwrap()["Date"], "2026-11-19");
}

#[tokio::test]
async fn same_seed_same_answers() {
    let a = start(cfg(Plan::Premium)).await;
    let b = start(cfg(Plan::Premium)).await;
    let mut other = cfg(Plan::Premium);
    other.seed = 7;
    let c = start(other).await;
    for q in [
        "/equities/bars/daily?date=20261120",
        "/fins/summary?date=20261113",
        "/markets/margin-interest?date=20261119",
        "/fins/dividend?code=8697",
    ] {
        let (x, y, z) = (get(&a, q).await, get(&b, q).await, get(&c, q).await);
        assert_eq!(x.status, 200, "{q}");
        assert_eq!(x.body, y.body, "{q}");
        assert_ne!(x.body, z.body, "{q}");
    }
}

#[tokio::test]
async fn statements_appear_at_disclosure_on_premium_and_with_the_evening_batch_otherwise() {
    let prem_cfg = cfg(Plan::Premium);
    let clock = prem_cfg.clock.clone();
    let mut std_cfg = cfg(Plan::Standard);
    std_cfg.clock = clock.clone();
    let (prem, std_) = (start(prem_cfg).await, start(std_cfg).await);
    let m = prem.market();
    let is = m.issue("72030").unwrap();
    let doc = (2023..2026)
        .flat_map(|y| jquants_proxy::sim::datasets::fins::docs_for_year(is, y))
        .find(|d| d.time < "17:00:00" && d.time >= "13:00:00")
        .expect("an afternoon disclosure");
    let q = format!("/fins/summary?code=7203&date={}", jst::fmt_date(doc.disc));
    let count = |v: Value| {
        rows(&v)
            .iter()
            .filter(|r| r["DiscNo"] == doc.disc_no.as_str())
            .count()
    };
    let (h, mi) = (
        doc.time[..2].parse::<u32>().unwrap(),
        doc.time[3..5].parse::<u32>().unwrap(),
    );
    clock.set(jst::at(doc.disc, h, mi) - chrono::Duration::minutes(1));
    assert_eq!(count(get(&prem, &q).await.json()), 0);
    clock.set(jst::at(doc.disc, h, mi) + chrono::Duration::minutes(1));
    assert_eq!(count(get(&prem, &q).await.json()), 1);
    assert_eq!(count(get(&std_, &q).await.json()), 0);
    clock.set(jst::at(doc.disc, 18, 1));
    assert_eq!(count(get(&std_, &q).await.json()), 1);
}

#[tokio::test]
async fn clock_control_endpoint_moves_data_visibility() {
    let h = start(cfg(Plan::Premium)).await;
    let v: Value = control(&h, "clock", r#"{"now":"2026-11-19T07:29:00Z"}"#)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["now_jst"], "2026-11-19T16:29:00");
    let q = "/equities/bars/daily?code=7203&date=20261119";
    assert!(rows(&get(&h, q).await.json()).is_empty());
    control(&h, "clock", r#"{"advance_secs":120}"#).await;
    assert_eq!(rows(&get(&h, q).await.json()).len(), 1);
    assert_eq!(h.clock().now(), jst::at(ymd(2026, 11, 19), 16, 31));
    assert_eq!(h.stats().by_path.len(), 1, "control calls are not counted");
}

#[tokio::test]
async fn margin_interest_by_publication_date() {
    let h = start(cfg(Plan::Premium)).await;
    let r = data(&h, "/markets/margin-interest?published_date=20260925").await;
    assert!(r.iter().all(|x| x["PubDate"] == "2026-09-25"));
    let dates: BTreeSet<&str> = r.iter().map(|x| x["Date"].as_str().unwrap()).collect();
    assert_eq!(dates, BTreeSet::from(["2026-09-18", "2026-09-24"]));
    let r = data(
        &h,
        "/markets/margin-interest?code=7203&published_date=20261120",
    )
    .await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["Date"], "2026-11-19");
    assert!(r[0]["ShrtVal"].is_number());
    // Not published yet (16:30 JST on Monday the 24th; the clock is on Friday).
    let v = get(&h, "/markets/margin-interest?published_date=20261124")
        .await
        .json();
    assert!(rows(&v).is_empty());
}

mod bulk;
