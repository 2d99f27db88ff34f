//! The published contract against what clients receive: every value the simulator sends has
//! the type, nullability and shape the OpenAPI document declares for its key (the document's
//! row schemas are built from the same table, `catalog::docs_of`).

use jquants_proxy::catalog::{self, Envelope, Plan};
use jquants_proxy::jst::{self, Clock};
use jquants_proxy::sim::{self, SimConfig};
use serde_json::Value;

const KEY: &str = "contract-key";

/// Queries that reach every endpoint's value conventions: whole-market cross-sections (no-trade
/// days, revisions with blank figures, weekly rows with null values), histories and objects.
const QUERIES: &[&str] = &[
    "/equities/master?date=20261120",
    "/equities/bars/daily?date=20261120",
    "/equities/bars/daily?code=7203&from=20250101&to=20251231",
    "/equities/bars/daily/am?code=7203",
    "/equities/bars/minute?code=7203&date=20261120",
    "/equities/valuation?date=20261120",
    "/equities/investor-types?from=20250101&to=20261120",
    "/equities/earnings-calendar",
    "/fins/summary?date=20261113",
    "/fins/summary?code=7203",
    "/fins/details?code=7203",
    "/fins/dividend?code=7203",
    "/fins/earnings-date?date=20261020",
    "/markets/margin-interest?code=7203",
    "/markets/margin-interest?date=20261119",
    "/markets/margin-alert?date=20261120",
    "/markets/short-ratio?date=20261120",
    "/markets/short-sale-report?disc_date=20261120",
    "/markets/breakdown?date=20261120",
    "/markets/calendar?from=20260101&to=20261231",
    "/indices/bars/daily?date=20261120",
    "/indices/bars/daily/topix?from=20261101",
    "/derivatives/bars/daily/futures?date=20261119",
    "/derivatives/bars/daily/options?date=20261119",
    "/derivatives/bars/daily/options/225?date=20261119",
    "/bulk/list?endpoint=/equities/bars/daily",
    "/bulk/get?endpoint=/equities/bars/daily&date=202610",
    "/td/list?date=20261113",
    "/td/files?discNo=20261105000120",
    "/td/bulk",
    "/edinet/major-shareholders?code=7203",
    "/edinet/cross-shareholdings?code=7203",
    "/edinet/large-volume-shareholders?date=20260601",
    "/edinet/large-volume-shareholders?code=7203",
];

/// Every key of `obj` is declared for `path` and holds a value of its declared type.
fn check(path: &str, obj: &Value, wrong: &mut Vec<String>) {
    let docs = catalog::docs_of(path);
    for (k, v) in obj.as_object().expect("object") {
        match docs.iter().find(|f| f.name == k) {
            None => wrong.push(format!("{path}: undeclared key {k}")),
            Some(f) if !f.accepts(v) => {
                let msg = format!("{path}: {k} is not {:?}, e.g. {v}", f.ty);
                if !wrong
                    .iter()
                    .any(|w| w.split(", e.g.").next() == msg.split(", e.g.").next())
                {
                    wrong.push(msg);
                }
            }
            Some(_) => {}
        }
    }
}

#[tokio::test]
async fn every_value_the_simulator_sends_has_its_published_type() {
    let mut c = SimConfig::new(KEY);
    c.plan = Plan::Premium;
    c.issues = 300;
    c.clock = Clock::fixed(jst::at(
        chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        20,
        0,
    ));
    let h = sim::spawn(c, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let http = reqwest::Client::new();
    let mut wrong = Vec::new();
    let mut paths = std::collections::BTreeSet::new();
    for q in QUERIES {
        let path = q.split('?').next().unwrap();
        let ep = catalog::find(path).unwrap();
        let r = http
            .get(format!("{}{q}", h.base_url()))
            .header("x-api-key", KEY)
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            wrong.push(format!("{q}: status {}", r.status()));
            continue;
        }
        let v: Value = r.json().await.unwrap();
        match ep.envelope {
            Envelope::Data => {
                let rows = v["data"].as_array().expect("data");
                if rows.is_empty() {
                    wrong.push(format!("{q}: no rows to check"));
                }
                rows.iter().for_each(|row| check(path, row, &mut wrong));
            }
            Envelope::Object => check(path, &v, &mut wrong),
        }
        paths.insert(path);
    }
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "{} wrong values:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(40)].join("\n")
    );
    let served = catalog::ENDPOINTS
        .iter()
        .filter(|e| e.api_available)
        .count();
    assert_eq!(paths.len(), served, "every endpoint is sampled");
}
