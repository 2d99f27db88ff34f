//! The market row store, measured. Prints figures; asserts nothing.
//!
//! 1. Upstream calls per 1,000 client requests for a mixed workload of several apps asking
//!    overlapping daily bars in different shapes, with the row store and with response
//!    caching alone.
//! 2. p50/p99 of assembling a 4,000-row cross-section and a whole history (~2,400 rows) from
//!    the store, with the rows resident in memory (warm) and read from Postgres (cold).
//!
//! `cargo bench --bench row_store` (env: BENCH_REQUESTS, BENCH_REPEAT; Postgres from
//! TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; part 2 is skipped
//! without it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate};
use jquants_proxy::cache::{Cache, CacheConfig};
use jquants_proxy::catalog::{self, Plan};
use jquants_proxy::jst::{self, Clock};
use jquants_proxy::request::{self, CanonicalRequest};
use jquants_proxy::rows::{RowConfig, RowStore};
use jquants_proxy::sim::{self, SimHandle};
use jquants_proxy::store::Store;
use jquants_proxy::upstream::{Upstream, UpstreamConfig};
use secrecy::SecretString;

mod support;
use support::{KEY, env_or, premium_sim};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run().await
}

fn now() -> chrono::DateTime<chrono::Utc> {
    jst::at(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(), 20, 0)
}

async fn simulator(issues: usize) -> anyhow::Result<SimHandle> {
    let mut s = premium_sim();
    s.issues = issues;
    s.rate_window = Duration::from_millis(100);
    sim::spawn(s, "127.0.0.1:0".parse()?).await
}

fn upstream(sim: &SimHandle) -> anyhow::Result<Upstream> {
    let cfg = UpstreamConfig::new(
        sim.base_url(),
        SecretString::from(KEY.to_string()),
        Plan::Premium,
    )
    .with_rate_window(Duration::from_millis(100));
    Upstream::new(cfg)
}

fn req(path: &str, q: &str) -> CanonicalRequest {
    request::parse(catalog::find(path).unwrap(), Some(q))
        .unwrap()
        .request
}

/// A small deterministic generator (the workload must be the same for both runs).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Apps over one quarter and 40 codes: a screener (whole days), charts (sub-ranges), a
/// backtest (the quarter per code), the client's `*_range` helper (every calendar day of a
/// week), and point look-ups (one code, one day).
fn workload(n: usize, codes: &[String]) -> Vec<CanonicalRequest> {
    let start = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
    let span = 92;
    let day = |g: &mut Lcg| start + Days::days(g.next(span) as i64);
    let mut g = Lcg(7);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let code = &codes[g.next(codes.len() as u64) as usize];
        match g.next(5) {
            0 => out.push(req(
                "/equities/bars/daily",
                &format!("date={}", day(&mut g)),
            )),
            1 => {
                let (a, b) = (day(&mut g), day(&mut g));
                let (f, t) = (a.min(b), a.max(b));
                out.push(req(
                    "/equities/bars/daily",
                    &format!("code={code}&from={f}&to={t}"),
                ));
            }
            2 => {
                let end = start + Days::days(span as i64 - 1);
                out.push(req(
                    "/equities/bars/daily",
                    &format!("code={code}&from={start}&to={end}"),
                ));
            }
            3 => {
                let w = day(&mut g);
                for i in 0..7 {
                    out.push(req(
                        "/equities/bars/daily",
                        &format!("date={}", w + Days::days(i)),
                    ));
                }
            }
            _ => out.push(req(
                "/equities/bars/daily",
                &format!("code={code}&date={}", day(&mut g)),
            )),
        }
    }
    out.truncate(n);
    out
}

async fn calls_per_thousand(rows: bool, n: usize) -> anyhow::Result<f64> {
    let sim = simulator(300).await?;
    let cfg = CacheConfig {
        rows: RowConfig {
            enabled: rows,
            ..Default::default()
        },
        ..Default::default()
    };
    let cache = Cache::new(upstream(&sim)?, None, Clock::fixed(now()), cfg);
    let codes: Vec<String> = sim.market().codes().take(40).map(str::to_string).collect();
    for r in workload(n, &codes) {
        cache.get(&r).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(sim.stats().total as f64 * 1000.0 / n as f64)
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    (at(0.50), at(0.99))
}

async fn assembly(repeat: usize) -> anyhow::Result<()> {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let base: sqlx::postgres::PgConnectOptions = url.parse()?;
    let schema = format!("bench_rows_{}", std::process::id());
    let mut conn = sqlx::ConnectOptions::connect(&base).await?;
    sqlx::Executor::execute(&mut conn, format!("CREATE SCHEMA {schema}").as_str()).await?;
    let store = Store::with_options(base.options([("search_path", schema.as_str())])).await?;
    let sim = simulator(4000).await?;
    let up = upstream(&sim)?;
    let cross = req("/equities/bars/daily", "date=2026-11-19");
    let history = req("/equities/bars/daily", "code=72030");
    let warm = Arc::new(RowStore::new(
        Some(store.pool().clone()),
        RowConfig::default(),
    ));
    let cold_cfg = RowConfig {
        max_bytes: 0,
        ..Default::default()
    };
    let cold = Arc::new(RowStore::new(Some(store.pool().clone()), cold_cfg));
    for r in [&cross, &history] {
        let merged = jquants_proxy::envelope::merge(
            r.endpoint,
            up.fetch_pages(r, &Arc::from("bench")).await?,
        )?;
        let fresh = jquants_proxy::schedule::freshness::fresh_until(r, now(), false);
        warm.absorb(r, &merged, now(), fresh).await;
    }
    println!(
        "\nassembling answers from the row store ({repeat} times each; debug or release as built):"
    );
    for (name, r) in [("cross-section", &cross), ("history", &history)] {
        for (tier, rows) in [("warm (memory)", &warm), ("cold (Postgres)", &cold)] {
            let mut times = Vec::with_capacity(repeat);
            let mut n = 0;
            for _ in 0..repeat {
                let t = Instant::now();
                let a = rows
                    .answer(r, now(), &up)
                    .await
                    .ok_or_else(|| anyhow::anyhow!("{name} not answered from rows"))?;
                times.push(t.elapsed());
                n = a.merged.rows.len();
            }
            let (p50, p99) = percentiles(times);
            println!("  {name:<14} {n:>5} rows  {tier:<16} p50 {p50:>7.2} ms  p99 {p99:>7.2} ms");
        }
    }
    sqlx::Executor::execute(&mut conn, format!("DROP SCHEMA {schema} CASCADE").as_str()).await?;
    Ok(())
}

async fn run() -> anyhow::Result<()> {
    let n: usize = env_or("BENCH_REQUESTS", 1000);
    let repeat: usize = env_or("BENCH_REPEAT", 50);
    let with_rows = calls_per_thousand(true, n).await?;
    let without = calls_per_thousand(false, n).await?;
    println!("mixed workload, {n} client requests (5 apps, 40 codes, one quarter of daily bars):");
    println!("  upstream calls per 1,000 requests, response cache alone: {without:.0}");
    println!("  upstream calls per 1,000 requests, with the row store:   {with_rows:.0}");
    if let Err(e) = assembly(repeat).await {
        println!("assembly benchmark skipped: {e:#}");
    }
    Ok(())
}
