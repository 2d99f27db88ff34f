//! The synthetic market: listed issues, their splits and a price/volume model that answers
//! any (code, day) in O(1) without generating whole histories, so start-up is instant and
//! memory stays small however many issues are simulated. Everything is a pure function of
//! the market's random seed (`SimConfig::seed`).
//!
//! Layout, each module importing only those listed before it: `issue` (the [`Issue`] and
//! [`Split`] records), `reference` (names from the vendored JPX reference data), `names`
//! (company names, and the real issues `docs/` cites), `splits` (the split schedule and the
//! adjustment factors it implies), `prices` (the daily bar model), `universe` (the
//! [`Market`]: which codes exist, built from all of the above).

mod issue;
mod names;
mod prices;
mod reference;
mod splits;
mod universe;

#[cfg(test)]
mod tests;

pub use issue::{Issue, Split};
pub use prices::{RawBar, tick};
pub use reference::{RefNames, SECTORS33, ref_names};
pub use universe::{Market, history_start};
