//! What every benchmark binary shares: settings from the environment with a default, and the
//! simulator (and proxy) they measure against, on one fixed clock.

use jquants_proxy::catalog::Plan;
use jquants_proxy::config::ServeConfig;
use jquants_proxy::jst::{self, Clock};
use jquants_proxy::sim::{SimConfig, SimHandle};
use jquants_proxy::startup::Application;
use jquants_proxy::upstream::UpstreamConfig;
use secrecy::SecretString;

/// The simulator's key, which the proxy uses upstream.
pub const KEY: &str = "bench-key";

/// `name` parsed from the environment, or `default` when unset or unparsable.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Friday 2026-11-20, 20:00 JST: after that day's close, so its data are published.
pub fn bench_clock() -> Clock {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("valid date");
    Clock::fixed(jst::at(day, 20, 0))
}

/// A Premium simulator on [`bench_clock`]; the bench sets issues and rate window.
pub fn premium_sim() -> SimConfig {
    let mut s = SimConfig::new(KEY);
    s.plan = Plan::Premium;
    s.clock = bench_clock();
    s
}

/// Starts the proxy with `cfg` in front of `sim` (key, URL, plan and clock filled in);
/// returns its base URL.
#[allow(dead_code)] // Only the benches that run the whole proxy call it.
pub async fn serve(sim: &SimHandle, mut cfg: ServeConfig) -> anyhow::Result<String> {
    cfg.upstream = UpstreamConfig {
        rate_window: cfg.upstream.rate_window,
        ..UpstreamConfig::new(
            sim.base_url(),
            SecretString::from(KEY.to_string()),
            sim.plan(),
        )
    };
    cfg.clock = bench_clock();
    let app = Application::build(cfg).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Ok(base)
}
