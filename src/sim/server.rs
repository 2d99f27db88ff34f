//! A simulator's life: [`spawn`] binds and serves in a background task, [`SimHandle`] lets
//! in-process tests steer it and stops it when dropped, [`run`] is `jquants-proxy sim`.
//! The router sends the control endpoints (`/__sim/...`, see `control`) to their handlers
//! and everything else to the `/v2` API (`v2`), which answers unknown paths as the upstream
//! does.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use super::config::{SimArgs, SimConfig};
use super::control;
use super::faults::Faults;
use super::market::Market;
use super::state::Shared;
use super::stats::SimStats;
use super::v2;
use crate::jst::Clock;

/// A running simulator.
pub struct SimHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// The plan the simulated subscription has.
    pub fn plan(&self) -> crate::catalog::Plan {
        self.shared.cfg.plan
    }

    /// `http://127.0.0.1:PORT/v2`
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    pub fn stats(&self) -> SimStats {
        self.shared.stats().clone()
    }

    /// Clears stats, rate-limit windows, lockouts and faults.
    pub fn reset(&self) {
        self.shared.reset()
    }

    pub fn set_faults(&self, f: Faults) {
        self.shared.faults().set(f);
    }

    pub fn market(&self) -> Arc<Market> {
        self.shared.market.clone()
    }

    pub fn clock(&self) -> Clock {
        self.shared.cfg.clock.clone()
    }

    pub fn set_page_bytes(&self, n: usize) {
        self.shared.set_page_bytes(n);
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `listen` (port 0 picks a free port) and serves in a background task.
pub async fn spawn(cfg: SimConfig, listen: SocketAddr) -> anyhow::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::new(cfg));
    let app = router(shared.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "simulator server stopped");
        }
    });
    Ok(SimHandle { addr, shared, task })
}

/// `jquants-proxy sim`: serve until ctrl-c or SIGTERM.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let listen = args.listen;
    let cfg = SimConfig::from(args);
    let plan = cfg.plan;
    let h = spawn(cfg, listen).await?;
    tracing::info!(
        "J-Quants simulator listening on http://{}/v2 (plan {}, {} issues)",
        h.addr,
        plan.as_str(),
        h.market().issues.len()
    );
    crate::signal::shutdown().await;
    tracing::info!("simulator shutting down");
    Ok(())
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__sim/stats", get(control::stats))
        .route("/__sim/reset", post(control::reset))
        .route("/__sim/faults", post(control::faults))
        .route(
            "/__sim/clock",
            get(control::clock_get).post(control::clock_set),
        )
        .route("/__sim/files/{*key}", get(control::file))
        .route("/__sim/bulk/correct", post(control::correct))
        .fallback(v2::handler)
        .with_state(shared)
}
