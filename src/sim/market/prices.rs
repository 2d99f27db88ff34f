//! The price/volume model: a daily bar for any (issue, business day) in O(1), from smooth
//! noise in today's share units divided by the factors of the splits still to come, so raw
//! prices jump at ex-dates and adjusted ones do not. Invariants: prices sit on the TSE tick
//! grid, every bar's high/low bound its open/close and both sessions, and the morning
//! volume never exceeds the day's.

use chrono::{Duration, NaiveDate};

use super::issue::Issue;
use crate::sim::random::{day_num, h, noise, unit};

/// Multi-octave noise: long swings plus short wiggles.
fn fbm(key: u64, t: f64, amp: f64) -> f64 {
    const OCT: &[(f64, f64)] = &[
        (400.0, 0.55),
        (90.0, 0.25),
        (21.0, 0.12),
        (5.0, 0.06),
        (1.3, 0.03),
    ];
    OCT.iter()
        .enumerate()
        .map(|(k, (period, a))| a * amp * noise(key ^ ((k as u64 + 1) * 0x1000), t / period))
        .sum()
}

/// Raw (unadjusted) bar of one issue on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawBar {
    pub o: f64,
    pub h: f64,
    pub l: f64,
    pub c: f64,
    pub vo: f64,
    pub va: f64,
    /// Morning session close, afternoon open (for the Premium `M*`/`A*` keys).
    pub mc: f64,
    pub ao: f64,
    pub mh: f64,
    pub ml: f64,
    pub ah: f64,
    pub al: f64,
    pub mvo: f64,
    pub mva: f64,
    pub upper: bool,
    pub lower: bool,
}

/// TSE tick size for a price level (standard issues).
pub fn tick(p: f64) -> f64 {
    match p {
        p if p <= 3_000.0 => 1.0,
        p if p <= 5_000.0 => 5.0,
        p if p <= 30_000.0 => 10.0,
        p if p <= 50_000.0 => 50.0,
        p if p <= 300_000.0 => 100.0,
        p if p <= 500_000.0 => 500.0,
        _ => 1_000.0,
    }
}

fn round_tick(p: f64) -> f64 {
    let t = tick(p);
    ((p / t).round() * t).max(1.0)
}

impl Issue {
    /// Price level in today's share units at fractional day `t`.
    fn level(&self, t: f64) -> f64 {
        let amp = if self.code == "33500" { 0.6 } else { 1.0 };
        self.base_price * fbm(self.hash, t, amp).exp()
    }

    /// Whether `d` is a day without trades (the row exists with nulls).
    pub fn no_trade(&self, d: NaiveDate) -> bool {
        let vol_small = self.base_volume < 20_000.0;
        let p = if vol_small { 0.02 } else { 0.002 };
        unit(h(&[self.hash, 99, day_num(d) as u64])) < p
            && !self.splits.iter().any(|s| s.ex_date == d)
            && d != self.listed
            // The named issues are always heavily traded.
            && !matches!(self.code.as_str(), "72030" | "86970" | "33500")
    }

    /// The raw bar for a business day on which the issue is listed, `None` on a no-trade day.
    pub fn raw_bar(&self, d: NaiveDate) -> Option<RawBar> {
        if self.no_trade(d) {
            return None;
        }
        let t = day_num(d) as f64;
        let ff = self.future_factor(d);
        let r = |k: u64| unit(h(&[self.hash, k, t as u64]));
        let c = round_tick(self.level(t) / ff);
        let o = round_tick(self.level(t - 0.6) / ff * (1.0 + (r(1) - 0.5) * 0.01));
        let mc = round_tick((o + c) / 2.0 * (1.0 + (r(2) - 0.5) * 0.01));
        let ao = round_tick(mc * (1.0 + (r(3) - 0.5) * 0.004));
        let mh = round_tick(o.max(mc) * (1.0 + r(4) * 0.012));
        let ml = round_tick(o.min(mc) * (1.0 - r(5) * 0.012));
        let ah = round_tick(ao.max(c) * (1.0 + r(6) * 0.012));
        let al = round_tick(ao.min(c) * (1.0 - r(7) * 0.012));
        let (mh, ml) = (mh.max(o).max(mc), ml.min(o).min(mc));
        let (ah, al) = (ah.max(ao).max(c), al.min(ao).min(c));
        let hi = mh.max(ah);
        let lo = ml.min(al);
        let vol_level =
            self.base_volume * (0.8 * fbm(self.hash ^ 0xABCD, t, 1.0)).exp() * (0.6 + 0.8 * r(8));
        let vo = ((vol_level * ff / 100.0).round() * 100.0).max(100.0);
        let mvo = ((vo * (0.35 + 0.3 * r(9)) / 100.0).round() * 100.0).min(vo);
        let mva = (mvo * (o + mc + mh + ml) / 4.0).round();
        let ava = ((vo - mvo) * (ao + c + ah + al) / 4.0).round();
        let prev = self.level(t - 1.0) / self.future_factor(d - Duration::days(1));
        Some(RawBar {
            o,
            h: hi,
            l: lo,
            c,
            vo,
            va: mva + ava,
            mc,
            ao,
            mh,
            ml,
            ah,
            al,
            mvo,
            mva,
            upper: c >= prev * 1.15 && c == hi,
            lower: c <= prev * 0.85 && c == lo,
        })
    }
}
