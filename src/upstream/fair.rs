//! Fair queuing of upstream slots across clients: round-robin by client key.
//!
//! Only one request at a time is the *head* of the plan queue (it sleeps until its slot and
//! then charges the budget). When the head leaves, headship passes to the next client in
//! rotation, not to the next arrival, so one app's burst of thousands of requests cannot
//! starve another app's single request: that one waits at most one turn per active client.
//! Within one client, order is arrival order.
//!
//! Invariants: at most one head; every waiter removed from a queue by a grant becomes
//! responsible for passing headship on (by becoming head and dropping its [`Head`], or, if
//! it was cancelled in the meantime, from its drop guard), so headship is never lost. The
//! state lock is `parking_lot`'s: a panic elsewhere cannot poison it, so a drop guard never
//! panics taking it.
//!
//! Why not a crate: the fair-queue crates on crates.io schedule owned items through a
//! channel; here the "item" is the right to be head for as long as a future holds it, with
//! cancellation at any await point, which is a few lines on a mutex and oneshot channels.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Per-client numbers for `/admin/stats` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ClientQueueStats {
    /// The client's queue name: the name of its key, `anonymous@<ip>` for an anonymous
    /// caller, `admin`, or `proxy` for the proxy's own requests (sync, derived inputs).
    pub client: String,
    /// Requests of this client waiting for an upstream slot now.
    pub queued: usize,
    /// Upstream slots granted to this client since start.
    pub granted: u64,
    /// Total seconds this client's requests waited for a slot.
    pub total_wait_secs: f64,
    /// Longest single wait, seconds.
    pub max_wait_secs: f64,
}

struct Waiter {
    id: u64,
    grant: oneshot::Sender<()>,
}

#[derive(Default)]
struct Totals {
    granted: u64,
    wait: Duration,
    max_wait: Duration,
}

#[derive(Default)]
struct State {
    head_taken: bool,
    next_id: u64,
    queues: HashMap<Arc<str>, VecDeque<Waiter>>,
    /// Clients with waiters, in turn order.
    ring: VecDeque<Arc<str>>,
    totals: HashMap<Arc<str>, Totals>,
}

impl State {
    /// Hands headship to the next client in rotation, or frees it.
    fn pass_on(&mut self) {
        while let Some(client) = self.ring.pop_front() {
            let Some(q) = self.queues.get_mut(&client) else {
                continue;
            };
            let Some(w) = q.pop_front() else {
                self.queues.remove(&client);
                continue;
            };
            if q.is_empty() {
                self.queues.remove(&client);
            } else {
                self.ring.push_back(client);
            }
            // A failed send means the waiter is being dropped; its guard passes on.
            let _ = w.grant.send(());
            return;
        }
        self.head_taken = false;
    }
}

#[derive(Default)]
pub(crate) struct FairGate {
    state: Mutex<State>,
}

/// Being head of the queue; dropping it passes headship on.
pub(crate) struct Head<'a> {
    gate: &'a FairGate,
}

impl Drop for Head<'_> {
    fn drop(&mut self) {
        self.gate.lock().pass_on();
    }
}

/// Removes a cancelled waiter, or passes on headship it was granted but never took.
struct Waiting<'a> {
    gate: &'a FairGate,
    client: Arc<str>,
    id: u64,
    armed: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut s = self.gate.lock();
        let mut found = false;
        if let Some(q) = s.queues.get_mut(&self.client)
            && let Some(pos) = q.iter().position(|w| w.id == self.id)
        {
            q.remove(pos);
            found = true;
            if q.is_empty() {
                s.queues.remove(&self.client);
                s.ring.retain(|c| *c != self.client);
            }
        }
        if !found {
            s.pass_on();
        }
    }
}

impl FairGate {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Waits for this client's turn as head of the queue.
    pub(crate) async fn enter(&self, client: &Arc<str>) -> Head<'_> {
        let start = Instant::now();
        let (rx, id) = {
            let mut s = self.lock();
            if !s.head_taken {
                s.head_taken = true;
                drop(s);
                self.record(client, start.elapsed());
                return Head { gate: self };
            }
            s.next_id += 1;
            let id = s.next_id;
            let (tx, rx) = oneshot::channel();
            let q = s.queues.entry(client.clone()).or_default();
            let was_idle = q.is_empty();
            q.push_back(Waiter { id, grant: tx });
            if was_idle {
                s.ring.push_back(client.clone());
            }
            (rx, id)
        };
        let mut waiting = Waiting {
            gate: self,
            client: client.clone(),
            id,
            armed: true,
        };
        // The sender is only dropped with the gate itself, which outlives every waiter.
        let _ = rx.await;
        waiting.armed = false;
        self.record(client, start.elapsed());
        Head { gate: self }
    }

    fn record(&self, client: &Arc<str>, waited: Duration) {
        metrics::histogram!("jqp_upstream_client_wait_seconds", "client" => client.to_string())
            .record(waited.as_secs_f64());
        let mut s = self.lock();
        let t = s.totals.entry(client.clone()).or_default();
        t.granted += 1;
        t.wait += waited;
        t.max_wait = t.max_wait.max(waited);
    }

    /// Slots that will be granted before the last queued request of `client` is head,
    /// counting the current head: one turn per other client with that many waiters.
    pub(crate) fn turns_ahead_of(&self, client: &str) -> usize {
        let s = self.lock();
        let mine = s.queues.get(client).map_or(1, |q| q.len().max(1));
        let others: usize = s
            .queues
            .iter()
            .filter(|(c, _)| &***c != client)
            .map(|(_, q)| q.len().min(mine))
            .sum();
        others + mine + usize::from(s.head_taken)
    }

    #[cfg(test)]
    fn queued(&self) -> usize {
        self.lock().queues.values().map(VecDeque::len).sum()
    }

    pub(crate) fn client_stats(&self) -> Vec<ClientQueueStats> {
        let s = self.lock();
        let mut out: Vec<ClientQueueStats> = s
            .totals
            .iter()
            .map(|(c, t)| ClientQueueStats {
                client: c.to_string(),
                queued: s.queues.get(c).map_or(0, VecDeque::len),
                granted: t.granted,
                total_wait_secs: t.wait.as_secs_f64(),
                max_wait_secs: t.max_wait.as_secs_f64(),
            })
            .collect();
        for (c, q) in &s.queues {
            if !s.totals.contains_key(c) {
                out.push(ClientQueueStats {
                    client: c.to_string(),
                    queued: q.len(),
                    ..Default::default()
                });
            }
        }
        out.sort_by(|a, b| a.client.cmp(&b.client));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each task enters, records its name, holds headship for a moment, leaves.
    async fn run(gate: Arc<FairGate>, order: Arc<Mutex<Vec<String>>>, client: &str, n: usize) {
        let c: Arc<str> = Arc::from(client);
        let _h = gate.enter(&c).await;
        order.lock().push(format!("{client}{n}"));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    async fn until_queued(gate: &FairGate, n: usize) {
        while gate.queued() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_single_request_is_not_starved_by_a_burst() {
        let gate = Arc::new(FairGate::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        // Someone is head while everyone else queues, so arrival order is known.
        let head = gate.enter(&Arc::from("x")).await;
        let mut tasks = vec![];
        for i in 0..20 {
            tasks.push(tokio::spawn(run(gate.clone(), order.clone(), "a", i)));
            until_queued(&gate, i + 1).await;
        }
        tasks.push(tokio::spawn(run(gate.clone(), order.clone(), "b", 0)));
        until_queued(&gate, 21).await;
        drop(head);
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().clone();
        let b = order.iter().position(|s| s == "b0").unwrap();
        assert_eq!(b, 1, "b waited behind {b} of a's requests: {order:?}");
        let a: Vec<_> = order
            .iter()
            .filter(|s| s.starts_with('a'))
            .cloned()
            .collect();
        let expected: Vec<_> = (0..20).map(|i| format!("a{i}")).collect();
        assert_eq!(a, expected, "one client's requests keep arrival order");
        assert_eq!(gate.queued(), 0);
        let stats = gate.client_stats();
        assert_eq!(stats.len(), 3);
        assert_eq!((stats[0].granted, stats[1].granted), (20, 1));
    }

    #[tokio::test]
    async fn a_cancelled_waiter_never_loses_headship() {
        let gate = Arc::new(FairGate::default());
        let c: Arc<str> = Arc::from("a");
        let head = gate.enter(&c).await;
        let g = gate.clone();
        let cc = c.clone();
        let waiter = tokio::spawn(async move {
            let _h = g.enter(&cc).await;
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(gate.turns_ahead_of("a"), 2);
        waiter.abort();
        let _ = waiter.await;
        drop(head);
        // Headship is free again: this enters at once.
        tokio::time::timeout(Duration::from_secs(1), gate.enter(&c))
            .await
            .expect("headship was lost");
    }
}
