//! SVG charts of the derived data (the market-indicator page of `docs/margin.md`): `/charts/margin.svg?code=` and
//! `/charts/margin/market.svg` (balances in yen, net balance, 信用倍率, 信用買残比率 with the
//! market cap, the estimated 評価損益率 with the -3.5 %, -10 % and -15 % lines) and
//! `/charts/market-cap.svg?code=` (daily market cap with split markers). The numbers are the
//! JSON routes' own rows; only units change (億円, 万株, %).

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::chart::{self, BLUE, GREEN, GREY, Level, Line, ORANGE, Panel, RED, day};
use crate::derived::market_cap::split_factor;
use crate::error::ApiResult;
use crate::http::params::{
    MARKET_DEFAULT_DAYS, MarketQuery, RangeQuery, parse_issue_range, parse_market,
};
use crate::http::render::{self, ErrorBody, MarginFigures, PendingBody};
use crate::http::state::AppState;
use crate::jst;
use crate::market::jobs::Prepared;

const WIDTH: u32 = 960;
const OKU: f64 = 1e8;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(margin_chart))
        .routes(routes!(market_margin_chart))
        .routes(routes!(market_cap_chart))
}

fn line(
    name: &str,
    color: chart::RGBColor,
    pts: &[MarginFigures],
    f: impl Fn(&MarginFigures) -> Option<f64>,
) -> Line {
    Line {
        name: name.into(),
        color,
        points: pts
            .iter()
            .filter_map(|p| Some((day(jst::parse_date(&p.date).unwrap_or_default()), f(p)?)))
            .collect(),
    }
}

/// The four panels of the market-indicator page.
pub fn margin_panels(pts: &[MarginFigures]) -> Vec<Panel> {
    let net = |p: &MarginFigures| Some((p.long_val? - p.shrt_val?) / OKU);
    let balances = Panel::new(
        "信用買残・信用売残 (金額) / long and short balances",
        "億円 (100 million yen)",
        vec![
            line("信用買残 long", RED, pts, |p| Some(p.long_val? / OKU)),
            line("信用売残 short", BLUE, pts, |p| Some(p.shrt_val? / OKU)),
            line("信用残 net = 買残 - 売残", GREY, pts, net),
        ],
    );
    let ratio = Panel::new(
        "信用倍率 / long-short ratio",
        "倍 (times)",
        vec![line("信用倍率", ORANGE, pts, |p| p.margin_ratio)],
    );
    let mut share = Panel::new(
        "信用買残比率 (買残金額 / 時価総額) / long value to market cap",
        "%",
        vec![line("信用買残比率", RED, pts, |p| {
            Some(p.long_val_to_mkt_cap? * 100.0)
        })],
    );
    share.right = Some((
        "時価総額 億円".into(),
        line("時価総額 market cap (right)", GREEN, pts, |p| {
            Some(p.mkt_cap? / OKU)
        }),
    ));
    let mut pl = Panel::new(
        "信用評価損益率 (推定) / estimated margin P/L ratio",
        "%",
        vec![line("評価損益率 (estimate)", BLUE, pts, |p| {
            Some(p.pl_rate? * 100.0)
        })],
    );
    for (y, color, name) in [
        (-3.5, RED, "-3.5 % 天井圏 top"),
        (-10.0, BLUE, "-10 % 追証 margin calls"),
        (-15.0, GREEN, "-15 % 底値圏 bottom"),
    ] {
        pl.levels.push(Level {
            name: name.into(),
            color,
            y,
        });
    }
    vec![balances, ratio, share, pl]
}

fn svg_response(st: &AppState, title: &str, panels: &[Panel]) -> ApiResult<Response> {
    render::svg_response(st, title, panels, WIDTH)
}

/// Margin chart of one issue (image/svg+xml): balances in 億円 (100 million yen), 信用倍率
/// (times), 信用買残比率 (%) with market cap (億円, right axis), estimated 評価損益率 (%) with
/// reference lines at -3.5 %, -10 % and -15 %. Default range: the last year.
#[utoipa::path(
    get, path = "/charts/margin.svg", tag = "charts", params(RangeQuery),
    responses(
        (status = 200, description = "SVG chart", content_type = "image/svg+xml", body = String),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
    )
)]
async fn margin_chart(State(st): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let (range, from, to) = parse_issue_range(q.as_deref(), st.today())?;
    let rows = st.market.margin_rows(&range.code).await?;
    let pts = MarginFigures::of_issue(&rows, from, to);
    let title = format!("{} 信用取引残高 / margin balances", range.code);
    svg_response(&st, &title, &margin_panels(&pts))
}

/// Market-wide margin chart (image/svg+xml), the panels of `/charts/margin.svg` from
/// `/derived/margin/market`. Default range: the last eight weeks.
#[utoipa::path(
    get, path = "/charts/margin/market.svg", tag = "charts",
    params(MarketQuery, ("Prefer" = Option<String>, Header, description = "RFC 7240 preferences: `wait=N` waits up to N seconds for the answer (at most the request timeout less 10 s) before a 202; `respond-async` answers 202 at once unless the answer is ready within a second. Others are ignored.")),
    responses(
        (status = 200, description = "SVG chart", content_type = "image/svg+xml", body = String),
        (status = 202, body = PendingBody, description = "Still being prepared by a background job shared by every client asking the same; the body says how far it is. Ask again after `Retry-After`.", headers(("Retry-After" = u64, description = "Seconds to wait before asking again (the job's estimate, 2 to 30)"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
    )
)]
async fn market_margin_chart(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let m = parse_market(q.as_deref(), st.today(), Some(MARKET_DEFAULT_DAYS))?;
    let rows = match st.market_margin(&m, &headers).await? {
        (Prepared::Ready(rows), _) => rows,
        (Prepared::Pending { what, progress }, _) => {
            return Ok(render::pending(&st, &what, progress));
        }
    };
    let pts: Vec<MarginFigures> = rows.iter().map(MarginFigures::from).collect();
    let title = format!(
        "{} 信用取引残高 / market margin balances",
        m.segment.unwrap_or("全市場 all issues")
    );
    svg_response(&st, &title, &margin_panels(&pts))
}

/// Daily market cap of one issue (image/svg+xml), 億円 (100 million yen), with dashed markers
/// on split and consolidation days. Default range: the last year.
#[utoipa::path(
    get, path = "/charts/market-cap.svg", tag = "charts", params(RangeQuery),
    responses(
        (status = 200, description = "SVG chart", content_type = "image/svg+xml", body = String),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
    )
)]
async fn market_cap_chart(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let (range, from, to) = parse_issue_range(q.as_deref(), st.today())?;
    let (caps, bars) = st.market.market_caps(&range.code).await?;
    let in_range = |d: NaiveDate| d >= from && d <= to;
    let cap_line =
        |name: &str, color, f: fn(&crate::derived::market_cap::MarketCapRow) -> Option<f64>| Line {
            name: name.into(),
            color,
            points: caps
                .iter()
                .filter_map(|r| {
                    let d = jst::parse_date(&r.date).filter(|d| in_range(*d))?;
                    Some((day(d), f(r)? / OKU))
                })
                .collect(),
        };
    let mut p = Panel::new(
        "時価総額 / market cap",
        "億円 (100 million yen)",
        vec![
            cap_line("時価総額 market cap", GREEN, |r| r.mkt_cap),
            cap_line("自己株式を除く ex-treasury", BLUE, |r| {
                r.mkt_cap_ex_tr
            }),
        ],
    );
    p.markers = bars
        .iter()
        .filter(|b| in_range(b.date) && split_factor(b).is_some())
        .map(|b| day(b.date))
        .collect();
    let title = format!("{} 時価総額 / market cap (dashed: splits)", range.code);
    svg_response(&st, &title, &[p])
}
