//! Typed configuration of `serve`: CLI flags with environment equivalents (clap `env`),
//! mapped onto the settings each subsystem owns (`UpstreamConfig`, `CacheConfig`,
//! `AuthConfig`, `HttpConfig`, ...). Each default is written once, in its subsystem's
//! `Default`; the flags show the same values by reading them from there.
//! Secrets are `SecretString`s so that no `Debug` or log line can print them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::AuthConfig;
use crate::bulk::BulkConfig;
use crate::cache::CacheConfig;
use crate::catalog::Plan;
use crate::http::HttpConfig;
use crate::jst::Clock;
use crate::market::MarketConfig;
use crate::telemetry::LogFormat;
use crate::upstream::UpstreamConfig;

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "JQP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Upstream subscription key. Without it the proxy runs in demo mode against the built-in simulator.
    #[arg(long, env = "JQUANTS_API_KEY", hide_env_values = true)]
    pub jquants_api_key: Option<SecretString>,
    /// Upstream base URL.
    #[arg(
        long,
        env = "JQUANTS_BASE_URL",
        default_value = crate::upstream::DEFAULT_BASE_URL
    )]
    pub jquants_base_url: String,
    /// Upstream plan, required with a key: sets the rate limit (free 5, light 60, standard 120,
    /// premium 500 per minute), the endpoints and the history served.
    #[arg(long, env = "JQUANTS_PLAN")]
    pub jquants_plan: Option<Plan>,
    /// Postgres URL for the persistent cache tier; without it the cache is memory only.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,
    /// Bound of the in-memory cache, in bytes.
    #[arg(long, env = "JQP_CACHE_MAX_BYTES", default_value_t = CacheConfig::default().max_bytes)]
    pub cache_max_bytes: u64,
    /// Merged answers larger than this are served in the proxy's own pages.
    #[arg(long, env = "JQP_MAX_PAGE_BYTES", default_value_t = CacheConfig::default().max_page_bytes)]
    pub max_page_bytes: usize,
    /// Client keys as comma-separated `name:key` pairs; clients send them as `x-api-key` (browsers: as the Basic auth password).
    #[arg(long, env = "JQP_CLIENT_KEYS", hide_env_values = true)]
    pub client_keys: Option<SecretString>,
    /// File with one `name:key` per line (`#` comments allowed).
    #[arg(long, env = "JQP_CLIENT_KEYS_FILE")]
    pub client_keys_file: Option<PathBuf>,
    /// Key for the `/admin/*` routes.
    #[arg(long, env = "JQP_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<SecretString>,
    /// Accept unauthenticated clients from any address when no client keys are configured.
    #[arg(long, env = "JQP_ALLOW_ANONYMOUS", default_value_t = AuthConfig::default().allow_anonymous)]
    pub allow_anonymous: bool,
    /// Requests per minute allowed to each client (0: no quota).
    #[arg(long, env = "JQP_CLIENT_QUOTA_PER_MINUTE", default_value_t = AuthConfig::default().client_quota_per_minute)]
    pub client_quota_per_minute: u32,
    /// Longest a market-wide derived request waits for its inputs before it answers 202 with
    /// progress, seconds; a client's `Prefer: wait=N` asks for longer (up to the request timeout).
    #[arg(long, env = "JQP_DERIVED_WAIT_SECS", default_value_t = MarketConfig::default().wait.as_secs())]
    pub derived_wait_secs: u64,
    /// Log format.
    #[arg(long, env = "JQP_LOG_FORMAT", value_enum, default_value_t = LogFormat::default())]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub sync: crate::sync::ScheduleArgs,
    #[command(flatten)]
    pub sharing: crate::upstream::SharingConfig,
}

/// Everything `startup` needs, one settings struct per subsystem. Built from [`ServeArgs`] in
/// production; tests start from [`ServeConfig::new`] and change what they test.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// The upstream client; without an `api_key` the proxy runs in demo mode.
    pub upstream: UpstreamConfig,
    /// The persistent cache tier; `None`: memory only.
    pub database: Option<sqlx::postgres::PgConnectOptions>,
    pub cache: CacheConfig,
    pub auth: AuthConfig,
    pub http: HttpConfig,
    pub market: MarketConfig,
    pub bulk: BulkConfig,
    /// The scheduled sync of the market row store (off by default).
    pub sync: crate::sync::ScheduleArgs,
    pub clock: Clock,
}

impl ServeConfig {
    /// Every subsystem's defaults, around an address.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            upstream: Default::default(),
            database: None,
            cache: Default::default(),
            auth: Default::default(),
            http: Default::default(),
            market: Default::default(),
            bulk: Default::default(),
            sync: Default::default(),
            clock: Clock::system(),
        }
    }

    pub fn from_args(args: &ServeArgs) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret;
        let database = match &args.database_url {
            Some(url) => Some(
                url.expose_secret()
                    .parse()
                    .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?,
            ),
            None => None,
        };
        let api_key = args
            .jquants_api_key
            .clone()
            .filter(|k| !k.expose_secret().trim().is_empty());
        Ok(Self {
            upstream: UpstreamConfig {
                base_url: args.jquants_base_url.trim_end_matches('/').to_string(),
                plan: stated_plan(api_key.is_some(), args.jquants_plan)?,
                api_key,
                sharing: args.sharing.clone(),
                ..Default::default()
            },
            database,
            cache: CacheConfig {
                max_bytes: args.cache_max_bytes,
                max_page_bytes: args.max_page_bytes,
                ..Default::default()
            },
            auth: AuthConfig {
                client_keys: client_keys(args)?,
                admin_key: args.admin_key.clone(),
                allow_anonymous: args.allow_anonymous,
                client_quota_per_minute: args.client_quota_per_minute,
            },
            sync: args.sync.clone(),
            market: MarketConfig {
                wait: Duration::from_secs(args.derived_wait_secs),
            },
            ..Self::new(args.listen)
        })
    }
}

/// The subscription's plan. With a key it must be stated: what the proxy may do (rate, endpoints,
/// history, bulk files) depends on it, and a wrong guess either wastes the subscription or
/// earns 429s and 403s. Without a key (demo mode) the simulator's plan applies.
fn stated_plan(with_key: bool, plan: Option<Plan>) -> anyhow::Result<Plan> {
    match (with_key, plan) {
        (true, None) => anyhow::bail!(
            "JQUANTS_PLAN is required with JQUANTS_API_KEY: set it to your subscription's plan, one of free, light, standard, premium"
        ),
        (_, plan) => Ok(plan.unwrap_or(UpstreamConfig::default().plan)),
    }
}

/// The keys of `JQP_CLIENT_KEYS`, then those of `JQP_CLIENT_KEYS_FILE`.
fn client_keys(args: &ServeArgs) -> anyhow::Result<Vec<(String, SecretString)>> {
    use anyhow::Context;
    use secrecy::ExposeSecret;
    let mut keys = Vec::new();
    if let Some(list) = &args.client_keys {
        keys.extend(parse_client_keys(list.expose_secret(), ',').context("JQP_CLIENT_KEYS")?);
    }
    if let Some(path) = &args.client_keys_file {
        let context = || format!("JQP_CLIENT_KEYS_FILE ({})", path.display());
        let text = std::fs::read_to_string(path).with_context(context)?;
        keys.extend(parse_client_keys(&text, '\n').with_context(context)?);
    }
    Ok(keys)
}

/// `name:key` items separated by `sep`; blank items and `#` comments are skipped.
pub fn parse_client_keys(text: &str, sep: char) -> anyhow::Result<Vec<(String, SecretString)>> {
    let mut out = Vec::new();
    for item in text
        .split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
    {
        let (name, key) = item.split_once(':').ok_or_else(|| {
            anyhow::anyhow!(
                "entry {} has no `name:` prefix (expected name:key, e.g. research:a-long-random-key)",
                out.len() + 1
            )
        })?;
        let (name, key) = (name.trim(), key.trim());
        anyhow::ensure!(
            !name.is_empty() && key.len() >= 8,
            "client key {name:?}: name required and key at least 8 characters"
        );
        out.push((name.to_string(), SecretString::from(key.to_string())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn config(argv: &[&str]) -> anyhow::Result<ServeConfig> {
        use clap::Parser;
        let cli = Serve::try_parse_from(std::iter::once("serve").chain(argv.iter().copied()))?;
        ServeConfig::from_args(&cli.args)
    }

    #[test]
    fn a_key_needs_its_plan_stated_and_demo_mode_does_not() {
        let err = config(&["--jquants-api-key", "k"]).unwrap_err().to_string();
        assert!(err.contains("JQUANTS_PLAN"), "{err}");
        assert!(err.contains("free, light, standard, premium"), "{err}");
        let cfg = config(&["--jquants-api-key", "k", "--jquants-plan", "standard"]).unwrap();
        assert_eq!(cfg.upstream.plan, Plan::Standard);
        assert!(config(&[]).unwrap().upstream.api_key.is_none(), "demo mode");
    }

    #[test]
    fn client_keys_parse_and_never_print() {
        let keys = parse_client_keys("research:abcdefgh12, # comment\n ,trading: zyxwvuts98", ',')
            .unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].0, "trading");
        assert_eq!(keys[1].1.expose_secret(), "zyxwvuts98");
        assert!(!format!("{keys:?}").contains("zyxwvuts98"));
        assert!(parse_client_keys("nokey", ',').is_err());
        assert!(parse_client_keys("a:short", ',').is_err());
    }
}
