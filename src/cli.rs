//! Command line: `serve` (the proxy), `sync` (fills the market row store), `sim` (the
//! J-Quants simulator on its own) and `openapi` (prints the OpenAPI document). Every flag has
//! an environment equivalent.

use clap::{Parser, Subcommand};

use crate::config::{LogFormat, ServeArgs, ServeConfig};

#[derive(Parser, Debug)]
#[command(
    name = "jquants-proxy",
    version,
    about = "Caching proxy, mirror and derived data for the J-Quants API V2"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the proxy (demo mode against the built-in simulator when no JQUANTS_API_KEY is set).
    Serve(ServeArgs),
    /// Run the offline J-Quants V2 simulator.
    Sim(crate::sim::SimArgs),
    /// Fill the market row store by date cross-sections (resumable; needs DATABASE_URL to last).
    Sync(crate::sync::SyncArgs),
    /// Print the OpenAPI document (JSON).
    Openapi,
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Openapi => {
            println!("{}", crate::routes::openapi_json());
            Ok(())
        }
        Command::Serve(args) => {
            crate::telemetry::init(args.log_format);
            let cfg = ServeConfig::from_args(&args)?;
            runtime()?.block_on(async move {
                let app = crate::startup::Application::build(cfg).await?;
                app.run_until_stopped().await
            })
        }
        Command::Sync(args) => {
            crate::telemetry::init(args.serve.log_format);
            runtime()?.block_on(crate::sync::cli(args))
        }
        Command::Sim(args) => {
            crate::telemetry::init(LogFormat::Text);
            runtime()?.block_on(crate::sim::run(args))
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
