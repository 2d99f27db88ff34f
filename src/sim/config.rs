//! How a simulator is configured: the `jquants-proxy sim` flags ([`SimArgs`]) and the
//! settings of one instance ([`SimConfig`]). Every default is written once, in
//! `SimConfig::default`, and the flags show them from there.

use std::net::SocketAddr;
use std::time::Duration;

use crate::catalog::Plan;
use crate::jst::Clock;

/// Command-line flags of `jquants-proxy sim`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, env = "JQSIM_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// The one API key the simulator accepts (header `x-api-key`).
    #[arg(
        long,
        env = "JQSIM_API_KEY",
        default_value = DEMO_KEY,
        hide_env_values = true
    )]
    pub api_key: String,
    /// Subscription plan of that key: free, light, standard or premium.
    #[arg(long, env = "JQSIM_PLAN", default_value = SimConfig::default().plan.as_str())]
    pub plan: Plan,
    /// Number of listed issues to simulate.
    #[arg(long, env = "JQSIM_ISSUES", default_value_t = SimConfig::default().issues)]
    pub issues: usize,
    /// Seed of the synthetic market.
    #[arg(long, env = "JQSIM_SEED", default_value_t = SimConfig::default().seed)]
    pub seed: u64,
    /// Latency added to every /v2 response, in milliseconds.
    #[arg(long, env = "JQSIM_LATENCY_MS", default_value_t = SimConfig::default().latency.as_millis() as u64)]
    pub latency_ms: u64,
    /// Page size limit in bytes (the upstream cuts at about 5 MB).
    #[arg(long, env = "JQSIM_PAGE_BYTES", default_value_t = SimConfig::default().page_bytes)]
    pub page_bytes: usize,
    /// How long heavy rate-limit excess locks the key out, in seconds.
    #[arg(long, env = "JQSIM_LOCKOUT_SECS", default_value_t = SimConfig::default().lockout.as_secs())]
    pub lockout_secs: u64,
    /// Length of the rate-limit window in milliseconds (a minute upstream).
    #[arg(long, env = "JQSIM_RATE_WINDOW_MS", default_value_t = SimConfig::default().rate_window.as_millis() as u64)]
    pub rate_window_ms: u64,
    /// Pin "now" (RFC 3339, e.g. 2026-11-20T11:00:00Z) instead of following the system
    /// clock; it can be moved later with `POST /__sim/clock`.
    #[arg(long, env = "JQSIM_NOW")]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Bulk CSV files write whole numbers without the `.0` the API's JSON has (`1807` for
    /// `1807.0`), so a check that CSV rows render as the API's can be seen to fail.
    #[arg(long, env = "JQSIM_BULK_BARE_INTEGERS")]
    pub bulk_bare_integers: bool,
}

/// Settings of one simulator instance.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub api_key: String,
    pub plan: Plan,
    pub issues: usize,
    pub seed: u64,
    pub latency: Duration,
    pub page_bytes: usize,
    pub lockout: Duration,
    pub rate_window: Duration,
    /// What "now" is for data visibility.
    pub clock: Clock,
    /// Bulk CSV files spell whole numbers `1807` where the JSON has `1807.0` (default off:
    /// the CSV spells every value as the JSON does).
    pub bulk_bare_integers: bool,
}

impl SimConfig {
    /// The defaults around `api_key`.
    pub fn new(api_key: impl Into<String>) -> Self {
        SimConfig {
            api_key: api_key.into(),
            ..Self::default()
        }
    }
}

/// The key the simulator accepts unless given one.
const DEMO_KEY: &str = "demo-key";

/// The simulator's defaults, each written once (the `sim` flags show them from here).
impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: DEMO_KEY.into(),
            plan: Plan::Premium,
            issues: 4000,
            seed: 42,
            latency: Duration::ZERO,
            page_bytes: 5_000_000,
            lockout: Duration::from_secs(300),
            rate_window: Duration::from_secs(60),
            clock: Clock::system(),
            bulk_bare_integers: false,
        }
    }
}

impl From<SimArgs> for SimConfig {
    fn from(a: SimArgs) -> Self {
        SimConfig {
            api_key: a.api_key,
            plan: a.plan,
            issues: a.issues,
            seed: a.seed,
            latency: Duration::from_millis(a.latency_ms),
            page_bytes: a.page_bytes,
            lockout: Duration::from_secs(a.lockout_secs),
            rate_window: Duration::from_millis(a.rate_window_ms),
            clock: a.now.map(Clock::fixed).unwrap_or_default(),
            bulk_bare_integers: a.bulk_bare_integers,
        }
    }
}
