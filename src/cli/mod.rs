//! Command line: `serve` (the proxy), `sync` (fills the market row store), `sim` (the
//! J-Quants simulator on its own) and `openapi` (prints the OpenAPI document). Every flag has
//! an environment equivalent.

mod sync_command;

use clap::{Parser, Subcommand};

use crate::config::{ServeArgs, ServeConfig};
use crate::telemetry::LogFormat;

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
    Sync(sync_command::SyncArgs),
    /// Print the OpenAPI document (JSON).
    Openapi,
}

/// Runs the command line and turns any error into one line on stderr and exit status 1: no
/// `Debug` output, hence no backtrace even with `RUST_BACKTRACE` set. A configuration mistake
/// reads as `jquants-proxy: JQP_CLIENT_KEYS: entry 1 has no \`name:\` prefix ...`.
pub fn run() -> std::process::ExitCode {
    match main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line (`{:#}` joins the chain with ": ").
fn one_line(e: &anyhow::Error) -> String {
    format!("jquants-proxy: {e:#}").replace('\n', " ")
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Openapi => {
            println!("{}", crate::http::openapi_json());
            Ok(())
        }
        Command::Serve(args) => {
            let _log = crate::telemetry::init(args.log_format);
            let cfg = ServeConfig::from_args(&args)?;
            runtime()?.block_on(async move {
                let app = crate::startup::Application::build(cfg).await?;
                app.run_until_stopped().await
            })
        }
        Command::Sync(args) => {
            let _log = crate::telemetry::init(args.serve.log_format);
            runtime()?.block_on(sync_command::run(args))
        }
        Command::Sim(args) => {
            let _log = crate::telemetry::init(LogFormat::Text);
            runtime()?.block_on(crate::sim::run(args))
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_print_as_one_line_with_their_causes() {
        let e = anyhow::anyhow!("entry 1 has no `name:` prefix\n(expected name:key)")
            .context("JQP_CLIENT_KEYS");
        let line = super::one_line(&e);
        assert_eq!(
            line,
            "jquants-proxy: JQP_CLIENT_KEYS: entry 1 has no `name:` prefix (expected name:key)"
        );
    }
}
