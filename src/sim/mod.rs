//! Offline simulator of the J-Quants API V2, the upstream every other part of the project is
//! tested against. It serves every catalog endpoint at `/v2{path}` from a deterministic
//! synthetic market and reproduces the upstream's protocol (`docs/upstream.md`): key auth, plan
//! restrictions and history windows, parameter rules (`crate::request`, shared with the
//! proxy), byte-based pagination with query-bound keys, gzip on request, per-key rate limits
//! with lockout, and publication times driven by an injectable clock. Control endpoints for
//! tests live outside `/v2` (see `control`).
//!
//! Layout, lowest first; a module imports only modules listed before it:
//! - `random` (hashes and smooth noise), `calendar` (trading days), `csv` (CSV lines);
//! - `market` (issues, splits, price model), `datasets` (rows per endpoint, bulk files);
//! - `paging`, `limits`, `faults`, `stats` (protocol pieces), `config` (settings);
//! - `files` (the presigned-link file host: bulk files as gzip CSV);
//! - `state` (what the handlers share), `reply` (response shapes);
//! - `control` (the `/__sim` endpoints), `v2` (the API), `server` (spawn, handle, router).
//!
//! This file only declares the modules and re-exports the public surface.

pub mod calendar;
mod config;
mod control;
mod csv;
pub mod datasets;
pub mod faults;
mod files;
pub mod limits;
pub mod market;
pub mod paging;
pub mod random;
mod reply;
mod server;
mod state;
pub mod stats;
mod v2;

pub use config::{SimArgs, SimConfig};
pub use faults::Faults;
pub use market::{Issue, Market, Split};
pub use server::{SimHandle, run, spawn};
pub use stats::SimStats;
