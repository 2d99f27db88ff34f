//! The state one simulator shares between its HTTP handlers and its
//! [`super::server::SimHandle`]: settings, the market, the current page size, the mutable
//! counters (stats, rate-limit windows, faults) and the bulk files corrected so far.
//! Invariant: the market and settings never change after start-up; only the page size (an
//! atomic), the three locked counters and the corrections do. `reset` clears the counters
//! but not the corrections, which are data (like the clock), not bookkeeping.
//!
//! The counters sit behind `parking_lot` mutexes, which cannot be poisoned: a handler that
//! panicked never makes the simulator refuse the next request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, MutexGuard};

use super::config::SimConfig;
use super::datasets::Corrections;
use super::faults::{FaultState, Faults};
use super::limits::Limiter;
use super::market::Market;
use super::stats::SimStats;

pub(super) struct Shared {
    /// The settings the simulator was started with. Its `page_bytes` is only the initial
    /// value: read [`Shared::page_bytes`], which `set_page_bytes` changes at run time.
    pub(super) cfg: SimConfig,
    pub(super) market: Arc<Market>,
    /// Page size limit in bytes, the one source of truth after start-up.
    page_bytes: AtomicUsize,
    stats: Mutex<SimStats>,
    limiter: Mutex<Limiter>,
    faults: Mutex<FaultState>,
    corrections: Mutex<Corrections>,
}

impl Shared {
    /// Builds the market for `cfg` (its seed and size) with empty counters.
    pub(super) fn new(cfg: SimConfig) -> Shared {
        Shared {
            market: Arc::new(Market::new(cfg.seed, cfg.issues)),
            page_bytes: AtomicUsize::new(cfg.page_bytes.max(1)),
            cfg,
            stats: Mutex::default(),
            limiter: Mutex::default(),
            faults: Mutex::default(),
            corrections: Mutex::default(),
        }
    }

    pub(super) fn stats(&self) -> MutexGuard<'_, SimStats> {
        self.stats.lock()
    }

    pub(super) fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.limiter.lock()
    }

    pub(super) fn faults(&self) -> MutexGuard<'_, FaultState> {
        self.faults.lock()
    }

    pub(super) fn corrections(&self) -> MutexGuard<'_, Corrections> {
        self.corrections.lock()
    }

    pub(super) fn page_bytes(&self) -> usize {
        self.page_bytes.load(Ordering::Relaxed)
    }

    /// At least one byte: every page holds at least one row anyway.
    pub(super) fn set_page_bytes(&self, n: usize) {
        self.page_bytes.store(n.max(1), Ordering::Relaxed);
    }

    /// Clears stats, rate-limit windows, lockouts and faults.
    pub(super) fn reset(&self) {
        *self.stats() = SimStats::default();
        *self.limiter() = Limiter::default();
        self.faults().set(Faults::default());
    }
}
