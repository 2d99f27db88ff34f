//! Corporate disclosures: the documents themselves (`docs`), the statements datasets built
//! on them (`statements`), dividend notices (`dividends`) and earnings schedules
//! (`earnings`). The three dataset modules read `docs` and never each other; this file only
//! declares them and re-exports what the router and other families use.

mod dividends;
mod docs;
mod earnings;
mod statements;

pub use dividends::dividend;
pub use docs::{Doc, Kind, docs_for_year};
pub use earnings::{earnings_calendar, earnings_date};
pub use statements::{cursor_for, details, published_at, summary};
