//! The shared upstream rate limiter: one GCRA per budget (the plan's and the 60/min
//! statements cap), a FIFO queue in front of each, and the cool-down pause after a 429.
//!
//! Why not `governor`: a statements call must take a slot from *both* limiters at the same
//! instant. governor's `check` consumes on success and has no "peek", so taking the
//! statements token first and then waiting for a plan token would let two statements calls
//! reach the upstream closer together than the cap allows (the first one waited, the second
//! did not). The 429 pause also has to be part of the same decision, and the arithmetic is
//! on `tokio::time::Instant` so the limiter follows tokio's clock. With burst 1 a GCRA is a
//! single "theoretical arrival time" per budget, so the arithmetic below is all there is.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::catalog::RateGroup;

/// Snapshot of the limiter for `/readyz` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterStats {
    /// Requests waiting for a slot right now.
    pub queued: usize,
    /// Sum of the time every granted or abandoned request spent waiting for a slot.
    pub total_wait: Duration,
    /// Upstream calls let through (every retry attempt counts).
    pub calls: u64,
    /// Upstream 429 answers seen.
    pub rate_limited: u64,
    /// Retries made for 429s, 5xx and connection errors.
    pub retries: u64,
    /// Requests that gave up waiting for a slot.
    pub queue_timeouts: u64,
    /// When the current cool-down ends, if one is running.
    pub paused_until: Option<Instant>,
}

impl LimiterStats {
    /// Time left in the current cool-down, if any.
    pub fn pause_remaining(&self) -> Option<Duration> {
        self.paused_until
            .map(|t| t.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }
}

/// Theoretical arrival times and the pause; only the head of a queue moves them.
struct State {
    plan_tat: Instant,
    stmt_tat: Instant,
    paused_until: Option<Instant>,
}

pub(crate) struct Limiter {
    plan_interval: Duration,
    stmt_interval: Duration,
    queue_timeout: Duration,
    // tokio's Mutex grants the lock in arrival order, which is the fairness we want; the
    // holder is the head of the queue and sleeps until its slot.
    plan_queue: tokio::sync::Mutex<()>,
    stmt_queue: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    queued: AtomicUsize,
    wait_nanos: AtomicU64,
    calls: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
    queue_timeouts: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct QueueTimeout;

impl Limiter {
    /// `limit` calls per `window` for the plan and `stmt_limit` per `window` for statements,
    /// each slowed by `safety_margin` so network jitter cannot squeeze `limit + 1` calls into
    /// one upstream window.
    pub(crate) fn new(
        limit: u32,
        stmt_limit: u32,
        window: Duration,
        safety_margin: f64,
        queue_timeout: Duration,
    ) -> Self {
        let interval = |n: u32| {
            window
                .div_f64(f64::from(n.max(1)))
                .mul_f64(1.0 + safety_margin)
        };
        let now = Instant::now();
        Self {
            plan_interval: interval(limit),
            stmt_interval: interval(stmt_limit),
            queue_timeout,
            plan_queue: tokio::sync::Mutex::new(()),
            stmt_queue: tokio::sync::Mutex::new(()),
            state: Mutex::new(State {
                plan_tat: now,
                stmt_tat: now,
                paused_until: None,
            }),
            queued: AtomicUsize::new(0),
            wait_nanos: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            queue_timeouts: AtomicU64::new(0),
        }
    }

    pub(crate) fn plan_interval(&self) -> Duration {
        self.plan_interval
    }

    /// Waits, in arrival order, for a slot in every budget `group` draws from.
    pub(crate) async fn acquire(&self, group: RateGroup) -> Result<(), QueueTimeout> {
        let start = Instant::now();
        let paused_until = self
            .state
            .lock()
            .expect("limiter state poisoned")
            .paused_until;
        if paused_until.is_some_and(|p| p > start + self.queue_timeout) {
            // The cool-down alone outlasts the queue timeout: say so now rather than after
            // holding the client for the whole queue timeout.
            self.queue_timeouts.fetch_add(1, Ordering::Relaxed);
            return Err(QueueTimeout);
        }
        let _queued = QueuedGuard::new(self);
        let res = tokio::time::timeout(self.queue_timeout, self.wait_slot(group)).await;
        let waited = start.elapsed();
        self.wait_nanos
            .fetch_add(waited.as_nanos() as u64, Ordering::Relaxed);
        metrics::histogram!("jqp_upstream_wait_seconds").record(waited.as_secs_f64());
        res.map_err(|_| {
            self.queue_timeouts.fetch_add(1, Ordering::Relaxed);
            QueueTimeout
        })
    }

    async fn wait_slot(&self, group: RateGroup) {
        let statements = group == RateGroup::Statements;
        // A statements request first becomes head of the statements queue and waits for
        // its statements slot without blocking plan-only requests; it keeps that lock while
        // it queues for a plan slot, so nobody else can use the statements slot meanwhile.
        let _stmt = if statements {
            let guard = self.stmt_queue.lock().await;
            self.wait_until(|s| s.stmt_tat).await;
            Some(guard)
        } else {
            None
        };
        let _plan = self.plan_queue.lock().await;
        loop {
            let now = Instant::now();
            let ready_at = {
                let mut s = self.state.lock().expect("limiter state poisoned");
                let mut at = s.plan_tat.max(s.paused_until.unwrap_or(now));
                if statements {
                    at = at.max(s.stmt_tat);
                }
                if at <= now {
                    // Both budgets are charged at the instant the call is let through.
                    s.plan_tat = now + self.plan_interval;
                    if statements {
                        s.stmt_tat = now + self.stmt_interval;
                    }
                    self.calls.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                at
            };
            // Re-check after sleeping: a 429 may have extended the pause meanwhile.
            tokio::time::sleep_until(ready_at).await;
        }
    }

    /// Sleeps until `tat(state)` and any pause have passed (without charging anything).
    async fn wait_until(&self, tat: impl Fn(&State) -> Instant) {
        loop {
            let now = Instant::now();
            let at = {
                let s = self.state.lock().expect("limiter state poisoned");
                tat(&s).max(s.paused_until.unwrap_or(now))
            };
            if at <= now {
                return;
            }
            tokio::time::sleep_until(at).await;
        }
    }

    /// Starts (or extends) the cool-down every caller waits out; returns when it ends.
    pub(crate) fn pause(&self, cooldown: Duration) -> Instant {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + cooldown;
        let mut s = self.state.lock().expect("limiter state poisoned");
        let until = s.paused_until.map_or(until, |p| p.max(until));
        s.paused_until = Some(until);
        until
    }

    pub(crate) fn note_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> LimiterStats {
        let paused_until = {
            let s = self.state.lock().expect("limiter state poisoned");
            s.paused_until.filter(|p| *p > Instant::now())
        };
        LimiterStats {
            queued: self.queued.load(Ordering::Relaxed),
            total_wait: Duration::from_nanos(self.wait_nanos.load(Ordering::Relaxed)),
            calls: self.calls.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            queue_timeouts: self.queue_timeouts.load(Ordering::Relaxed),
            paused_until,
        }
    }
}

/// Keeps the queue gauge right even when the waiting future is dropped (client gone).
struct QueuedGuard<'a>(&'a Limiter);

impl<'a> QueuedGuard<'a> {
    fn new(l: &'a Limiter) -> Self {
        l.queued.fetch_add(1, Ordering::Relaxed);
        // increment/decrement rather than set: concurrent sets could land out of order.
        metrics::gauge!("jqp_upstream_queue").increment(1.0);
        Self(l)
    }
}

impl Drop for QueuedGuard<'_> {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("jqp_upstream_queue").decrement(1.0);
    }
}
