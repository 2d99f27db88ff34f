//! Where bulk files live once downloaded: Postgres when the proxy has it (every replica sees
//! the same files, and they survive restarts), else a directory of this replica's.
//!
//! Invariants: a file version is written whole or not at all (one transaction, or a temporary
//! file renamed into place), after its gzip stream decoded to the end (gzip's CRC-32 and length
//! trailer catch a truncated or corrupt download); it is read back in chunks, never whole in memory; in Postgres an
//! advisory lock per version makes the first replica download it and the others wait and
//! read its copy.

use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// Size of one stored chunk.
const CHUNK: usize = 1 << 20;

pub enum FileStore {
    Postgres(PgPool),
    Dir(PathBuf),
}

/// One file version's identity.
#[derive(Debug, Clone)]
pub struct Version<'a> {
    pub key: &'a str,
    pub last_modified: &'a str,
}

/// Checks a download as it streams: its gzip stream must decode to the end.
struct Check {
    gz: flate2::write::MultiGzDecoder<std::io::Sink>,
    sha: Sha256,
    len: u64,
}

impl Check {
    fn new() -> Check {
        Check {
            gz: flate2::write::MultiGzDecoder::new(std::io::sink()),
            sha: Sha256::new(),
            len: 0,
        }
    }

    fn feed(&mut self, b: &[u8]) -> anyhow::Result<()> {
        self.sha.update(b);
        self.len += b.len() as u64;
        self.gz
            .write_all(b)
            .map_err(|e| anyhow::anyhow!("not gzip: {e}"))
    }

    fn finish(mut self) -> anyhow::Result<String> {
        self.gz
            .try_finish()
            .map_err(|e| anyhow::anyhow!("truncated gzip: {e}"))?;
        Ok(hex::encode(self.sha.finalize()))
    }
}

impl FileStore {
    fn path(dir: &std::path::Path, v: &Version<'_>) -> PathBuf {
        let name = hex::encode(Sha256::digest(format!("{}\n{}", v.key, v.last_modified)));
        dir.join(format!("{name}.csv.gz"))
    }

    /// Stores the version from `download` unless it is held (or another replica stores it
    /// meanwhile). True when this call downloaded it.
    pub async fn ensure<F, Fut, S>(&self, v: &Version<'_>, download: F) -> anyhow::Result<bool>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<S>>,
        S: Stream<Item = anyhow::Result<Bytes>> + Send,
    {
        match self {
            FileStore::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
                    .bind(format!("bulk\n{}\n{}", v.key, v.last_modified))
                    .execute(&mut *tx)
                    .await?;
                let held: Option<i32> = sqlx::query_scalar(
                    "SELECT chunks FROM bulk_file WHERE key = $1 AND last_modified = $2",
                )
                .bind(v.key)
                .bind(v.last_modified)
                .fetch_optional(&mut *tx)
                .await?;
                if held.is_some() {
                    return Ok(false);
                }
                let body = download().await?;
                let (chunks, size, sha) = write_chunks(&mut tx, v, body).await?;
                sqlx::query(
                    "INSERT INTO bulk_file (key, last_modified, size, sha256, chunks) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(v.key)
                .bind(v.last_modified)
                .bind(size as i64)
                .bind(sha)
                .bind(chunks)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }
            FileStore::Dir(dir) => {
                let path = Self::path(dir, v);
                if tokio::fs::try_exists(&path).await? {
                    return Ok(false);
                }
                tokio::fs::create_dir_all(dir).await?;
                let tmp = path.with_extension(format!("part{}", uuid::Uuid::new_v4().simple()));
                let written = write_file(&tmp, download().await?).await;
                if written.is_err() {
                    let _ = tokio::fs::remove_file(&tmp).await;
                }
                written?;
                tokio::fs::rename(&tmp, &path).await?;
                Ok(true)
            }
        }
    }

    /// The version's bytes, chunk by chunk.
    pub async fn read(
        &self,
        v: &Version<'_>,
    ) -> anyhow::Result<BoxStream<'static, anyhow::Result<Bytes>>> {
        match self {
            FileStore::Postgres(pool) => {
                let chunks: i32 = sqlx::query_scalar(
                    "SELECT chunks FROM bulk_file WHERE key = $1 AND last_modified = $2",
                )
                .bind(v.key)
                .bind(v.last_modified)
                .fetch_one(pool)
                .await?;
                let (pool, key, lm) =
                    (pool.clone(), v.key.to_string(), v.last_modified.to_string());
                Ok(futures::stream::iter(0..chunks)
                    .then(move |seq| {
                        let (pool, key, lm) = (pool.clone(), key.clone(), lm.clone());
                        async move {
                            let data: Vec<u8> = sqlx::query_scalar(
                                "SELECT data FROM bulk_chunk WHERE key = $1 AND last_modified = $2 AND seq = $3",
                            )
                            .bind(key)
                            .bind(lm)
                            .bind(seq)
                            .fetch_one(&pool)
                            .await?;
                            Ok(Bytes::from(data))
                        }
                    })
                    .boxed())
            }
            FileStore::Dir(dir) => {
                let file = tokio::fs::File::open(Self::path(dir, v)).await?;
                Ok(tokio_util::io::ReaderStream::with_capacity(file, CHUNK)
                    .map_err(anyhow::Error::from)
                    .boxed())
            }
        }
    }
}

/// Writes `body` as chunks of at most [`CHUNK`] bytes; checks it as it goes.
async fn write_chunks<S>(
    tx: &mut sqlx::PgConnection,
    v: &Version<'_>,
    body: S,
) -> anyhow::Result<(i32, u64, String)>
where
    S: Stream<Item = anyhow::Result<Bytes>> + Send,
{
    let mut body = std::pin::pin!(body);
    let (mut check, mut buf, mut seq) = (Check::new(), Vec::with_capacity(CHUNK), 0i32);
    loop {
        let next = body.next().await.transpose()?;
        if let Some(b) = &next {
            check.feed(b)?;
            buf.extend_from_slice(b);
        }
        if buf.len() >= CHUNK || (next.is_none() && !buf.is_empty()) {
            sqlx::query(
                "INSERT INTO bulk_chunk (key, last_modified, seq, data) VALUES ($1, $2, $3, $4)",
            )
            .bind(v.key)
            .bind(v.last_modified)
            .bind(seq)
            .bind(std::mem::take(&mut buf))
            .execute(&mut *tx)
            .await?;
            seq += 1;
        }
        if next.is_none() {
            break;
        }
    }
    let size = check.len;
    let sha = check.finish()?;
    Ok((seq, size, sha))
}

async fn write_file<S>(path: &std::path::Path, body: S) -> anyhow::Result<()>
where
    S: Stream<Item = anyhow::Result<Bytes>> + Send,
{
    use tokio::io::AsyncWriteExt;
    let mut out = tokio::fs::File::create(path).await?;
    let mut body = std::pin::pin!(body);
    let mut check = Check::new();
    while let Some(b) = body.next().await.transpose()? {
        check.feed(&b)?;
        out.write_all(&b).await?;
    }
    check.finish()?;
    out.sync_all().await?;
    Ok(())
}
