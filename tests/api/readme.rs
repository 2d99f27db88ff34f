//! The documented settings against the real flags: README.md's configuration table lists every
//! setting of `serve` (flag and environment variable) and nothing else; docs/simulator.md's
//! table does the same for `sim`.

use clap::CommandFactory;
use jquants_proxy::config::ServeArgs;
use jquants_proxy::sim::SimArgs;

#[derive(clap::Parser)]
struct ServeCli {
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Parser)]
struct SimCli {
    #[command(flatten)]
    sim: SimArgs,
}

/// (flag cell, environment variable) of every row of the table under `heading`.
fn table_rows(page: &str, heading: &str) -> Vec<(String, String)> {
    let section = page
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no section {heading:?}"));
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with("| "))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let env = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((cells[1].to_string(), env.to_string()))
        })
        .collect()
}

/// (`--flag`, environment variable) of every argument that has an environment variable.
fn settings(cmd: &clap::Command) -> Vec<(String, String)> {
    cmd.get_arguments()
        .filter_map(|a| {
            let env = a.get_env()?.to_str()?.to_string();
            Some((format!("`--{}`", a.get_long()?), env))
        })
        .collect()
}

fn check(page: &str, rows: &[(String, String)], settings: &[(String, String)]) {
    assert!(!settings.is_empty());
    for (flag, env) in settings {
        assert!(
            rows.iter().any(|(f, e)| e == env && f == flag),
            "{page}'s table has no row {flag} | `{env}`"
        );
    }
    for (flag, env) in rows {
        let real = settings.iter().any(|(f, e)| e == env && f == flag)
            || (flag == "—" && env == "RUST_LOG");
        assert!(
            real,
            "{page}'s table has {flag} | `{env}`, which is no setting"
        );
    }
}

#[test]
fn readme_configuration_table_lists_every_serve_setting() {
    let readme = include_str!("../../README.md");
    let rows = table_rows(readme, "## Configuration");
    check("README.md", &rows, &settings(&ServeCli::command()));
}

#[test]
fn simulator_page_lists_every_sim_setting() {
    let page = include_str!("../../docs/simulator.md");
    let rows = table_rows(page, "## Settings");
    check("docs/simulator.md", &rows, &settings(&SimCli::command()));
}
