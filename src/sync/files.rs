//! The sync's bulk step: the monthly files covering a dataset's missing days, loaded one by
//! one into the row store (each file's progress reported), until the dataset's files prove
//! unusable (then the days go one cross-section each, as without files).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::NaiveDate;

use super::Watch;
use crate::bulk::{BulkHistory, history::FEW_DAYS};
use crate::cache::Cache;
use crate::rows::progress::Progress;

/// A bulk file's progress, for the CLI's bar per file.
#[derive(Debug, Clone, Copy)]
pub enum FileEvent<'a> {
    /// Loading starts: the file's key and the wanted days it covers.
    Started { key: &'a str, days: usize },
    /// Loading ended; `held`: its days are in the row store now.
    Finished { key: &'a str, held: bool },
}

/// Loads the monthly files of `path` that cover the days of `days` not held yet, when there
/// are more than a few.
pub(super) async fn load_months(
    cache: &Arc<Cache>,
    bulk: &BulkHistory,
    path: &str,
    days: &[NaiveDate],
    p: &Progress,
    watch: Watch<'_>,
) {
    let rows = cache.rows();
    let mut missing = Vec::new();
    for d in days {
        if !rows.has_date(path, *d, cache.clock().now()).await {
            missing.push(*d);
        }
    }
    if missing.len() <= FEW_DAYS || bulk.unusable(path) {
        return;
    }
    let months = match bulk.month_files(path, &missing).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(path, error = %e, "sync: no bulk listing; day by day");
            return;
        }
    };
    p.files_total
        .fetch_add(months.len() as u64, Ordering::Relaxed);
    for f in &months {
        if bulk.unusable(path) {
            tracing::warn!(
                path,
                "sync: the files' rows differ from the API's; day by day"
            );
            break;
        }
        (watch.file)(FileEvent::Started {
            key: f.key(),
            days: f.days.len(),
        });
        let held = bulk.load_month(path, f).await;
        (watch.file)(FileEvent::Finished { key: f.key(), held });
        p.files_done.fetch_add(1, Ordering::Relaxed);
        p.publish();
        (watch.tick)(p);
    }
}
