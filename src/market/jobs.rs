//! Long whole-market work as background jobs: a query whose cross-sections are not all held
//! may need hundreds of upstream reads (statements are capped at 60 a minute), so it runs as
//! a job of the service, and a request waits for it only up to a bound; then it answers with
//! the job's progress (202) and the client asks again.
//!
//! Invariants:
//! - One job per query key at a time, shared by every request that asks while it runs; a
//!   job runs to its end whether or not anyone still waits for it (it is a task of its own).
//! - A job that succeeded leaves nothing here: its rows are in the service's memo, so the
//!   next ask is answered at once. A job that failed keeps its error for [`FAILED_KEPT`], so
//!   the next ask receives that error rather than an endless 202; after that a new ask
//!   starts afresh.
//! - Progress counts reads of cross-sections (each at most one upstream call), per budget:
//!   statements have their own cap, so the estimate is the longer of the two queues.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// Tokio's clock, so tests can move time; the same monotonic clock in production.
use tokio::time::Instant;

use tokio::sync::watch;

use crate::error::ApiError;

/// How long a failed job's error is given to the requests that ask after it.
pub const FAILED_KEPT: Duration = Duration::from_secs(60);

/// Reads of one upstream budget: how many a job needs and how many are done.
#[derive(Debug, Default)]
pub struct Tally {
    pub total: AtomicU64,
    pub done: AtomicU64,
}

impl Tally {
    fn left(&self) -> u64 {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        g(&self.total).saturating_sub(g(&self.done))
    }
}

/// What a job has read so far, by budget.
#[derive(Debug)]
pub struct Progress {
    /// Statements (`/fins/summary`), under their own 60-a-minute cap.
    pub statements: Tally,
    /// Every other dataset, under the plan's rate.
    pub other: Tally,
    started: Instant,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            statements: Tally::default(),
            other: Tally::default(),
            started: Instant::now(),
        }
    }
}

/// Reads a second each budget allows.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub per_second: f64,
    pub statements_per_second: f64,
}

/// A job's progress as a client sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct JobProgress {
    /// Reads of cross-sections done so far (each costs at most one upstream call), count.
    pub done: u64,
    /// Reads the job needs in all, count (known once the calendar is read; 1 before).
    pub total: u64,
    /// Estimated seconds until the job completes: the plan's rates for the reads left (an
    /// upper bound when bulk files serve them), or the pace so far once 5% of the reads are
    /// done, whichever is longer.
    pub eta_seconds: u64,
}

/// Reads done before the pace so far counts in the estimate, as a share of the job (and at
/// least [`PACE_MIN_READS`]). A job that reads bulk files first does a handful of reads
/// while the files download and the rest in seconds once they are in: extrapolated from its
/// first read, a 13 s job announced 920 s.
const PACE_MIN_SHARE: f64 = 0.05;
const PACE_MIN_READS: u64 = 10;

impl Progress {
    /// The progress so far. The estimate is the longer of what the plan's rates allow and
    /// what the reads so far took (the upstream's latency can make them slower than the
    /// plan), the latter once enough of the job is done to say.
    pub fn snapshot(&self, pace: Pace) -> JobProgress {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (s, o) = (&self.statements, &self.other);
        let total = (g(&s.total) + g(&o.total)).max(1);
        let done = g(&s.done) + g(&o.done);
        let left = Left {
            statements: s.left(),
            other: o.left(),
        };
        let elapsed = self.started.elapsed().as_secs_f64();
        JobProgress {
            done,
            total,
            eta_seconds: eta(left, done, total, elapsed, pace),
        }
    }
}

/// Reads a job has left, by budget.
#[derive(Debug, Clone, Copy)]
struct Left {
    statements: u64,
    other: u64,
}

/// Seconds until a job with `left` reads (of `total`, `done` in `elapsed` s) completes.
fn eta(left: Left, done: u64, total: u64, elapsed: f64, pace: Pace) -> u64 {
    let by_plan = (left.statements as f64 / pace.statements_per_second)
        .max(left.other as f64 / pace.per_second);
    let enough = PACE_MIN_READS.max((total as f64 * PACE_MIN_SHARE).ceil() as u64);
    let by_pace_so_far = if done >= enough && elapsed >= 1.0 {
        (left.statements + left.other) as f64 * elapsed / done as f64
    } else {
        0.0
    };
    by_plan.max(by_pace_so_far).ceil() as u64
}

/// How a job ended: the value, or the error every request that asks for it receives.
pub type Outcome<T> = Result<T, Arc<ApiError>>;

/// One job, running or recently failed.
pub struct Job<T> {
    /// What it prepares, in words (for the 202's message and the admin stats).
    pub what: String,
    pub progress: Arc<Progress>,
    pub started: Instant,
    ended: watch::Receiver<Option<Outcome<T>>>,
}

/// A request's view of a job: its result if it ended within the wait, else its progress.
pub enum Prepared<T> {
    Ready(T),
    Pending { what: String, progress: JobProgress },
}

/// The jobs of one kind of work, by query key.
pub struct Jobs<T> {
    jobs: parking_lot::Mutex<HashMap<String, Arc<Job<T>>>>,
}

impl<T> Default for Jobs<T> {
    fn default() -> Self {
        Jobs {
            jobs: Default::default(),
        }
    }
}

/// One running or failed job for the admin stats.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobStats {
    /// What the job prepares.
    pub what: String,
    /// `running` or `failed` (a failed job's error is given to the next asks for a minute).
    pub state: &'static str,
    /// Reads done and needed, and the estimated seconds left.
    pub progress: JobProgress,
    /// Seconds since the job started.
    pub elapsed_seconds: u64,
}

impl<T: Clone + Send + Sync + 'static> Jobs<T> {
    /// The job of `key`: the one running (or recently failed), else a new one running `work`
    /// on its own task. `work` reports its reads to the [`Progress`] it is given.
    pub fn start<F, Fut>(self: &Arc<Self>, key: &str, what: String, work: F) -> Arc<Job<T>>
    where
        F: FnOnce(Arc<Progress>) -> Fut,
        Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        let mut jobs = self.jobs.lock();
        if let Some(job) = jobs.get(key) {
            let failed_long_ago =
                matches!(&*job.ended.borrow(), Some(Err(_))) && job.started.elapsed() > FAILED_KEPT;
            if !failed_long_ago {
                return job.clone();
            }
        }
        let (tx, rx) = watch::channel(None);
        let progress = Arc::new(Progress::default());
        let job = Arc::new(Job {
            what,
            progress: progress.clone(),
            started: Instant::now(),
            ended: rx,
        });
        jobs.insert(key.to_string(), job.clone());
        let fut = work(progress);
        let (this, key, mine) = (Arc::clone(self), key.to_string(), Arc::downgrade(&job));
        tokio::spawn(async move {
            let outcome = fut.await.map_err(Arc::new);
            let failed = outcome.is_err();
            let _ = tx.send(Some(outcome));
            if failed {
                // Kept for the next asks; replaced by the first ask after FAILED_KEPT.
                tokio::time::sleep(FAILED_KEPT).await;
            }
            // Only this job: a newer one may have taken the key after a failure.
            let mut jobs = this.jobs.lock();
            if jobs
                .get(&key)
                .is_some_and(|j| std::ptr::eq(Arc::as_ptr(j), mine.as_ptr()))
            {
                jobs.remove(&key);
            }
        });
        job
    }

    /// Jobs running or recently failed, oldest first.
    pub fn stats(&self, pace: Pace) -> Vec<JobStats> {
        let mut out: Vec<(Instant, JobStats)> = self
            .jobs
            .lock()
            .values()
            .map(|j| {
                let state = match &*j.ended.borrow() {
                    Some(Err(_)) => "failed",
                    _ => "running",
                };
                let s = JobStats {
                    what: j.what.clone(),
                    state,
                    progress: j.progress.snapshot(pace),
                    elapsed_seconds: j.started.elapsed().as_secs(),
                };
                (j.started, s)
            })
            .collect();
        out.sort_by_key(|(t, _)| *t);
        out.into_iter().map(|(_, s)| s).collect()
    }
}

impl<T: Clone> Job<T> {
    /// The job's result if it ends within `wait`, else its progress; its error if it failed.
    pub async fn within(&self, wait: Duration, pace: Pace) -> Result<Prepared<T>, ApiError> {
        let mut ended = self.ended.clone();
        let outcome = tokio::time::timeout(wait, ended.wait_for(Option::is_some)).await;
        match outcome {
            Ok(Ok(done)) => match done.as_ref() {
                Some(Ok(v)) => Ok(Prepared::Ready(v.clone())),
                Some(Err(e)) => Err(replay(e)),
                None => Err(ApiError::Internal(anyhow::anyhow!(
                    "job ended without result"
                ))),
            },
            // The sender went away without a result: the job's task panicked.
            Ok(Err(_)) => Err(ApiError::Internal(anyhow::anyhow!("job stopped"))),
            Err(_) => Ok(Prepared::Pending {
                what: self.what.clone(),
                progress: self.progress.snapshot(pace),
            }),
        }
    }
}

/// The same error again, for each request that asks after a job failed.
fn replay(e: &ApiError) -> ApiError {
    match e {
        ApiError::BadRequest(m) => ApiError::BadRequest(m.clone()),
        ApiError::InvalidKey => ApiError::InvalidKey,
        ApiError::LoginRequired => ApiError::LoginRequired,
        ApiError::Forbidden(m) => ApiError::Forbidden(m.clone()),
        ApiError::NotFound(m) => ApiError::NotFound(m.clone()),
        ApiError::ClientQuota {
            message,
            retry_after,
        } => ApiError::ClientQuota {
            message: message.clone(),
            retry_after: *retry_after,
        },
        ApiError::Upstream { status, message } => ApiError::Upstream {
            status: *status,
            message: message.clone(),
        },
        ApiError::UpstreamUnavailable(m) => ApiError::UpstreamUnavailable(m.clone()),
        ApiError::RateLimitQueue => ApiError::RateLimitQueue,
        ApiError::QueueWait { retry_after } => ApiError::QueueWait {
            retry_after: *retry_after,
        },
        ApiError::Internal(err) => ApiError::Internal(anyhow::anyhow!("{err:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACE: Pace = Pace {
        per_second: 2.0,
        statements_per_second: 1.0,
    };

    #[test]
    fn the_estimate_follows_the_pace_so_far_only_once_enough_of_the_job_is_done() {
        let left = |statements, other| Left { statements, other };
        // One read of 920 in 1.2 s (files still downloading): the plan's rates, not 1,100 s.
        assert_eq!(eta(left(370, 549), 1, 920, 1.2, PACE), 370);
        // 100 reads in 50 s: slower than the plan, so the pace so far (820 * 0.5 s).
        assert_eq!(eta(left(300, 520), 100, 920, 50.0, PACE), 410);
        // Faster than the plan: the plan's rates bound it.
        assert_eq!(eta(left(30, 20), 870, 920, 10.0, PACE), 30);
    }

    #[tokio::test]
    async fn a_job_outlives_the_wait_and_is_shared_by_later_asks() {
        let jobs: Arc<Jobs<u32>> = Arc::default();
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let job = jobs.start("q", "the answer".into(), |p| async move {
            p.other.total.store(4, Ordering::Relaxed);
            p.other.done.store(1, Ordering::Relaxed);
            let _ = gate.await;
            Ok(42)
        });
        tokio::task::yield_now().await;
        match job.within(Duration::from_millis(20), PACE).await.unwrap() {
            Prepared::Pending { what, progress } => {
                assert_eq!(what, "the answer");
                assert_eq!((progress.done, progress.total), (1, 4));
                assert_eq!(progress.eta_seconds, 2, "3 reads left at 2 a second");
            }
            Prepared::Ready(_) => panic!("the job cannot have ended"),
        }
        let again = jobs.start("q", "another".into(), |_| async { Ok(0) });
        assert!(Arc::ptr_eq(&job, &again), "one job per key while it runs");
        release.send(()).unwrap();
        match again.within(Duration::from_secs(5), PACE).await.unwrap() {
            Prepared::Ready(v) => assert_eq!(v, 42),
            Prepared::Pending { .. } => panic!("the job has ended"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_job_is_tried_afresh_after_its_error_was_given_for_a_minute() {
        let jobs: Arc<Jobs<u32>> = Arc::default();
        let failed = jobs.start("q", "x".into(), |_| async {
            Err(ApiError::UpstreamUnavailable("down".into()))
        });
        assert!(failed.within(Duration::from_secs(1), PACE).await.is_err());
        tokio::time::advance(FAILED_KEPT + Duration::from_secs(1)).await;
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let retry = jobs.start("q", "x".into(), |_| async move {
            let _ = gate.await;
            Ok(7)
        });
        assert!(!Arc::ptr_eq(&failed, &retry), "a new job after the minute");
        // The failed job's task ends now; the new job must stay listed.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let stats = jobs.stats(PACE);
        assert_eq!(stats.len(), 1);
        assert_eq!(stats[0].state, "running");
        release.send(()).unwrap();
        match retry.within(Duration::from_secs(5), PACE).await.unwrap() {
            Prepared::Ready(v) => assert_eq!(v, 7),
            Prepared::Pending { .. } => panic!("the new job has ended"),
        }
    }

    #[tokio::test]
    async fn a_failed_job_gives_its_error_to_the_next_ask() {
        let jobs: Arc<Jobs<u32>> = Arc::default();
        let job = jobs.start("q", "x".into(), |_| async {
            Err(ApiError::Forbidden("not on this plan".into()))
        });
        let err = job
            .within(Duration::from_secs(5), PACE)
            .await
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "not on this plan");
        let next = jobs.start("q", "x".into(), |_| async { Ok(1) });
        let err = next
            .within(Duration::from_secs(5), PACE)
            .await
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "not on this plan", "the same failed job");
        assert_eq!(jobs.stats(PACE)[0].state, "failed");
    }
}
