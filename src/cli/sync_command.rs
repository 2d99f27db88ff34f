//! `jquants-proxy sync`: builds the application from the same settings as `serve`, runs one
//! sync of the row store (`crate::sync`) with a progress bar, and prints a summary.

use chrono::NaiveDate;

use crate::config::{ServeArgs, ServeConfig};
use crate::rows::progress::Progress;
use crate::startup::Application;
use crate::sync;

/// `jquants-proxy sync`: the same settings as `serve` (upstream key, plan, `DATABASE_URL`), plus
/// the range and datasets.
#[derive(clap::Args, Debug, Clone)]
pub struct SyncArgs {
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    pub from: NaiveDate,
    /// Last day, YYYY-MM-DD (days after today are skipped).
    #[arg(long)]
    pub to: NaiveDate,
    /// Endpoint paths to sync, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "/equities/bars/daily")]
    pub datasets: Vec<String>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Runs a sync with a progress bar (slices, rows, upstream calls, ETA) and prints a summary.
pub async fn run(args: SyncArgs) -> anyhow::Result<()> {
    let job = sync::SyncJob::new(args.from, args.to, &args.datasets)?;
    let mut cfg = ServeConfig::from_args(&args.serve)?;
    if cfg.database.is_none() {
        eprintln!("warning: no DATABASE_URL: the synced rows live only as long as this process");
    }
    cfg.listen = "127.0.0.1:0".parse()?;
    let app = Application::build(cfg).await?;
    let cache = app.state().cache.clone();
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} slices  {msg}  ETA {eta}",
        )?
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let tick = |p: &Progress| {
        let s = p.snapshot();
        bar.set_length(s.slices_total);
        bar.set_position(s.slices_done);
        bar.set_message(format!(
            "{} rows, {} upstream calls, {} skipped",
            s.rows, s.upstream_calls, s.slices_skipped
        ));
    };
    let stats = sync::run(&cache, &job, &tick).await?;
    bar.finish();
    let names: Vec<&str> = job.datasets.iter().map(|e| e.path).collect();
    println!("sync {}..{} of {}", job.from, job.to, names.join(", "));
    println!(
        "  slices:         {} ({} already held, skipped)",
        stats.slices_total, stats.slices_skipped
    );
    println!(
        "  fetched:        {}",
        stats.slices_total - stats.slices_skipped - stats.errors
    );
    println!("  failed:         {}", stats.errors);
    println!("  rows stored:    {}", stats.rows);
    println!("  upstream calls: {}", stats.upstream_calls);
    println!("  time:           {:.1}s", started.elapsed().as_secs_f64());
    anyhow::ensure!(
        stats.errors == 0,
        "{} slices failed; run sync again to resume",
        stats.errors
    );
    Ok(())
}
