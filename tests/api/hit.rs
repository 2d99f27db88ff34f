//! The hit path (`routes::hit`): fresh answers in memory are served at the edge, exactly as
//! the full stack serves them, and everything else reaches the full stack untouched.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, Response, StatusCode};
use jquants_proxy::http::hit::HitLayer;
use jquants_proxy::startup::app_router;
use tower::{Layer, ServiceExt, service_fn};

use crate::helpers::{Options, spawn_app_with};

const PATH: &str = "/v2/equities/bars/daily?code=7203&from=2026-11-02&to=2026-11-19";
const KEY: &str = "research-key-1";
/// What the stand-in for the full stack answers, so a test sees which path answered.
const FULL_STACK: StatusCode = StatusCode::IM_A_TEAPOT;

fn keyed() -> Options {
    Options {
        client_keys: vec![("research".into(), KEY.into())],
        max_page_bytes: 40_000,
        ..Default::default()
    }
}

fn get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::get(path);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let mut req = b.body(Body::empty()).unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

type Parts = (StatusCode, Vec<(String, String)>, Vec<u8>);

/// Status, headers (but the request id and the date) and body bytes, for comparing answers.
fn parts(status: StatusCode, headers: &axum::http::HeaderMap, body: &[u8]) -> Parts {
    let mut headers: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "x-request-id" | "date"))
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    headers.sort();
    (status, headers, body.to_vec())
}

async fn router_parts(resp: Response<Body>) -> Parts {
    let (p, body) = resp.into_parts();
    let body = axum::body::to_bytes(body, 1 << 26).await.unwrap();
    parts(p.status, &p.headers, &body)
}

#[tokio::test]
async fn only_fresh_whole_answers_for_admitted_clients_are_served_at_the_edge() {
    let app = spawn_app_with(keyed()).await;
    let paged = "/v2/equities/bars/daily?date=2026-11-19";
    for (p, pages) in [(PATH, false), (paged, true)] {
        let r = app.get_with(p, "x-api-key", KEY).await;
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body.get("pagination_key").is_some(), pages, "{p}");
    }
    let calls = app.upstream_calls();
    let full_stack = service_fn(|_req: Request<Body>| async {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = FULL_STACK;
        Ok::<_, Infallible>(r)
    });
    let edge = HitLayer::new(app.state.clone()).layer(full_stack);
    let status = |req| {
        let edge = edge.clone();
        async move { edge.oneshot(req).await.unwrap().status() }
    };
    let with_key = [("x-api-key", KEY)];
    assert_eq!(status(get(PATH, &with_key)).await, StatusCode::OK);
    // Spelled differently, the same question: still the stored answer.
    let spelled = "/v2/equities/bars/daily?to=20261119&code=72030&from=20261102";
    assert_eq!(status(get(spelled, &with_key)).await, StatusCode::OK);
    for (why, req) in [
        ("no key", get(PATH, &[])),
        ("a wrong key", get(PATH, &[("x-api-key", "wrong")])),
        (
            "not held",
            get(
                "/v2/equities/bars/daily?code=6758&date=2026-11-19",
                &with_key,
            ),
        ),
        (
            "invalid",
            get(
                "/v2/equities/bars/daily?code=7203&date=2026-02-30",
                &with_key,
            ),
        ),
        ("paged answer", get(paged, &with_key)),
        (
            "a page key",
            get(&format!("{paged}&pagination_key=x"), &with_key),
        ),
        ("not a GET", {
            let mut r = get(PATH, &with_key);
            *r.method_mut() = axum::http::Method::POST;
            r
        }),
        (
            "not the mirror",
            get("/derived/margin/ratios?code=7203", &with_key),
        ),
    ] {
        assert_eq!(status(req).await, FULL_STACK, "{why}: handed on");
    }
    assert_eq!(app.upstream_calls(), calls, "the edge never calls upstream");
}

#[tokio::test]
async fn a_hit_at_the_edge_answers_as_the_full_stack_does() {
    let app = spawn_app_with(keyed()).await;
    let first = app.get_with(PATH, "x-api-key", KEY).await;
    assert_eq!(first.headers()["x-cache"], "MISS");
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let full_stack = app_router(app.state.clone(), Duration::from_secs(30)).layer(MockConnectInfo(
        "127.0.0.1:40000".parse::<SocketAddr>().unwrap(),
    ));
    // The edge alone: a request it handed on would come back as a teapot.
    let edge = HitLayer::new(app.state.clone()).layer(service_fn(|_req: Request<Body>| async {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = FULL_STACK;
        Ok::<_, Infallible>(r)
    }));
    for headers in [
        vec![("x-api-key", KEY)],
        vec![("x-api-key", KEY), ("accept-encoding", "gzip")],
        vec![("x-api-key", KEY), ("if-none-match", etag.as_str())],
        vec![("x-api-key", KEY), ("x-request-id", "edge-1")],
    ] {
        let at_edge = edge.clone().oneshot(get(PATH, &headers)).await.unwrap();
        let full = full_stack
            .clone()
            .oneshot(get(PATH, &headers))
            .await
            .unwrap();
        let ids =
            [&at_edge, &full].map(|r| r.headers()["x-request-id"].to_str().unwrap().to_string());
        let at_edge = router_parts(at_edge).await;
        assert_ne!(at_edge.0, FULL_STACK, "answered at the edge: {headers:?}");
        let full = router_parts(full).await;
        assert_eq!(
            (at_edge.0, &at_edge.1),
            (full.0, &full.1),
            "asked with {headers:?}"
        );
        assert!(at_edge.2 == full.2, "the same body, asked with {headers:?}");
        assert_eq!(
            at_edge.1.iter().find(|(n, _)| n == "x-cache").unwrap().1,
            "HIT"
        );
        if headers.iter().any(|(n, _)| *n == "x-request-id") {
            assert_eq!(ids, ["edge-1", "edge-1"]);
        } else {
            assert!(
                ids.iter().all(|id| id.len() == 36),
                "generated request ids: {ids:?}"
            );
        }
    }
    assert_eq!(app.upstream_calls(), 1);
}
