//! The shared upstream rate limiter: one GCRA per budget (the plan's and the 60/min
//! statements cap), a queue in front of each (the plan's is fair across clients, see
//! [`super::fair`]), and the cool-down pause after a 429.
//!
//! With Postgres attached ([`super::shared`]) the head of the queue takes its slot from the
//! budget every replica shares; without it, or while Postgres is unreachable, from the local
//! GCRA below at `1 / replicas` of the plan, so N replicas together still keep to the plan.
//!
//! Why not `governor`: a statements call must take a slot from *both* limiters at the same
//! instant. governor's `check` consumes on success and has no "peek", so taking the
//! statements token first and then waiting for a plan token would let two statements calls
//! reach the upstream closer together than the cap allows (the first one waited, the second
//! did not). The 429 pause also has to be part of the same decision, and the arithmetic is
//! on `tokio::time::Instant` so the limiter follows tokio's clock. With burst 1 a GCRA is a
//! single "theoretical arrival time" per budget, so the arithmetic below is all there is.
//!
//! Invariants: no two calls of a budget are closer than its interval (times the share
//! factor); a cool-down holds every caller until it ends; the state lock is never held across
//! an await, and it cannot be poisoned (`parking_lot`), so taking it never panics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::fair::{ClientQueueStats, FairGate};
use super::shared::SharedBudget;
use crate::catalog::RateGroup;

/// Snapshot of the limiter for `/readyz` and `/metrics`.
#[derive(Debug, Clone, PartialEq)]
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
    /// `postgres` (one budget shared by every replica) or `local` (this replica's share).
    pub coordination: &'static str,
    /// Fraction of the plan this replica uses when coordination is local.
    pub local_share: f64,
    /// Mean time of one coordination statement in Postgres, and how many failed.
    pub coordination_overhead: Option<(Duration, u64)>,
    /// Queue depth and waits per client key.
    pub clients: Vec<ClientQueueStats>,
}

impl LimiterStats {
    /// Time left in the current cool-down, if any.
    pub fn pause_remaining(&self) -> Option<Duration> {
        self.paused_until
            .map(|t| t.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }
}

/// The last calls and the pause; only the head of a queue moves them. The next slot of a
/// budget is `last + interval * factor` (GCRA with burst 1), with the factor of the stricter
/// of now and the last call, so switching between the shared budget and the local share never
/// lets this replica call sooner than either allows.
struct State {
    plan_last: Instant,
    stmt_last: Instant,
    /// Share factor in force at the last call.
    last_factor: f64,
    /// After calls on the local share, this replica keeps to it until then even with the
    /// shared budget back: other replicas may still be on theirs, and the upstream's window
    /// still holds the local calls.
    probation_until: Option<Instant>,
    paused_until: Option<Instant>,
}

pub(crate) struct Limiter {
    plan_interval: Duration,
    stmt_interval: Duration,
    window: Duration,
    /// Replicas sharing the plan: the local GCRA's intervals are this many times longer.
    replicas: u32,
    queue_timeout: Duration,
    // The head of the plan queue sleeps until its slot; headship rotates over clients.
    plan_queue: FairGate,
    // tokio's Mutex grants the lock in arrival order: statements queue FIFO for their cap.
    stmt_queue: tokio::sync::Mutex<()>,
    shared: OnceLock<Arc<SharedBudget>>,
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

/// Replicas on their local share keep this much further below it: their calls are not
/// phase-aligned, so N streams at exactly 1/N each can put a few calls more than the plan into
/// one upstream window, and a switch to or from the shared budget can add one call each.
const LOCAL_SHARE_MARGIN: f64 = 0.1;

/// Beyond one upstream window, how long a replica back on the shared budget keeps to its local
/// share: the time the others take to notice Postgres is back (the store's recovery loop and
/// the shared budget's retry delay, about a second each).
const PROBATION_EXTRA: Duration = Duration::from_secs(2);

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
        replicas: u32,
    ) -> Self {
        let interval = |n: u32| {
            window
                .div_f64(f64::from(n.max(1)))
                .mul_f64(1.0 + safety_margin)
        };
        // As if the last call were long ago: the first one goes at once.
        let long_ago = Instant::now()
            .checked_sub(window.mul_f64(f64::from(replicas.max(1)) * 2.0))
            .unwrap_or_else(Instant::now);
        Self {
            plan_interval: interval(limit),
            stmt_interval: interval(stmt_limit),
            window,
            replicas: replicas.max(1),
            queue_timeout,
            plan_queue: FairGate::default(),
            stmt_queue: tokio::sync::Mutex::new(()),
            shared: OnceLock::new(),
            state: Mutex::new(State {
                plan_last: long_ago,
                stmt_last: long_ago,
                last_factor: 1.0,
                probation_until: None,
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

    /// Takes slots from the budget every replica shares from now on (first call wins).
    pub(crate) fn share(&self, budget: Arc<SharedBudget>) {
        let _ = self.shared.set(budget);
    }

    pub(crate) fn shared(&self) -> Option<&Arc<SharedBudget>> {
        self.shared.get().filter(|s| s.is_up())
    }

    /// How many times longer than the plan's interval this replica waits between calls:
    /// 1 with the shared budget; `replicas` (plus [`LOCAL_SHARE_MARGIN`] when there are
    /// several) while it keeps to its local share.
    fn share_factor(&self) -> f64 {
        if self.replicas == 1 {
            return 1.0;
        }
        let local = f64::from(self.replicas) * (1.0 + LOCAL_SHARE_MARGIN);
        if self.shared().is_none() {
            return local;
        }
        let s = self.state.lock();
        if s.probation_until.is_some_and(|t| t > Instant::now()) {
            local
        } else {
            1.0
        }
    }

    /// How long until the last request `client` has queued now gets its slot: its turns
    /// ahead in the fair queue at the current rate, after any cool-down.
    pub(crate) fn estimated_wait(&self, client: &str) -> Duration {
        let turns = self.plan_queue.turns_ahead_of(client) as u32;
        let pause = self.pause_left().unwrap_or_default();
        pause
            + self
                .plan_interval
                .mul_f64(self.share_factor() * f64::from(turns))
    }

    fn pause_left(&self) -> Option<Duration> {
        let s = self.state.lock();
        s.paused_until
            .map(|p| p.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Waits for a slot in every budget `group` draws from: the client's turn in the fair
    /// queue, then the slot itself.
    pub(crate) async fn acquire(
        &self,
        group: RateGroup,
        client: &Arc<str>,
    ) -> Result<(), QueueTimeout> {
        let start = Instant::now();
        let paused_until = self.state.lock().paused_until;
        if paused_until.is_some_and(|p| p > start + self.queue_timeout) {
            // The cool-down alone outlasts the queue timeout: say so now rather than after
            // holding the client for the whole queue timeout.
            self.queue_timeouts.fetch_add(1, Ordering::Relaxed);
            return Err(QueueTimeout);
        }
        let _queued = QueuedGuard::new(self);
        let res = tokio::time::timeout(self.queue_timeout, self.wait_slot(group, client)).await;
        let waited = start.elapsed();
        self.wait_nanos
            .fetch_add(waited.as_nanos() as u64, Ordering::Relaxed);
        metrics::histogram!("jqp_upstream_wait_seconds").record(waited.as_secs_f64());
        res.map_err(|_| {
            self.queue_timeouts.fetch_add(1, Ordering::Relaxed);
            QueueTimeout
        })
    }

    async fn wait_slot(&self, group: RateGroup, client: &Arc<str>) {
        let statements = group == RateGroup::Statements;
        // A statements request first becomes head of the statements queue and waits for
        // its statements slot without blocking plan-only requests; it keeps that lock while
        // it queues for a plan slot, so nobody else can use the statements slot meanwhile.
        let _stmt = if statements {
            let guard = self.stmt_queue.lock().await;
            let f = self.share_factor();
            self.wait_until(|s| s.stmt_last + self.stmt_interval.mul_f64(f.max(s.last_factor)))
                .await;
            Some(guard)
        } else {
            None
        };
        let _plan = self.plan_queue.enter(client).await;
        if let Some(shared) = self.shared() {
            let mut budgets = vec![("plan", self.plan_interval)];
            if statements {
                budgets.push(("statements", self.stmt_interval));
            }
            if let Some(slot) = shared.take_slot(&budgets).await {
                let factor = self.share_factor();
                let own = {
                    let s = self.state.lock();
                    s.plan_last + self.plan_interval.mul_f64(factor.max(s.last_factor))
                };
                // Just back from the local share: its spacing still holds for a while.
                tokio::time::sleep_until(own.max(Instant::now() + slot.delay)).await;
                // A 429 seen here meanwhile pauses this replica at once.
                self.wait_pause().await;
                self.charge(Instant::now(), statements, factor, false);
                return;
            }
        }
        loop {
            let now = Instant::now();
            let factor = self.share_factor();
            let ready_at = {
                let s = self.state.lock();
                let f = factor.max(s.last_factor);
                let mut at = (s.plan_last + self.plan_interval.mul_f64(f))
                    .max(s.paused_until.unwrap_or(now));
                if statements {
                    at = at.max(s.stmt_last + self.stmt_interval.mul_f64(f));
                }
                at
            };
            if ready_at <= now {
                self.charge(now, statements, factor, self.shared.get().is_some());
                return;
            }
            // Re-check after sleeping: a 429 may have extended the pause meanwhile.
            tokio::time::sleep_until(ready_at).await;
        }
    }

    /// Charges the local budgets at the instant a call is let through (both at once for a
    /// statements call), under share factor `factor`; `fallback`: a local call although
    /// replicas coordinate, which starts the probation.
    fn charge(&self, now: Instant, statements: bool, factor: f64, fallback: bool) {
        let mut s = self.state.lock();
        s.plan_last = now;
        s.last_factor = factor;
        if fallback {
            s.probation_until = Some(now + self.window + PROBATION_EXTRA);
        }
        if statements {
            s.stmt_last = now;
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Sleeps out the cool-down, if one is running.
    async fn wait_pause(&self) {
        loop {
            let until = self.state.lock().paused_until;
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    /// Sleeps until `tat(state)` and any pause have passed (without charging anything).
    async fn wait_until(&self, tat: impl Fn(&State) -> Instant) {
        loop {
            let now = Instant::now();
            let at = {
                let s = self.state.lock();
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
        let mut s = self.state.lock();
        let until = s.paused_until.map_or(until, |p| p.max(until));
        s.paused_until = Some(until);
        drop(s);
        if let Some(shared) = self.shared.get() {
            // Every replica cools down, not only this one.
            let shared = shared.clone();
            tokio::spawn(async move { shared.pause(cooldown).await });
        }
        until
    }

    pub(crate) fn note_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> LimiterStats {
        let paused_until = {
            let s = self.state.lock();
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
            coordination: if self.shared().is_some() {
                "postgres"
            } else {
                "local"
            },
            local_share: 1.0 / f64::from(self.replicas),
            coordination_overhead: self.shared.get().map(|s| s.overhead()),
            clients: self.plan_queue.client_stats(),
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
