//! What replica coordination through Postgres costs per upstream call. Prints figures;
//! asserts nothing.
//!
//! Per call the lease holder pays: one shared-budget statement (`jqp_take_slot`) before the
//! call, and a lease taken and released around the fetch. Measured here as (a) the same
//! upstream calls to the simulator with and without the shared budget, and (b) lease
//! take + release on distinct keys.
//!
//! `cargo bench --bench coordination` (env: BENCH_CALLS, TEST_DATABASE_URL).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jquants_proxy::cache::flight::{Across, Leases, holder_id};
use jquants_proxy::catalog::{Plan, RateGroup};
use jquants_proxy::sim;
use jquants_proxy::store::Store;
use jquants_proxy::upstream::{Upstream, UpstreamConfig, UpstreamRequest};
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;

mod support;
use support::{KEY, env_or, premium_sim};

/// Small enough that the rate limit never binds: the figures are pure overhead.
const WINDOW: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run().await
}

async fn fresh_schema() -> anyhow::Result<PgConnectOptions> {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let base: PgConnectOptions = url.parse()?;
    let schema = format!("bench_coord_{}", std::process::id());
    let mut conn = sqlx::ConnectOptions::connect(&base).await?;
    sqlx::Executor::execute(
        &mut conn,
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str(),
    )
    .await?;
    Ok(base.options([("search_path", schema.as_str())]))
}

/// Mean and median of `n` sequential upstream calls.
async fn time_calls(up: &Upstream, n: usize, tag: &str) -> (Duration, Duration) {
    let client: Arc<str> = Arc::from("bench");
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let req = UpstreamRequest {
            path: "/markets/calendar",
            query: format!("from=2026-01-{:02}&to=2026-12-31", i % 28 + 1),
            group: RateGroup::Plan,
            client: client.clone(),
        };
        let t = Instant::now();
        up.call(req).await.expect(tag);
        times.push(t.elapsed());
    }
    summarize(times)
}

fn summarize(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    (mean, times[times.len() / 2])
}

async fn run() -> anyhow::Result<()> {
    let n: usize = env_or("BENCH_CALLS", 500);
    let mut scfg = premium_sim();
    scfg.rate_window = WINDOW;
    scfg.issues = 50;
    let sim = sim::spawn(scfg, "127.0.0.1:0".parse()?).await?;
    let cfg = UpstreamConfig::new(sim.base_url(), SecretString::from(KEY), Plan::Premium)
        .with_rate_window(WINDOW);
    let store = Store::with_options(fresh_schema().await?).await?;
    anyhow::ensure!(store.is_healthy(), "Postgres is not reachable");

    let local = Upstream::new(cfg.clone())?;
    let shared = Upstream::new(cfg)?;
    shared.coordinate_through(store.clone());
    time_calls(&local, 50, "warm-up").await;
    time_calls(&shared, 50, "warm-up").await;
    let (local_mean, local_p50) = time_calls(&local, n, "local").await;
    let (shared_mean, shared_p50) = time_calls(&shared, n, "shared").await;
    let stats = shared.limiter_stats();
    let (per_op, failures) = stats.coordination_overhead.unwrap_or_default();

    let leases = Leases::new(store.pool().clone(), holder_id(), Duration::from_secs(10));
    let mut lease_times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        match leases
            .wait_turn::<(), _, _>(&format!("bench-{i}"), || async { None })
            .await
        {
            Across::Fetch(Some(lease)) => lease.release().await,
            _ => anyhow::bail!("lease not taken"),
        }
        lease_times.push(t.elapsed());
    }
    let (lease_mean, lease_p50) = summarize(lease_times);

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("coordination overhead per upstream call ({n} sequential calls, loopback Postgres)");
    println!(
        "  upstream call, local limiter:   mean {:>8.0} us  p50 {:>8.0} us",
        us(local_mean),
        us(local_p50)
    );
    println!(
        "  upstream call, shared budget:   mean {:>8.0} us  p50 {:>8.0} us",
        us(shared_mean),
        us(shared_p50)
    );
    println!(
        "  jqp_take_slot statement:        mean {:>8.0} us  ({failures} failed)",
        us(per_op)
    );
    println!(
        "  lease take + release:           mean {:>8.0} us  p50 {:>8.0} us",
        us(lease_mean),
        us(lease_p50)
    );
    println!(
        "  => per call: {:.0} us (shared - local) + {:.0} us (lease) = {:.2} ms",
        us(shared_mean.saturating_sub(local_mean)),
        us(lease_mean),
        (shared_mean.saturating_sub(local_mean) + lease_mean).as_secs_f64() * 1e3
    );
    Ok(())
}
