//! The estimated 信用評価損益率 (unrealised gain or loss of outstanding long margin positions
//! over their cost) of one issue, from its long balance per application date: the method of
//! `docs/margin-pl-estimate.md`. It is an ESTIMATE: JPX publishes balances, not the prices at
//! which the positions were opened.
//!
//! Method, per application date `D`, over the window of application dates after `D - 6
//! months` (the standardized margin limit: older positions are closed):
//! - the first balance in the window is opened at that date's close;
//! - each later increase of the balance is a new position at that date's close;
//! - each decrease closes the oldest positions first;
//! - a split between two dates multiplies the held shares by `1/AdjFactor` and divides their
//!   entry price by it, so the cost is unchanged (balances are never adjusted upstream);
//! - `Cost` = sum of shares x entry price, `Value` = balance x close on `D`,
//!   `PlRate` = `Value / Cost - 1`.
//!
//! Invariants: a pure function of the window, so one date's estimate is the same whatever
//! range a caller asks for, and a market total is the sum of the issues' figures. Dates without
//! a close are skipped (never priced at 0).

use std::collections::VecDeque;

use chrono::{Months, NaiveDate};

/// How far back open positions are kept: the standardized margin limit (制度信用 6 months).
pub const HOLDING_LIMIT: Months = Months::new(6);

/// One application date of an issue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    pub date: NaiveDate,
    /// Long margin balance, shares (as published: not adjusted for splits).
    pub long_vol: f64,
    /// Raw close of the application date, yen; `None` when it had no trade.
    pub close: Option<f64>,
    /// Product of `1/AdjFactor` over the trading days after the previous period up to this
    /// one (1 = no split in between).
    pub split: f64,
}

/// The estimate on one date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Estimated cost of the long balance, yen.
    pub cost: f64,
    /// Long balance x close, yen.
    pub value: f64,
}

impl Estimate {
    /// Unrealised gain or loss, yen.
    pub fn pl(&self) -> f64 {
        self.value - self.cost
    }

    /// 評価損益率 as a fraction (-0.1 = -10 %); `None` when nothing is held.
    pub fn rate(&self) -> Option<f64> {
        (self.cost > 0.0).then(|| self.value / self.cost - 1.0)
    }
}

#[derive(Debug, Clone, Copy)]
struct Lot {
    shares: f64,
    price: f64,
}

/// The estimate for every period (in date order), each from its own six-month window.
/// `None` for a period without a close.
pub fn series(periods: &[Period]) -> Vec<Option<Estimate>> {
    let mut start = 0;
    periods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let cutoff = p.date.checked_sub_months(HOLDING_LIMIT).unwrap_or(p.date);
            while periods[start].date <= cutoff {
                start += 1;
            }
            estimate(&periods[start..=i])
        })
        .collect()
}

/// The estimate on `date` from `periods` (a code's periods in date order); `None` when there
/// is no period on `date` or it has no close.
pub fn estimate_on(periods: &[Period], date: NaiveDate) -> Option<Estimate> {
    let end = periods.partition_point(|p| p.date <= date);
    if end == 0 || periods[end - 1].date != date {
        return None;
    }
    let cutoff = date.checked_sub_months(HOLDING_LIMIT).unwrap_or(date);
    let start = periods.partition_point(|p| p.date <= cutoff);
    estimate(&periods[start..end])
}

/// The estimate on the last period of `window` (the window's periods, in date order).
pub fn estimate(window: &[Period]) -> Option<Estimate> {
    let last = window.last()?;
    let close = last.close?;
    let mut lots: VecDeque<Lot> = VecDeque::new();
    let mut held = 0.0_f64;
    for (i, p) in window.iter().enumerate() {
        if i > 0 && p.split != 1.0 && p.split > 0.0 {
            for l in &mut lots {
                l.shares *= p.split;
                l.price /= p.split;
            }
            held *= p.split;
        }
        let Some(c) = p.close else { continue };
        if p.long_vol > held {
            lots.push_back(Lot {
                shares: p.long_vol - held,
                price: c,
            });
        } else {
            close_oldest(&mut lots, held - p.long_vol);
        }
        held = p.long_vol;
    }
    Some(Estimate {
        cost: lots.iter().map(|l| l.shares * l.price).sum(),
        value: last.long_vol * close,
    })
}

fn close_oldest(lots: &mut VecDeque<Lot>, mut shares: f64) {
    while shares > 0.0 {
        let Some(front) = lots.front_mut() else {
            return;
        };
        if front.shares > shares {
            front.shares -= shares;
            return;
        }
        shares -= front.shares;
        lots.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::jst::parse_date(s).unwrap()
    }

    fn approx(a: Option<f64>, b: f64) {
        assert!(a.is_some_and(|a| (a - b).abs() < 1e-12), "{a:?} vs {b}");
    }

    fn p(date: &str, long_vol: f64, close: f64) -> Period {
        Period {
            date: d(date),
            long_vol,
            close: Some(close),
            split: 1.0,
        }
    }

    #[test]
    fn increases_are_bought_at_their_date_and_decreases_close_the_oldest() {
        // 100 @ 1,000; +50 @ 1,200; -120 closes 100 @ 1,000 and 20 @ 1,200; close 900.
        let w = [
            p("2026-01-09", 100.0, 1000.0),
            p("2026-01-16", 150.0, 1200.0),
            p("2026-01-23", 30.0, 900.0),
        ];
        let e = estimate(&w).unwrap();
        assert_eq!(e.cost, 30.0 * 1200.0);
        assert_eq!(e.value, 30.0 * 900.0);
        assert_eq!(e.pl(), -9_000.0);
        approx(e.rate(), -0.25);
        // By hand for the middle date: cost 100x1000 + 50x1200 = 160,000; value 150x1200.
        let e = estimate(&w[..2]).unwrap();
        assert_eq!((e.cost, e.value), (160_000.0, 180_000.0));
        approx(e.rate(), 0.125);
    }

    #[test]
    fn positions_older_than_six_months_are_closed() {
        let w = [
            p("2026-01-09", 100.0, 1000.0),
            p("2026-05-08", 200.0, 500.0),
            p("2026-07-10", 200.0, 600.0),
        ];
        let s = series(&w);
        assert_eq!(estimate_on(&w, d("2026-07-10")), s[2]);
        assert_eq!(estimate_on(&w, d("2026-07-11")), None);
        // On 05-08: 100 @ 1,000 + 100 @ 500 = 150,000; value 200 x 500 = 100,000.
        assert_eq!(s[1].unwrap().cost, 150_000.0);
        // On 07-10 the January date is outside the window: 200 opened @ 500 on 05-08.
        assert_eq!(s[2].unwrap().cost, 100_000.0);
        approx(s[2].unwrap().rate(), 0.2);
    }

    #[test]
    fn a_split_keeps_the_cost_and_does_not_open_new_positions() {
        // 1:2 split between the dates: the published balance doubles with it.
        let mut after = p("2026-02-06", 200.0, 450.0);
        after.split = 2.0;
        let e = estimate(&[p("2026-01-30", 100.0, 1000.0), after]).unwrap();
        assert_eq!(e.cost, 100_000.0);
        assert_eq!(e.value, 90_000.0);
        approx(e.rate(), -0.1);
    }

    #[test]
    fn no_close_gives_no_estimate_and_is_skipped_later() {
        let mut gap = p("2026-01-16", 300.0, 0.0);
        gap.close = None;
        let w = [
            p("2026-01-09", 100.0, 1000.0),
            gap,
            p("2026-01-23", 200.0, 800.0),
        ];
        let s = series(&w);
        assert_eq!(s[1], None);
        // The increase is priced at the next close: 100 @ 1,000 + 100 @ 800.
        assert_eq!(s[2].unwrap().cost, 180_000.0);
        // Nothing held: no rate.
        assert_eq!(
            estimate(&[p("2026-01-09", 0.0, 10.0)]).unwrap().rate(),
            None
        );
    }
}
