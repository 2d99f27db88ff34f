//! Corporate disclosures: the statements datasets built on the documents
//! (`super::docs`: `statements`), dividend notices (`dividends`) and earnings schedules
//! (`earnings`). The three dataset modules read the documents and never each other; this
//! file only declares them and re-exports what the router and other families use.

mod dividends;
mod earnings;
mod statements;

pub use super::docs::{Doc, Kind, docs_for_year};
pub use dividends::dividend;
pub use earnings::{earnings_calendar, earnings_date};
pub use statements::{cursor_for, details, published_at, summary};
