//! Bulk files for apps without egress: `/v2/bulk/get` links to the proxy itself, the link
//! needs no key and expires in five minutes, and a file version is fetched from the upstream
//! once, whichever app or replica asks.

use jquants_proxy::catalog::Plan;
use serde_json::Value;

use crate::helpers::{Options, TestApp, serve_config, spawn_app_with, start};

async fn light_with_postgres() -> TestApp {
    spawn_app_with(Options {
        plan: Plan::Light,
        database: true,
        ..Options::default()
    })
    .await
}

/// The first key `/v2/bulk/list` gives for daily bars, through `url`.
async fn a_daily_bars_key(http: &reqwest::Client, url: &str) -> String {
    let list: Value = http
        .get(format!("{url}/v2/bulk/list?endpoint=/equities/bars/daily"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["data"][0]["Key"]
        .as_str()
        .expect("a listed file")
        .to_string()
}

/// The link `/v2/bulk/get` answers for `key`, through the proxy at `base`: always one to the
/// proxy itself.
async fn link(http: &reqwest::Client, base: &str, key: &str) -> String {
    let r = http
        .get(format!("{base}/v2/bulk/get"))
        .query(&[("key", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let url = v["url"].as_str().expect("url").to_string();
    assert!(url.starts_with(&format!("{base}/bulk/files/")), "{url}");
    url
}

/// The file's bytes straight from the simulator's file host.
async fn from_file_host(app: &TestApp, key: &str) -> Vec<u8> {
    let v: Value = app.direct_json(&format!("/v2/bulk/get?key={key}")).await;
    let url = v["url"].as_str().unwrap();
    app.http
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_bulk_file_is_served_by_the_proxy_and_fetched_once_for_every_app_and_replica() {
    let app = light_with_postgres().await;
    let key = a_daily_bars_key(&app.http, &app.url).await;
    let url = link(&app.http, &app.url, &key).await;
    assert!(
        url.starts_with(&format!("{}/bulk/files/", app.url)),
        "{url}"
    );
    assert!(url.contains("exp=") && url.contains("sig="), "{url}");

    // No key: the link is the permission, as on the upstream's file host.
    let plain = reqwest::Client::new();
    let r = plain.get(&url).send().await.unwrap();
    let status = r.status();
    let body = r.bytes().await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        body.to_vec(),
        from_file_host(&app, &key).await,
        "the file, byte for byte"
    );
    assert_eq!(app.state.bulk.downloads(), 1);
    let calls = app.upstream_calls();

    // Another app asks again: 0 upstream calls, 0 downloads.
    let again = link(&app.http, &app.url, &key).await;
    let r = plain.get(&again).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap(), body);
    assert_eq!(app.upstream_calls(), calls);
    assert_eq!(app.state.bulk.downloads(), 1);

    // A second replica on the same Postgres: 0 upstream calls, 0 downloads.
    let opts = Options {
        plan: Plan::Light,
        ..Options::default()
    };
    let (url2, replica) = start(serve_config(&opts, &app.sim, &app.clock, app.db.clone())).await;
    let link2 = link(&app.http, &url2, &key).await;
    let r = plain.get(&link2).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap(), body);
    assert_eq!(
        app.upstream_calls(),
        calls,
        "the replica read the listing and the file from Postgres"
    );
    assert_eq!(replica.bulk.downloads(), 0);
}

#[tokio::test]
async fn expired_and_forged_links_are_refused_with_a_message() {
    let app = light_with_postgres().await;
    let key = a_daily_bars_key(&app.http, &app.url).await;
    let url = link(&app.http, &app.url, &key).await;
    let plain = reqwest::Client::new();

    let forged = url.replace("sig=", "sig=00");
    let r = plain.get(&forged).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let msg: Value = r.json().await.unwrap();
    assert!(
        msg["message"]
            .as_str()
            .unwrap()
            .contains("not one this proxy signed")
    );

    app.clock.advance(chrono::Duration::minutes(6));
    let r = plain.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let msg: Value = r.json().await.unwrap();
    assert!(
        msg["message"].as_str().unwrap().contains("expired"),
        "{msg}"
    );
    assert_eq!(
        app.state.bulk.downloads(),
        0,
        "nothing fetched for a refused link"
    );
}

#[tokio::test]
async fn the_free_plan_has_no_bulk_and_costs_no_call() {
    let app = spawn_app_with(Options {
        plan: Plan::Free,
        ..Options::default()
    })
    .await;
    let r = app
        .get("/v2/bulk/get?key=equities/bars/daily/x.csv.gz")
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.upstream_calls(), 0);
}

#[tokio::test]
async fn a_corrected_file_is_fetched_again_once_the_listing_shows_its_new_version() {
    let app = light_with_postgres().await;
    let key = a_daily_bars_key(&app.http, &app.url).await;
    let plain = reqwest::Client::new();
    let first = link(&app.http, &app.url, &key).await;
    assert_eq!(plain.get(&first).send().await.unwrap().status(), 200);

    let r = app.correct_bulk_file(&key).await;
    assert_eq!(r.status(), 200);
    // Until the listing is read again the proxy serves the version it holds.
    let held = link(&app.http, &app.url, &key).await;
    assert_eq!(plain.get(&held).send().await.unwrap().status(), 200);
    assert_eq!(app.state.bulk.downloads(), 1);

    let purge = app
        .http
        .post(format!("{}/admin/cache/purge?endpoint=/bulk/list", app.url))
        .header("x-api-key", "admin-test-key")
        .send()
        .await
        .unwrap();
    assert_eq!(purge.status(), 200);
    let corrected = link(&app.http, &app.url, &key).await;
    assert_ne!(corrected, held, "a link to the new version");
    assert_eq!(plain.get(&corrected).send().await.unwrap().status(), 200);
    assert_eq!(app.state.bulk.downloads(), 2);
    assert_eq!(app.sim.stats().file_downloads, 2);
}

#[tokio::test]
async fn a_key_the_proxy_cannot_place_gets_the_upstreams_answer_kept_nowhere() {
    let app = light_with_postgres().await;
    let key = "equities/bars/daily/historical/1999/nothing_199901.csv.gz";
    let path = format!("/v2/bulk/get?key={key}");
    let want = app.direct(&path).await.text().await.unwrap();
    for n in 1..=2 {
        let r = app.get(&path).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), want, "the upstream's own answer");
        assert_eq!(app.calls_to("/bulk/get"), n + 1, "asked upstream each time");
    }
    assert_eq!(app.state.bulk.downloads(), 0);
}
