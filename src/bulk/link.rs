//! The proxy's own links to bulk files: `/bulk/files/<key>?v=<LastModified>&exp=<unix>&sig=<hex>`,
//! signed with HMAC-SHA256 as presigned URLs are, so an app with no route to the upstream's file
//! host downloads from the proxy without a key.
//!
//! Invariants: a link names one file version and expires [`LINK_LIFETIME`] after it was made
//! (the upstream's presigned links live about 5 minutes); any change to key, version or expiry
//! breaks the signature; the secret is derived from the subscription key, so every replica
//! signs and checks alike and no other setting is needed.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;

/// How long a link may be used.
pub const LINK_LIFETIME: chrono::Duration = chrono::Duration::minutes(5);

/// What a link grants: one version of one file, until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub key: String,
    pub version: String,
    pub expires: i64,
}

/// Signs and checks links.
pub struct Signer {
    secret: Vec<u8>,
}

impl Signer {
    /// A signer whose secret is derived from `seed` (the subscription key).
    pub fn new(seed: &[u8]) -> Signer {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"jquants-proxy bulk links").expect("any key");
        mac.update(seed);
        Signer {
            secret: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self, g: &Grant) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key");
        let expires = g.expires.to_string();
        for part in [g.key.as_bytes(), g.version.as_bytes(), expires.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// The query string of a link granting `key` at `version` from `now` on.
    pub fn query(&self, key: &str, version: &str, now: DateTime<Utc>) -> String {
        let g = Grant {
            key: key.to_string(),
            version: version.to_string(),
            expires: (now + LINK_LIFETIME).timestamp(),
        };
        let sig = hex::encode(self.mac(&g).finalize().into_bytes());
        let v: String = url::form_urlencoded::byte_serialize(version.as_bytes()).collect();
        format!("v={v}&exp={}&sig={sig}", g.expires)
    }

    /// The grant of a link's `key` and query, if its signature holds and it has not expired;
    /// a 403 saying which otherwise.
    pub fn check(&self, key: &str, query: &str, now: DateTime<Utc>) -> Result<Grant, ApiError> {
        let mut v = None;
        let (mut exp, mut sig) = (None, None);
        for (k, val) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "v" => v = Some(val.into_owned()),
                "exp" => exp = val.parse::<i64>().ok(),
                "sig" => sig = hex::decode(val.as_bytes()).ok(),
                _ => {}
            }
        }
        let forged =
            || ApiError::Forbidden("This download link is not one this proxy signed.".into());
        let (Some(version), Some(expires), Some(sig)) = (v, exp, sig) else {
            return Err(forged());
        };
        let g = Grant {
            key: key.to_string(),
            version,
            expires,
        };
        self.mac(&g).verify_slice(&sig).map_err(|_| forged())?;
        if now.timestamp() > g.expires {
            return Err(ApiError::Forbidden(
                "This download link has expired; ask /v2/bulk/get for a new one.".into(),
            ));
        }
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_holds_for_five_minutes_and_only_as_signed() {
        let s = Signer::new(b"subscription-key");
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let q = s.query("a/b_202501.csv.gz", "2025-02-10T18:00:00Z", now);
        let g = s.check("a/b_202501.csv.gz", &q, now).unwrap();
        assert_eq!(g.version, "2025-02-10T18:00:00Z");
        let later = now + LINK_LIFETIME + chrono::Duration::seconds(1);
        let err = s.check("a/b_202501.csv.gz", &q, later).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        let err = s.check("a/b_202502.csv.gz", &q, now).unwrap_err();
        assert!(
            err.to_string().contains("not one this proxy signed"),
            "{err}"
        );
        let other = Signer::new(b"another-key");
        assert!(other.check("a/b_202501.csv.gz", &q, now).is_err());
    }
}
