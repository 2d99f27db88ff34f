//! Row generation per endpoint: [`generate`] sends each validated request to the module of
//! its dataset family. Each generator walks `catalog::fields_of(path)` in order and asks for
//! a value per key, so every row carries exactly the upstream's keys in the upstream's order.
//!
//! Layout: `json` (row writing) and `ctx` (the request as generators see it) underlie every
//! family module; `bulk_files` (the bulk file model) underlies `ctx` and `bulk`; `docs` (the
//! disclosure documents) underlies `ctx`, `fins`, `tdnet` and `edinet`; `indices` (the TOPIX
//! level) is read by `derivatives`. No family module imports this file.

mod bars;
mod bulk;
mod bulk_files;
mod ctx;
mod derivatives;
mod derived;
mod docs;
mod edinet;
pub mod fins;
mod indices;
mod investors;
mod json;
mod margin;
mod reference;
mod short_selling;
mod tdnet;

pub use crate::request::history_window as window;
pub use bulk::LINK_SECS;
pub use bulk_files::{BulkFile, Correction, Corrections, Period, fmt_time, signature};
pub use ctx::{Ctx, published_day};
pub use docs::DocsMemo;
pub use json::{V, fmt_num_str, obj, push_num, push_str, push_val, row};

/// What a generator produces.
pub enum Output {
    Rows(Vec<String>),
    /// A single object body (`/bulk/get`, `/td/files`, `/td/bulk`).
    Object(String),
}

/// Generates the full (unpaged) answer for a validated request.
pub fn generate(ctx: &Ctx) -> Output {
    match ctx.endpoint().path {
        "/equities/bars/daily" => Output::Rows(bars::daily(ctx)),
        "/equities/bars/daily/am" => Output::Rows(bars::morning(ctx)),
        "/equities/bars/minute" => Output::Rows(bars::minute(ctx)),
        "/equities/valuation" => Output::Rows(derived::valuation(ctx)),
        "/markets/breakdown" => Output::Rows(derived::breakdown(ctx)),
        "/equities/master" => Output::Rows(reference::master(ctx)),
        "/markets/calendar" => Output::Rows(reference::calendar(ctx)),
        "/fins/summary" => Output::Rows(fins::summary(ctx)),
        "/fins/details" => Output::Rows(fins::details(ctx)),
        "/fins/dividend" => Output::Rows(fins::dividend(ctx)),
        "/fins/earnings-date" => Output::Rows(fins::earnings_date(ctx)),
        "/equities/earnings-calendar" => Output::Rows(fins::earnings_calendar(ctx)),
        "/markets/margin-interest" => Output::Rows(margin::interest(ctx)),
        "/markets/margin-alert" => Output::Rows(margin::alert(ctx)),
        "/markets/short-ratio" => Output::Rows(short_selling::short_ratio(ctx)),
        "/markets/short-sale-report" => Output::Rows(short_selling::short_sale_report(ctx)),
        "/equities/investor-types" => Output::Rows(investors::investor_types(ctx)),
        "/indices/bars/daily" => Output::Rows(indices::indices(ctx)),
        "/indices/bars/daily/topix" => Output::Rows(indices::topix(ctx)),
        "/derivatives/bars/daily/futures" => Output::Rows(derivatives::futures(ctx)),
        "/derivatives/bars/daily/options" => Output::Rows(derivatives::options(ctx, false)),
        "/derivatives/bars/daily/options/225" => Output::Rows(derivatives::options(ctx, true)),
        "/bulk/list" => Output::Rows(bulk::bulk_list(ctx)),
        "/bulk/get" => Output::Object(bulk::bulk_get(ctx)),
        "/td/list" => Output::Rows(tdnet::td_list(ctx)),
        "/td/files" => Output::Object(tdnet::td_files(ctx)),
        "/td/bulk" => Output::Object(tdnet::td_bulk(ctx)),
        "/edinet/major-shareholders"
        | "/edinet/cross-shareholdings"
        | "/edinet/large-volume-shareholders" => Output::Rows(edinet::edinet(ctx)),
        _ => Output::Rows(Vec::new()),
    }
}
