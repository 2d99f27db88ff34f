//! Access control: client keys, the loopback rule, admin routes, quotas, and the upstream key
//! never reaching a client or a log line.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::Request;
use jquants_proxy::startup::app_router;
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::{Options, SIM_KEY, log_buffer, spawn_app_with};

const INVALID: &str = "The incoming api key is invalid or expired.";

fn keyed() -> Options {
    Options {
        client_keys: vec![("research".into(), "research-key-123".into())],
        ..Default::default()
    }
}

#[tokio::test]
async fn client_keys_are_required_when_configured() {
    let app = spawn_app_with(keyed()).await;
    let path = "/v2/equities/bars/daily?code=7203&date=20261119";
    let url = format!("{}{path}", app.url);
    for key in [None, Some("wrong-key-9999"), Some(SIM_KEY)] {
        let mut r = app.http.get(&url);
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 403, "{key:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v, serde_json::json!({ "message": INVALID }), "{key:?}");
    }
    assert_eq!(
        app.upstream_calls(),
        0,
        "refused requests reached the upstream"
    );
    let ok = app.get_with(path, "x-api-key", "research-key-123").await;
    assert_eq!(ok.status(), 200);
    // Derived routes are data too.
    let r = app
        .get("/derived/market-cap?code=3350&date=2025-03-28")
        .await;
    assert_eq!(r.status(), 403);
    // So are the charts and the margin page drawn from them: closed unless a route is listed
    // as open (Schemathesis found the charts served without a key when auth went by prefix).
    // They are what a browser opens, so they refuse with 401 and a Basic challenge; unknown
    // paths refuse as the API does.
    let calls_before = app.upstream_calls();
    for (p, status) in [
        ("/charts/margin.svg?code=33500", 401),
        ("/charts/market-cap.svg?code=33500", 401),
        ("/charts/margin/market.svg", 401),
        ("/margin", 401),
        ("/margin?code=33500", 401),
        ("/no-such-route", 403),
        ("/admin/no-such-route", 403),
    ] {
        let r = app.get(p).await;
        assert_eq!(r.status(), status, "{p}");
    }
    assert_eq!(
        app.upstream_calls(),
        calls_before,
        "refused charts reached the upstream"
    );
    // Health, readiness, docs and metrics stay open.
    for p in ["/healthz", "/readyz", "/openapi.json", "/metrics", "/docs/"] {
        assert_eq!(app.get(p).await.status(), 200, "{p}");
    }
}

#[tokio::test]
async fn a_browser_opens_the_margin_page_with_the_key_as_basic_password() {
    let app = spawn_app_with(keyed()).await;
    let page = format!("{}/margin?code=7203", app.url);
    let r = app.http.get(&page).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        r#"Basic realm="jquants-proxy""#
    );
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("password"), "{v}");
    let wrong = app.http.get(&page).basic_auth("me", Some("wrong-key-9999"));
    let r = wrong.send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(
        app.upstream_calls(),
        0,
        "refused pages reached the upstream"
    );

    let ok = app
        .http
        .get(&page)
        .basic_auth("anyone", Some("research-key-123"));
    let r = ok.send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"margin-table\""), "not the margin page");
    // The charts the page embeds: the browser sends the same credentials.
    let chart = format!("{}/charts/margin.svg?code=7203", app.url);
    let r = app
        .http
        .get(&chart)
        .basic_auth("anyone", Some("research-key-123"));
    assert_eq!(r.send().await.unwrap().status(), 200);
    // API routes take Basic credentials too, and keep J-Quants' 403 without them.
    let api = format!("{}/v2/markets/calendar", app.url);
    let r = app.http.get(&api).basic_auth("x", Some("research-key-123"));
    assert_eq!(r.send().await.unwrap().status(), 200);
    let r = app.http.get(&api).basic_auth("x", Some("wrong-key-9999"));
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(!r.headers().contains_key("www-authenticate"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, serde_json::json!({ "message": INVALID }));
}

async fn status_from(peer: &str, opts: Options) -> (u16, Value) {
    let app = spawn_app_with(opts).await;
    let router = app_router(app.state.clone(), Duration::from_secs(30))
        .layer(MockConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    let req = Request::get("/v2/markets/calendar")
        .body(Body::empty())
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn without_client_keys_only_loopback_is_served() {
    let (s, v) = status_from("10.20.30.40:50000", Options::default()).await;
    assert_eq!(s, 403);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("only local clients"),
        "{v}"
    );
    let (s, _) = status_from("127.0.0.1:50000", Options::default()).await;
    assert_eq!(s, 200);
    let (s, _) = status_from("[::1]:50000", Options::default()).await;
    assert_eq!(s, 200);
    // With keys configured the peer address does not matter, the key does.
    let (s, _) = status_from("10.20.30.40:50000", keyed()).await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn admin_routes_are_closed_without_an_admin_key() {
    let app = spawn_app_with(Options {
        admin_key: None,
        ..Default::default()
    })
    .await;
    let r = app
        .get_with("/admin/cache/stats", "x-api-key", "anything")
        .await;
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("disabled"));
    let r = app
        .http
        .post(format!("{}/admin/cache/purge", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn per_client_quotas_stop_one_app_from_starving_the_others() {
    let mut opts = Options {
        client_keys: vec![
            ("greedy".into(), "greedy-key-123".into()),
            ("modest".into(), "modest-key-123".into()),
        ],
        ..Default::default()
    };
    opts.client_quota = 5;
    let app = spawn_app_with(opts).await;
    let path = "/v2/markets/calendar";
    let url = format!("{}{path}", app.url);
    let mut statuses = vec![];
    for _ in 0..8 {
        statuses.push(
            app.http
                .get(&url)
                .header("x-api-key", "greedy-key-123")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "{statuses:?}"
    );
    let other = app.get_with(path, "x-api-key", "modest-key-123").await;
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn the_upstream_key_never_appears_in_responses_or_logs() {
    let logs = log_buffer();
    let app = spawn_app_with(Options {
        database: true,
        ..Default::default()
    })
    .await;
    let mut seen = String::new();
    for p in [
        "/v2/equities/bars/daily?code=7203&date=20261119",
        "/v2/equities/bars/daily?date=20240230",
        "/v2/nope",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/admin/cache/stats",
    ] {
        let r = app.get_with(p, "x-api-key", "admin-test-key").await;
        seen.push_str(&format!("{:?}", r.headers()));
        seen.push_str(&r.text().await.unwrap());
    }
    // An upstream failure path too.
    app.sim
        .set_faults(jquants_proxy::sim::Faults::errors(500, 10));
    let r = app.get("/v2/equities/bars/daily?code=86970").await;
    seen.push_str(&r.text().await.unwrap());
    assert!(!seen.contains(SIM_KEY), "upstream key in a response");
    let logged = logs();
    assert!(!logged.is_empty(), "log capture is not working");
    assert!(!logged.contains(SIM_KEY), "upstream key in the logs");
}
