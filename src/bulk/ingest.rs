//! Ingested bulk files: a file version's rows (`super::convert`), kept in Postgres with
//! `COPY` when the proxy has it (every replica reads them, and they outlive restarts) and in
//! a bounded memory memo in front of it.
//!
//! Invariants: a version's rows are written in one transaction with the record that they are
//! complete, after the rows of the key's earlier versions are deleted, so a reader sees one
//! version whole or none; an advisory lock per version makes replicas ingest it once.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use sqlx::PgPool;

use super::convert::{FileRow, Refused};
use super::store::Version;

/// The rows of one file version by date, each date's rows in file order.
#[derive(Debug, Default)]
pub struct FileRows {
    pub days: BTreeMap<NaiveDate, Vec<Bytes>>,
    pub rows: usize,
}

impl FileRows {
    pub fn new(rows: Vec<FileRow>) -> FileRows {
        let n = rows.len();
        let mut days: BTreeMap<NaiveDate, Vec<Bytes>> = BTreeMap::new();
        for r in rows {
            days.entry(r.date).or_default().push(r.body);
        }
        FileRows { days, rows: n }
    }

    fn weight(&self) -> u32 {
        let bytes: usize = self.days.values().flatten().map(|b| b.len() + 32).sum();
        u32::try_from(bytes).unwrap_or(u32::MAX).max(1)
    }
}

/// Where ingested rows are kept.
pub struct Ingested {
    pool: Option<PgPool>,
    memo: moka::future::Cache<String, Arc<FileRows>>,
}

fn memo_key(v: &Version<'_>) -> String {
    format!("{}\n{}", v.key, v.last_modified)
}

impl Ingested {
    pub fn new(pool: Option<PgPool>, max_bytes: u64) -> Ingested {
        Ingested {
            pool,
            memo: moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, f: &Arc<FileRows>| f.weight())
                .build(),
        }
    }

    /// The version's rows if ingested (from memory, else Postgres).
    pub async fn get(&self, v: &Version<'_>) -> anyhow::Result<Option<Arc<FileRows>>> {
        if let Some(f) = self.memo.get(&memo_key(v)).await {
            return Ok(Some(f));
        }
        let Some(pool) = &self.pool else {
            return Ok(None);
        };
        if !done(pool, v).await? {
            return Ok(None);
        }
        let rows = load(pool, v).await?;
        Ok(Some(self.remember(v, rows).await))
    }

    /// The version's rows: ingested already (memory, else Postgres), or `make`'s, written to
    /// Postgres first when there is one. Concurrent callers for one version share one `make`;
    /// a replica that ingested the version meanwhile wins (its rows are the same file's).
    pub async fn get_or_put<F>(
        &self,
        path: &str,
        v: &Version<'_>,
        make: F,
    ) -> Result<Arc<FileRows>, Failure>
    where
        F: Future<Output = Result<Vec<FileRow>, Failure>>,
    {
        let pool = self.pool.clone();
        let other = |e: anyhow::Error| Failure::Other(format!("{e:#}"));
        self.memo
            .try_get_with(memo_key(v), async move {
                if let Some(pool) = &pool
                    && done(pool, v).await.map_err(other)?
                {
                    return Ok(Arc::new(load(pool, v).await.map_err(other)?));
                }
                let rows = make.await?;
                if let Some(pool) = &pool {
                    copy(pool, path, v, &rows).await.map_err(other)?;
                }
                Ok(Arc::new(FileRows::new(rows)))
            })
            .await
            .map_err(|e: Arc<Failure>| (*e).clone())
    }

    async fn remember(&self, v: &Version<'_>, rows: FileRows) -> Arc<FileRows> {
        let rows = Arc::new(rows);
        self.memo.insert(memo_key(v), rows.clone()).await;
        rows
    }
}

/// Why a file version has no rows.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The file itself cannot be ingested.
    Refused(Refused),
    /// Fetching or storing it failed; a later request tries again.
    Other(String),
}

/// Whether Postgres holds the version's rows.
async fn done(pool: &PgPool, v: &Version<'_>) -> anyhow::Result<bool> {
    let n: Option<i64> = sqlx::query_scalar(
        "SELECT rows FROM bulk_ingest WHERE file_key = $1 AND last_modified = $2",
    )
    .bind(v.key)
    .bind(v.last_modified)
    .fetch_optional(pool)
    .await?;
    Ok(n.is_some())
}

/// The version's rows from Postgres.
async fn load(pool: &PgPool, v: &Version<'_>) -> anyhow::Result<FileRows> {
    let rows: Vec<(NaiveDate, String)> = sqlx::query_as(
        "SELECT date, body FROM bulk_row WHERE file_key = $1 AND last_modified = $2 ORDER BY seq",
    )
    .bind(v.key)
    .bind(v.last_modified)
    .fetch_all(pool)
    .await?;
    let n = rows.len();
    let mut days: BTreeMap<NaiveDate, Vec<Bytes>> = BTreeMap::new();
    for (d, body) in rows {
        days.entry(d).or_default().push(Bytes::from(body));
    }
    Ok(FileRows { days, rows: n })
}

/// Writes the version's rows with `COPY`, replacing the key's earlier versions.
async fn copy(pool: &PgPool, path: &str, v: &Version<'_>, rows: &[FileRow]) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 11))")
        .bind(memo_key(v))
        .execute(&mut *tx)
        .await?;
    let done: Option<i64> = sqlx::query_scalar(
        "SELECT rows FROM bulk_ingest WHERE file_key = $1 AND last_modified = $2",
    )
    .bind(v.key)
    .bind(v.last_modified)
    .fetch_optional(&mut *tx)
    .await?;
    if done.is_some() {
        return Ok(());
    }
    for table in ["bulk_row", "bulk_ingest"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE file_key = $1"))
            .bind(v.key)
            .execute(&mut *tx)
            .await?;
    }
    let mut sink = tx
        .copy_in_raw(
            "COPY bulk_row (endpoint, file_key, last_modified, seq, date, code, body) FROM STDIN",
        )
        .await?;
    let prefix = format!(
        "{}\t{}\t{}\t",
        copy_text(path),
        copy_text(v.key),
        copy_text(v.last_modified)
    );
    let mut buf = String::with_capacity(1 << 20);
    for (seq, r) in rows.iter().enumerate() {
        buf.push_str(&prefix);
        buf.push_str(&format!("{seq}\t{}\t{}\t", r.date, copy_text(&r.code)));
        buf.push_str(&copy_text(std::str::from_utf8(&r.body)?));
        buf.push('\n');
        if buf.len() >= 1 << 20 {
            sink.send(std::mem::take(&mut buf).into_bytes()).await?;
        }
    }
    if !buf.is_empty() {
        sink.send(buf.into_bytes()).await?;
    }
    sink.finish().await?;
    sqlx::query(
        "INSERT INTO bulk_ingest (file_key, last_modified, endpoint, rows) VALUES ($1, $2, $3, $4)",
    )
    .bind(v.key)
    .bind(v.last_modified)
    .bind(path)
    .bind(rows.len() as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `s` in COPY's text format: backslash, tab and line breaks escaped.
fn copy_text(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\\', '\t', '\n', '\r']) {
        return s.into();
    }
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_text_escapes_what_copy_reads_as_syntax() {
        assert_eq!(super::copy_text(r#"{"a":"x\ny"}"#), r#"{"a":"x\\ny"}"#);
        assert_eq!(super::copy_text("a\tb\nc"), "a\\tb\\nc");
        assert_eq!(super::copy_text("plain"), "plain");
    }
}
