//! Whether a bulk dataset's rows may stand for the API's: the verdict per dataset, kept
//! from one comparison of a file's date with the API's answer for it (`super::verify`), and
//! the API's keys when the files carry more (empty) columns.
//!
//! Invariants: a verdict is `Identical` only for byte-identical rows (after dropping columns
//! that are empty in every row and absent from the API's); once `Differs` or `Refused`, a
//! dataset stays so for the life of the process (a new comparison needs a restart).

use std::collections::HashMap;

use bytes::Bytes;
use chrono::NaiveDate;
use parking_lot::Mutex;

use super::verify::{self, Difference};

/// Whether a dataset's converted rows may stand for the API's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Trust {
    /// Not compared yet: rows feed derived computations only.
    Unchecked,
    /// One date's rows were identical to the API's answer (after dropping `dropped`, file
    /// columns the API does not send on this plan and that were empty in every row): they
    /// count as held.
    Identical {
        /// The date compared.
        date: NaiveDate,
        /// File columns left out to match the API's keys (empty in every row).
        dropped: Vec<String>,
    },
    /// One date's rows differed: derived computations only.
    Differs {
        /// The date compared.
        date: NaiveDate,
        /// The first difference found.
        difference: Difference,
    },
    /// A file could not be ingested (a missing column, a bad value): the dataset uses date
    /// cross-sections.
    Refused {
        /// The file and what was wrong with it.
        reason: String,
    },
}

/// The verdicts per dataset.
#[derive(Default)]
pub struct TrustBook {
    verdicts: Mutex<HashMap<&'static str, Trust>>,
    /// Per trusted dataset, the keys the API sends (when the files have more columns).
    kept: Mutex<HashMap<&'static str, Vec<String>>>,
    /// Held while a dataset is compared with the API.
    pub comparing: tokio::sync::Mutex<()>,
}

impl TrustBook {
    pub fn get(&self, path: &str) -> Trust {
        self.verdicts
            .lock()
            .get(path)
            .cloned()
            .unwrap_or(Trust::Unchecked)
    }

    pub fn refuse(&self, path: &'static str, reason: String) {
        self.verdicts.lock().insert(path, Trust::Refused { reason });
    }

    /// Records whether `file` (one date's converted rows) is the API's answer `api`: as they
    /// are, or with the file's extra columns dropped when the API sends fewer keys and those
    /// columns are empty.
    pub fn judge(&self, path: &'static str, date: NaiveDate, api: &[Bytes], file: &[Bytes]) {
        let api_keys = api.first().map(|r| verify::keys(r)).unwrap_or_default();
        let file_keys = file.first().map(|r| verify::keys(r)).unwrap_or_default();
        let dropped: Vec<String> = file_keys
            .iter()
            .filter(|k| !api_keys.contains(k))
            .cloned()
            .collect();
        let projected: Option<Vec<Bytes>> = if dropped.is_empty() {
            Some(file.to_vec())
        } else {
            file.iter().map(|r| verify::project(r, &api_keys)).collect()
        };
        let difference = match &projected {
            Some(p) => verify::compare(api, p),
            None => verify::compare(api, file),
        };
        let t = match difference {
            None => {
                if !dropped.is_empty() {
                    self.kept.lock().insert(path, api_keys);
                }
                Trust::Identical { date, dropped }
            }
            Some(difference) => {
                tracing::warn!(endpoint = path, %date, field = %difference.field, api = %difference.api, file = %difference.file,
                    "bulk rows differ from the API's; they feed derived figures only");
                Trust::Differs { date, difference }
            }
        };
        self.verdicts.lock().insert(path, t);
    }

    /// One day's file rows as the API sends them: projected onto its keys where the dataset
    /// needs it (`None` if a dropped column holds a value on that day).
    pub fn as_api(&self, path: &str, day: &[Bytes]) -> Option<Vec<Bytes>> {
        match self.kept.lock().get(path) {
            None => Some(day.to_vec()),
            Some(k) => day.iter().map(|r| verify::project(r, k)).collect(),
        }
    }
}
