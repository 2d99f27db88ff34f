//! The mirror against the simulator: every endpoint, byte-identical bodies, parameter
//! rules that cost no upstream call, canonical requests, merged and own pagination.

use jquants_proxy::catalog::{ENDPOINTS, Endpoint, ParamKind};
use serde_json::Value;

use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with};

/// A valid query for `ep` the simulator has data for (the `td/files` number comes from `td/list`).
pub fn sample_query(ep: &Endpoint, disc_no: Option<&str>) -> String {
    let pattern = ep
        .patterns
        .iter()
        .find(|p| p.contains(&"code") && p.len() == 2 && p.contains(&"date"))
        .or_else(|| {
            ep.patterns
                .iter()
                .find(|p| p.contains(&"date") && p.len() == 1)
        })
        .or_else(|| ep.patterns.iter().max_by_key(|p| p.len()))
        .copied()
        .unwrap_or(&[]);
    let parts: Vec<String> = pattern
        .iter()
        .map(|name| {
            let p = ep.param(name).unwrap();
            let v = match (p.kind, *name) {
                (ParamKind::Code, _) => "72030".to_string(),
                (_, "from") | (_, "disc_date_from") => "2026-11-02".into(),
                (ParamKind::Date, _) | (ParamKind::DayOrMonth, _) => "2026-11-19".into(),
                (ParamKind::Choice(c), _) => c[0].into(),
                (_, "s33") => "0050".into(),
                (_, "section") => "TSEPrime".into(),
                (_, "category") if ep.path.ends_with("futures") => "NK225F".into(),
                (_, "category") => "NK225E".into(),
                (_, "endpoint") => "/equities/bars/daily".into(),
                (_, "edinet_code") => "E03814".into(),
                (_, "discNo") => disc_no.unwrap_or("00000000000000").into(),
                (_, "code") => "0000".into(),
                (_, "key") => "equities/bars/daily/2026/11/20261119.csv.gz".into(),
                _ => "x".into(),
            };
            format!("{name}={v}")
        })
        .collect();
    parts.join("&")
}

#[tokio::test]
async fn every_endpoint_is_served_byte_for_byte() {
    let app = spawn_app().await;
    let td: Value = app.direct_json("/v2/td/list?date=2026-11-19").await;
    let disc_no = td["data"][0]["DiscNo"].as_str().map(str::to_string);
    let mut checked = 0;
    for ep in ENDPOINTS.iter().filter(|e| e.api_available) {
        let q = sample_query(ep, disc_no.as_deref());
        let path = format!("/v2{}?{}", ep.path, q);
        let direct = app.direct(&path).await;
        let direct_status = direct.status();
        let direct_body = direct.bytes().await.unwrap();
        let proxied = app.get(&path).await;
        assert_eq!(
            proxied.status(),
            direct_status,
            "{path}: {}",
            String::from_utf8_lossy(&direct_body)
        );
        let proxied_body = proxied.bytes().await.unwrap();
        if ep.path == jquants_proxy::bulk::LINKED {
            // The upstream's shape, linking to the proxy's own copy of the file (docs/bulk.md).
            let (p, d): (Value, Value) = (
                serde_json::from_slice(&proxied_body).unwrap(),
                serde_json::from_slice(&direct_body).unwrap(),
            );
            let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(&p), keys(&d), "{path}");
            let url = p["url"].as_str().unwrap();
            assert!(
                url.starts_with(&format!("{}/bulk/files/", app.url)),
                "{url}"
            );
        } else {
            assert_eq!(proxied_body, direct_body, "{path}: bodies differ");
        }
        checked += 1;
    }
    assert!(checked >= 29, "only {checked} endpoints checked");
}

#[tokio::test]
async fn spellings_of_one_request_cost_one_upstream_call() {
    let app = spawn_app().await;
    let a = app
        .get("/v2/equities/bars/daily?code=7203&date=20261119")
        .await;
    assert_eq!(a.status(), 200);
    assert_eq!(a.headers()["x-cache"], "MISS");
    let body_a = a.bytes().await.unwrap();
    for q in [
        "date=2026-11-19&code=72030",
        "code=72030&date=2026-11-19",
        "date=20261119&code=7203",
    ] {
        let b = app.get(&format!("/v2/equities/bars/daily?{q}")).await;
        assert_eq!(b.headers()["x-cache"], "HIT", "{q}");
        assert_eq!(b.bytes().await.unwrap(), body_a);
    }
    assert_eq!(app.calls_to("/equities/bars/daily"), 1);
}

#[tokio::test]
async fn bad_requests_are_400_in_upstream_shape_and_cost_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            "/v2/equities/bars/daily",
            "This API requires at least 1 parameter as follows; date, code",
        ),
        ("/v2/equities/bars/daily?date=20240230", "Invalid date"),
        (
            "/v2/equities/bars/daily?code=7203&from=20240101",
            "Invalid combination",
        ),
        ("/v2/equities/bars/daily?code=1", "Invalid code"),
        (
            "/v2/equities/bars/daily?code=7203&colour=red",
            "Unexpected parameter",
        ),
        ("/v2/markets/calendar?hol_div=9", "Allowed"),
        (
            "/v2/equities/bars/daily?code=7203&pagination_key=bogus",
            "Invalid pagination_key",
        ),
    ];
    for (path, want) in cases {
        let r = app.get(path).await;
        assert_eq!(r.status(), 400, "{path}");
        let body: Value = r.json().await.unwrap();
        let msg = body["message"].as_str().unwrap_or_default();
        assert!(msg.contains(want), "{path}: {msg}");
        assert_eq!(body.as_object().unwrap().len(), 1, "only a message: {body}");
    }
    assert_eq!(app.upstream_calls(), 0, "bad requests reached the upstream");
}

#[tokio::test]
async fn upstream_403_passes_through_with_its_message() {
    let app = spawn_app_with(Options {
        upstream_key: "wrong-upstream-key".into(),
        ..Default::default()
    })
    .await;
    let r = app
        .get("/v2/equities/bars/daily?code=7203&date=20261119")
        .await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["message"],
        "The incoming api key is invalid or expired."
    );
    assert_eq!(app.upstream_calls(), 1, "403 must not be retried");
    // Unknown paths under /v2 are 403, as upstream, without an upstream call.
    assert_eq!(app.get("/v2/nope").await.status(), 403);
    assert_eq!(app.upstream_calls(), 1);
}

#[tokio::test]
async fn upstream_pages_are_merged() {
    let app = spawn_app_with(Options {
        sim_page_bytes: 20_000,
        ..Default::default()
    })
    .await;
    let path = "/v2/equities/bars/daily?date=2026-11-19";
    // Walk the simulator's pages directly.
    let app = &app;
    let (direct_rows, sizes) = follow_pages(path, |p| async move {
        app.direct(&p).await.bytes().await.unwrap()
    })
    .await;
    let pages = sizes.len() as u64;
    assert!(pages > 3, "simulator gave only {pages} pages");
    app.sim.reset();
    let r = app.get(path).await;
    assert_eq!(r.status(), 200);
    let merged: Value = r.json().await.unwrap();
    assert!(merged.get("pagination_key").is_none());
    assert_eq!(merged["data"].as_array().unwrap(), &direct_rows);
    assert_eq!(
        app.upstream_calls(),
        pages,
        "one upstream call per upstream page"
    );
}

/// Follows `pagination_key`s as a J-Quants client does; returns every row and each page's
/// size in bytes, checking that the key changes from page to page.
async fn follow_pages<F, Fut>(path: &str, fetch: F) -> (Vec<Value>, Vec<usize>)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = bytes::Bytes>,
{
    let (mut rows, mut sizes, mut key) = (vec![], vec![], None::<String>);
    loop {
        let p = match &key {
            None => path.to_string(),
            Some(k) => format!("{path}&pagination_key={}", urlencode(k)),
        };
        let bytes = fetch(p).await;
        sizes.push(bytes.len());
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        rows.extend(v["data"].as_array().unwrap().iter().cloned());
        match v["pagination_key"].as_str() {
            Some(k) => {
                assert_ne!(key.as_deref(), Some(k), "keys change per page");
                key = Some(k.to_string());
            }
            None => return (rows, sizes),
        }
    }
}

/// [`follow_pages`] through the proxy, every page a 200.
async fn follow_proxy_pages(app: &TestApp, path: &str) -> (Vec<Value>, Vec<usize>) {
    follow_pages(path, |p| async move {
        let r = app.get(&p).await;
        assert_eq!(r.status(), 200, "{p}");
        r.bytes().await.unwrap()
    })
    .await
}

/// An app whose answers larger than `max_page_bytes` are paged by the proxy.
fn paged(max_page_bytes: usize) -> Options {
    Options {
        max_page_bytes,
        ..Default::default()
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn large_answers_are_paged_by_the_proxy_and_every_row_arrives_once() {
    let app = spawn_app_with(paged(30_000)).await;
    let path = "/v2/equities/bars/daily?date=2026-11-19";
    let direct: Value = app.direct(path).await.json().await.unwrap();
    let want = direct["data"].as_array().unwrap().clone();
    app.sim.reset();
    let (got, sizes) = follow_proxy_pages(&app, path).await;
    assert!(sizes.iter().all(|n| *n <= 30_000), "page sizes {sizes:?}");
    let pages = sizes.len();
    assert!(pages > 3);
    assert_eq!(got, want);
    // The pages came from one upstream fetch.
    assert_eq!(app.calls_to("/equities/bars/daily"), 1);
    // A key is only valid with the query it came from, as upstream.
    let first: Value = app.get(path).await.json().await.unwrap();
    let k = first["pagination_key"].as_str().unwrap();
    let other = app
        .get(&format!(
            "/v2/equities/bars/daily?date=2026-11-18&pagination_key={}",
            urlencode(k)
        ))
        .await;
    assert_eq!(other.status(), 400);
    assert_eq!(app.calls_to("/equities/bars/daily"), 1);
}

/// A client paging through an answer gets the pages it started on, from the snapshot kept
/// for it, even when the cache has dropped (or refreshed) the answer in between.
#[tokio::test]
async fn pages_come_from_the_snapshot_a_client_is_following() {
    let app = spawn_app_with(paged(30_000)).await;
    let path = "/v2/equities/bars/daily?date=2026-11-19";
    let first: Value = app.get(path).await.json().await.unwrap();
    let k = urlencode(first["pagination_key"].as_str().unwrap());
    app.state
        .cache
        .purge(Some("/equities/bars/daily"), None)
        .await;
    let calls = app.calls_to("/equities/bars/daily");
    let r = app.get(&format!("{path}&pagination_key={k}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "HIT");
    let second: Value = r.json().await.unwrap();
    assert_ne!(second["data"][0], first["data"][0]);
    assert_eq!(app.calls_to("/equities/bars/daily"), calls);
}

/// Derived answers are cut and keyed by the same paging as mirror answers.
#[tokio::test]
async fn derived_answers_are_paged_as_the_mirror_pages_and_keys_are_checked_first() {
    let path = "/derived/margin?code=7203&from=2026-01-01&to=2026-11-20";
    let whole: Value = spawn_app().await.get(path).await.json().await.unwrap();
    assert!(whole.get("pagination_key").is_none());
    let want = whole["data"].as_array().unwrap().clone();
    let app = spawn_app_with(paged(4_000)).await;
    let (got, sizes) = follow_proxy_pages(&app, path).await;
    assert!(sizes.len() > 3, "page sizes {sizes:?}");
    assert!(sizes.iter().all(|n| *n <= 4_000), "page sizes {sizes:?}");
    assert_eq!(got, want);
    // A key of another query, or none of ours, is refused before anything is fetched.
    let first: Value = app.get(path).await.json().await.unwrap();
    let k = urlencode(first["pagination_key"].as_str().unwrap());
    let calls = app.upstream_calls();
    for bad in [
        format!("/derived/margin?code=6758&from=2026-01-01&to=2026-11-20&pagination_key={k}"),
        "/derived/margin?code=6758&pagination_key=bogus".to_string(),
    ] {
        let r = app.get(&bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.unwrap();
        let msg = v["message"].as_str().unwrap_or_default();
        assert!(msg.starts_with("Invalid pagination_key"), "{bad}: {msg}");
    }
    assert_eq!(app.upstream_calls(), calls);
}

#[tokio::test]
async fn gzip_only_when_asked_and_demo_header_absent_in_live_mode() {
    let app = spawn_app().await;
    let path = format!("{}/v2/equities/bars/daily?code=7203&date=20261119", app.url);
    let plain = app.http.get(&path).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(plain.headers().get("x-jquants-proxy-mode").is_none());
    let plain = plain.bytes().await.unwrap();
    let out = crate::helpers::get_gunzipped(&app.http, &path).await;
    assert_eq!(out, plain);
}

#[tokio::test]
async fn etag_and_cache_headers() {
    let app = spawn_app().await;
    let path = format!("{}/v2/equities/bars/daily?code=7203&date=20261119", app.url);
    let r = app.http.get(&path).send().await.unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let cc = r.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(cc.starts_with("private, max-age="), "{cc}");
    let not_modified = app
        .http
        .get(&path)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_eq!(app.upstream_calls(), 1);
}

#[tokio::test]
async fn demo_mode_runs_the_simulator_in_process_and_says_so() {
    use jquants_proxy::config::ServeConfig;
    let mut cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.clock = jquants_proxy::jst::Clock::fixed(crate::helpers::default_now());
    // Simulated answers must not be stored where a live run would read them.
    cfg.database = Some(crate::helpers::fresh_schema().await);
    let (url, state) = crate::helpers::start(cfg).await;
    assert!(state.demo);
    let r = reqwest::get(format!(
        "{url}/v2/equities/bars/daily?code=7203&date=20261119"
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-jquants-proxy-mode"], "demo");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"][0]["Code"], "72030");
    let ready: Value = reqwest::get(format!("{url}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["mode"], "demo");
    assert_eq!(ready["postgres"], "disabled");
}

#[tokio::test]
async fn every_endpoints_parameter_rules_match_the_upstream_and_cost_nothing() {
    let app = spawn_app().await;
    let mut bad = vec![];
    for ep in ENDPOINTS.iter().filter(|e| e.api_available) {
        let base = format!("/v2{}", ep.path);
        bad.push(format!("{base}?bogus=1"));
        if !ep.patterns.iter().any(|p| p.is_empty()) {
            bad.push(base.clone());
        }
        let all: Vec<&str> = ep
            .params
            .iter()
            .map(|p| p.name)
            .filter(|n| !ep.optional.contains(n))
            .collect();
        if !all.is_empty() && !ep.patterns.iter().any(|p| p.len() == all.len()) {
            let q: Vec<String> = all
                .iter()
                .map(|n| match ep.param(n).unwrap().kind {
                    ParamKind::Code => format!("{n}=72030"),
                    ParamKind::Date | ParamKind::DayOrMonth => format!("{n}=2026-11-19"),
                    ParamKind::Choice(c) => format!("{n}={}", c[0]),
                    ParamKind::Text => format!("{n}=x"),
                })
                .collect();
            bad.push(format!("{base}?{}", q.join("&")));
        }
        if let Some(d) = ep.params.iter().find(|p| p.kind == ParamKind::Date) {
            bad.push(format!("{base}?{}=20260230", d.name));
        }
    }
    assert!(bad.len() > 80, "{} bad requests", bad.len());
    for path in &bad {
        let r = app.get(path).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["message"].is_string(), "{path}");
    }
    assert_eq!(
        app.upstream_calls(),
        0,
        "a bad request reached the upstream"
    );
    // The upstream (simulator) gives the same status and message for each.
    for path in &bad {
        let proxied: Value = app.get(path).await.json().await.unwrap();
        let direct = app.direct(path).await;
        assert_eq!(direct.status(), 400, "{path}");
        let direct: Value = direct.json().await.unwrap();
        assert_eq!(proxied, direct, "{path}");
    }
}

#[tokio::test]
async fn requests_beyond_the_plan_are_refused_without_an_upstream_call() {
    use jquants_proxy::catalog::Plan;
    let app = spawn_app_with(Options {
        plan: Plan::Light,
        ..Default::default()
    })
    .await;
    let cases = [
        ("/v2/fins/dividend?code=7203", 403u16), // Premium endpoint
        ("/v2/markets/margin-interest?code=7203", 403), // Standard endpoint
        ("/v2/equities/bars/daily?date=2018-01-05", 400), // Light covers 5 years
        (
            "/v2/equities/bars/daily?code=7203&from=2017-01-04&to=2018-01-31",
            400,
        ),
    ];
    for (path, status) in cases {
        let r = app.get(path).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        let proxied: Value = r.json().await.unwrap();
        // The upstream (simulator on the same plan) says the same.
        let direct = app.direct(path).await;
        assert_eq!(direct.status().as_u16(), status, "{path}");
        assert_eq!(proxied, direct.json::<Value>().await.unwrap(), "{path}");
    }
    let direct_calls = cases.len() as u64;
    assert_eq!(
        app.upstream_calls(),
        direct_calls,
        "the proxy sent refused requests upstream"
    );
    // Inside the window the request goes through.
    assert_eq!(
        app.get("/v2/equities/bars/daily?code=7203&from=2024-01-04&to=2024-01-31")
            .await
            .status(),
        200
    );
}
