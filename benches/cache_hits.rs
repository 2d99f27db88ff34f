//! Cache-hit throughput and latency percentiles of the real proxy (in-process, loopback),
//! in front of the simulator. Prints figures; asserts nothing.
//!
//! `cargo bench --bench cache_hits` (env: BENCH_SECS, BENCH_CONCURRENCY, BENCH_GZIP=1).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jquants_proxy::catalog::Plan;
use jquants_proxy::config::ServeConfig;
use jquants_proxy::jst::{self, Clock};
use jquants_proxy::sim::{self, SimConfig};
use jquants_proxy::startup::Application;
use jquants_proxy::upstream::UpstreamConfig;
use secrecy::SecretString;

mod support;
use support::env_or;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run().await
}

async fn run() -> anyhow::Result<()> {
    let secs: u64 = env_or("BENCH_SECS", 10);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    let gzip = std::env::var("BENCH_GZIP").is_ok_and(|v| v == "1");
    let clock = Clock::fixed(jst::at(
        chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        20,
        0,
    ));
    let mut scfg = SimConfig::new("bench-key");
    scfg.plan = Plan::Premium;
    scfg.clock = clock.clone();
    let sim = sim::spawn(scfg, "127.0.0.1:0".parse()?).await?;
    let mut cfg = ServeConfig::new("127.0.0.1:0".parse()?);
    cfg.upstream = UpstreamConfig::new(
        sim.base_url(),
        SecretString::from("bench-key".to_string()),
        Plan::Premium,
    );
    cfg.clock = clock;
    let app = Application::build(cfg).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    // 64 distinct cached answers: single-day bars of one code (small) and one whole day (large).
    let mut urls: Vec<String> = (1..=60)
        .map(|i| {
            format!(
                "{base}/v2/equities/bars/daily?code=72030&date=2026-{:02}-{:02}",
                1 + i % 10,
                1 + i % 28
            )
        })
        .collect();
    urls.extend(
        [
            "/v2/equities/bars/daily?code=72030",
            "/v2/markets/calendar",
            "/v2/fins/summary?code=33500",
            "/v2/equities/bars/daily?date=2026-11-19",
        ]
        .map(|p| format!("{base}{p}")),
    );
    let client = reqwest::Client::builder()
        .no_gzip()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    for u in &urls {
        client.get(u).send().await?.bytes().await?;
    }
    let calls_after_warmup = sim.stats().total;
    let urls = Arc::new(urls);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut workers = vec![];
    for w in 0..concurrency {
        let (client, urls) = (client.clone(), urls.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut bytes = 0usize;
            let mut i = w;
            while Instant::now() < deadline {
                let t = Instant::now();
                let mut req = client.get(&urls[i % urls.len()]);
                if gzip {
                    req = req.header("accept-encoding", "gzip");
                }
                let r = req.send().await.expect("request");
                assert_eq!(r.headers()["x-cache"], "HIT");
                bytes += r.bytes().await.expect("body").len();
                lat.push(t.elapsed());
                i += concurrency;
            }
            (lat, bytes)
        }));
    }
    let mut lat = vec![];
    let mut bytes = 0;
    for w in workers {
        let (l, b) = w.await?;
        lat.extend(l);
        bytes += b;
    }
    lat.sort();
    let n = lat.len();
    let pct = |p: f64| lat[((n as f64 * p) as usize).min(n - 1)];
    println!("cache hits: {n} requests in {secs} s with {concurrency} connections (gzip: {gzip})");
    println!(
        "  throughput: {:.0} req/s, {:.1} MB/s",
        n as f64 / secs as f64,
        bytes as f64 / secs as f64 / 1e6
    );
    println!(
        "  latency: p50 {:?}  p90 {:?}  p99 {:?}  p99.9 {:?}  max {:?}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        lat[n - 1]
    );
    println!(
        "  upstream calls during the run: {}",
        sim.stats().total - calls_after_warmup
    );
    Ok(())
}
