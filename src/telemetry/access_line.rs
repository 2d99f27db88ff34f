//! The access line: one per request, as nginx writes one (`GET /v2/...?code=7203 200 HIT
//! 412us`: method, path and query, status, `X-Cache`, time to the response head), carrying
//! the request id and the client.
//!
//! Invariants:
//! - The line reads as every other line of the log (`tracing-subscriber`'s text or JSON
//!   form, the request's fields as those of a `request` span), whichever way it was written.
//! - It is subject to the log filter (`RUST_LOG`) at INFO, or WARN for a 5xx.
//!
//! Once [`install`]ed (by `telemetry::init`, when the output is not a terminal) the line is
//! formatted here, into a reused buffer with the date-time formatted once a second, and goes
//! straight to the batch writer: through `tracing` it takes a span, its fields formatted and
//! escaped one by one, and a timestamp formatted per event, about a fifth of a cache hit's
//! instructions (`scripts/hit-instructions.sh`). Without it (tests, a terminal, which wants
//! colours) the line is a `tracing` event in a `request` span.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderValue, Method, StatusCode, Uri};
use tracing::Level;

use super::LogFormat;
use super::batch_writer::BatchWriter;
use crate::auth::Client;

/// One request's line.
pub struct AccessRecord<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub status: StatusCode,
    /// The `X-Cache` value, `-` when the answer is not a cached one.
    pub cache: &'a str,
    pub elapsed: Duration,
    pub request_id: &'a HeaderValue,
    /// Who was served, once known (absent for open routes and refused keys).
    pub client: Option<&'a Client>,
}

struct Direct {
    out: BatchWriter,
    format: LogFormat,
}

static DIRECT: OnceLock<Direct> = OnceLock::new();

/// Access lines from now on are written straight to `out`, in `format`.
pub fn install(out: BatchWriter, format: LogFormat) {
    let _ = DIRECT.set(Direct { out, format });
}

/// Writes the line, or hands it to `tracing` (inside `span`, when given, whose fields are the
/// request id and the client; else in a span made for it).
pub fn emit(rec: &AccessRecord<'_>, span: Option<&tracing::Span>) {
    let warn = rec.status.is_server_error();
    // The filter's verdict for these two call sites is cached by `tracing`: no lookup per line.
    let enabled = if warn {
        tracing::enabled!(Level::WARN)
    } else {
        tracing::enabled!(Level::INFO)
    };
    if !enabled {
        return;
    }
    let Some(direct) = DIRECT.get() else {
        return through_tracing(rec, span, warn);
    };
    thread_local! {
        static BUF: RefCell<String> = RefCell::new(String::with_capacity(512));
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        match direct.format {
            LogFormat::Text => text(buf, rec, warn),
            LogFormat::Json => json(buf, rec, warn),
        }
        direct.out.append(buf.as_bytes());
    });
}

fn through_tracing(rec: &AccessRecord<'_>, span: Option<&tracing::Span>, warn: bool) {
    let own;
    let span = match span {
        Some(s) => s,
        None => {
            own = tracing::info_span!(
                "request",
                request_id = rec.request_id.to_str().unwrap_or("-"),
                client = tracing::field::Empty,
            );
            if let Some(c) = rec.client {
                own.record("client", tracing::field::display(c));
            }
            &own
        }
    };
    let mut line = String::with_capacity(256);
    message(&mut line, rec);
    if warn {
        span.in_scope(|| tracing::warn!("{line}"));
    } else {
        span.in_scope(|| tracing::info!("{line}"));
    }
}

/// `GET /v2/...?code=7203 200 HIT 412us`. Pieces are pushed, not formatted: the line is
/// written for every request, and `core::fmt` cost more than the rest of it together.
fn message(buf: &mut String, r: &AccessRecord<'_>) {
    let mut n = itoa::Buffer::new();
    buf.push_str(r.method.as_str());
    buf.push(' ');
    buf.push_str(r.uri.path());
    if let Some(q) = r.uri.query() {
        buf.push('?');
        buf.push_str(q);
    }
    buf.push(' ');
    buf.push_str(n.format(r.status.as_u16()));
    buf.push(' ');
    buf.push_str(r.cache);
    buf.push(' ');
    buf.push_str(n.format(r.elapsed.as_micros()));
    buf.push_str("us");
}

/// `2026-12-02T03:00:32.069876Z  INFO request{request_id="…" client=…}: GET … 200 HIT 8us`
fn text(buf: &mut String, rec: &AccessRecord<'_>, warn: bool) {
    timestamp(buf);
    buf.push_str(if warn { "  WARN " } else { "  INFO " });
    buf.push_str("request{request_id=");
    let id = rec.request_id.to_str().unwrap_or("-");
    // As `tracing` writes a string field (Debug); ids needing no escapes are the rule.
    if id
        .bytes()
        .all(|b| (b.is_ascii_graphic() || b == b' ') && b != b'"' && b != b'\\')
    {
        buf.push('"');
        buf.push_str(id);
        buf.push('"');
    } else {
        let _ = write!(buf, "{id:?}");
    }
    if let Some(c) = rec.client {
        buf.push_str(" client=");
        client(buf, c);
    }
    buf.push_str("}: ");
    message(buf, rec);
    buf.push('\n');
}

/// The client as `Client`'s `Display` writes it; names and IPv4 callers pushed, not formatted.
fn client(buf: &mut String, c: &Client) {
    match c {
        Client::Named(name) => buf.push_str(name),
        Client::Anonymous(std::net::IpAddr::V4(ip)) => {
            let mut n = itoa::Buffer::new();
            buf.push_str("anonymous@");
            for (i, octet) in ip.octets().iter().enumerate() {
                if i > 0 {
                    buf.push('.');
                }
                buf.push_str(n.format(*octet));
            }
        }
        other => {
            let _ = write!(buf, "{other}");
        }
    }
}

/// The JSON form `tracing-subscriber` writes with `flatten_event` and the current span.
fn json(buf: &mut String, rec: &AccessRecord<'_>, warn: bool) {
    buf.push_str("{\"timestamp\":\"");
    timestamp(buf);
    buf.push_str(if warn {
        "\",\"level\":\"WARN\",\"message\":"
    } else {
        "\",\"level\":\"INFO\",\"message\":"
    });
    let mut text = String::with_capacity(256);
    message(&mut text, rec);
    json_str(buf, &text);
    let mut span = String::with_capacity(128);
    span.push('{');
    if let Some(c) = rec.client {
        span.push_str("\"client\":");
        text.clear();
        client(&mut text, c);
        json_str(&mut span, &text);
        span.push(',');
    }
    span.push_str("\"request_id\":");
    json_str(&mut span, rec.request_id.to_str().unwrap_or("-"));
    span.push_str(",\"name\":\"request\"}");
    let _ = writeln!(buf, ",\"span\":{span},\"spans\":[{span}]}}");
}

fn json_str(buf: &mut String, s: &str) {
    buf.push_str(&serde_json::to_string(s).expect("a string serialises"));
}

/// RFC 3339 in UTC with microseconds, as `tracing-subscriber` writes it; the part up to the
/// second is formatted once per second per thread.
fn timestamp(buf: &mut String) {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    SECOND.with_borrow_mut(|(at, text)| {
        if *at != secs {
            *at = secs;
            text.clear();
            let t = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default();
            let _ = write!(text, "{}", t.format("%Y-%m-%dT%H:%M:%S"));
        }
        buf.push_str(text);
    });
    let micros = now.subsec_micros();
    let mut digits = [b'0'; 6];
    let mut rest = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    buf.push('.');
    buf.push_str(std::str::from_utf8(&digits).expect("ascii digits"));
    buf.push('Z');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn record<'a>(
        uri: &'a Uri,
        id: &'a HeaderValue,
        client: Option<&'a Client>,
        status: u16,
    ) -> AccessRecord<'a> {
        AccessRecord {
            method: &Method::GET,
            uri,
            status: StatusCode::from_u16(status).unwrap(),
            cache: "HIT",
            elapsed: Duration::from_micros(412),
            request_id: id,
            client,
        }
    }

    #[test]
    fn text_lines_read_as_tracing_writes_a_request_span_event() {
        let uri: Uri = "/v2/equities/bars/daily?code=72030&date=2026-11-19"
            .parse()
            .unwrap();
        let id = HeaderValue::from_static("6b244618-89c9-4bcd-0000-00000008d713");
        let client = Client::Named(Arc::from("research"));
        let mut buf = String::new();
        text(&mut buf, &record(&uri, &id, Some(&client), 200), false);
        let (ts, rest) = buf.split_once("  ").unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.len() == 27,
            "{ts}"
        );
        assert_eq!(
            rest,
            "INFO request{request_id=\"6b244618-89c9-4bcd-0000-00000008d713\" client=research}: \
             GET /v2/equities/bars/daily?code=72030&date=2026-11-19 200 HIT 412us\n"
        );
        buf.clear();
        text(&mut buf, &record(&uri, &id, None, 502), true);
        assert!(
            buf.contains(
                "  WARN request{request_id=\"6b244618-89c9-4bcd-0000-00000008d713\"}: GET "
            ),
            "{buf}"
        );
    }

    #[test]
    fn clients_read_as_their_display() {
        for c in [
            Client::Named(Arc::from("research")),
            Client::Anonymous("127.0.0.1".parse().unwrap()),
            Client::Anonymous("10.200.0.255".parse().unwrap()),
            Client::Anonymous("::1".parse().unwrap()),
            Client::Admin,
        ] {
            let mut buf = String::new();
            client(&mut buf, &c);
            assert_eq!(buf, c.to_string());
        }
    }

    #[test]
    fn json_lines_are_one_object_with_the_request_span() {
        let uri: Uri = "/healthz?x=%22".parse().unwrap();
        let id = HeaderValue::from_static("abc");
        let client = Client::Anonymous("127.0.0.1".parse().unwrap());
        let mut buf = String::new();
        json(&mut buf, &record(&uri, &id, Some(&client), 200), false);
        assert!(buf.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "GET /healthz?x=%22 200 HIT 412us");
        let span = serde_json::json!({"client": "anonymous@127.0.0.1", "request_id": "abc", "name": "request"});
        assert_eq!(v["span"], span);
        assert_eq!(v["spans"], serde_json::json!([span]));
        assert!(chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str().unwrap()).is_ok());
    }
}
