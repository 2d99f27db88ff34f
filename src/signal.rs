//! Process signals: the graceful-shutdown trigger shared by `serve` and `sim`.
//!
//! Invariant: [`shutdown`] resolves only on a signal. Where SIGTERM cannot be watched (not
//! Unix, or its handler fails to install) ctrl-c remains the one trigger; a failure never
//! shuts the process down by itself.

/// Resolves on ctrl-c or SIGTERM (what Docker and Kubernetes send on stop).
pub async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
