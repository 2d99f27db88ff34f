//! The HTTP probes `scripts/bench-vs-nginx.sh` needs and `wrk` cannot do: fire many requests
//! at the same instant and report each one's latency. Talks to any server (the proxy or
//! nginx), loopback only; prints figures, asserts nothing.
//!
//! - `bench_probe storm <url> <n> <warm-url>`: opens `n` connections (by fetching the
//!   already-cached `warm-url` on each), then sends `n` identical requests for the uncached
//!   `url` at once; prints the waiters' latency percentiles.
//! - `bench_probe burst <base> <paths-file>`: sends every path in the file at once (misses
//!   that queue on the proxy's upstream limiter) and waits for them.
//! - `bench_probe hits <base> <paths-file> <n> <conns> <identity|gzip>`: sends `n` requests
//!   over `conns` keep-alive connections, rotating over the paths (warm answers), and checks
//!   every one is a `200` cache hit. `scripts/hit-instructions.sh` runs it against a proxy
//!   under callgrind to count instructions per hit, which load on the machine does not move.
//! - `bench_probe bare <port> <base> <paths-file>...`: the ceiling. Fetches every listed
//!   answer from `base` (identity and gzip forms) and serves those bytes on `port` with axum
//!   and nothing else: no key check, quota, cache lookup, metrics, request id or log. It shows
//!   what any hyper server could reach on the machine in the same run, so a ratio to nginx can
//!   be read against what is physically possible.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Barrier;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["storm", url, n, warm] => rt.block_on(storm(url, n.parse()?, warm)),
        ["burst", base, file] => rt.block_on(burst(base, file)),
        ["bare", port, base, ref files @ ..] => rt.block_on(bare(port.parse()?, base, files)),
        ["hits", base, file, n, conns, enc] => {
            rt.block_on(hits(base, file, n.parse()?, conns.parse()?, enc == "gzip"))
        }
        _ => anyhow::bail!(
            "usage: bench_probe storm <url> <n> <warm-url> | bench_probe burst <base> <paths-file> \
             | bench_probe hits <base> <paths-file> <n> <conns> <identity|gzip> \
             | bench_probe bare <port> <base> <paths-file>..."
        ),
    }
}

fn client(n: usize) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_gzip()
        .pool_max_idle_per_host(n)
        .timeout(Duration::from_secs(120))
        .build()
}

/// Sends `n` copies of a request at once, each starting when all are ready; returns the
/// latencies of the successful ones and the count of failures.
async fn at_once(client: &reqwest::Client, url: &str, n: usize) -> (Vec<Duration>, usize) {
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (client, url, barrier) = (client.clone(), url.to_string(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let t = Instant::now();
                let r = client.get(&url).send().await.ok()?;
                let ok = r.status().is_success();
                r.bytes().await.ok()?;
                ok.then(|| t.elapsed())
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(n);
    let mut failed = 0;
    for t in tasks {
        match t.await.ok().flatten() {
            Some(d) => lat.push(d),
            None => failed += 1,
        }
    }
    lat.sort();
    (lat, failed)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

async fn storm(url: &str, n: usize, warm: &str) -> anyhow::Result<()> {
    let client = client(n)?;
    // Connections are opened beforehand so the storm measures waiting, not TCP handshakes.
    let (_, warm_failed) = at_once(&client, warm, n).await;
    anyhow::ensure!(warm_failed == 0, "{warm_failed} warm-up requests failed");
    let (lat, failed) = at_once(&client, url, n).await;
    anyhow::ensure!(!lat.is_empty(), "every storm request failed");
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    // One machine-readable line: ok failed p50 p90 p99 max (milliseconds).
    println!(
        "STORM {} {failed} {} {} {} {}",
        lat.len(),
        ms(pct(0.5)),
        ms(pct(0.9)),
        ms(pct(0.99)),
        ms(lat[lat.len() - 1])
    );
    Ok(())
}

fn urls(base: &str, file: &str) -> anyhow::Result<Vec<String>> {
    Ok(std::fs::read_to_string(file)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{base}{l}"))
        .collect())
}

async fn burst(base: &str, file: &str) -> anyhow::Result<()> {
    let paths = urls(base, file)?;
    let client = client(paths.len())?;
    let tasks: Vec<_> = paths
        .into_iter()
        .map(|u| {
            let client = client.clone();
            tokio::spawn(async move { client.get(&u).send().await.map(|r| r.status()) })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if matches!(t.await, Ok(Ok(s)) if s.is_success()) {
            ok += 1;
        }
    }
    println!("BURST {ok} ok");
    Ok(())
}

async fn hits(base: &str, file: &str, n: usize, conns: usize, gzip: bool) -> anyhow::Result<()> {
    let urls = Arc::new(urls(base, file)?);
    anyhow::ensure!(!urls.is_empty() && conns > 0, "no paths or no connections");
    let client = client(conns)?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|c| {
            let (client, urls) = (client.clone(), urls.clone());
            tokio::spawn(async move {
                let mut not_hits = 0usize;
                for i in (c..n).step_by(conns) {
                    let mut req = client.get(&urls[i % urls.len()]);
                    if gzip {
                        req = req.header("accept-encoding", "gzip");
                    }
                    let r = req.send().await?;
                    let hit = r.status().is_success()
                        && r.headers().get("x-cache").is_some_and(|v| v == "HIT");
                    not_hits += usize::from(!hit);
                    r.bytes().await?;
                }
                reqwest::Result::Ok(not_hits)
            })
        })
        .collect();
    let mut not_hits = 0;
    for t in tasks {
        not_hits += t.await??;
    }
    // One machine-readable line: requests, responses that were not 200 hits, seconds.
    println!("HITS {n} {not_hits} {:.2}", started.elapsed().as_secs_f64());
    Ok(())
}

/// A target's two stored forms, served as they are.
struct Held {
    identity: bytes::Bytes,
    gzip: bytes::Bytes,
}

async fn bare(port: u16, base: &str, files: &[&str]) -> anyhow::Result<()> {
    use axum::http::{HeaderValue, header};
    let client = client(1)?;
    let mut held = std::collections::HashMap::new();
    for file in files {
        for line in std::fs::read_to_string(file)?
            .lines()
            .filter(|l| !l.is_empty())
        {
            let get = |enc: &'static str| {
                let req = client
                    .get(format!("{base}{line}"))
                    .header("accept-encoding", enc);
                async move { req.send().await?.error_for_status()?.bytes().await }
            };
            let (identity, gzip) = (get("identity").await?, get("gzip").await?);
            held.insert(line.to_string(), Held { identity, gzip });
        }
    }
    let answers = held.len();
    let held = Arc::new(held);
    let svc = tower::service_fn(move |req: axum::extract::Request| {
        let held = held.clone();
        async move {
            let target = req.uri().path_and_query().map_or("", |p| p.as_str());
            let mut resp = axum::response::Response::new(axum::body::Body::empty());
            let Some(h) = held.get(target) else {
                *resp.status_mut() = axum::http::StatusCode::NOT_FOUND;
                return Ok::<_, std::convert::Infallible>(resp);
            };
            let gzip = req
                .headers()
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("gzip"));
            let hs = resp.headers_mut();
            hs.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            *resp.body_mut() = if gzip {
                hs.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                axum::body::Body::from(h.gzip.clone())
            } else {
                axum::body::Body::from(h.identity.clone())
            };
            Ok(resp)
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("BARE {answers} answers on {port}");
    axum::serve(listener, axum::ServiceExt::into_make_service(svc)).await?;
    Ok(())
}
