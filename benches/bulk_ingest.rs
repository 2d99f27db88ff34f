//! How fast a bulk CSV file becomes rows in Postgres, side by side with the row store's own
//! write path. Prints figures; asserts nothing.
//!
//! One complete month of daily bars (`*_202610.csv.gz`) from the in-process simulator's file
//! host, then, each timed apart and repeated (median printed):
//! 1. gunzip + CSV -> the API's JSON rows (`bulk::convert::rows`);
//! 2. `COPY` into `bulk_row` through `bulk::ingest::Ingested::get_or_put`, fresh schema per run;
//! 3. the same rows through the row store's write path, `INSERT ... SELECT FROM UNNEST` one
//!    date per transaction (`rows::pg::write_slice`), fresh schema per run.
//!
//! `cargo bench --bench bulk_ingest` (env: BENCH_ISSUES, default 4000; BENCH_REPEAT, default 3;
//! Postgres from TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use jquants_proxy::bulk::convert::{self, FileRow};
use jquants_proxy::bulk::datasets::{self, BulkSet};
use jquants_proxy::bulk::ingest::{Failure, Ingested};
use jquants_proxy::bulk::store::Version;
use jquants_proxy::rows::coverage::Slice;
use jquants_proxy::rows::{pg, shape};
use jquants_proxy::sim;
use jquants_proxy::store::Store;
use sqlx::postgres::PgConnectOptions;

mod support;
use support::{KEY, bench_clock, env_or, premium_sim};

const PATH: &str = "/equities/bars/daily";
/// October 2026 is complete on the bench clock (2026-11-20), so its file is a whole month.
const MONTH: &str = "_202610.csv.gz";
/// The verdict's yardstick (the issue's target for COPY).
const TARGET_ROWS_PER_S: f64 = 100_000.0;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run().await
}

/// A listed file version, as `/bulk/list` names it.
#[derive(serde::Deserialize)]
struct Listed {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "LastModified")]
    last_modified: String,
}

#[derive(serde::Deserialize)]
struct ListAnswer {
    data: Vec<Listed>,
}

#[derive(serde::Deserialize)]
struct UrlAnswer {
    url: String,
}

/// The month file's listing row and gzip bytes, asked of the simulator as an app would.
async fn download(base: &str) -> anyhow::Result<(Listed, Vec<u8>)> {
    // The file host sends `application/gzip` bytes; they must reach the bench as they are.
    let http = reqwest::Client::builder().no_gzip().build()?;
    let api = |pq: String| http.get(format!("{base}{pq}")).header("x-api-key", KEY);
    let list: ListAnswer = api(format!("/bulk/list?endpoint={PATH}"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let file = list
        .data
        .into_iter()
        .find(|l| l.key.ends_with(MONTH))
        .ok_or_else(|| anyhow::anyhow!("no {MONTH} file in the {PATH} listing"))?;
    let key: String = url::form_urlencoded::byte_serialize(file.key.as_bytes()).collect();
    let link: UrlAnswer = api(format!("/bulk/get?key={key}"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let gz = http.get(&link.url).send().await?.error_for_status()?;
    let gz = gz.bytes().await?.to_vec();
    Ok((file, gz))
}

fn convert(set: &BulkSet, gz: &[u8]) -> anyhow::Result<Vec<FileRow>> {
    convert::rows(set, flate2::read::MultiGzDecoder::new(gz))
        .map_err(|e| anyhow::anyhow!("file refused: {e}"))
}

/// A Store (migrated) on a schema of its own, so every run writes into empty tables.
struct Fresh {
    store: Arc<Store>,
    schema: String,
    admin: sqlx::PgConnection,
}

impl Fresh {
    async fn new(base: &PgConnectOptions, run: &str) -> anyhow::Result<Fresh> {
        let schema = format!("bench_bulk_{}_{run}", std::process::id());
        let mut admin = sqlx::ConnectOptions::connect(base).await?;
        sqlx::Executor::execute(&mut admin, format!("CREATE SCHEMA {schema}").as_str()).await?;
        let opts = base.clone().options([("search_path", schema.as_str())]);
        let store = Store::with_options(opts).await?;
        // `Store` survives a Postgres it cannot reach; a bench must not time such a store.
        anyhow::ensure!(store.is_healthy(), "Postgres unreachable or not migrated");
        Ok(Fresh {
            store,
            schema,
            admin,
        })
    }

    async fn count(&self, table: &str) -> anyhow::Result<i64> {
        let sql = format!("SELECT count(*) FROM {table}");
        Ok(sqlx::query_scalar(&sql)
            .fetch_one(self.store.pool())
            .await?)
    }

    async fn remove(mut self) -> anyhow::Result<()> {
        self.store.pool().close().await;
        let sql = format!("DROP SCHEMA {} CASCADE", self.schema);
        sqlx::Executor::execute(&mut self.admin, sql.as_str()).await?;
        Ok(())
    }
}

/// One `COPY` of the file's rows, as the bulk tier writes a version it has not seen.
async fn copy_once(
    base: &PgConnectOptions,
    run: usize,
    file: &Listed,
    rows: &[FileRow],
) -> anyhow::Result<Duration> {
    let fresh = Fresh::new(base, &format!("copy{run}")).await?;
    let ingested = Ingested::new(Some(fresh.store.pool().clone()), 1 << 30);
    let v = Version {
        key: &file.key,
        last_modified: &file.last_modified,
    };
    // Cloned before the clock starts: the bulk tier hands `make` rows it already owns.
    let owned = rows.to_vec();
    // Timed as the bulk tier runs it: the lookup of a done version, COPY in one transaction
    // with its completion record, and the rows grouped by date for the memo.
    let t = Instant::now();
    let put = ingested
        .get_or_put(PATH, &v, async move { Ok::<_, Failure>(owned) })
        .await;
    let took = t.elapsed();
    put.map_err(|e| anyhow::anyhow!("COPY failed: {e:?}"))?;
    let n = fresh.count("bulk_row").await?;
    anyhow::ensure!(
        n == rows.len() as i64,
        "COPY wrote {n} of {} rows",
        rows.len()
    );
    fresh.remove().await?;
    Ok(took)
}

/// One write of the file's rows through the row store's path: a date's cross-section per
/// transaction, as the row store absorbs a `date=` answer.
async fn unnest_once(
    base: &PgConnectOptions,
    run: usize,
    days: &BTreeMap<NaiveDate, Vec<shape::Row>>,
) -> anyhow::Result<Duration> {
    let fresh = Fresh::new(base, &format!("unnest{run}")).await?;
    let pool = fresh.store.pool().clone();
    let at = bench_clock().now();
    let t = Instant::now();
    for (d, rows) in days {
        let s = Slice {
            from: *d,
            to: *d,
            fetched_at: at,
            fresh_until: at,
        };
        // `write_slice` logs and answers false rather than failing: the bench stops on it.
        anyhow::ensure!(
            pg::write_slice(&pool, PATH, "", s, rows).await,
            "write_slice failed on {d}"
        );
    }
    let took = t.elapsed();
    let n = fresh.count("market_row").await?;
    let want: usize = days.values().map(Vec::len).sum();
    anyhow::ensure!(n == want as i64, "UNNEST wrote {n} of {want} rows");
    fresh.remove().await?;
    Ok(took)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `n` with thousands separators.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a median measurement is worth, as printed.
struct Sizes {
    rows: usize,
    gz: usize,
    csv: usize,
}

fn line(what: &str, took: Duration, z: &Sizes) -> f64 {
    let s = took.as_secs_f64();
    let rate = z.rows as f64 / s;
    let mb = |b: usize| b as f64 / 1e6 / s;
    println!(
        "  {what:<44} {:>8.1} ms  {:>10} rows/s  {:>6.1} MB/s gzip  {:>6.1} MB/s CSV",
        s * 1e3,
        thousands(rate),
        mb(z.gz),
        mb(z.csv),
    );
    rate
}

async fn run() -> anyhow::Result<()> {
    let issues: usize = env_or("BENCH_ISSUES", 4000);
    let repeat: usize = env_or("BENCH_REPEAT", 3).max(1);
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let base: PgConnectOptions = url.parse()?;
    let set = datasets::set(PATH).ok_or_else(|| anyhow::anyhow!("{PATH} is not ingested"))?;

    let mut cfg = premium_sim();
    cfg.issues = issues;
    let sim = sim::spawn(cfg, "127.0.0.1:0".parse()?).await?;
    let (file, gz) = download(&sim.base_url()).await?;
    let mut csv = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut csv)?;

    let mut times = Vec::with_capacity(repeat);
    let mut rows = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        rows = convert(set, &gz)?;
        times.push(t.elapsed());
    }
    let conversion = median(times);
    let sizes = Sizes {
        rows: rows.len(),
        gz: gz.len(),
        csv: csv.len(),
    };
    let json: usize = rows.iter().map(|r| r.body.len()).sum();

    // The row store's rows carry their identity; derived here, untimed, as the row store
    // derives it when an answer arrives (before its write path runs).
    let planned = shape::planned(PATH).ok_or_else(|| anyhow::anyhow!("{PATH} not planned"))?;
    let mut days: BTreeMap<NaiveDate, Vec<shape::Row>> = BTreeMap::new();
    for r in &rows {
        let row = shape::identify(planned, &r.body)
            .ok_or_else(|| anyhow::anyhow!("a converted row has no identity"))?;
        days.entry(row.date).or_default().push(row);
    }

    println!(
        "{} ({issues} issues): {:.2} MB gzip, {:.1} MB CSV, {:.1} MB JSON rows, {} rows over {} days",
        file.key,
        gz.len() as f64 / 1e6,
        csv.len() as f64 / 1e6,
        json as f64 / 1e6,
        thousands(rows.len() as f64),
        days.len(),
    );
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("median of {repeat} runs, {build} build:");
    line(
        "gunzip + CSV -> JSON rows (convert::rows)",
        conversion,
        &sizes,
    );

    let mut copy = Vec::with_capacity(repeat);
    let mut unnest = Vec::with_capacity(repeat);
    // Interleaved, so a change in the machine's load falls on both paths alike.
    for run in 0..repeat {
        copy.push(copy_once(&base, run, &file, &rows).await?);
        unnest.push(unnest_once(&base, run, &days).await?);
    }
    let (copy, unnest) = (median(copy), median(unnest));
    let copy_rate = line("COPY (Ingested::get_or_put)", copy, &sizes);
    let unnest_rate = line(
        "INSERT ... UNNEST per date (pg::write_slice)",
        unnest,
        &sizes,
    );
    line(
        "file to rows in Postgres (convert + COPY)",
        conversion + copy,
        &sizes,
    );

    let verdict = if copy_rate >= TARGET_ROWS_PER_S {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "verdict: COPY writes {} rows/s, {:.1}x the 100,000 rows/s target: {verdict}; \
         {:.1}x the row store's UNNEST path ({} rows/s)",
        thousands(copy_rate),
        copy_rate / TARGET_ROWS_PER_S,
        copy_rate / unnest_rate,
        thousands(unnest_rate),
    );
    Ok(())
}
