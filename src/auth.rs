//! Access control. J-Quants data is licensed to the subscriber: only the firm's own apps
//! may read it through the proxy, and the upstream key never crosses the proxy's boundary.
//!
//! - Data routes (`/v2/*`, `/derived/*`): with client keys configured, `x-api-key` must be
//!   one of them (so official J-Quants clients work unchanged). Without client keys, only
//!   loopback peers are served unless the operator allows anonymous access; demo mode
//!   (simulated data, nothing licensed) serves everyone and says so at start-up.
//! - Admin routes (`/admin/*`): the admin key, always; closed when none is configured.
//! - Per-client quotas keep one app from spending the whole upstream budget.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

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
    demo: bool,
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
            .field("demo", &self.demo)
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
    pub fn new(
        clients: &[(String, SecretString)],
        admin: Option<&SecretString>,
        upstream: Option<&SecretString>,
        allow_anonymous: bool,
        demo: bool,
        quota_per_minute: u32,
    ) -> anyhow::Result<Auth> {
        let upstream = upstream.map(|k| digest(k.expose_secret()));
        let clients: Vec<_> = clients
            .iter()
            .map(|(n, k)| (Arc::from(n.as_str()), digest(k.expose_secret())))
            .collect();
        let admin = admin.map(|k| digest(k.expose_secret()));
        if let Some(up) = &upstream {
            anyhow::ensure!(
                !clients.iter().any(|(_, k)| eq_ct(k, up))
                    && admin.as_ref().is_none_or(|a| !eq_ct(a, up)),
                "a client or admin key equals the upstream J-Quants key; the upstream key must never be given to clients"
            );
        }
        let quota =
            NonZeroU32::new(quota_per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        Ok(Auth {
            clients,
            admin,
            upstream,
            allow_anonymous,
            demo,
            quota,
        })
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
        if self.demo || self.allow_anonymous || peer.ip().is_loopback() {
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

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Routes anyone may read: probes, metrics and the API's documentation. Everything else needs
/// a client key (or the admin key under `/admin`), so a new route is closed unless listed here.
fn is_open(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/openapi.json" | "/docs"
    ) || path.starts_with("/docs/")
}

/// The middleware: the admin key for `/admin`, nothing for the open routes, a client key for
/// every other path (data, derived data, charts and the margin page alike).
pub async fn authorize(
    State(auth): State<std::sync::Arc<Auth>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let outcome = if path.starts_with("/admin") {
        auth.check_admin(header(&req, "x-api-key"))
            .map(|_| Client::Admin)
    } else if is_open(path) {
        Ok(Client::Anonymous(peer.ip()))
    } else {
        auth.client_for(header(&req, "x-api-key"), peer)
            .and_then(|c| auth.check_quota(&c).map(|_| c))
    };
    match outcome {
        Ok(client) => {
            tracing::Span::current().record("client", tracing::field::display(&client));
            req.extensions_mut().insert(client);
            next.run(req).await
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

    #[test]
    fn keys_when_configured_loopback_only_otherwise() {
        let with_keys = Auth::new(
            &[("research".into(), key("research-key-1"))],
            None,
            None,
            false,
            false,
            0,
        )
        .unwrap();
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

        let none = Auth::new(&[], None, None, false, false, 0).unwrap();
        assert!(none.client_for(None, peer("127.0.0.1")).is_ok());
        assert!(none.client_for(None, "[::1]:5000".parse().unwrap()).is_ok());
        assert!(matches!(
            none.client_for(None, peer("192.168.1.9")),
            Err(ApiError::Forbidden(_))
        ));
        let anon = Auth::new(&[], None, None, true, false, 0).unwrap();
        assert!(anon.client_for(None, peer("192.168.1.9")).is_ok());
    }

    #[test]
    fn upstream_key_is_never_a_client_key() {
        let up = key("upstream-secret-key");
        assert!(
            Auth::new(
                &[("x".into(), up.clone())],
                None,
                Some(&up),
                false,
                false,
                0
            )
            .is_err()
        );
        let auth = Auth::new(&[], None, Some(&up), true, false, 0).unwrap();
        assert!(matches!(
            auth.client_for(Some("upstream-secret-key"), peer("127.0.0.1")),
            Err(ApiError::InvalidKey)
        ));
    }

    #[test]
    fn admin_needs_its_key_and_quotas_bite() {
        let closed = Auth::new(&[], None, None, false, false, 0).unwrap();
        assert!(matches!(
            closed.check_admin(Some("anything")),
            Err(ApiError::Forbidden(_))
        ));
        let auth = Auth::new(&[], Some(&key("admin-key-123")), None, false, false, 3).unwrap();
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
}
