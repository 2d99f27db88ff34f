//! Response bodies in the upstream's shapes (`docs/upstream.md`): JSON data with optional
//! gzip, error answers as `{"message": ...}`, and a 200 whose connection drops mid-body.
//! Invariant: every body is labelled `application/json`, as the upstream labels them.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// An error answer in the upstream's shape: its status and `message`.
pub(super) type Refusal = (StatusCode, String);

/// The upstream's answer for unknown paths and methods (API Gateway wording).
pub(super) const NO_ROUTE: &str = "Missing Authentication Token";

pub(super) fn message(status: StatusCode, msg: &str) -> Response {
    let body = serde_json::json!({ "message": msg }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) fn json_response(body: String, gzip: bool) -> Response {
    if gzip {
        let z = crate::gzip::compress(body.as_bytes());
        return (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            z,
        )
            .into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A 200 whose body stream fails half-way, so hyper aborts the connection.
pub(super) fn dropped_response() -> Response {
    let first: Result<Bytes, std::io::Error> = Ok(Bytes::from_static(b"{\"data\":[{\"Date\":\"20"));
    let fail: Result<Bytes, std::io::Error> = Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "simulated connection drop",
    ));
    let stream = futures::stream::iter(vec![first, fail]);
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}
