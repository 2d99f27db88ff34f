//! The Japanese trading calendar, computed rather than tabulated so the simulator covers any
//! year: national holidays (equinoxes by the standard astronomical approximation, "happy
//! Monday" holidays, substitute and citizens' holidays, the 2019-2021 special dates) and the
//! TSE year-end closure (Dec 31 - Jan 3). `/markets/calendar`, bar visibility, weekly
//! margin-interest rows and every "next business day" in the simulator come from here.
//! Queries inside 2015-2030 (every date the default clock and the tests use) are answered from
//! a precomputed table; dates outside it are classified from the same rules day by day.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};

/// First and last dates the precomputed business-day table covers.
const FIRST: (i32, u32, u32) = (2015, 1, 1);
const LAST: (i32, u32, u32) = (2030, 12, 31);

pub fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// `n`-th `wd` of the month (n from 1).
pub fn nth_weekday(y: i32, m: u32, wd: Weekday, n: u32) -> NaiveDate {
    let first = ymd(y, m, 1);
    let shift = (7 + wd.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    first + Duration::days((shift + 7 * (n - 1)) as i64)
}

/// Equinox days by the usual formula, valid 1980-2099 (the Cabinet Office's announcements
/// have matched it every year so far).
fn vernal_equinox(y: i32) -> u32 {
    let t = (y - 1980) as f64;
    (20.8431 + 0.242194 * t - ((y - 1980) / 4) as f64).floor() as u32
}

fn autumn_equinox(y: i32) -> u32 {
    let t = (y - 1980) as f64;
    (23.2488 + 0.242194 * t - ((y - 1980) / 4) as f64).floor() as u32
}

/// Holidays fixed by law for year `y`, before substitute and citizens' holidays.
fn base_holidays(y: i32) -> Vec<NaiveDate> {
    let mut h = vec![
        ymd(y, 1, 1),
        nth_weekday(y, 1, Weekday::Mon, 2),
        ymd(y, 2, 11),
        ymd(y, 3, vernal_equinox(y)),
        ymd(y, 4, 29),
        ymd(y, 5, 3),
        ymd(y, 5, 4),
        ymd(y, 5, 5),
        nth_weekday(y, 9, Weekday::Mon, 3),
        ymd(y, 9, autumn_equinox(y)),
        ymd(y, 11, 3),
        ymd(y, 11, 23),
    ];
    if y >= 2020 {
        h.push(ymd(y, 2, 23)); // Emperor's birthday since the 2019 succession
    } else if y <= 2018 {
        h.push(ymd(y, 12, 23));
    }
    // Marine, Mountain and Sports days moved around the Tokyo Olympics.
    match y {
        2020 => h.extend([ymd(2020, 7, 23), ymd(2020, 7, 24), ymd(2020, 8, 10)]),
        2021 => h.extend([ymd(2021, 7, 22), ymd(2021, 7, 23), ymd(2021, 8, 8)]),
        _ => {
            h.push(nth_weekday(y, 7, Weekday::Mon, 3));
            if y >= 2016 {
                h.push(ymd(y, 8, 11));
            }
            h.push(nth_weekday(y, 10, Weekday::Mon, 2));
        }
    }
    if y == 2019 {
        // Enthronement: May 1 and Oct 22 by special law; Apr 30 and May 2 are the
        // citizens' holidays they create (computed below).
        h.extend([ymd(2019, 5, 1), ymd(2019, 10, 22)]);
    }
    h.sort();
    h.dedup();
    h
}

/// All national holidays of year `y` (incl. substitute and citizens' holidays).
pub fn holidays(y: i32) -> Vec<NaiveDate> {
    let base = base_holidays(y);
    let mut all = base.clone();
    // Substitute holiday: a holiday on Sunday moves to the next day that is not a holiday.
    for d in &base {
        if d.weekday() == Weekday::Sun {
            let mut s = *d + Duration::days(1);
            while all.contains(&s) {
                s += Duration::days(1);
            }
            all.push(s);
        }
    }
    // Citizens' holiday: a weekday sandwiched between two holidays.
    for d in &base {
        let mid = *d + Duration::days(1);
        let next = *d + Duration::days(2);
        if base.contains(&next) && !all.contains(&mid) && mid.weekday() != Weekday::Sun {
            all.push(mid);
        }
    }
    all.sort();
    all.dedup();
    all
}

struct Table {
    first: NaiveDate,
    /// Per day from `first`: 0 non-business, 1 business, 3 non-business with holiday trading.
    div: Vec<u8>,
    /// Business days in order, for index arithmetic.
    business: Vec<NaiveDate>,
}

/// JPX started holiday trading of derivatives on 2022-09-23.
fn holiday_trading_from() -> NaiveDate {
    ymd(2022, 9, 23)
}

/// `HolDiv` of `d` given whether it is a national holiday.
fn classify(d: NaiveDate, holiday: bool) -> u8 {
    let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    let closure = (d.month() == 12 && d.day() == 31) || (d.month() == 1 && d.day() <= 3);
    if weekend || closure {
        0
    } else if holiday {
        if d >= holiday_trading_from() { 3 } else { 0 }
    } else {
        1
    }
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let first = ymd(FIRST.0, FIRST.1, FIRST.2);
        let last = ymd(LAST.0, LAST.1, LAST.2);
        let mut hol = HashSet::new();
        for y in FIRST.0..=LAST.0 {
            hol.extend(holidays(y));
        }
        let mut div = Vec::new();
        let mut business = Vec::new();
        let mut d = first;
        while d <= last {
            let v = classify(d, hol.contains(&d));
            if v == 1 {
                business.push(d);
            }
            div.push(v);
            d += Duration::days(1);
        }
        Table {
            first,
            div,
            business,
        }
    })
}

/// The calendar's `HolDiv`: 0 non-business, 1 business, 3 holiday with derivatives trading.
/// (2, a half-day session, has not occurred since 2012.)
pub fn hol_div(d: NaiveDate) -> u8 {
    let t = table();
    let i = (d - t.first).num_days();
    match usize::try_from(i).ok().and_then(|i| t.div.get(i)) {
        Some(v) => *v,
        // Outside the table: the same rules, with that year's holidays computed now.
        None => classify(d, holidays(d.year()).contains(&d)),
    }
}

pub fn is_business_day(d: NaiveDate) -> bool {
    hol_div(d) == 1
}

/// Business days in `[from, to]`, in order. Borrowed from the table when the range lies
/// inside it; otherwise the days are walked one by one (rare, so not cached).
pub fn business_days(from: NaiveDate, to: NaiveDate) -> Cow<'static, [NaiveDate]> {
    let t = table();
    let (first, last) = (t.first, t.first + Duration::days(t.div.len() as i64 - 1));
    if from >= first && to <= last {
        let b = &t.business;
        let lo = b.partition_point(|d| *d < from);
        let hi = b.partition_point(|d| *d <= to);
        return Cow::Borrowed(if lo >= hi { &[] } else { &b[lo..hi] });
    }
    let mut out = Vec::new();
    let mut year = None;
    let mut hol = Vec::new();
    let mut d = from;
    while d <= to {
        if year != Some(d.year()) {
            year = Some(d.year());
            hol = holidays(d.year());
        }
        if classify(d, hol.contains(&d)) == 1 {
            out.push(d);
        }
        d += Duration::days(1);
    }
    Cow::Owned(out)
}

/// The business days of each Monday-to-Sunday week, from the week holding `from` through
/// the one holding `to`, in order (a week without business days gives an empty slice).
pub fn business_weeks(
    from: NaiveDate,
    to: NaiveDate,
) -> impl Iterator<Item = Cow<'static, [NaiveDate]>> {
    let first = from - Duration::days(from.weekday().num_days_from_monday() as i64);
    std::iter::successors(Some(first), |monday| Some(*monday + Duration::days(7)))
        .take_while(move |monday| *monday <= to)
        .map(|monday| business_days(monday, monday + Duration::days(6)))
}

/// The first business day strictly after `d`.
pub fn next_business_day(d: NaiveDate) -> NaiveDate {
    let mut x = d + Duration::days(1);
    while !is_business_day(x) {
        x += Duration::days(1);
    }
    x
}

/// The last business day strictly before `d`.
pub fn prev_business_day(d: NaiveDate) -> NaiveDate {
    let mut x = d - Duration::days(1);
    while !is_business_day(x) {
        x -= Duration::days(1);
    }
    x
}

/// `d` itself if it is a business day, else the next one.
pub fn business_day_on_or_after(d: NaiveDate) -> NaiveDate {
    if is_business_day(d) {
        d
    } else {
        next_business_day(d)
    }
}

/// The `n`-th business day after `d` (n >= 1).
pub fn add_business_days(d: NaiveDate, n: u32) -> NaiveDate {
    (0..n).fold(d, |x, _| next_business_day(x))
}

/// First day of the month `n` months after `d`'s month (`n` may be negative): the one
/// month-stepping helper of the simulator.
pub fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    let first = d.with_day(1).expect("every month has a day 1");
    let step = Months::new(n.unsigned_abs());
    if n >= 0 { first + step } else { first - step }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `holidays(year)`, after checking it holds every one of `days` (month, day) of `year`.
    fn holidays_including(year: i32, days: &[(u32, u32)]) -> Vec<NaiveDate> {
        let h = holidays(year);
        let days: Vec<NaiveDate> = days.iter().map(|&(m, d)| ymd(year, m, d)).collect();
        for d in &days {
            assert!(h.contains(d), "{d} missing");
        }
        h
    }

    #[test]
    fn known_holidays_2025_2026() {
        let h25 = holidays_including(
            2025,
            &[
                (1, 1),
                (1, 13),
                (2, 11),
                (2, 24), // substitute for Sunday 2/23
                (3, 20),
                (4, 29),
                (5, 6), // 5/4 is a Sunday holiday and 5/5 a holiday too
                (7, 21),
                (8, 11),
                (9, 15),
                (9, 23),
                (10, 13),
                (11, 3),
                (11, 24), // substitute for Sunday 11/23
            ],
        );
        assert_eq!(h25.len(), 19);
        holidays_including(
            2026,
            &[
                (3, 20),
                (5, 6), // substitute for Sunday 5/3
                (9, 21),
                (9, 22), // citizens' holiday
                (9, 23),
            ],
        );
        assert!(!is_business_day(ymd(2026, 9, 22)));
        assert_eq!(hol_div(ymd(2026, 9, 22)), 3);
    }

    #[test]
    fn special_years_and_closures() {
        let h19 = holidays_including(2019, &[(4, 30), (5, 1), (5, 2), (5, 6), (10, 22)]);
        assert!(!h19.contains(&ymd(2019, 12, 23)));
        assert!(holidays(2020).contains(&ymd(2020, 7, 24)));
        assert!(!holidays(2020).contains(&ymd(2020, 10, 12)));
        assert!(holidays(2021).contains(&ymd(2021, 8, 9))); // substitute for Sunday 8/8
        assert!(!is_business_day(ymd(2024, 12, 31)));
        assert!(!is_business_day(ymd(2025, 1, 3)));
        assert!(is_business_day(ymd(2025, 1, 6)));
        assert_eq!(hol_div(ymd(2025, 1, 2)), 0);
        assert_eq!(hol_div(ymd(2021, 3, 20)), 0); // Saturday equinox
        assert_eq!(hol_div(ymd(2021, 11, 23)), 0); // before holiday trading
        assert_eq!(hol_div(ymd(2023, 11, 23)), 3);
        assert_eq!(next_business_day(ymd(2025, 3, 19)), ymd(2025, 3, 21));
        assert_eq!(prev_business_day(ymd(2025, 3, 31)), ymd(2025, 3, 28));
        assert_eq!(
            business_days(ymd(2025, 3, 17), ymd(2025, 3, 23)).len(),
            4 // Thursday the 20th is the equinox
        );
    }

    #[test]
    fn dates_outside_the_table_use_the_same_rules() {
        // 2032: Jan 1-3 closure, Coming-of-Age Day Jan 12, National Foundation Day Wed Feb 11.
        let days = business_days(ymd(2032, 1, 1), ymd(2032, 2, 29));
        assert_eq!(days.first(), Some(&ymd(2032, 1, 5)));
        assert!(!days.contains(&ymd(2032, 1, 12)));
        assert!(!days.contains(&ymd(2032, 2, 11)));
        assert!(days.contains(&ymd(2032, 2, 12)));
        // 22 weekdays in January minus the closure (Thu 1, Fri 2) and Jan 12; 20 in February
        // minus Feb 11 and the Emperor's birthday on Monday Feb 23.
        assert_eq!(days.len(), 19 + 18);
        assert_eq!(hol_div(ymd(2032, 2, 11)), 3);
        assert!(!is_business_day(ymd(2032, 1, 12)));
        assert_eq!(next_business_day(ymd(2032, 2, 10)), ymd(2032, 2, 12));
        // A range straddling the table's end agrees with the table inside it.
        let across = business_days(ymd(2030, 12, 20), ymd(2031, 1, 10));
        let inside = business_days(ymd(2030, 12, 20), ymd(2030, 12, 31));
        assert_eq!(&across[..inside.len()], &inside[..]);
        assert_eq!(across[inside.len()], ymd(2031, 1, 6));
    }
}
