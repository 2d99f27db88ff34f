//! `jquants-proxy sync`: builds the application from the same settings as `serve`, runs one
//! sync of the row store (`crate::sync`) with progress bars (one for the slices, one per bulk
//! file as it loads), and prints a summary; `--dry-run` prints what the sync would spend day
//! by day and with bulk files, and spends nothing.

use chrono::NaiveDate;

use crate::config::{ServeArgs, ServeConfig};
use crate::rows::progress::{Progress, SyncStats};
use crate::startup::Application;
use crate::sync::{self, FileEvent, Watch, estimate::Estimate};

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
    /// Print the upstream calls the sync would make, day by day and with bulk files, and
    /// make none.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Runs a sync with progress bars and prints a summary (or, with `--dry-run`, the estimate).
pub async fn run(args: SyncArgs) -> anyhow::Result<()> {
    let job = sync::SyncJob::new(args.from, args.to, &args.datasets)?;
    let mut cfg = ServeConfig::from_args(&args.serve)?;
    if cfg.database.is_none() && !args.dry_run {
        eprintln!("warning: no DATABASE_URL: the synced rows live only as long as this process");
    }
    cfg.listen = "127.0.0.1:0".parse()?;
    let app = Application::build(cfg).await?;
    let (cache, bulk) = (app.state().cache.clone(), app.state().history.clone());
    let names: Vec<&str> = job.datasets.iter().map(|e| e.path).collect();
    if args.dry_run {
        let e = sync::estimate::estimate(&cache, Some(&bulk), &job).await;
        print_estimate(&job, &names, &e);
        return Ok(());
    }
    let bars = indicatif::MultiProgress::new();
    let slices = bars.add(indicatif::ProgressBar::new(0));
    slices.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} slices  {msg}  ETA {eta}",
        )?
        .progress_chars("=> "),
    );
    let file_style = indicatif::ProgressStyle::with_template("  {spinner} {msg}")?;
    let current = parking_lot::Mutex::new(None::<indicatif::ProgressBar>);
    let started = std::time::Instant::now();
    let tick = |p: &Progress| {
        let s = p.snapshot();
        slices.set_length(s.slices_total);
        slices.set_position(s.slices_done);
        slices.set_message(format!(
            "{} rows, {} upstream calls, {} skipped, files {}/{}",
            s.rows, s.upstream_calls, s.slices_skipped, s.files_done, s.files_total
        ));
    };
    let file = |e: FileEvent<'_>| match e {
        FileEvent::Started { key, days } => {
            let b = bars.insert_before(&slices, indicatif::ProgressBar::new_spinner());
            b.set_style(file_style.clone());
            b.enable_steady_tick(std::time::Duration::from_millis(200));
            b.set_message(format!("{key}: loading ({days} days wanted)"));
            *current.lock() = Some(b);
        }
        FileEvent::Finished { key, held } => {
            if let Some(b) = current.lock().take() {
                let how = if held { "held" } else { "not used: day by day" };
                b.finish_with_message(format!("{key}: {how}"));
            }
        }
    };
    let watch = Watch {
        tick: &tick,
        file: &file,
    };
    let stats = sync::run(&cache, Some(&bulk), &job, watch).await?;
    slices.finish();
    print_summary(&job, &names, &stats, started.elapsed());
    anyhow::ensure!(
        stats.errors == 0,
        "{} slices failed; run sync again to resume",
        stats.errors
    );
    Ok(())
}

/// What a finished sync did, one figure per line.
fn print_summary(
    job: &sync::SyncJob,
    names: &[&str],
    stats: &SyncStats,
    took: std::time::Duration,
) {
    println!("sync {}..{} of {}", job.from, job.to, names.join(", "));
    println!(
        "  slices:         {} ({} already held, skipped)",
        stats.slices_total, stats.slices_skipped
    );
    println!("  bulk files:     {}", stats.files_done);
    println!(
        "  fetched:        {}",
        stats.slices_total - stats.slices_skipped - stats.errors
    );
    println!("  failed:         {}", stats.errors);
    println!("  rows stored:    {}", stats.rows);
    println!("  upstream calls: {}", stats.upstream_calls);
    println!("  time:           {:.1}s", took.as_secs_f64());
}

fn print_estimate(job: &sync::SyncJob, names: &[&str], e: &Estimate) {
    let approx = if e.approximate {
        " (weekdays: the calendar is not held yet)"
    } else {
        ""
    };
    println!(
        "sync {}..{} of {} (dry run: no upstream call made)",
        job.from,
        job.to,
        names.join(", ")
    );
    println!("  business days:    {}{approx}", e.days);
    println!("  already held:     {} day-dataset slices", e.held);
    println!("  day by day:       {} upstream calls", e.by_day);
    match &e.with_files {
        Some(f) => println!(
            "  with bulk files:  {} upstream calls ({} listings, {} monthly files, {} comparisons, {} days no monthly file covers{})",
            f.total,
            f.listings,
            f.months,
            f.comparisons,
            f.days,
            if e.approximate { ", the calendar" } else { "" }
        ),
        None => println!("  with bulk files:  not available (plan, dataset or too few days)"),
    }
}
