//! Bulk files as the simulator serves them: the list per plan, presigned links to gzip CSV
//! whose rows are the API's date cross-sections, corrections, download counters, the
//! number-spelling switch and expired links.

use std::io::Read;

use jquants_proxy::catalog::{self, Plan};
use jquants_proxy::sim::SimHandle;
use jquants_proxy::sim::calendar::business_days;
use serde_json::Value;

use super::{all_pages, cfg, client, control, get, rows, start, urlencode, ymd};

/// `/bulk/list` rows for a query.
async fn list(h: &SimHandle, q: &str) -> Vec<Value> {
    let r = get(h, &format!("/bulk/list?{q}")).await;
    assert_eq!(r.status, 200, "{q}: {}", String::from_utf8_lossy(&r.body));
    rows(&r.json()).clone()
}

fn keys_of(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["Key"].as_str().unwrap().to_string())
        .collect()
}

/// The presigned link `/bulk/get` answers for `q`.
async fn link(h: &SimHandle, q: &str) -> String {
    let r = get(h, &format!("/bulk/get?{q}")).await;
    assert_eq!(r.status, 200, "{q}: {}", String::from_utf8_lossy(&r.body));
    r.json()["url"].as_str().unwrap().to_string()
}

/// GETs a link without any API key: status and body.
async fn download(url: &str) -> (u16, Vec<u8>) {
    let r = client().get(url).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

fn gunzip(gz: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut s)
        .expect("gzip CSV");
    s
}

/// Parses RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut out, mut rec, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => rec.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                rec.push(std::mem::take(&mut field));
                out.push(std::mem::take(&mut rec));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && rec.is_empty(),
        "CSV ends with a line break"
    );
    out
}

/// A JSON value as the CSV spells it: strings bare, null empty, numbers as the JSON.
fn csv_spelling(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every row the API answers for `endpoint?query` (all pages), spelled as CSV fields.
async fn api_rows(h: &SimHandle, endpoint: &str, query: &str) -> Vec<Vec<String>> {
    let fields = catalog::find(endpoint).unwrap().fields();
    let mut out = Vec::new();
    for page in all_pages(h, &format!("{endpoint}?{query}")).await {
        for r in rows(&page) {
            out.push(fields.iter().map(|f| csv_spelling(&r[*f])).collect());
        }
    }
    out
}

/// Downloads `key` and returns its CSV records (header first).
async fn file_records(h: &SimHandle, key: &str) -> Vec<Vec<String>> {
    let url = link(h, &format!("key={}", urlencode(key))).await;
    let (status, body) = download(&url).await;
    assert_eq!(status, 200, "{key}: {}", String::from_utf8_lossy(&body));
    parse_csv(&gunzip(&body))
}

#[tokio::test]
async fn bulk_list_on_light_and_refused_on_free() {
    let h = start(cfg(Plan::Light)).await;
    let bars = keys_of(&list(&h, "endpoint=/equities/bars/daily").await);
    let months: Vec<&String> = bars.iter().filter(|k| k.contains("/historical/")).collect();
    // Light: 5 years back from 2026-11-20, so complete months 2021-12 .. 2026-10.
    assert_eq!(months.len(), 59, "{months:?}");
    assert!(
        months[0].ends_with("equities_bars_daily_202112.csv.gz"),
        "{}",
        months[0]
    );
    assert!(months[58].ends_with("_202610.csv.gz"));
    let days: Vec<&String> = bars
        .iter()
        .filter(|k| !k.contains("/historical/"))
        .collect();
    let want: Vec<String> = business_days(ymd(2026, 11, 1), ymd(2026, 11, 20))
        .iter()
        .map(|d| format!("_{}.csv.gz", d.format("%Y%m%d")))
        .collect();
    assert_eq!(days.len(), want.len(), "{days:?}");
    assert!(days.iter().zip(&want).all(|(k, w)| k.ends_with(w.as_str())));
    for r in list(&h, "date=2026-10").await {
        assert!(r["LastModified"].as_str().unwrap().ends_with('Z'), "{r}");
        assert!(r["Size"].as_f64().unwrap() > 0.0, "{r}");
    }
    let october = keys_of(&list(&h, "date=2026-10").await);
    assert!(
        october.iter().any(|k| k.starts_with("fins/summary/")),
        "{october:?}"
    );
    assert!(
        !october
            .iter()
            .any(|k| k.starts_with("markets/margin-interest/")),
        "Standard only"
    );
    let span = list(
        &h,
        "endpoint=/equities/bars/daily&from=2026-09-01&to=2026-10-31",
    )
    .await;
    assert_eq!(span.len(), 2);

    let free = start(cfg(Plan::Free)).await;
    let r = get(&free, "/bulk/list?endpoint=/equities/bars/daily").await;
    assert_eq!(r.status, 403);
    assert!(
        r.message()
            .contains("not available on your subscription plan"),
        "{}",
        r.message()
    );
    assert_eq!(get(&free, "/bulk/get?key=x.csv.gz").await.status, 403);
}

/// Checks the file of `endpoint` for `period` (a `date=` value) against the API's
/// cross-section `param=D` for each day in `days`.
async fn check_file(
    h: &SimHandle,
    endpoint: &str,
    period: &str,
    param: &str,
    days: &[chrono::NaiveDate],
) {
    let url = link(h, &format!("endpoint={endpoint}&date={period}")).await;
    let (status, body) = download(&url).await;
    assert_eq!(status, 200, "{url}");
    let records = parse_csv(&gunzip(&body));
    let fields = catalog::find(endpoint).unwrap().fields();
    assert_eq!(
        records[0],
        fields.iter().map(|f| f.to_string()).collect::<Vec<_>>()
    );
    let mut want = Vec::new();
    for d in days {
        want.extend(
            api_rows(
                h,
                endpoint,
                &format!("{param}={}", jquants_proxy::jst::fmt_date(*d)),
            )
            .await,
        );
    }
    assert!(!want.is_empty(), "{endpoint} {period}: no rows to compare");
    assert_eq!(records.len() - 1, want.len(), "{endpoint} {period}");
    for (i, (got, want)) in records[1..].iter().zip(&want).enumerate() {
        assert_eq!(got, want, "{endpoint} {period} row {i}");
    }
}

#[tokio::test]
async fn a_file_holds_exactly_the_api_cross_sections_of_its_days() {
    let h = start(cfg(Plan::Premium)).await;
    let nov20 = [ymd(2026, 11, 20)];
    for e in [
        "/equities/master",
        "/equities/bars/daily",
        "/indices/bars/daily",
    ] {
        check_file(&h, e, "2026-11-20", "date", &nov20).await;
    }
    // A day's margin interest is out the next business day.
    let (e, nov19) = ("/markets/margin-interest", [ymd(2026, 11, 19)]);
    check_file(&h, e, "2026-11-19", "date", &nov19).await;
    // A month holds every calendar day's rows: bars only trade on business days, but
    // filings are dated on closed days too.
    let october: Vec<_> = ymd(2026, 10, 1)
        .iter_days()
        .take_while(|d| *d <= ymd(2026, 10, 31))
        .collect();
    check_file(&h, "/equities/bars/daily", "2026-10", "date", &october).await;
    check_file(&h, "/fins/summary", "2026-10", "date", &october).await;
}

#[tokio::test]
async fn a_correction_moves_last_modified_and_size() {
    let h = start(cfg(Plan::Premium)).await;
    let q = "endpoint=/equities/bars/daily&from=2026-10-01&to=2026-10-31";
    let before = list(&h, q).await[0].clone();
    let key = before["Key"].as_str().unwrap().to_string();
    h.clock().advance(chrono::Duration::minutes(10));
    let r = control(
        &h,
        "bulk/correct",
        &serde_json::json!({ "key": key }).to_string(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let answered: Value = r.json().await.unwrap();
    let after = list(&h, q).await[0].clone();
    assert_eq!(answered, after);
    assert_eq!(after["Key"], before["Key"]);
    assert!(
        after["LastModified"].as_str() > before["LastModified"].as_str(),
        "{before} {after}"
    );
    assert_eq!(after["LastModified"], "2026-11-20T11:10:00Z");
    assert_ne!(after["Size"], before["Size"]);
    let unknown = control(
        &h,
        "bulk/correct",
        r#"{"key":"equities/bars/daily/x_209901.csv.gz"}"#,
    )
    .await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn downloads_are_counted_apart_from_api_calls() {
    let h = start(cfg(Plan::Premium)).await;
    let url = link(&h, "endpoint=/equities/bars/daily&date=2026-11-20").await;
    let key = "equities/bars/daily/daily/2026/equities_bars_daily_20261120.csv.gz";
    assert!(url.contains(key), "{url}");
    let first = download(&url).await;
    let second = download(&url).await;
    assert_eq!(first.0, 200);
    assert_eq!(first, second, "same clock, same bytes");
    let stats = h.stats();
    assert_eq!(stats.total, 1, "only /bulk/get is an API call");
    assert_eq!(stats.file_downloads, 2);
    assert_eq!(stats.downloads_by_key[key], 2);
    let over_http: Value = client()
        .get(format!("http://{}/__sim/stats", h.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http["file_downloads"], 2);
    // The file host needs no key, and bytes depend only on seed and clock.
    let other = start(cfg(Plan::Premium)).await;
    let again = download(&link(&other, &format!("key={key}")).await).await;
    assert_eq!(again.1, first.1);
}

#[tokio::test]
async fn bare_integer_spelling_makes_whole_numbers_differ() {
    let mut c = cfg(Plan::Premium);
    c.bulk_bare_integers = true;
    let h = start(c).await;
    let key = "equities/bars/daily/daily/2026/equities_bars_daily_20261120.csv.gz";
    let records = file_records(&h, key).await;
    let api = api_rows(&h, "/equities/bars/daily", "date=2026-11-20").await;
    assert_eq!(records.len() - 1, api.len());
    let fields = catalog::find("/equities/bars/daily").unwrap().fields();
    let vol = fields.iter().position(|f| *f == "Vo").unwrap();
    let (got, want) = (&records[1][vol], &api[0][vol]);
    assert!(want.ends_with(".0"), "{want}");
    assert_eq!(format!("{got}.0"), *want);
    assert_ne!(
        records[1..],
        api[..],
        "the rows must no longer render identical"
    );
}

#[tokio::test]
async fn expired_links_are_403_and_missing_files_404() {
    let h = start(cfg(Plan::Premium)).await;
    let url = link(&h, "endpoint=/equities/master&date=2026-11-20").await;
    h.clock().advance(chrono::Duration::seconds(299));
    assert_eq!(download(&url).await.0, 200);
    h.clock().advance(chrono::Duration::seconds(2));
    let (status, body) = download(&url).await;
    assert_eq!(status, 403);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("<Code>AccessDenied</Code>") && body.contains("expired"),
        "{body}"
    );
    let tampered = url.replace("Signature=", "Signature=0");
    assert_eq!(download(&tampered).await.0, 403);
    let missing = link(
        &h,
        "key=equities/bars/daily/historical/2099/equities_bars_daily_209901.csv.gz",
    )
    .await;
    let (status, body) = download(&missing).await;
    assert_eq!(status, 404);
    assert!(String::from_utf8(body).unwrap().contains("NoSuchKey"));
    assert_eq!(h.stats().file_downloads, 1);
}
