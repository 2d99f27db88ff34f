//! `sync` with bulk files: ten years of daily bars for the whole market in about one call per
//! month, every synced day then answered from rows with the API's bytes, a second run free,
//! and `--dry-run`'s estimate the calls the sync then makes.

use std::time::Duration;

use jquants_proxy::catalog::Plan;
use jquants_proxy::sync::{self, SyncJob, Watch, estimate};

use crate::helpers::{Options, spawn_app_with};

const BARS: &str = "/equities/bars/daily";

fn standard() -> Options {
    Options {
        plan: Plan::Standard,
        issues: 40,
        database: true,
        rate_window: Duration::from_millis(200),
        ..Options::default()
    }
}

fn ymd(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[tokio::test]
async fn a_decade_of_daily_bars_syncs_for_a_call_per_month_as_estimated() {
    let app = spawn_app_with(standard()).await;
    let (cache, bulk) = (app.state.cache.clone(), app.state.history.clone());
    // The simulator's whole history: it starts on 2017-01-04, inside Standard's ten years.
    let job = SyncJob::new(ymd(2017, 1, 4), ymd(2026, 11, 20), &[BARS.to_string()]).unwrap();

    let guess = estimate::estimate(&cache, Some(&bulk), &job).await;
    assert_eq!(app.upstream_calls(), 0, "a dry run spends nothing");
    let files = guess.with_files.clone().expect("Standard has bulk files");
    assert!(guess.by_day > 2_400, "{guess:?}");

    let stats = sync::run(&cache, Some(&bulk), &job, Watch::none())
        .await
        .unwrap();
    let calls = app.upstream_calls();
    eprintln!(
        "a decade: {calls} calls; estimated {} with files, {} by day",
        files.total, guess.by_day
    );
    assert!(calls <= 150, "{calls} calls for ten years ({stats:?})");
    // Exact but for the holidays outside monthly files, which the estimate counts as weekdays
    // while the calendar is not held (here 3 November).
    assert!(guess.approximate);
    assert_eq!(files.total - calls, 1, "estimate against spent: {guess:?}");
    assert_eq!(app.calls_to("/bulk/get"), files.months);
    assert_eq!(stats.files_done, files.months);
    assert_eq!(stats.errors, 0);

    // Every day is held: a second run and a code's decade cost nothing, byte for byte.
    let again = sync::run(&cache, Some(&bulk), &job, Watch::none())
        .await
        .unwrap();
    assert_eq!(again.slices_skipped, again.slices_total);
    assert_eq!(app.upstream_calls(), calls);
    let path = "/v2/equities/bars/daily?code=72030&from=20170104&to=20261119";
    let ours = app.get(path).await.bytes().await.unwrap();
    assert_eq!(
        app.upstream_calls(),
        calls,
        "the decade was not answered from rows"
    );
    let theirs = app.direct(path).await.bytes().await.unwrap();
    assert!(
        ours == theirs,
        "a decade from file rows differs from the API's"
    );
}

#[tokio::test]
async fn a_sync_whose_files_differ_from_the_api_goes_day_by_day_after_one_file() {
    let app = spawn_app_with(Options {
        bulk_bare_integers: true,
        ..standard()
    })
    .await;
    let (cache, bulk) = (app.state.cache.clone(), app.state.history.clone());
    let job = SyncJob::new(ymd(2026, 6, 1), ymd(2026, 9, 30), &[BARS.to_string()]).unwrap();
    let stats = sync::run(&cache, Some(&bulk), &job, Watch::none())
        .await
        .unwrap();
    assert_eq!(
        stats.files_done, 1,
        "one file tried, found different, then day by day"
    );
    assert_eq!(app.calls_to("/bulk/get"), 1);
    assert_eq!(app.calls_to(BARS), stats.slices_total, "{stats:?}");
    let path = "/v2/equities/bars/daily?code=72030&from=20260601&to=20260930";
    let calls = app.upstream_calls();
    let ours = app.get(path).await.bytes().await.unwrap();
    assert_eq!(app.upstream_calls(), calls);
    assert!(ours == app.direct(path).await.bytes().await.unwrap());
}
