//! When one call for the upstream's trading calendar is worth making: the weekdays on which
//! the cash market *may* be closed, as month-day windows. Only that decision rests on this
//! table; whether a day is closed always comes from the held calendar (`coverage`), so a day
//! missing here costs one ordinary call, never a wrong answer.
//!
//! Invariant: every window holds each date a national holiday, its substitute day or a
//! citizens' holiday can fall on under the Act on National Holidays (国民の祝日に関する法律,
//! as amended through 2020: moving dates included), the exchange's year-end closure
//! (31 December - 3 January), and the one-off holidays of 2019-2021 (enthronement, Olympics).

use chrono::{Datelike, NaiveDate};

/// A (month, day).
type MonthDay = (u32, u32);

/// Inclusive (month, day) windows.
const MAYBE_CLOSED: &[(MonthDay, MonthDay)] = &[
    ((1, 1), (1, 3)),     // year-end closure, New Year's Day
    ((1, 8), (1, 14)),    // Coming of Age Day, 2nd Monday
    ((2, 11), (2, 12)),   // National Foundation Day (+ substitute)
    ((2, 23), (2, 24)),   // Emperor's Birthday since 2020 (+ substitute)
    ((3, 19), (3, 22)),   // Vernal Equinox Day (+ substitute)
    ((4, 29), (5, 6)),    // Showa Day, Golden Week, 2019's ten days (+ substitutes)
    ((7, 15), (7, 24)),   // Marine Day, 3rd Monday; 2020-2021 Olympic dates
    ((8, 9), (8, 12)),    // Mountain Day (+ substitute); 2020-2021 Olympic dates
    ((9, 15), (9, 24)),   // Respect for the Aged Day, Autumnal Equinox, citizens' holiday
    ((10, 8), (10, 14)),  // Sports Day, 2nd Monday
    ((10, 22), (10, 22)), // 2019 enthronement ceremony
    ((11, 3), (11, 4)),   // Culture Day (+ substitute)
    ((11, 23), (11, 24)), // Labour Thanksgiving Day (+ substitute)
    ((12, 23), (12, 24)), // Emperor's Birthday until 2018 (+ substitute)
    ((12, 31), (12, 31)), // year-end closure
];

/// Whether the cash market may be closed on `d` (a weekday the held calendar does not know).
pub fn maybe_closed(d: NaiveDate) -> bool {
    let md = (d.month(), d.day());
    MAYBE_CLOSED.iter().any(|(a, b)| *a <= md && md <= *b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holidays_fall_inside_the_windows_and_ordinary_days_outside() {
        // Checked against the simulator's holiday rules (test code only; production never
        // consults them).
        for y in 2016..=2027 {
            for h in crate::sim::calendar::holidays(y) {
                let weekend = h.weekday().number_from_monday() > 5;
                assert!(weekend || maybe_closed(h), "{h}");
            }
        }
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        for open in [d(2026, 11, 19), d(2025, 9, 26), d(2025, 3, 3)] {
            assert!(!maybe_closed(open), "{open}");
        }
    }
}
