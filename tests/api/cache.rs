//! Cache behaviour proven by counting the simulator's calls: repeats, restarts with
//! Postgres, single flight, stale-while-revalidate, stale-if-error, JST freshness, split
//! invalidation, Postgres going away and coming back.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use jquants_proxy::jst;
use jquants_proxy::sim::Faults;
use serde_json::Value;

use crate::helpers::{Options, Relay, TestApp, serve_config, spawn_app, spawn_app_with, start};

const HISTORY: &str = "/v2/equities/bars/daily?code=72030";

async fn cache_header(app: &TestApp, path: &str) -> (String, bytes::Bytes) {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    let x = r.headers()["x-cache"].to_str().unwrap().to_string();
    (x, r.bytes().await.unwrap())
}

#[tokio::test]
async fn repeats_cost_no_upstream_call() {
    let app = spawn_app().await;
    let (x, first) = cache_header(&app, HISTORY).await;
    assert_eq!(x, "MISS");
    for _ in 0..5 {
        let (x, body) = cache_header(&app, HISTORY).await;
        assert_eq!(x, "HIT");
        assert_eq!(body, first);
    }
    assert_eq!(app.upstream_calls(), 1);
}

#[tokio::test]
async fn a_restarted_proxy_answers_from_postgres_with_zero_upstream_calls() {
    let app = spawn_app_with(Options {
        database: true,
        ..Default::default()
    })
    .await;
    let paths = [
        HISTORY,
        "/v2/equities/master?date=2026-11-19",
        "/v2/fins/summary?code=33500",
        "/v2/markets/calendar",
    ];
    let mut bodies = vec![];
    for p in paths {
        bodies.push(cache_header(&app, p).await.1);
    }
    let calls = app.upstream_calls();
    assert_eq!(calls, paths.len() as u64);
    // A second proxy process on the same database (the first one's memory is gone).
    let (url2, _) = start(serve_config(
        &Options {
            database: true,
            ..Default::default()
        },
        &app.sim,
        &app.clock,
        app.db.clone(),
    ))
    .await;
    for (p, want) in paths.iter().zip(&bodies) {
        let r = app.http.get(format!("{url2}{p}")).send().await.unwrap();
        assert_eq!(r.headers()["x-cache"], "HIT", "{p}");
        assert_eq!(r.headers()["x-cache-tier"], "l2", "{p}");
        assert_eq!(&r.bytes().await.unwrap(), want);
    }
    assert_eq!(
        app.upstream_calls(),
        calls,
        "the restarted proxy called upstream"
    );
    // Answers are stored compressed, and the stored gzip form is what gzip clients get.
    let mut conn = sqlx::ConnectOptions::connect(app.db.as_ref().unwrap())
        .await
        .unwrap();
    let encodings: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT body_encoding FROM cached_response")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(encodings, vec![("gzip".to_string(),)]);
    let plain = crate::helpers::get_gunzipped(&app.http, &format!("{url2}{}", paths[0])).await;
    assert_eq!(plain, bodies[0]);
}

#[tokio::test]
async fn two_hundred_concurrent_identical_misses_make_one_upstream_call() {
    let app = slow_upstream_app().await;
    let mut tasks = vec![];
    for _ in 0..200 {
        let app = app.clone();
        tasks.push(tokio::spawn(
            async move { cache_header(&app, HISTORY).await },
        ));
    }
    let mut statuses = std::collections::BTreeMap::new();
    let mut bodies = std::collections::HashSet::new();
    for t in tasks {
        let (x, body) = t.await.unwrap();
        *statuses.entry(x).or_insert(0) += 1;
        bodies.insert(body);
    }
    assert_eq!(app.upstream_calls(), 1, "{statuses:?}");
    assert_eq!(statuses.get("MISS"), Some(&1), "{statuses:?}");
    assert_eq!(bodies.len(), 1);
}

#[tokio::test]
async fn freshness_follows_the_jst_close_and_expired_answers_revalidate_in_the_background() {
    let app = spawn_app().await; // Friday 2026-11-20 20:00 JST
    cache_header(&app, HISTORY).await;
    // Monday 2026-11-23 is a holiday in Japan, but the weekday schedule re-checks anyway.
    let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    app.clock.set(jst::at(monday, 16, 29));
    assert_eq!(cache_header(&app, HISTORY).await.0, "HIT");
    assert_eq!(app.upstream_calls(), 1);
    app.clock.set(jst::at(monday, 16, 31));
    // Served at once from cache while one background refresh runs.
    assert_eq!(cache_header(&app, HISTORY).await.0, "STALE");
    // Once the refresh lands the answer is fresh again (re-checked every few minutes during
    // the grace window after the close); requests meanwhile are served stale, not refetched.
    let mut fresh_again = false;
    for _ in 0..100 {
        if cache_header(&app, HISTORY).await.0 == "HIT" {
            fresh_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fresh_again, "the background refresh never landed");
    assert_eq!(app.upstream_calls(), 2);
}

#[tokio::test]
async fn settled_dates_stay_fresh_and_latest_data_does_not() {
    let app = spawn_app().await;
    let past = "/v2/equities/bars/daily?date=2026-11-18";
    let latest = "/v2/equities/bars/daily?date=2026-11-20";
    let r = app.get(past).await;
    let cc = r.headers()["cache-control"].to_str().unwrap().to_string();
    assert_eq!(cc, "private, max-age=2592000", "settled: 30 days");
    let r = app.get(latest).await;
    let max_age: i64 = r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .trim_start_matches("private, max-age=")
        .parse()
        .unwrap();
    // Friday 20:00 -> Monday 16:30 JST.
    assert_eq!(max_age, (68 * 60 + 30) * 60);
}

#[tokio::test]
async fn stale_answers_are_served_during_an_upstream_outage() {
    let app = spawn_app().await;
    let (_, body) = cache_header(&app, HISTORY).await;
    // Days later, beyond the stale-while-revalidate window, the upstream is down.
    app.clock.advance(chrono::Duration::days(5));
    app.sim.set_faults(Faults {
        outage: true,
        ..Default::default()
    });
    let r = app.get(HISTORY).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "STALE");
    assert_eq!(r.bytes().await.unwrap(), body);
    // Something never fetched has nothing stale to fall back to.
    let r = app.get("/v2/equities/bars/daily?code=86970").await;
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("unavailable"));
    // Once the upstream is back, the answer is refreshed.
    app.sim.set_faults(Faults::default());
    assert_eq!(
        cache_header(&app, "/v2/equities/bars/daily?code=86970")
            .await
            .0,
        "MISS"
    );
}

#[tokio::test]
async fn errors_are_never_cached() {
    let app = spawn_app().await;
    app.sim.set_faults(Faults::errors(500, 10));
    assert_eq!(app.get(HISTORY).await.status(), 502);
    app.sim.set_faults(Faults::default());
    assert_eq!(cache_header(&app, HISTORY).await.0, "MISS");
}

#[tokio::test]
async fn waiters_on_one_failed_fetch_all_get_the_upstreams_own_error() {
    let app = slow_upstream_app().await;
    // A 403 is not retried: one upstream call, and every waiter sees a 403, not a 500.
    app.sim.set_faults(Faults::errors(403, 1));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.get(HISTORY).await.status().as_u16() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 403);
    }
    assert_eq!(app.upstream_calls(), 1);
}

#[tokio::test]
async fn admin_purge_by_code_and_stats() {
    let app = spawn_app().await;
    cache_header(&app, HISTORY).await;
    cache_header(&app, "/v2/equities/bars/daily?code=86970").await;
    let purge = |q: &'static str, key: Option<&'static str>| {
        let mut r = app.http.post(format!("{}/admin/cache/purge?{q}", app.url));
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        r.send()
    };
    assert_eq!(purge("code=7203", None).await.unwrap().status(), 403);
    assert_eq!(
        purge("code=7203", Some("wrong-admin"))
            .await
            .unwrap()
            .status(),
        403
    );
    let r = purge("code=7203", Some("admin-test-key")).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["l1"], 1);
    assert_eq!(cache_header(&app, HISTORY).await.0, "MISS");
    assert_eq!(
        cache_header(&app, "/v2/equities/bars/daily?code=86970")
            .await
            .0,
        "HIT"
    );
    let stats: Value = app
        .get_with("/admin/cache/stats", "x-api-key", "admin-test-key")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["l1_hits"], 1);
    assert_eq!(stats["misses"], 3);
    assert_eq!(stats["upstream_calls_saved"], 1);
    assert!(stats["l1_bytes"].as_u64().unwrap() > 0);
}

async fn readiness(app_url: &str) -> Value {
    reqwest::get(format!("{app_url}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn postgres_going_away_degrades_readiness_and_loses_nothing() {
    let relay = Relay::start().await;
    let schema_opts = crate::helpers::fresh_schema().await;
    let via_relay = schema_opts.clone().host("127.0.0.1").port(relay.port);
    let opts = Options {
        database: true,
        ..Default::default()
    };
    let clock = jquants_proxy::jst::Clock::fixed(crate::helpers::default_now());
    let sim = crate::helpers::spawn_sim(&opts, &clock).await;
    let (url, _) = start(serve_config(&opts, &sim, &clock, Some(via_relay))).await;
    let http = reqwest::Client::new();
    let get = |p: &str| http.get(format!("{url}{p}")).send();
    assert_eq!(get(HISTORY).await.unwrap().status(), 200);
    assert_eq!(readiness(&url).await["postgres"], "ok");

    relay.cut();
    // Still serving: from memory, and new answers from upstream.
    let r = get(HISTORY).await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let fetched_while_down = "/v2/equities/bars/daily?code=86970";
    let r = get(fetched_while_down).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let ready = readiness(&url).await;
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["postgres"], "down");

    relay.restore();
    let mut recovered = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if readiness(&url).await["postgres"] == "ok" {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "readiness never recovered");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // What was fetched while Postgres was down reached it: a fresh proxy finds it there.
    let calls = sim.stats().total;
    let (url2, _) = start(serve_config(&opts, &sim, &clock, Some(schema_opts))).await;
    let r = http
        .get(format!("{url2}{fetched_while_down}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    assert_eq!(sim.stats().total, calls);
}

#[tokio::test]
async fn a_new_split_invalidates_that_codes_adjusted_history_and_only_that() {
    use chrono::{Datelike, Duration as Days, Weekday};
    let app = spawn_app().await;
    let market = app.sim.market();
    let lo = NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
    let hi = NaiveDate::from_ymd_opt(2026, 10, 30).unwrap();
    let (code, split) = market
        .all_splits()
        .into_iter()
        .find(|(_, s)| {
            s.ex_date > lo
                && s.ex_date < hi
                && !matches!(s.ex_date.weekday(), Weekday::Sat | Weekday::Sun)
        })
        .expect("the simulated market has a split in 2026");
    let code = code.to_string();
    let other = market
        .codes()
        .find(|c| {
            *c != code
                && market
                    .splits(c)
                    .iter()
                    .all(|s| s.ex_date < lo || s.ex_date > hi)
        })
        .unwrap()
        .to_string();
    let ex = split.ex_date;
    // A week before the ex-date: the split is not published yet.
    app.clock.set(jst::at(ex - Days::days(7), 20, 0));
    let range = |c: &str| {
        format!(
            "/v2/equities/bars/daily?code={c}&from={}&to={}",
            ex - Days::days(40),
            ex - Days::days(8)
        )
    };
    let (x, before) = cache_header(&app, &range(&code)).await;
    assert_eq!(x, "MISS");
    cache_header(&app, &range(&other)).await;
    // Settled history stays cached...
    assert_eq!(cache_header(&app, &range(&code)).await.0, "HIT");
    // ...until the ex-date's bars are published and the proxy sees the new AdjFactor.
    app.clock.set(jst::at(ex, 20, 0));
    let day: Value = app
        .get_json(&format!("/v2/equities/bars/daily?date={ex}"))
        .await;
    let row = day["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Code"] == code.as_str())
        .expect("split row");
    assert_ne!(row["AdjFactor"].as_f64(), Some(1.0));
    let (x, after) = cache_header(&app, &range(&code)).await;
    assert_eq!(x, "MISS", "the split did not invalidate {code}'s history");
    assert_ne!(
        before, after,
        "adjusted history should have been rewritten upstream"
    );
    assert_eq!(
        cache_header(&app, &range(&other)).await.0,
        "HIT",
        "another code's history was invalidated"
    );
    // Learning the same split again (another answer holding it) invalidates nothing more.
    cache_header(&app, &format!("/v2/equities/bars/daily?code={code}")).await;
    assert_eq!(cache_header(&app, &range(&code)).await.0, "HIT");
}

/// An app whose upstream takes 300 ms to answer, so that concurrent requests overlap.
async fn slow_upstream_app() -> Arc<TestApp> {
    let opts = Options {
        sim_latency: Duration::from_millis(300),
        ..Default::default()
    };
    Arc::new(spawn_app_with(opts).await)
}
