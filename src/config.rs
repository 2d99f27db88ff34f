//! Typed configuration of `serve`: CLI flags with environment equivalents (clap `env`).
//! Secrets are `SecretString`s so that no `Debug` or log line can print them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::catalog::Plan;
use crate::jst::Clock;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

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
    /// Upstream plan: sets the rate limit (free 5, light 60, standard 120, premium 500 per minute).
    #[arg(long, env = "JQUANTS_PLAN", default_value = "free")]
    pub jquants_plan: Plan,
    /// Postgres URL for the persistent cache tier; without it the cache is memory only.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,
    /// Bound of the in-memory cache, in bytes.
    #[arg(long, env = "JQP_CACHE_MAX_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub cache_max_bytes: u64,
    /// Merged answers larger than this are served in the proxy's own pages.
    #[arg(long, env = "JQP_MAX_PAGE_BYTES", default_value_t = 5_000_000)]
    pub max_page_bytes: usize,
    /// Client keys as comma-separated `name:key` pairs; clients send them as `x-api-key`.
    #[arg(long, env = "JQP_CLIENT_KEYS", hide_env_values = true)]
    pub client_keys: Option<SecretString>,
    /// File with one `name:key` per line (`#` comments allowed).
    #[arg(long, env = "JQP_CLIENT_KEYS_FILE")]
    pub client_keys_file: Option<PathBuf>,
    /// Key for the `/admin/*` routes.
    #[arg(long, env = "JQP_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<SecretString>,
    /// Accept unauthenticated clients from any address when no client keys are configured.
    #[arg(long, env = "JQP_ALLOW_ANONYMOUS", default_value_t = false)]
    pub allow_anonymous: bool,
    /// Requests per minute allowed to each client (0: no quota).
    #[arg(long, env = "JQP_CLIENT_QUOTA_PER_MINUTE", default_value_t = 0)]
    pub client_quota_per_minute: u32,
    /// Log format.
    #[arg(long, env = "JQP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub sync: crate::sync::ScheduleArgs,
    #[command(flatten)]
    pub sharing: crate::upstream::SharingConfig,
}

/// Everything `startup` needs. Built from [`ServeArgs`] in production; tests fill it directly.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// `None`: demo mode.
    pub upstream_key: Option<SecretString>,
    pub upstream_base_url: String,
    pub plan: Plan,
    pub database: Option<sqlx::postgres::PgConnectOptions>,
    pub cache_max_bytes: u64,
    pub max_page_bytes: usize,
    pub client_keys: Vec<(String, SecretString)>,
    pub admin_key: Option<SecretString>,
    pub allow_anonymous: bool,
    pub client_quota_per_minute: u32,
    /// Length of the upstream's rate-limit window (60 s; tests shrink it).
    pub rate_window: Duration,
    /// Upstream cool-down after a 429 (60 s; tests shrink it).
    pub cooldown_after_429: Duration,
    /// How long an upstream fetch may wait for a slot (it outlives the client's bounded
    /// wait, `sharing.max_wait`, so its answer still lands in the cache).
    pub queue_timeout: Duration,
    /// Per HTTP attempt to the upstream.
    pub upstream_timeout: Duration,
    pub max_retries: usize,
    pub retry_base_delay: Duration,
    /// Whole-request timeout of the HTTP server.
    pub request_timeout: Duration,
    pub stale_while_revalidate: chrono::Duration,
    pub clock: Clock,
    /// The scheduled sync of the market row store (off by default).
    pub sync: crate::sync::ScheduleArgs,
    /// Fair queuing between clients and coordination between replicas.
    pub sharing: crate::upstream::SharingConfig,
}

impl ServeConfig {
    /// Production defaults around an address.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            upstream_key: None,
            upstream_base_url: crate::upstream::DEFAULT_BASE_URL.into(),
            plan: Plan::Free,
            database: None,
            cache_max_bytes: 512 * 1024 * 1024,
            max_page_bytes: 5_000_000,
            client_keys: vec![],
            admin_key: None,
            allow_anonymous: false,
            client_quota_per_minute: 0,
            rate_window: Duration::from_secs(60),
            cooldown_after_429: Duration::from_secs(60),
            // How long a fetch keeps its place in the upstream queue; clients stop waiting
            // after `sharing.max_wait` and come back for the cached answer.
            queue_timeout: Duration::from_secs(600),
            upstream_timeout: Duration::from_secs(60),
            max_retries: 3,
            retry_base_delay: Duration::from_millis(500),
            request_timeout: Duration::from_secs(300),
            stale_while_revalidate: chrono::Duration::hours(1),
            clock: Clock::system(),
            sync: Default::default(),
            sharing: Default::default(),
        }
    }

    pub fn from_args(args: &ServeArgs) -> anyhow::Result<Self> {
        use anyhow::Context;
        use secrecy::ExposeSecret;
        let mut cfg = Self::new(args.listen);
        cfg.upstream_key = args
            .jquants_api_key
            .clone()
            .filter(|k| !k.expose_secret().trim().is_empty());
        cfg.upstream_base_url = args.jquants_base_url.trim_end_matches('/').to_string();
        cfg.plan = args.jquants_plan;
        if let Some(url) = &args.database_url {
            cfg.database = Some(
                url.expose_secret()
                    .parse()
                    .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?,
            );
        }
        cfg.cache_max_bytes = args.cache_max_bytes;
        cfg.max_page_bytes = args.max_page_bytes;
        if let Some(keys) = &args.client_keys {
            let keys = parse_client_keys(keys.expose_secret(), ',').context("JQP_CLIENT_KEYS")?;
            cfg.client_keys.extend(keys);
        }
        if let Some(path) = &args.client_keys_file {
            let context = || format!("JQP_CLIENT_KEYS_FILE ({})", path.display());
            let text = std::fs::read_to_string(path).with_context(context)?;
            cfg.client_keys
                .extend(parse_client_keys(&text, '\n').with_context(context)?);
        }
        cfg.admin_key = args.admin_key.clone();
        cfg.allow_anonymous = args.allow_anonymous;
        cfg.client_quota_per_minute = args.client_quota_per_minute;
        cfg.sync = args.sync.clone();
        cfg.sharing = args.sharing.clone();
        Ok(cfg)
    }
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
