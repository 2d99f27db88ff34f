//! Facts about the market's schedule that every layer above reads: when the upstream
//! publishes each dataset and so how long an answer stays fresh (`freshness`), and what a
//! split does to the adjusted histories published before it (`splits`).
//!
//! Invariants: pure functions of dates, the catalog's datasets and raw rows; nothing here
//! holds state or knows how answers are cached. The sources are in `docs/upstream.md`
//! ("Update times") and `docs/market-cap.md` (splits and `AdjFactor`).

pub mod freshness;
pub mod splits;
