//! Request targets (`/v2/...?query`, exactly as sent) already admitted today, with their cache
//! key: the same clients ask the same URLs, and parsing, checking and canonicalising a query
//! cost more than the rest of a hit.
//!
//! Invariants:
//! - An entry says what `AppState::admit` said of that target on that JST day (admission
//!   depends only on the endpoint, the query, the plan and the day), so the hit path answers
//!   a remembered target exactly as it would after admitting it again; another day misses.
//! - Bounded: a shard that reaches [`SHARD_CAPACITY`] targets starts afresh, so memory stays
//!   below a few megabytes whatever clients send.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use parking_lot::Mutex;

// Targets are what clients send, so the hasher is seeded per process (foldhash's
// `RandomState`), at a fraction of SipHash's cost; the shards are bounded besides.
use foldhash::fast::RandomState;

use chrono::NaiveDate;

const SHARDS: usize = 8;
/// Targets per shard before it is cleared.
pub const SHARD_CAPACITY: usize = 4096;

type Shard = HashMap<Box<str>, (NaiveDate, Arc<str>), RandomState>;

#[derive(Default)]
pub struct Admitted {
    hasher: RandomState,
    shards: [Mutex<Shard>; SHARDS],
}

impl Admitted {
    /// The cache key of `target`, if it was admitted on `day`.
    pub fn key(&self, target: &str, day: NaiveDate) -> Option<Arc<str>> {
        let shard = self.shard(target).lock();
        match shard.get(target) {
            Some((d, key)) if *d == day => Some(key.clone()),
            _ => None,
        }
    }

    /// Remembers that `target` was admitted on `day`, with cache key `key`.
    pub fn remember(&self, target: &str, day: NaiveDate, key: Arc<str>) {
        let mut shard = self.shard(target).lock();
        if shard.len() >= SHARD_CAPACITY && !shard.contains_key(target) {
            shard.clear();
        }
        shard.insert(target.into(), (day, key));
    }

    fn shard(&self, target: &str) -> &Mutex<Shard> {
        let i = self.hasher.hash_one(target) as usize % SHARDS;
        &self.shards[i]
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn a_target_is_remembered_for_the_day_it_was_admitted_on() {
        let a = Admitted::default();
        let t = "/v2/equities/bars/daily?code=7203&date=20261119";
        assert_eq!(a.key(t, day(20)), None);
        a.remember(t, day(20), Arc::from("k"));
        assert_eq!(a.key(t, day(20)).as_deref(), Some("k"));
        assert_eq!(
            a.key(t, day(21)),
            None,
            "admission is redone on another day"
        );
        assert_eq!(a.key("/v2/equities/bars/daily?code=7203", day(20)), None);
    }

    #[test]
    fn memory_stays_bounded_whatever_is_asked() {
        let a = Admitted::default();
        for i in 0..(SHARDS * SHARD_CAPACITY * 3) {
            a.remember(&format!("/v2/x?code={i}"), day(20), Arc::from("k"));
        }
        assert!(a.len() <= SHARDS * SHARD_CAPACITY, "{}", a.len());
    }
}
