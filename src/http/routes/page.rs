//! `GET /margin` (market-wide) and `GET /margin?code=` (one issue): the market-indicator page of `docs/margin.md`, rendered
//! on the server as one HTML document with the weekly (daily since 2026-09-25) table and the
//! SVG charts of `/charts/*`. No scripts, no stylesheet or font downloads: it works offline.
//!
//! Everything interpolated into the HTML is a validated code or segment, a date or a
//! formatted number, so nothing needs escaping beyond that.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::NaiveDate;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::http::params::{MARKET_DEFAULT_DAYS, parse_issue_range, parse_market};
use crate::http::render::{self, ErrorBody, MarginFigures};
use crate::http::state::AppState;
use crate::jst;
use crate::market::jobs::{JobProgress, Prepared};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(margin_page))
}

#[derive(Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Issue code (4 or 5 characters); without it the page shows the whole market.
    pub code: Option<String>,
    /// First application date; default 8 weeks (market) or a year (issue) before `to`.
    pub from: Option<String>,
    /// Last application date; default today (JST).
    pub to: Option<String>,
    /// Market page only: `Prime`, `Standard` or `Growth`.
    pub segment: Option<String>,
}

fn cell(v: Option<f64>, scale: f64, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.*}", digits, v / scale))
}

fn table(rows: &[MarginFigures]) -> String {
    let mut out = String::from(
        r#"<table id="margin-table"><thead><tr><th rowspan="2">申込日</th><th colspan="2">信用売残</th><th colspan="2">信用買残</th><th rowspan="2">信用評価<br>損益率 (推定)</th><th rowspan="2">信用倍率</th><th rowspan="2">信用買残比率</th></tr>
<tr><th>枚数 (万株)</th><th>金額 (億円)</th><th>枚数 (万株)</th><th>金額 (億円)</th></tr></thead><tbody>
"#,
    );
    // Newest first, as the market-indicator page's table.
    for r in rows.iter().rev() {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}%</td><td>{}</td><td>{}%</td></tr>\n",
            r.date,
            cell(r.shrt_vol, 1e4, 1),
            cell(r.shrt_val, 1e8, 1),
            cell(r.long_vol, 1e4, 1),
            cell(r.long_val, 1e8, 1),
            cell(r.pl_rate, 0.01, 2),
            cell(r.margin_ratio, 1.0, 2),
            cell(r.long_val_to_mkt_cap, 0.01, 3),
        ));
    }
    out.push_str("</tbody></table>");
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:.25em .6em;text-align:right}th{background:#f0f0f0;text-align:center}img{display:block;max-width:100%;margin:1em 0;border:1px solid #ddd}.note{color:#555;font-size:.9em}progress{width:32em;max-width:100%;height:1.4em}";

const DEMO_NOTE: &str =
    "<p class=\"note\"><strong>Demo mode:</strong> simulated data, not J-Quants data.</p>";

fn page(title: &str, charts: &[String], rows: &[MarginFigures], demo: bool) -> String {
    let imgs: String = charts
        .iter()
        .map(|src| format!("<img class=\"chart\" src=\"{src}\" alt=\"chart\">\n"))
        .collect();
    let demo_note = if demo { DEMO_NOTE } else { "" };
    format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>{demo_note}\n<p class=\"note\">単位: 枚数 万株, 金額 億円. 信用評価損益率は推定値 (estimate; see docs/margin-pl-estimate.md). 信用買残比率 = 買残金額 / 時価総額 (自己株式除く). Source: JPX via J-Quants.</p>\n<h2>チャート</h2>\n{imgs}<h2>信用取引残高の時系列</h2>\n{}\n</body></html>",
        table(rows)
    )
}

/// The market-indicator margin page (text/html): the table (申込日, 売残 and 買残 in 万株 and 億円,
/// estimated 評価損益率, 信用倍率, 信用買残比率) and the charts. Market-wide without `code`
/// (default: the last eight weeks), one issue with it (default: the last year).
#[utoipa::path(
    get, path = "/margin", tag = "charts", params(PageQuery, ("Prefer" = Option<String>, Header, description = "RFC 7240 preferences: `wait=N` waits up to N seconds for the answer (at most the request timeout less 10 s) before a 202; `respond-async` answers 202 at once unless the answer is ready within a second. Others are ignored.")),
    responses(
        (status = 200, description = "HTML page", content_type = "text/html", body = String),
        (status = 202, description = "The market page while its inputs are read by a background job: a progress bar with the estimate; the page reloads itself after `Retry-After` seconds and shows the table once the job completes.", content_type = "text/html", body = String, headers(("Retry-After" = u64, description = "Seconds until the page reloads itself (the job's estimate, 2 to 5)"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
    )
)]
async fn margin_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let raw = q.as_deref().unwrap_or("");
    let has_code = url::form_urlencoded::parse(raw.as_bytes()).any(|(k, _)| k == "code");
    let today = st.today();
    if has_code {
        let html = issue_page(&st, raw, today).await?;
        return Ok(st.own_response(HTML, html));
    }
    let m = parse_market(Some(raw), today, Some(MARKET_DEFAULT_DAYS))?;
    let title = format!("信用取引残高 {}", m.segment.unwrap_or("全市場"));
    let rows = match st.market_margin(&m, &headers).await? {
        (Prepared::Ready(rows), _) => rows,
        (Prepared::Pending { what, progress }, _) => {
            return Ok(progress_page(&st, &title, &what, &progress));
        }
    };
    let qs = range_query(m.from, m.to, m.segment.map(|s| ("segment", s)));
    let rows: Vec<MarginFigures> = rows.iter().map(MarginFigures::from).collect();
    let charts = [format!("/charts/margin/market.svg?{qs}")];
    Ok(st.own_response(HTML, page(&title, &charts, &rows, st.demo)))
}

const HTML: &str = "text/html; charset=utf-8";

/// Longest the progress page waits before it reloads itself. A reload only reads the job's
/// state, and the estimate can be long while files are fetched (it counts reads done): a
/// page that waited it out would show the table up to half a minute after it was ready.
const PAGE_RELOAD_MAX_SECS: u64 = 5;

/// The market page while its job runs (202): a progress bar with the estimate, reloading
/// itself (a refresh, not a script: the page works without scripts) until the table is ready.
fn progress_page(st: &AppState, title: &str, what: &str, p: &JobProgress) -> Response {
    let retry = render::retry_after(p).min(PAGE_RELOAD_MAX_SECS);
    let demo_note = if st.demo { DEMO_NOTE } else { "" };
    let html = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"{retry}\"><title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>{demo_note}\n<p id=\"preparing\">準備中 / Preparing {what}: {} of {} days read (from bulk files or one call each), about {} s left. This page reloads itself every {retry} s and shows the table when it is ready.</p>\n<progress id=\"progress\" value=\"{}\" max=\"{}\"></progress>\n</body></html>",
        p.done, p.total, p.eta_seconds, p.done, p.total
    );
    let mut resp = st.own_response(HTML, html);
    *resp.status_mut() = StatusCode::ACCEPTED;
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry));
    resp
}

fn range_query(from: NaiveDate, to: NaiveDate, extra: Option<(&str, &str)>) -> String {
    let mut q = format!("from={}&amp;to={}", jst::fmt_date(from), jst::fmt_date(to));
    if let Some((k, v)) = extra {
        q.push_str(&format!("&amp;{k}={v}"));
    }
    q
}

async fn issue_page(st: &AppState, raw: &str, today: NaiveDate) -> ApiResult<String> {
    let (range, from, to) = parse_issue_range(Some(raw), today)?;
    let rows = st.market.margin_rows(&range.code).await?;
    let rows = MarginFigures::of_issue(&rows, from, to);
    let qs = range_query(from, to, Some(("code", &range.code)));
    Ok(page(
        &format!("信用取引残高 {}", range.code),
        &[
            format!("/charts/margin.svg?{qs}"),
            format!("/charts/market-cap.svg?{qs}"),
        ],
        &rows,
        st.demo,
    ))
}
