//! The row store in Postgres: rows and coverage survive a restart, and a slice's rows and its
//! coverage are written in one transaction, so a killed writer (a `sync` stopped half-way)
//! leaves either the whole slice or nothing of it.
//!
//! Every call is best effort with a deadline: on failure the store keeps working from memory
//! and the caller fetches what it cannot read.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Row as _};

use super::coverage::{Coverage, Dirty, Slice, TradingCalendar};
use super::shape::Row;
use crate::catalog::Endpoint;

const OP_TIMEOUT: Duration = Duration::from_secs(10);
pub const CALENDAR: &str = "/markets/calendar";

async fn timed<T>(what: &str, fut: impl Future<Output = Result<T, sqlx::Error>>) -> Option<T> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::warn!(op = what, error = %e, "row store: Postgres failed");
            None
        }
        Err(_) => {
            tracing::warn!(op = what, "row store: Postgres timed out");
            None
        }
    }
}

/// What a restarted store starts from.
#[derive(Debug, Default)]
pub struct Loaded {
    pub coverage: HashMap<String, Coverage>,
    pub calendar: TradingCalendar,
    pub splits: Vec<(String, NaiveDate)>,
}

pub async fn load(pool: &PgPool) -> Option<Loaded> {
    let mut out = Loaded::default();
    let cov = timed(
        "load coverage",
        sqlx::query("SELECT endpoint, code, from_date, to_date, fetched_at, fresh_until FROM market_coverage")
            .fetch_all(pool),
    )
    .await?;
    for r in cov {
        let s = Slice {
            from: r.get("from_date"),
            to: r.get("to_date"),
            fetched_at: r.get("fetched_at"),
            fresh_until: r.get("fresh_until"),
        };
        let c = out.coverage.entry(r.get("endpoint")).or_default();
        let code: String = r.get("code");
        if code.is_empty() {
            c.add_date(s.from, s);
        } else {
            c.add_code(&code, s);
        }
    }
    let cal = timed(
        "load calendar",
        sqlx::query("SELECT date, body FROM market_row WHERE endpoint = $1")
            .bind(CALENDAR)
            .fetch_all(pool),
    )
    .await?;
    for r in cal {
        let body: String = r.get("body");
        if let Some(div) = hol_div(body.as_bytes()) {
            out.calendar.insert(r.get("date"), div);
        }
    }
    let splits = timed(
        "load splits",
        sqlx::query("SELECT code, ex_date FROM split_event").fetch_all(pool),
    )
    .await
    .unwrap_or_default();
    out.splits = splits
        .into_iter()
        .map(|r| (r.get("code"), r.get("ex_date")))
        .collect();
    Some(out)
}

/// `HolDiv` of a raw calendar row.
pub fn hol_div(raw: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Day {
        #[serde(rename = "HolDiv")]
        hol_div: String,
    }
    serde_json::from_slice::<Day>(raw).ok().map(|d| d.hol_div)
}

/// Stores `rows`, then the slice that says they are complete (`code` empty for a date).
pub async fn write_slice(pool: &PgPool, path: &str, code: &str, s: Slice, rows: &[Row]) -> bool {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    let dates: Vec<NaiveDate> = rows.iter().map(|r| r.date).collect();
    let bodies: Vec<&str> = rows
        .iter()
        .map(|r| std::str::from_utf8(&r.raw).unwrap_or("null"))
        .collect();
    let work = async {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO market_row (endpoint, row_id, code, date, body, fetched_at)
             SELECT $1, * , $6 FROM UNNEST($2::text[], $3::text[], $4::date[], $5::text[])
             ON CONFLICT (endpoint, row_id) DO UPDATE SET code = EXCLUDED.code, date = EXCLUDED.date,
               body = EXCLUDED.body, fetched_at = EXCLUDED.fetched_at",
        )
        .bind(path)
        .bind(&ids)
        .bind(&codes)
        .bind(&dates)
        .bind(&bodies)
        .bind(s.fetched_at)
        .execute(&mut *tx)
        .await?;
        if !path.eq(CALENDAR) {
            sqlx::query(
                "INSERT INTO market_coverage (endpoint, code, from_date, to_date, fetched_at, fresh_until)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (endpoint, code, from_date, to_date) DO UPDATE SET
                   fetched_at = EXCLUDED.fetched_at, fresh_until = EXCLUDED.fresh_until",
            )
            .bind(path)
            .bind(code)
            .bind(s.from)
            .bind(s.to)
            .bind(s.fetched_at)
            .bind(s.fresh_until)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    };
    timed("write slice", work).await.is_some()
}

/// Rows of `code` in `[from, to]`, by date.
pub async fn code_rows(
    pool: &PgPool,
    ep: &Endpoint,
    code: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Option<Vec<Row>> {
    let q = of_code(
        "SELECT row_id, code, date, body FROM market_row WHERE endpoint = $1 AND code = $2 AND date BETWEEN $3 AND $4 ORDER BY date",
        ep,
        code,
    );
    read_rows(pool, "read history", q.bind(from).bind(to)).await
}

/// The cross-section of `d`, by code in byte order (the upstream's order).
pub async fn date_rows(pool: &PgPool, ep: &Endpoint, d: NaiveDate) -> Option<Vec<Row>> {
    let q = sqlx::query(
        "SELECT row_id, code, date, body FROM market_row WHERE endpoint = $1 AND date = $2 ORDER BY code COLLATE \"C\"",
    );
    read_rows(pool, "read cross-section", q.bind(ep.path).bind(d)).await
}

/// `code`'s rows on `days`, by date.
pub async fn code_day_rows(
    pool: &PgPool,
    ep: &Endpoint,
    code: &str,
    days: &[NaiveDate],
) -> Option<Vec<Row>> {
    let q = of_code(
        "SELECT row_id, code, date, body FROM market_row WHERE endpoint = $1 AND code = $2 AND date = ANY($3) ORDER BY date",
        ep,
        code,
    );
    read_rows(pool, "read days", q.bind(days)).await
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// `sql` (a query of one code's market rows) with `$1` (the endpoint) and `$2` (the code)
/// bound; the caller binds the rest.
fn of_code<'q>(sql: &'q str, ep: &Endpoint, code: &'q str) -> PgQuery<'q> {
    sqlx::query(sql).bind(ep.path).bind(code)
}

/// Runs `q` (a `SELECT row_id, code, date, body FROM market_row` with every parameter bound)
/// and reads its rows in the order it returns them.
async fn read_rows(pool: &PgPool, what: &str, q: PgQuery<'_>) -> Option<Vec<Row>> {
    let rows = timed(what, q.fetch_all(pool)).await?;
    Some(rows.into_iter().map(to_row).collect())
}

fn to_row(r: sqlx::postgres::PgRow) -> Row {
    let body: String = r.get("body");
    Row {
        id: r.get("row_id"),
        code: r.get("code"),
        date: r.get("date"),
        raw: Bytes::from(body),
    }
}

/// A split: `code`'s histories fetched before publication no longer hold.
pub async fn split(pool: &PgPool, path: &str, code: &str, d: Dirty) {
    timed(
        "split",
        sqlx::query(
            "DELETE FROM market_coverage WHERE endpoint = $1 AND code = $2 AND fetched_at < $3",
        )
        .bind(path)
        .bind(code)
        .bind(d.published)
        .execute(pool),
    )
    .await;
}

/// Drops coverage (and rows) by endpoint and/or code.
pub async fn purge(pool: &PgPool, path: Option<&str>, code: Option<&str>) {
    for table in ["market_coverage", "market_row"] {
        let q = format!(
            "DELETE FROM {table} WHERE ($1::text IS NULL OR endpoint = $1) AND ($2::text IS NULL OR code = $2)"
        );
        timed("purge", sqlx::query(&q).bind(path).bind(code).execute(pool)).await;
    }
}

/// Slices recorded per endpoint (for sync's summary and stats).
pub async fn count_slices(pool: &PgPool, path: &str, since: DateTime<Utc>) -> Option<i64> {
    timed(
        "count",
        sqlx::query_scalar(
            "SELECT count(*) FROM market_coverage WHERE endpoint = $1 AND fetched_at >= $2",
        )
        .bind(path)
        .bind(since)
        .fetch_one(pool),
    )
    .await
}
