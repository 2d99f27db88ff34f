//! Access control. J-Quants data is licensed to the subscriber: only the firm's own apps
//! may read it through the proxy, and the upstream key never crosses the proxy's boundary.
//!
//! - Client routes (`/v2/*`, `/derived/*`, `/charts/*`, `/margin`): with client keys
//!   configured, one of them must be presented, as `x-api-key` (so official J-Quants clients
//!   work unchanged) or, from a browser, as the password of HTTP Basic auth (any user name).
//!   Without client keys, only loopback peers are served unless the operator allows anonymous
//!   access; demo mode (simulated data, nothing licensed) serves everyone and says so.
//! - Admin routes (`/admin/*`): the admin key as `x-api-key`, always; closed when none is
//!   configured.
//! - Per-client quotas keep one app from spending the whole upstream budget.
//!
//! Invariant: the check is attached to routers, not chosen by path. `http::access` puts
//! every route into a group with its [`Access`]; [`guard`] is that group's `route_layer`, so a
//! route is closed unless it is deliberately added to the open group.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Who may call `serve`. [`Default`]: no client keys, no admin key, loopback clients only, no
/// quota.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// `(name, key)`: clients present the key; logs, metrics and quotas use the name.
    pub client_keys: Vec<(String, SecretString)>,
    /// Key of the `/admin/*` routes; `None` closes them.
    pub admin_key: Option<SecretString>,
    /// Without client keys, also serve non-loopback clients without a key (demo mode sets it:
    /// simulated data is nobody's licence).
    pub allow_anonymous: bool,
    /// Requests per minute allowed to each client (0: no quota).
    pub client_quota_per_minute: u32,
}

/// Who is calling, for logs, metrics and quotas. Built per request without allocating: names
/// are shared with the key table, an anonymous caller is its address until displayed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    Named(Arc<str>),
    Anonymous(IpAddr),
    Admin,
}

impl Client {
    /// The proxy's own requests (sync, derived inputs, the row store's own calls).
    pub fn proxy() -> Client {
        Client::Named(Arc::from("proxy"))
    }

    /// The name this client's misses queue under for upstream slots (`upstream::fair`).
    pub fn queue_key(&self) -> Arc<str> {
        match self {
            Client::Named(n) => n.clone(),
            other => other.to_string().into(),
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Client::Named(n) => f.write_str(n),
            Client::Anonymous(ip) => write!(f, "anonymous@{ip}"),
            Client::Admin => f.write_str("admin"),
        }
    }
}

pub struct Auth {
    /// (name, sha256 of key): compared by digest so timing does not reveal key prefixes.
    clients: Vec<(Arc<str>, [u8; 32])>,
    admin: Option<[u8; 32]>,
    upstream: Option<[u8; 32]>,
    allow_anonymous: bool,
    quota: Option<DefaultKeyedRateLimiter<Client>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field(
                "clients",
                &self.clients.iter().map(|c| &c.0).collect::<Vec<_>>(),
            )
            .field("admin", &self.admin.is_some())
            .field("allow_anonymous", &self.allow_anonymous)
            .finish()
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn eq_ct(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    pub fn new(cfg: &AuthConfig) -> Auth {
        let clients = cfg
            .client_keys
            .iter()
            .map(|(n, k)| (Arc::from(n.as_str()), digest(k.expose_secret())))
            .collect();
        let quota = NonZeroU32::new(cfg.client_quota_per_minute)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        Auth {
            clients,
            admin: cfg.admin_key.as_ref().map(|k| digest(k.expose_secret())),
            upstream: None,
            allow_anonymous: cfg.allow_anonymous,
            quota,
        }
    }

    /// Refuses `upstream_key` whenever a client presents it; fails when a configured client
    /// or admin key equals it.
    pub fn refusing(mut self, upstream_key: &SecretString) -> anyhow::Result<Auth> {
        let up = digest(upstream_key.expose_secret());
        anyhow::ensure!(
            !self.clients.iter().any(|(_, k)| eq_ct(k, &up))
                && self.admin.as_ref().is_none_or(|a| !eq_ct(a, &up)),
            "a client or admin key equals the upstream J-Quants key; the upstream key must never be given to clients"
        );
        self.upstream = Some(up);
        Ok(self)
    }

    fn client_for(&self, key: Option<&str>, peer: SocketAddr) -> Result<Client, ApiError> {
        let presented = key.map(digest);
        if let (Some(p), Some(up)) = (&presented, &self.upstream)
            && eq_ct(p, up)
        {
            tracing::warn!(%peer, "a client presented the upstream J-Quants key; refused");
            return Err(ApiError::InvalidKey);
        }
        if !self.clients.is_empty() {
            let p = presented.ok_or(ApiError::InvalidKey)?;
            return self
                .clients
                .iter()
                .find(|(_, k)| eq_ct(k, &p))
                .map(|(n, _)| Client::Named(n.clone()))
                .ok_or(ApiError::InvalidKey);
        }
        if self.allow_anonymous || peer.ip().is_loopback() {
            return Ok(Client::Anonymous(peer.ip()));
        }
        Err(ApiError::Forbidden(
            "This proxy serves only local clients: no client keys are configured. Ask the operator for a key.".into(),
        ))
    }

    fn check_admin(&self, key: Option<&str>) -> Result<(), ApiError> {
        let Some(admin) = &self.admin else {
            return Err(ApiError::Forbidden(
                "Admin routes are disabled: no admin key is configured.".into(),
            ));
        };
        match key {
            Some(k) if eq_ct(&digest(k), admin) => Ok(()),
            _ => Err(ApiError::InvalidKey),
        }
    }

    fn check_quota(&self, client: &Client) -> Result<(), ApiError> {
        if let Some(q) = &self.quota
            && let Err(not_until) = q.check_key(client)
        {
            metrics::counter!("jqp_client_quota_exceeded_total", "client" => client.to_string())
                .increment(1);
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let retry_after = wait.as_secs_f64().ceil().max(1.0) as u64;
            return Err(ApiError::ClientQuota {
                message: format!(
                    "Request quota of client {client} exceeded; retry in {retry_after} s."
                ),
                retry_after,
            });
        }
        Ok(())
    }
}

/// Who a group of routes admits, and how a refusal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// API clients: a client key; a refusal is J-Quants' `403 {"message": ...}`.
    Client,
    /// Pages a browser opens: a client key too, but a missing or wrong one is a 401 with a
    /// Basic challenge, so the browser asks for it.
    Browser,
    /// The admin key.
    Admin,
}

/// The state of [`guard`]: the access rules and the group it guards.
#[derive(Debug, Clone)]
pub struct Guard {
    auth: Arc<Auth>,
    access: Access,
}

impl Guard {
    pub fn new(auth: Arc<Auth>, access: Access) -> Guard {
        Guard { auth, access }
    }

    /// Who `req` comes from, if this group admits it (within the client's quota).
    pub fn admit(&self, req: &Request, peer: SocketAddr) -> Result<Client, ApiError> {
        let auth = &self.auth;
        match self.access {
            Access::Admin => auth
                .check_admin(header(req, "x-api-key"))
                .map(|_| Client::Admin),
            Access::Client => auth.client(presented_key(req).as_deref(), peer),
            Access::Browser => {
                auth.client(presented_key(req).as_deref(), peer)
                    .map_err(|e| match e {
                        ApiError::InvalidKey => ApiError::LoginRequired,
                        other => other,
                    })
            }
        }
    }
}

impl Auth {
    /// The caller presenting `key`, within its quota.
    fn client(&self, key: Option<&str>, peer: SocketAddr) -> Result<Client, ApiError> {
        let client = self.client_for(key, peer)?;
        self.check_quota(&client)?;
        Ok(client)
    }
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The client key a caller presents: `x-api-key` (what J-Quants clients send) or else the
/// password of HTTP Basic auth (what a browser can send), whatever the user name.
fn presented_key(req: &Request) -> Option<Cow<'_, str>> {
    if let Some(key) = header(req, "x-api-key") {
        return Some(Cow::Borrowed(key));
    }
    basic_password(header(req, AUTHORIZATION.as_str())?).map(Cow::Owned)
}

/// The password of an `Authorization: Basic base64(user:password)` value (RFC 7617).
fn basic_password(value: &str) -> Option<String> {
    use base64::Engine;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    // The user name cannot contain ':'; the password may.
    Some(text.split_once(':')?.1.to_string())
}

/// The middleware each guarded group of routes gets as its `route_layer` (and the fallback,
/// so an unknown path tells a caller without a key nothing).
pub async fn guard(
    State(guard): State<Guard>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    match guard.admit(&req, peer) {
        Ok(client) => {
            tracing::Span::current().record("client", tracing::field::display(&client));
            req.extensions_mut().insert(client.clone());
            let mut resp = next.run(req).await;
            // For the access line, written after the response leaves the route.
            resp.extensions_mut().insert(client);
            resp
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: &str) -> SocketAddr {
        format!("{ip}:5000").parse().unwrap()
    }

    fn key(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    fn clients(keys: &[(&str, &str)]) -> AuthConfig {
        AuthConfig {
            client_keys: keys.iter().map(|(n, k)| (n.to_string(), key(k))).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn keys_when_configured_loopback_only_otherwise() {
        let with_keys = Auth::new(&clients(&[("research", "research-key-1")]));
        assert_eq!(
            with_keys
                .client_for(Some("research-key-1"), peer("10.1.2.3"))
                .unwrap()
                .to_string(),
            "research"
        );
        assert!(matches!(
            with_keys.client_for(Some("wrong"), peer("127.0.0.1")),
            Err(ApiError::InvalidKey)
        ));
        assert!(matches!(
            with_keys.client_for(None, peer("127.0.0.1")),
            Err(ApiError::InvalidKey)
        ));

        let none = Auth::new(&AuthConfig::default());
        assert!(none.client_for(None, peer("127.0.0.1")).is_ok());
        assert!(none.client_for(None, "[::1]:5000".parse().unwrap()).is_ok());
        assert!(matches!(
            none.client_for(None, peer("192.168.1.9")),
            Err(ApiError::Forbidden(_))
        ));
        let anon = Auth::new(&AuthConfig {
            allow_anonymous: true,
            ..Default::default()
        });
        assert!(anon.client_for(None, peer("192.168.1.9")).is_ok());
    }

    #[test]
    fn upstream_key_is_never_a_client_key() {
        let up = key("upstream-secret-key");
        assert!(
            Auth::new(&clients(&[("x", "upstream-secret-key")]))
                .refusing(&up)
                .is_err()
        );
        let auth = Auth::new(&AuthConfig {
            allow_anonymous: true,
            ..Default::default()
        })
        .refusing(&up)
        .unwrap();
        assert!(matches!(
            auth.client_for(Some("upstream-secret-key"), peer("127.0.0.1")),
            Err(ApiError::InvalidKey)
        ));
    }

    #[test]
    fn admin_needs_its_key_and_quotas_bite() {
        let closed = Auth::new(&AuthConfig::default());
        assert!(matches!(
            closed.check_admin(Some("anything")),
            Err(ApiError::Forbidden(_))
        ));
        let auth = Auth::new(&AuthConfig {
            admin_key: Some(key("admin-key-123")),
            client_quota_per_minute: 3,
            ..Default::default()
        });
        assert!(auth.check_admin(Some("admin-key-123")).is_ok());
        assert!(matches!(
            auth.check_admin(Some("admin-key-124")),
            Err(ApiError::InvalidKey)
        ));
        let c = Client::Named("research".into());
        for _ in 0..3 {
            auth.check_quota(&c).unwrap();
        }
        assert!(matches!(
            auth.check_quota(&c),
            Err(ApiError::ClientQuota {
                retry_after: 20..,
                ..
            })
        ));
        assert!(auth.check_quota(&Client::Named("other".into())).is_ok());
    }

    #[test]
    fn basic_auth_carries_the_key_as_its_password() {
        // base64("anyone:research-key-1:with-colon")
        let value = "Basic YW55b25lOnJlc2VhcmNoLWtleS0xOndpdGgtY29sb24=";
        assert_eq!(
            basic_password(value).as_deref(),
            Some("research-key-1:with-colon")
        );
        assert_eq!(
            basic_password("basic OnNlY3JldA==").as_deref(),
            Some("secret")
        );
        assert_eq!(basic_password("Bearer OnNlY3JldA=="), None);
        assert_eq!(basic_password("Basic not base64!"), None);
        // No ':' means no password.
        assert_eq!(basic_password("Basic c2VjcmV0"), None);
    }
}
