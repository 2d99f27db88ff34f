//! Command line: `serve`, `sim` and `openapi`, each flag with an environment equivalent.
//!
//! Minimal version from the simulator branch: only `sim` is wired up here; the lead
//! reconciles this with the proxy's `serve` and `openapi`.

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "jquants-proxy", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the caching proxy.
    Serve,
    /// Run the offline J-Quants V2 simulator.
    Sim(crate::sim::SimArgs),
    /// Print the OpenAPI document.
    Openapi,
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Sim(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(crate::sim::run(args)),
        Command::Serve | Command::Openapi => {
            anyhow::bail!("not available in this build (simulator branch)")
        }
    }
}
