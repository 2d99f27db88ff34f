//! The file host behind `/bulk/get`'s presigned links (`GET /__sim/files/{key}?...`), as a
//! presigned-URL host answers: no API key; a link whose signature does not match is a 403,
//! one past its `Expires` (by the simulator's clock) a 403 `AccessDenied`, a key with no
//! file a 404 `NoSuchKey`, each as an S3-style XML error. A file is a gzip CSV built from
//! the same generator as the API: for each business day it covers, that day's cross-section
//! (all pages), in the API's row order, with the API's keys as header.
//!
//! Invariants: the CSV's rows are exactly the API's rows for the file's days at the moment
//! of download; the bytes depend only on the seed, the clock, the plan, the corrections and
//! the spelling switch (gzip without a timestamp).

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::csv::{self, Spelling};
use super::datasets::{self, BulkFile, Corrections, Ctx, DocsMemo, Output, signature};
use super::market::Market;
use crate::catalog::{self, Plan};
use crate::jst;

/// Why the file host refuses: the status and its XML body.
pub type HostError = (u16, String);

fn xml_error(status: u16, code: &str, message: &str, extra: &str) -> HostError {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message>{extra}<RequestId>0000000000000000</RequestId></Error>"
    );
    (status, body)
}

fn param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Checks a presigned link to `key`: signed by this simulator and not yet expired.
pub fn check_link(seed: u64, key: &str, query: &str, now: DateTime<Utc>) -> Result<(), HostError> {
    let expires = param(query, "Expires").and_then(|v| v.parse::<i64>().ok());
    let sig = param(query, "Signature");
    let Some(expires) = expires.filter(|e| sig == Some(signature(seed, key, *e).as_str())) else {
        return Err(xml_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            "",
        ));
    };
    if now.timestamp() > expires {
        let t = |s: i64| DateTime::from_timestamp(s, 0).map_or(String::new(), |t| t.to_rfc3339());
        let extra = format!(
            "<Expires>{}</Expires><ServerTime>{}</ServerTime>",
            t(expires),
            t(now.timestamp())
        );
        return Err(xml_error(
            403,
            "AccessDenied",
            "Request has expired",
            &extra,
        ));
    }
    Ok(())
}

/// The file `key` names, if the host has it at `now` for `plan`.
pub fn find(key: &str, plan: Plan, now: DateTime<Utc>) -> Result<BulkFile, HostError> {
    let (lo, _) = datasets::window(plan, jst::today(now));
    BulkFile::parse(key)
        .filter(|f| f.exists(lo, now))
        .ok_or_else(|| {
            let key = key
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            let extra = format!("<Key>{key}</Key>");
            xml_error(
                404,
                "NoSuchKey",
                "The specified key does not exist.",
                &extra,
            )
        })
}

/// What a file is built from besides the file itself.
pub struct Source<'a> {
    pub market: &'a Market,
    pub plan: Plan,
    pub now: DateTime<Utc>,
    pub corrections: &'a Corrections,
    pub spelling: Spelling,
    /// A column left out of the file (an injected fault).
    pub drop_column: Option<&'a str>,
}

/// The rows the API answers for one cross-section query of `endpoint`; `docs` keeps the
/// filing documents derived for the file's earlier days.
fn cross_section(
    src: &Source,
    endpoint: &'static catalog::Endpoint,
    query: &str,
    docs: &DocsMemo,
) -> Vec<String> {
    let parsed = crate::request::parse(endpoint, Some(query)).expect("a valid cross-section query");
    let today = jst::today(src.now);
    let (lo, hi) = datasets::window(src.plan, today);
    let ctx = Ctx {
        m: src.market,
        req: &parsed.request,
        plan: src.plan,
        now: src.now,
        now_jst: jst::to_jst(src.now),
        today,
        lo,
        hi,
        origin: String::new(),
        corrections: src.corrections,
        docs: Some(docs),
    };
    match datasets::generate(&ctx) {
        Output::Rows(rows) => rows,
        Output::Object(_) => Vec::new(),
    }
}

/// The plain CSV text of `file`.
pub fn csv_text(src: &Source, file: &BulkFile) -> String {
    let endpoint = catalog::find(file.endpoint).expect("bulk datasets are catalog endpoints");
    let fields: Vec<&str> = endpoint
        .fields()
        .iter()
        .copied()
        .filter(|f| src.drop_column != Some(*f))
        .collect();
    let (lo, _) = datasets::window(src.plan, jst::today(src.now));
    let mut out = csv::header(&fields);
    let docs = DocsMemo::default();
    for d in file.days(lo) {
        for r in cross_section(src, endpoint, &file.cross_query(d), &docs) {
            csv::push_line(&mut out, &fields, &r, src.spelling);
        }
    }
    out
}

/// The file's bytes: its CSV, gzipped.
pub fn build(src: &Source, file: &BulkFile) -> Bytes {
    crate::gzip::compress(csv_text(src, file).as_bytes())
}
