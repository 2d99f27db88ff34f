//! Operations: request ids, metrics, readiness, graceful shutdown of the real binary.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{
    Options, SIM_KEY, default_now, log_buffer, spawn_app, spawn_app_with, spawn_sim,
};

#[tokio::test]
async fn every_response_carries_a_request_id_and_metrics_count_requests() {
    let app = spawn_app().await;
    let r = app
        .get("/v2/equities/bars/daily?code=7203&date=20261119")
        .await;
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "uuid request id: {id}");
    let r2 = app
        .get("/v2/equities/bars/daily?code=7203&date=20261119")
        .await;
    assert_ne!(r2.headers()["x-request-id"].to_str().unwrap(), id);
    // A caller's own id is kept.
    let r3 = app
        .get_with("/healthz", "x-request-id", "trace-me-123")
        .await;
    assert_eq!(r3.headers()["x-request-id"], "trace-me-123");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for want in [
        "jqp_http_requests_total{route=\"/v2/equities/bars/daily\"",
        "cache=\"HIT\"",
        "jqp_http_request_duration_seconds_bucket",
        "jqp_upstream_calls_total",
        "jqp_upstream_wait_seconds",
        "jqp_cache_entries{tier=\"l1\"}",
        "jqp_cache_bytes{tier=\"l1\"}",
        "jqp_upstream_limiter_queue",
    ] {
        assert!(metrics.contains(want), "metrics lack {want}");
    }
}

#[tokio::test]
async fn one_access_line_per_request_with_its_id_client_and_cache_status() {
    let logs = log_buffer();
    let app = spawn_app_with(Options {
        client_keys: vec![("research".into(), "research-key-1".into())],
        ..Default::default()
    })
    .await;
    let path = "/v2/equities/bars/daily?code=7203&date=20261119";
    for id in ["access-line-miss", "access-line-hit"] {
        let r = app
            .http
            .get(format!("{}{path}", app.url))
            .header("x-api-key", "research-key-1")
            .header("x-request-id", id)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-request-id"], id);
    }
    let logged = logs();
    assert!(!logged.is_empty(), "log capture is not working");
    for (id, cache) in [("access-line-miss", "MISS"), ("access-line-hit", "HIT")] {
        let lines: Vec<&str> = logged
            .lines()
            .filter(|l| l.contains(id) && l.contains(&format!("GET {path} ")))
            .collect();
        assert_eq!(lines.len(), 1, "one access line for {id}:\n{logged}");
        for want in ["client=research".to_string(), format!(" 200 {cache} ")] {
            assert!(lines[0].contains(&want), "{want} missing from {}", lines[0]);
        }
    }
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_then_exits() {
    let opts = Options {
        sim_latency: Duration::from_millis(1500),
        ..Default::default()
    };
    let clock = jquants_proxy::jst::Clock::fixed(default_now());
    let sim = spawn_sim(&opts, &clock).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new(env!("CARGO_BIN_EXE_jquants-proxy"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("JQUANTS_API_KEY", SIM_KEY)
        .env("JQUANTS_BASE_URL", sim.base_url())
        .env("JQUANTS_PLAN", "premium")
        .env("JQP_LOG_FORMAT", "json")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "proxy did not start");
    let slow = tokio::spawn(reqwest::get(format!(
        "{base}/v2/equities/bars/daily?code=7203&date=20261119"
    )));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let resp = slow.await.unwrap().expect("in-flight request completed");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"][0]["Code"], "72030");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "exit status {:?}", out.status);
    // JSON logs: one object per line, request lines carry the request id, no key anywhere.
    let logs =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(lines.len() >= 3, "expected JSON log lines, got:\n{logs}");
    assert!(
        lines.iter().any(|l| l.to_string().contains("request_id")),
        "no request id in logs:\n{logs}"
    );
    assert!(logs.contains("shut down cleanly"));
    assert!(!logs.contains(SIM_KEY), "upstream key in logs");
}

#[tokio::test]
async fn readiness_reports_memory_only_without_postgres() {
    let app = spawn_app().await;
    let v: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(v["status"], "ready");
    assert_eq!(v["postgres"], "disabled");
    assert_eq!(v["mode"], "live");
    assert_eq!(v["upstream"]["plan"], "premium");
    assert_eq!(v["upstream"]["limiter"]["queued"], 0);
}
