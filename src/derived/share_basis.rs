//! Which day a filing's share counts (`ShOutFY`, `TrShFY`) describe: the rule of
//! `docs/share-counts.md`.
//!
//! Japanese filings restate their share counts when a split or consolidation takes effect
//! after the balance-sheet date but before the report is released (ASBJ Statement No. 2,
//! para. 30-2): the count then already includes every split up to the filing. That is the
//! default reading here ([`Basis::Restated`]). A filer that does not restate reports the count
//! on the period end ([`Basis::PeriodEnd`]); when a previous filing exists, the reading whose
//! count is closest to the previous count carried forward by the splits between them wins.
//!
//! Invariants: with no split between the period end and the filing both readings agree and
//! the answer is `Restated`; `PeriodEnd` is chosen only when it is strictly closer.

use serde::Serialize;
use utoipa::ToSchema;

/// The day a filing's share counts describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The counts already include every split whose ex-date is on or before the filing's
    /// effective day (the way Japanese filings state them); only later splits are applied.
    Restated,
    /// The counts are those of the period end (`CurPerEn`); splits after it are applied.
    PeriodEnd,
}

/// One filing's count on one day under both readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidates {
    /// `ShOutFY` read as restated, times the splits after the filing's effective day.
    pub restated: f64,
    /// `ShOutFY` read as a period-end count, times the splits after the period end; `None`
    /// when the filing has no period end.
    pub period_end: Option<f64>,
}

/// The reading to use for a filing, given the previous filing's count carried forward to the
/// same day (`None` when there is no previous filing).
pub fn choose(c: Candidates, previous_carried: Option<f64>) -> Basis {
    let (Some(prev), Some(period_end)) = (previous_carried.filter(|p| *p > 0.0), c.period_end)
    else {
        return Basis::Restated;
    };
    let distance = |n: f64| (n / prev).ln().abs();
    // Strictly closer, beyond float noise: equal readings (no split in between) stay restated.
    if distance(period_end) + 1e-9 < distance(c.restated) {
        Basis::PeriodEnd
    } else {
        Basis::Restated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings(restated: f64, period_end: Option<f64>) -> Candidates {
        Candidates {
            restated,
            period_end,
        }
    }

    #[test]
    fn restated_by_default_and_without_a_period_end() {
        let c = readings(2_000.0, Some(2_000.0 * 2.0));
        assert_eq!(choose(c, None), Basis::Restated);
        let c = readings(1_000.0, None);
        assert_eq!(choose(c, Some(2_000.0)), Basis::Restated);
    }

    #[test]
    fn the_reading_closest_to_the_carried_count_wins() {
        // 1,000 before a 1:2 split; carried forward 2,000.
        let restating = readings(2_010.0, Some(2_010.0 * 2.0));
        assert_eq!(choose(restating, Some(2_000.0)), Basis::Restated);
        let not_restating = readings(1_010.0, Some(1_010.0 * 2.0));
        assert_eq!(choose(not_restating, Some(2_000.0)), Basis::PeriodEnd);
        // 10:1 consolidation: carried 100; a filer that did not restate still says 1,000.
        let consolidation = readings(1_000.0, Some(1_000.0 * 0.1));
        assert_eq!(choose(consolidation, Some(100.0)), Basis::PeriodEnd);
    }

    #[test]
    fn no_split_since_the_period_end_is_a_tie_and_stays_restated() {
        let c = readings(5_000.0, Some(5_000.0 * 1.0));
        assert_eq!(choose(c, Some(1.0)), Basis::Restated);
    }
}
