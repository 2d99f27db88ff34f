//! The upstream calls the row store makes on its own, each because it saves more than it
//! costs: the whole trading calendar (one call, made when a request names a day the held
//! calendar does not know and that may be a holiday, answering every closed day after it), a
//! split code's
//! whole history (once per split), a range's one missing day (a cross-section that serves
//! every code). Each answer is stored like any other: rows first, then coverage.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use super::coverage::{OPEN_FROM, OPEN_TO, Slice};
use super::shape::{Planned, Row};
use super::{RowStore, pg};
use crate::auth::Client;
use crate::envelope::{self, Merged};
use crate::request::CanonicalRequest;
use crate::upstream::Upstream;

impl RowStore {
    /// Whether knowing the trading calendar could let the planner answer `req` locally: it
    /// names a day the held calendar does not cover and that may be a holiday
    /// ([`super::holidays`]), or a range with held cross-sections the calendar does not
    /// cover, for data that is empty on closed days.
    pub(super) fn calendar_may_help(&self, p: Planned, req: &CanonicalRequest) -> bool {
        if !p.shape.closed_days_empty {
            return false;
        }
        let h = self.held();
        if let Some(d) = req.date_param("date") {
            return h.calendar.is_closed(d).is_none() && super::holidays::maybe_closed(d);
        }
        let (Some(from), Some(to)) = (req.date_param("from"), req.date_param("to")) else {
            return false;
        };
        h.calendar.business_days(from, to).is_none()
            && h.tables
                .get(p.ep.path)
                .is_some_and(|t| t.cov.by_date.range(from..=to).next().is_some())
    }

    /// Fetches the upstream's whole trading calendar (one call, at most once a day) and
    /// stores it: one call that answers every closed day after it. True if it was fetched.
    pub(super) async fn learn_calendar(&self, now: DateTime<Utc>, upstream: &Upstream) -> bool {
        // Held across the fetch: concurrent requests wait for this one, then find it held.
        let mut tried = self.calendar_tried.lock().await;
        if tried.is_some_and(|t| now - t < chrono::Duration::days(1)) {
            return false;
        }
        *tried = Some(now);
        let Some(cal) = crate::catalog::find(pg::CALENDAR) else {
            return false;
        };
        let req = CanonicalRequest {
            endpoint: cal,
            params: Default::default(),
        };
        let merged = match upstream
            .fetch_pages(&req, &Client::proxy().queue_key())
            .await
        {
            Ok(pages) => envelope::merge(cal, pages).ok(),
            Err(e) => {
                tracing::warn!(error = %e, "trading calendar unavailable; asking for the day itself");
                return false;
            }
        };
        if let Some(m) = merged {
            self.absorb_calendar(&req, &m, now).await;
        }
        true
    }

    /// Re-fetches `code`'s whole history after a split and stores it.
    pub(super) async fn rewrite(
        &self,
        p: Planned,
        code: &str,
        upstream: &Upstream,
        now: DateTime<Utc>,
    ) -> Option<()> {
        let ep = p.ep;
        let mut params = std::collections::BTreeMap::new();
        params.insert("code", code.to_string());
        let req = CanonicalRequest {
            endpoint: ep,
            params,
        };
        self.fetch_and_absorb(&req, upstream, now).await?;
        self.rewrites.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            code,
            endpoint = ep.path,
            "split: whole history re-fetched once"
        );
        Some(())
    }

    /// One upstream answer the planner asked for, stored as its slice.
    pub(super) async fn fetch_and_absorb(
        &self,
        req: &CanonicalRequest,
        upstream: &Upstream,
        now: DateTime<Utc>,
    ) -> Option<()> {
        let pages = upstream
            .fetch_pages(req, &Client::proxy().queue_key())
            .await
            .ok()?;
        let merged = envelope::merge(req.endpoint, pages).ok()?;
        let fresh = crate::schedule::freshness::fresh_until(req, now, merged.is_empty());
        self.absorb(req, &merged, now, fresh).await;
        Some(())
    }

    pub(super) async fn absorb_calendar(
        &self,
        req: &CanonicalRequest,
        merged: &Merged,
        at: DateTime<Utc>,
    ) {
        if req.get("hol_div").is_some() {
            return; // a filtered calendar does not say which days are open
        }
        let mut rows = Vec::new();
        for raw in &merged.rows {
            #[derive(serde::Deserialize)]
            struct Day<'a> {
                #[serde(rename = "Date")]
                date: &'a str,
            }
            let Some(date) = serde_json::from_slice::<Day>(raw)
                .ok()
                .and_then(|d| crate::jst::parse_date(d.date))
            else {
                continue;
            };
            let Some(div) = pg::hol_div(raw) else {
                continue;
            };
            rows.push((date, div, raw.clone()));
        }
        if let Some(pool) = &self.pool {
            let stored: Vec<Row> = rows
                .iter()
                .map(|(d, _, raw)| Row {
                    date: *d,
                    code: String::new(),
                    id: format!("\"{d}\""),
                    raw: raw.clone(),
                })
                .collect();
            let s = Slice {
                from: OPEN_FROM,
                to: OPEN_TO,
                fetched_at: at,
                fresh_until: at,
            };
            pg::write_slice(pool, pg::CALENDAR, "", s, &stored).await;
        }
        let mut h = self.held();
        for (d, div, _) in rows {
            h.calendar.insert(d, div);
        }
    }
}
