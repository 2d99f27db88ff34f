//! `/derived/margin/market` timings over a simulated market of ~4,000 issues: one application
//! date, and a year of application dates, each first cold (upstream calls into the in-process
//! simulator) and then warm (everything stored): p50 and max over the warm runs (the targets,
//! one date < 50 ms and a year < 500 ms, hold for the worst run too). Then cold runs on the
//! Standard plan at the simulator's real rate limits (120 calls a minute, 60 for filings),
//! each on a fresh proxy and simulator, with bulk files and day by day. Prints figures;
//! asserts nothing.
//!
//! `cargo bench --bench margin_market` (env: BENCH_ISSUES, default 4000; BENCH_RUNS, default 10).

use std::time::{Duration, Instant};

use jquants_proxy::config::ServeConfig;
use jquants_proxy::sim;

mod support;
use support::{env_or, premium_sim, serve};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run().await
}

async fn get(http: &reqwest::Client, url: &str) -> anyhow::Result<(Duration, usize)> {
    let t = Instant::now();
    // A cold range would answer 202 after the default wait; the bench times the whole work.
    // Waits (at most the route's ceiling) are repeated until the table is ready.
    let r = loop {
        let r = http.get(url).header("prefer", "wait=280").send().await?;
        if r.status() != 202 {
            break r;
        }
    };
    anyhow::ensure!(r.status() == 200, "{url}: {}", r.status());
    let v: serde_json::Value = r.json().await?;
    Ok((t.elapsed(), v["data"].as_array().map_or(0, Vec::len)))
}

async fn run() -> anyhow::Result<()> {
    let issues: usize = env_or("BENCH_ISSUES", 4000);
    let runs: usize = env_or("BENCH_RUNS", 10);
    // Short rate windows: the cold runs measure the computation, not the upstream's limits.
    let window = Duration::from_millis(100);
    let mut scfg = premium_sim();
    scfg.issues = issues;
    scfg.rate_window = window;
    let sim = sim::spawn(scfg, "127.0.0.1:0".parse()?).await?;
    let mut cfg = ServeConfig::new("127.0.0.1:0".parse()?);
    cfg.upstream.rate_window = window;
    cfg.cache.max_bytes = 4 << 30;
    cfg.bulk.dir = fresh_dir();
    let base = serve(&sim, cfg).await?;
    let http = reqwest::Client::new();

    println!("margin_market: {issues} simulated issues, warm = {runs} runs after the cold one");
    for (label, query) in [
        ("one date", "date=2026-11-18"),
        (
            "a year of application dates",
            "from=2025-11-19&to=2026-11-19",
        ),
    ] {
        let url = format!("{base}/derived/margin/market?{query}");
        let calls = sim.stats().total;
        let (cold, rows) = get(&http, &url).await?;
        let calls = sim.stats().total - calls;
        let mut warm = Vec::with_capacity(runs);
        for _ in 0..runs {
            warm.push(get(&http, &url).await?.0);
        }
        warm.sort();
        println!(
            "  {label:<28} rows {rows:>4}  cold {:>8.1} ms ({calls} upstream calls)  warm p50 {:>7.1} ms  max {:>7.1} ms",
            cold.as_secs_f64() * 1e3,
            warm[runs / 2].as_secs_f64() * 1e3,
            warm[runs - 1].as_secs_f64() * 1e3,
        );
    }
    // The same year with `from` one day later per run: every cross-section is stored, but the
    // query is new, so the rows are computed rather than taken from the route's memo.
    let mut computed = Vec::with_capacity(runs);
    for k in 1..=runs {
        let from =
            chrono::NaiveDate::from_ymd_opt(2025, 11, 19).unwrap() + chrono::Days::new(k as u64);
        let url = format!("{base}/derived/margin/market?from={from}&to=2026-11-19");
        let calls = sim.stats().total;
        computed.push(get(&http, &url).await?.0);
        anyhow::ensure!(
            sim.stats().total == calls,
            "{url}: upstream calls when warm"
        );
    }
    computed.sort();
    println!(
        "  {:<28} warm p50 {:>7.1} ms  max {:>7.1} ms (rows computed, not memoised)",
        "a year, from shifted per run",
        computed[runs / 2].as_secs_f64() * 1e3,
        computed[runs - 1].as_secs_f64() * 1e3,
    );
    standard_cold(issues).await
}

/// Cold queries on the Standard plan at the simulator's real rate limits, each on a fresh
/// simulator and proxy (nothing shared), with bulk files and (`BENCH_BY_DAY=1`) day by day.
async fn standard_cold(issues: usize) -> anyhow::Result<()> {
    println!("Standard plan, real rate limits, cold (fresh simulator and proxy per line):");
    let by_day = [true]
        .into_iter()
        .chain((env_or("BENCH_BY_DAY", 0) == 1).then_some(false));
    for files in by_day {
        for (label, query) in [
            ("one date of a past month", "date=2026-10-30"),
            ("one date of this month", "date=2026-11-18"),
            ("a year to the last month", "from=2025-10-31&to=2026-10-30"),
            ("a year to yesterday", "from=2025-11-19&to=2026-11-19"),
        ] {
            let mut scfg = premium_sim();
            scfg.plan = jquants_proxy::catalog::Plan::Standard;
            scfg.issues = issues;
            let sim = sim::spawn(scfg, "127.0.0.1:0".parse()?).await?;
            let mut cfg = ServeConfig::new("127.0.0.1:0".parse()?);
            cfg.cache.max_bytes = 4 << 30;
            cfg.bulk.ingest = files;
            cfg.bulk.dir = fresh_dir();
            let base = serve(&sim, cfg).await?;
            let url = format!("{base}/derived/margin/market?{query}");
            let (cold, _) = get(&reqwest::Client::new(), &url).await?;
            let s = sim.stats();
            let by_path: Vec<String> = s.by_path.iter().map(|(p, n)| format!("{p} {n}")).collect();
            println!(
                "  {label:<26} {:<12} {:>7.1} s  {:>4} upstream calls ({} files; {})",
                if files { "bulk files" } else { "day by day" },
                cold.as_secs_f64(),
                s.total,
                s.file_downloads,
                by_path.join(", "),
            );
        }
    }
    Ok(())
}

/// A directory of its own for the proxy's bulk files: a cold run downloads every file.
fn fresh_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("jqp-bench-{}", uuid::Uuid::new_v4()))
}
