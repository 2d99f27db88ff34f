//! Per-key rate limits as the upstream applies them: the plan's requests per window, a
//! separate 60-per-window cap for `/fins/summary` and `/fins/details`, and a lockout of the
//! whole key after heavy excess.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
pub struct Limiter {
    accepted: VecDeque<Instant>,
    fins: VecDeque<Instant>,
    attempts: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Limited,
    LockedOut,
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

impl Limiter {
    pub fn check(
        &mut self,
        per_window: u32,
        fins: Option<u32>,
        window: Duration,
        lockout: Duration,
    ) -> Verdict {
        let now = Instant::now();
        if let Some(until) = self.locked_until {
            if now < until {
                return Verdict::LockedOut;
            }
            self.locked_until = None;
            self.attempts.clear();
        }
        prune(&mut self.accepted, now, window);
        prune(&mut self.fins, now, window);
        prune(&mut self.attempts, now, window);
        self.attempts.push_back(now);
        if self.attempts.len() as u64 > 2 * per_window as u64 {
            // Heavy excess: block the key completely.
            self.locked_until = Some(now + lockout);
            return Verdict::LockedOut;
        }
        if self.accepted.len() as u32 >= per_window {
            return Verdict::Limited;
        }
        if let Some(cap) = fins
            && self.fins.len() as u32 >= cap
        {
            return Verdict::Limited;
        }
        self.accepted.push_back(now);
        if fins.is_some() {
            self.fins.push_back(now);
        }
        Verdict::Ok
    }
}
