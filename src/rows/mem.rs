//! Rows held in memory, per endpoint, in both orders the planner reads (a code's history by
//! date, a date's cross-section by code), bounded in bytes.
//!
//! Memory holds whole slices ("resident" ones) or nothing of them: when the bound is passed,
//! the slice fetched longest ago leaves, taking the rows no other resident slice holds.
//! Without Postgres its coverage goes with it (the planner then fetches again); with
//! Postgres coverage stays and its rows are read back from there.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};

use super::coverage::{Coverage, TradingCalendar};
use super::shape::Row;

/// A slice, by what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Code(String, NaiveDate, NaiveDate),
    Date(NaiveDate),
}

/// One endpoint's rows and coverage.
#[derive(Debug, Default)]
pub struct Table {
    pub cov: Coverage,
    by_code: BTreeMap<(String, NaiveDate), Bytes>,
    by_date: BTreeMap<(NaiveDate, String), Bytes>,
    /// Slices whose rows are all in memory, with when they were fetched.
    resident: HashMap<Key, DateTime<Utc>>,
    bytes: usize,
}

impl Table {
    pub fn insert(&mut self, rows: &[Row]) {
        for r in rows {
            if let Some(old) = self.by_code.insert((r.code.clone(), r.date), r.raw.clone()) {
                self.bytes -= old.len();
            }
            self.by_date.insert((r.date, r.code.clone()), r.raw.clone());
            self.bytes += r.raw.len();
        }
    }

    pub fn mark_resident(&mut self, key: Key, fetched_at: DateTime<Utc>) {
        self.resident.insert(key, fetched_at);
    }

    /// True if memory holds every row of the code slice holding `[from, to]`.
    pub fn code_resident(&self, code: &str, from: NaiveDate, to: NaiveDate) -> bool {
        self.resident.keys().any(|k| match k {
            Key::Code(c, f, t) => c == code && *f <= from && to <= *t,
            Key::Date(_) => false,
        })
    }

    pub fn date_resident(&self, d: NaiveDate) -> bool {
        self.resident.contains_key(&Key::Date(d))
    }

    pub fn code_rows(&self, code: &str, from: NaiveDate, to: NaiveDate) -> Vec<Bytes> {
        self.by_code
            .range((code.to_string(), from)..=(code.to_string(), to))
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn date_rows(&self, d: NaiveDate) -> Vec<Bytes> {
        self.by_date
            .range((d, String::new())..)
            .take_while(|((day, _), _)| *day == d)
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn row(&self, code: &str, d: NaiveDate) -> Option<Bytes> {
        self.by_code.get(&(code.to_string(), d)).cloned()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn rows(&self) -> usize {
        self.by_code.len()
    }

    /// The resident slice fetched longest ago, with when.
    pub fn oldest(&self) -> Option<(Key, DateTime<Utc>)> {
        self.resident
            .iter()
            .min_by_key(|(_, t)| **t)
            .map(|(k, t)| (k.clone(), *t))
    }

    /// Forgets a resident slice and the rows no other resident slice holds; with
    /// `drop_coverage` (no Postgres behind) the coverage goes too.
    pub fn evict(&mut self, key: &Key, drop_coverage: bool) {
        self.resident.remove(key);
        let doomed: Vec<(String, NaiveDate)> = match key {
            Key::Date(d) => self
                .by_date
                .range((*d, String::new())..)
                .take_while(|((day, _), _)| day == d)
                .map(|((day, c), _)| (c.clone(), *day))
                .collect(),
            Key::Code(c, f, t) => self
                .by_code
                .range((c.clone(), *f)..=(c.clone(), *t))
                .map(|(k, _)| k.clone())
                .collect(),
        };
        for (c, d) in doomed {
            if self.date_resident(d) || self.code_resident(&c, d, d) {
                continue;
            }
            if let Some(old) = self.by_code.remove(&(c.clone(), d)) {
                self.bytes -= old.len();
            }
            self.by_date.remove(&(d, c));
        }
        if drop_coverage {
            match key {
                Key::Date(d) => {
                    self.cov.by_date.remove(d);
                }
                Key::Code(c, f, t) => {
                    if let Some(v) = self.cov.by_code.get_mut(c) {
                        v.retain(|s| !(s.from == *f && s.to == *t));
                    }
                }
            }
        }
    }

    /// Drops everything of `code` (or everything, for `None`).
    pub fn purge(&mut self, code: Option<&str>) {
        match code {
            None => *self = Table::default(),
            Some(c) => {
                let keys: Vec<Key> = self
                    .resident
                    .keys()
                    .filter(|k| matches!(k, Key::Code(kc, _, _) if kc == c))
                    .cloned()
                    .collect();
                for k in keys {
                    self.evict(&k, true);
                }
                self.cov.by_code.remove(c);
            }
        }
    }
}

/// Everything the row store holds in memory.
#[derive(Debug, Default)]
pub struct Held {
    pub tables: HashMap<&'static str, Table>,
    pub calendar: TradingCalendar,
}

impl Held {
    pub fn table(&mut self, path: &'static str) -> &mut Table {
        self.tables.entry(path).or_default()
    }

    pub fn bytes(&self) -> usize {
        self.tables.values().map(Table::bytes).sum()
    }

    /// Evicts the oldest resident slices until memory is within `max_bytes`.
    pub fn shrink_to(&mut self, max_bytes: usize, drop_coverage: bool) {
        while self.bytes() > max_bytes {
            let oldest = self
                .tables
                .iter()
                .filter_map(|(p, t)| t.oldest().map(|(k, at)| (*p, k, at)))
                .min_by_key(|(_, _, at)| *at);
            let Some((path, key, _)) = oldest else { break };
            self.table(path).evict(&key, drop_coverage);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::coverage::{OPEN_FROM, OPEN_TO, Slice};

    fn row(code: &str, day: u32) -> Row {
        let d = NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        Row {
            date: d,
            code: code.into(),
            id: format!("{d}|{code}"),
            raw: Bytes::from(format!(
                r#"{{"Date":"{d}","Code":"{code}","pad":"{}"}}"#,
                "x".repeat(100)
            )),
        }
    }

    #[test]
    fn memory_stays_bounded_and_takes_coverage_with_evicted_rows() {
        let mut held = Held::default();
        let t0 = chrono::Utc::now();
        for (i, day) in [16, 17, 18, 19].into_iter().enumerate() {
            let at = t0 + chrono::Duration::seconds(i as i64);
            let rows: Vec<Row> = ["13010", "72030"].iter().map(|c| row(c, day)).collect();
            let d = rows[0].date;
            let t = held.table("/equities/bars/daily");
            t.insert(&rows);
            t.mark_resident(Key::Date(d), at);
            t.cov.add_date(
                d,
                Slice {
                    from: d,
                    to: d,
                    fetched_at: at,
                    fresh_until: at,
                },
            );
        }
        let full = held.bytes();
        held.shrink_to(full / 2, true);
        let t = held.table("/equities/bars/daily");
        assert!(t.bytes() <= full / 2);
        assert_eq!(t.cov.by_date.len(), 2, "the two oldest cross-sections left");
        let d19 = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
        assert_eq!(t.date_rows(d19).len(), 2);
        assert!(
            t.row("72030", NaiveDate::from_ymd_opt(2026, 11, 16).unwrap())
                .is_none()
        );
        let _ = (OPEN_FROM, OPEN_TO);
    }
}
