//! What a failed attempt means: a 429 pauses every caller, 5xx and broken connections are
//! retried with backoff, client errors are final and keep the upstream's message.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_everyone_then_the_request_succeeds() {
    let server = TestServer::start(|n, _| {
        if n == 0 {
            json(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"message": "Too Many Requests"}"#,
            )
        } else {
            ok_json()
        }
    })
    .await;
    // Light with a 600 ms window: cool-down scales to 600 ms.
    let cfg = config(&server.base, Plan::Light, Duration::from_millis(600));
    let cooldown = cfg.cooldown_after_429;
    assert_eq!(cooldown, Duration::from_millis(600));
    let up = Upstream::new(cfg).unwrap();
    let first = spawn_call(&up, req("/equities/master", "a=1"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stats = up.limiter_stats();
    assert_eq!(stats.rate_limited, 1);
    assert!(stats.pause_remaining().is_some(), "{stats:?}");
    // Another caller arriving during the pause waits it out too.
    let other = up.call(req("/equities/master", "b=1")).await.unwrap();
    assert_eq!(other.status, StatusCode::OK);
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status, StatusCode::OK);
    let hits = server.hits();
    assert_eq!(hits.len(), 3);
    let t429 = hits[0].at;
    for h in &hits[1..] {
        assert!(
            h.at - t429 >= cooldown,
            "{} came {:?} after the 429",
            h.query,
            h.at - t429
        );
    }
    let stats = up.limiter_stats();
    assert_eq!((stats.rate_limited, stats.retries), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_429_gives_rate_limited_after_two_cooldowns() {
    let server = TestServer::start(|_, _| {
        json(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"message": "Too Many Requests"}"#,
        )
    })
    .await;
    let mut cfg = config(&server.base, Plan::Light, Duration::from_millis(600));
    cfg.cooldown_after_429 = Duration::from_millis(100);
    let up = Upstream::new(cfg).unwrap();
    let start = Instant::now();
    let e = up.call(req("/equities/master", "")).await.unwrap_err();
    assert!(matches!(e, UpstreamError::RateLimited), "{e:?}");
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(server.hits().len(), 3);
    let api = ApiError::from(e);
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_dropped_connections_are_retried_with_backoff() {
    let server = TestServer::start(|n, _| match n {
        0 => json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"message": "boom"}"#),
        // Headers sent, then the connection dies mid-body.
        1 => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from_static(b"{\"data\": [1, 2,")),
                Err(std::io::Error::other("connection reset")),
            ];
            Response::builder()
                .status(StatusCode::OK)
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .unwrap()
        }
        // A complete HTTP message whose JSON is cut short.
        2 => json(StatusCode::OK, r#"{"data": [1, 2,"#),
        _ => json(StatusCode::OK, r#"{"data": [1, 2, 3]}"#),
    })
    .await;
    let mut cfg = config(&server.base, Plan::Premium, Duration::from_millis(600));
    cfg.max_retries = 3;
    let up = Upstream::new(cfg).unwrap();
    let resp = up.call(req("/equities/master", "")).await.unwrap();
    assert_eq!(&resp.body[..], br#"{"data": [1, 2, 3]}"#);
    let hits = server.hits();
    assert_eq!(hits.len(), 4);
    // Backoff of at least 20, 40, 80 ms (jitter only adds).
    for (i, min) in [20u64, 40, 80].iter().enumerate() {
        let gap = hits[i + 1].at - hits[i].at;
        assert!(gap >= Duration::from_millis(*min), "gap {i}: {gap:?}");
    }
    assert_eq!(up.limiter_stats().retries, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_503_is_unavailable_after_max_retries() {
    let server = TestServer::start(|_, _| {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"message": "maintenance"}"#,
        )
    })
    .await;
    let mut cfg = config(&server.base, Plan::Premium, Duration::from_millis(600));
    cfg.max_retries = 2;
    let up = Upstream::new(cfg).unwrap();
    let e = up.call(req("/equities/master", "")).await.unwrap_err();
    let UpstreamError::Unavailable(detail) = &e else {
        panic!("{e:?}")
    };
    assert!(detail.contains("503"), "{detail}");
    assert_eq!(server.hits().len(), 3);
    let api = ApiError::from(e);
    assert_eq!(api.status(), StatusCode::BAD_GATEWAY);
    assert!(!api.public_message().contains("maintenance"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_refused_connections_are_unavailable() {
    let server = TestServer::start(|_, _| {
        let mut resp = ok_json();
        resp.headers_mut()
            .insert("x-test-delay-ms", "300".parse().unwrap());
        resp
    })
    .await;
    let mut cfg = config(&server.base, Plan::Premium, Duration::from_millis(600));
    cfg.request_timeout = Duration::from_millis(100);
    cfg.max_retries = 1;
    let up = Upstream::new(cfg).unwrap();
    let e = up.call(req("/equities/master", "")).await.unwrap_err();
    assert!(
        matches!(&e, UpstreamError::Unavailable(d) if d.contains("timed out")),
        "{e:?}"
    );
    assert_eq!(server.hits().len(), 2);

    // Nothing listens on a port we just released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = config(
        &format!("http://127.0.0.1:{port}/v2"),
        Plan::Premium,
        Duration::from_millis(600),
    );
    cfg.max_retries = 1;
    let up = Upstream::new(cfg).unwrap();
    let e = up.call(req("/equities/master", "")).await.unwrap_err();
    assert!(matches!(e, UpstreamError::Unavailable(_)), "{e:?}");
    assert_eq!(up.limiter_stats().calls, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_not_retried_and_keep_the_upstream_message() {
    let server = TestServer::start(|_, hit| match hit.query.as_str() {
        "bad=1" => json(
            StatusCode::BAD_REQUEST,
            r#"{"message": "This API requires at least 1 parameter as follows; date, code"}"#,
        ),
        "key=1" => json(
            StatusCode::FORBIDDEN,
            r#"{"message": "The incoming api key is invalid or expired."}"#,
        ),
        _ => (StatusCode::FORBIDDEN, "").into_response(),
    })
    .await;
    let up = premium(&server);
    let cases = [
        (
            "bad=1",
            400,
            "This API requires at least 1 parameter as follows; date, code",
        ),
        ("key=1", 403, "The incoming api key is invalid or expired."),
        (
            "plain=1",
            403,
            "The upstream J-Quants API answered 403 Forbidden.",
        ),
    ];
    for (q, status, message) in cases {
        let e = up.call(req("/equities/bars/daily", q)).await.unwrap_err();
        match &e {
            UpstreamError::Status {
                status: s,
                message: m,
            } => {
                assert_eq!((s.as_u16(), m.as_str()), (status, message))
            }
            other => panic!("{q}: {other:?}"),
        }
        let api = ApiError::from(e);
        assert_eq!(api.status().as_u16(), status);
        assert_eq!(api.public_message(), message);
    }
    assert_eq!(server.hits().len(), 3);
    assert_eq!(up.limiter_stats().retries, 0);
}
