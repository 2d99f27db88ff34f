//! Single flight: concurrent identical misses share one upstream fetch.
//!
//! The fetch runs in its own task, so a client that disconnects does not cancel work other
//! clients wait for, and an answer already paid for in upstream quota is always stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

type SharedFetch<T, E> = Shared<BoxFuture<'static, Result<T, E>>>;

pub struct Flights<T: Clone, E: Clone> {
    inflight: Mutex<HashMap<String, SharedFetch<T, E>>>,
}

impl<T, E> Default for Flights<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

impl<T, E> Flights<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// Joins the flight for `key`, or starts `fetch` as it. Returns the result and whether
    /// this caller joined a flight another caller started.
    pub async fn run<F>(self: &Arc<Self>, key: &str, fetch: F) -> (Result<T, E>, bool)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let (fut, joined) = {
            let mut map = self.inflight.lock().expect("flights lock");
            if let Some(f) = map.get(key) {
                (f.clone(), true)
            } else {
                let this = Arc::clone(self);
                let owned_key = key.to_string();
                let task = tokio::spawn(async move {
                    let out = fetch.await;
                    this.inflight
                        .lock()
                        .expect("flights lock")
                        .remove(&owned_key);
                    out
                });
                let fut: BoxFuture<'static, Result<T, E>> = async move {
                    match task.await {
                        Ok(out) => out,
                        Err(e) => std::panic::resume_unwind(e.into_panic()),
                    }
                }
                .boxed();
                let shared = fut.shared();
                map.insert(key.to_string(), shared.clone());
                (shared, false)
            }
        };
        (fut.await, joined)
    }

    /// Starts `fetch` for `key` unless a flight is already under way; does not wait.
    pub fn spawn_if_idle<F>(self: &Arc<Self>, key: &str, fetch: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        if self
            .inflight
            .lock()
            .expect("flights lock")
            .contains_key(key)
        {
            return;
        }
        let this = Arc::clone(self);
        let key = key.to_string();
        tokio::spawn(async move {
            let _ = this.run(&key, fetch).await;
        });
    }

    pub fn in_flight(&self) -> usize {
        self.inflight.lock().expect("flights lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let flights: Arc<Flights<u32, String>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut handles = vec![];
        for _ in 0..50 {
            let flights = flights.clone();
            let calls = calls.clone();
            handles.push(tokio::spawn(async move {
                flights
                    .run("k", async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(7)
                    })
                    .await
            }));
        }
        let mut joined = 0;
        for h in handles {
            let (v, j) = h.await.unwrap();
            assert_eq!(v, Ok(7));
            joined += j as usize;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(joined, 49);
        assert_eq!(flights.in_flight(), 0);
        // A later call is a new flight.
        let (v, j) = flights
            .run("k", async { Err::<u32, _>("boom".to_string()) })
            .await;
        assert_eq!((v, j), (Err("boom".to_string()), false));
    }

    #[tokio::test]
    async fn a_cancelled_caller_does_not_cancel_the_fetch() {
        let flights: Arc<Flights<u32, String>> = Arc::default();
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let f2 = flights.clone();
        let h = tokio::spawn(async move {
            f2.run("k", async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                d.fetch_add(1, Ordering::SeqCst);
                Ok(1)
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        h.abort();
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
