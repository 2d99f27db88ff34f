//! Following `pagination_key`: the same query for every page, and a loop stopped.

use super::*;

/// Every page of `path?query`, canonicalised as the proxy would ask for it.
async fn fetch_pages(
    up: &Upstream,
    path: &str,
    query: Option<&str>,
) -> Result<Vec<Bytes>, UpstreamError> {
    let endpoint = crate::catalog::find(path).unwrap();
    let canonical = crate::request::parse(endpoint, query).unwrap().request;
    up.fetch_pages(&canonical, &Arc::from("test")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_keys_are_followed_with_the_same_query() {
    let server = TestServer::start(|_, hit| {
        let params: std::collections::BTreeMap<String, String> =
            url::form_urlencoded::parse(hit.query.as_bytes())
                .into_owned()
                .collect();
        if params.get("code").map(String::as_str) != Some("72030")
            || params.get("date").map(String::as_str) != Some("2024-01-05")
            || params.len() > 3
        {
            return json(StatusCode::BAD_REQUEST, r#"{"message": "query changed"}"#);
        }
        match params.get("pagination_key").map(String::as_str) {
            None => json(
                StatusCode::OK,
                r#"{"data": [{"p": 1}], "pagination_key": "a+b/c=="}"#,
            ),
            Some("a+b/c==") => json(
                StatusCode::OK,
                r#"{"data": [{"p": 2}], "pagination_key": "k&2"}"#,
            ),
            Some("k&2") => json(StatusCode::OK, r#"{"data": [{"p": 3}]}"#),
            Some(_) => json(StatusCode::BAD_REQUEST, r#"{"message": "bad key"}"#),
        }
    })
    .await;
    let up = premium(&server);
    let pages = fetch_pages(&up, "/equities/bars/daily", Some("date=20240105&code=7203"))
        .await
        .unwrap();
    let pages: Vec<&[u8]> = pages.iter().map(|p| &p[..]).collect();
    assert_eq!(
        pages,
        [
            &br#"{"data": [{"p": 1}], "pagination_key": "a+b/c=="}"#[..],
            br#"{"data": [{"p": 2}], "pagination_key": "k&2"}"#,
            br#"{"data": [{"p": 3}]}"#,
        ]
    );
    let hits = server.hits();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.path == "/v2/equities/bars/daily"));
    assert_eq!(hits[0].query, "code=72030&date=2024-01-05");
    assert!(
        hits[1]
            .query
            .starts_with("code=72030&date=2024-01-05&pagination_key=")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_pagination_key_stops_the_loop() {
    let server =
        TestServer::start(|_, _| json(StatusCode::OK, r#"{"data": [], "pagination_key": "same"}"#))
            .await;
    let up = premium(&server);
    let e = fetch_pages(&up, "/equities/master", None)
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::Unavailable(_)), "{e:?}");
    assert_eq!(server.hits().len(), 2);
}
