//! Placeholder with the agreed API; replaced by the simulator branch.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {}
pub struct SimConfig {
    pub plan: crate::catalog::Plan,
    pub clock: crate::jst::Clock,
}
impl SimConfig {
    pub fn new(_k: impl Into<String>) -> Self {
        Self {
            plan: crate::catalog::Plan::Premium,
            clock: crate::jst::Clock::system(),
        }
    }
}
pub struct SimHandle;
impl SimHandle {
    pub fn base_url(&self) -> String {
        String::new()
    }
}
pub async fn spawn(_c: SimConfig, _l: std::net::SocketAddr) -> anyhow::Result<SimHandle> {
    anyhow::bail!("stub")
}
pub async fn run(_a: SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("stub")
}
