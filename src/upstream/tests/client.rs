//! The HTTP side of a call: gzip, the key sent as a header and never printed, and the
//! configuration's defaults and checks.

use std::io::Write as _;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_is_requested_and_decoded_and_the_key_is_sent() {
    const BODY: &str = r#"{"data": [{"Code": "72030", "C": 2500.0}]}"#;
    let server = TestServer::start(|_, hit| {
        let accepts_gzip = hit
            .headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("gzip"));
        if !accepts_gzip {
            return json(StatusCode::BAD_REQUEST, r#"{"message": "no gzip"}"#);
        }
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(BODY.as_bytes()).unwrap();
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            enc.finish().unwrap(),
        )
            .into_response()
    })
    .await;
    let up = premium(&server);
    let resp = up
        .call(req("/equities/bars/daily", "code=72030"))
        .await
        .unwrap();
    assert_eq!(&resp.body[..], BODY.as_bytes());
    let hits = server.hits();
    assert_eq!(hits[0].headers.get("x-api-key").unwrap(), KEY);
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output() {
    let cfg = UpstreamConfig::new(
        "https://api.jquants.com/v2/",
        SecretString::from(KEY),
        Plan::Light,
    );
    let up = Upstream::new(cfg.clone()).unwrap();
    for s in [
        format!("{cfg:?}"),
        format!("{cfg:#?}"),
        format!("{up:?}"),
        format!("{up:#?}"),
        format!("{:?}", up.limiter_stats()),
    ] {
        assert!(!s.contains(KEY), "key leaked: {s}");
        assert!(!s.contains("9f8e7d"), "key leaked: {s}");
    }
    assert!(format!("{up:?}").contains("https://api.jquants.com/v2\""));
}

#[test]
fn config_defaults_and_scaling() {
    let c = UpstreamConfig::new(DEFAULT_BASE_URL, SecretString::from(KEY), Plan::Standard);
    assert_eq!(c.rate_window, Duration::from_secs(60));
    assert_eq!(c.cooldown_after_429, Duration::from_secs(60));
    let c = c.with_rate_window(Duration::from_secs(6));
    assert_eq!(c.cooldown_after_429, Duration::from_secs(6));
    assert!(
        Upstream::new(UpstreamConfig::new(
            "not a url",
            SecretString::from(KEY),
            Plan::Free
        ))
        .is_err()
    );
}
