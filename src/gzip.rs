//! Gzip as J-Quants speaks it: bodies compressed only for clients that accept it
//! (docs/upstream.md, "Compression"). Shared by the proxy (which stores the compressed form
//! once) and the simulator.
//!
//! Invariant: [`accepted`] is false unless `Accept-Encoding` names `gzip` or `*` without
//! `q=0`, so a client that did not ask never gets a compressed body.

use std::io::Write;

use axum::http::{HeaderMap, header};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

/// Compresses a body. The fast level: bodies are compressed once and served many times, but
/// a multi-megabyte page should not hold a worker for long.
pub fn compress(body: &[u8]) -> Bytes {
    let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), Compression::fast());
    enc.write_all(body).expect("writing to a Vec");
    Bytes::from(enc.finish().expect("writing to a Vec"))
}

/// True when `Accept-Encoding` accepts gzip (`gzip` or `*`, not with `q=0`).
pub fn accepted(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',').any(|item| {
                let mut parts = item.trim().split(';');
                let coding = parts.next().unwrap_or("").trim();
                let q_zero =
                    parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn negotiation_honours_q_zero_and_compression_round_trips() {
        let mut h = HeaderMap::new();
        assert!(!accepted(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepted(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, identity"),
        );
        assert!(!accepted(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        assert!(!accepted(&h));
        let z = compress(b"{\"data\":[]}");
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&z[..]), &mut out).unwrap();
        assert_eq!(out, "{\"data\":[]}");
    }
}
