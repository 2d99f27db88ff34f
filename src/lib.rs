//! jquants-proxy: a caching mirror of the J-Quants API V2, the derived data it does not
//! provide, and an offline simulator of the upstream for demos and tests.
//!
//! # Layers
//!
//! Imports point down: a module uses its own layer (without cycles) and those below it,
//! never one above. `tests/api/layering.rs` reads this table and fails on any import
//! against it, and on any cycle among the modules at any depth.
//!
//! ```text
//! app:        cli startup config
//! http:       http telemetry
//! services:   market sync bulk
//! cache:      cache rows
//! upstream:   upstream store sim
//! pure:       derived chart
//! foundation: schedule request envelope catalog auth error jst gzip signal flat_json
//! ```
//!
//! - foundation: `catalog` (every upstream endpoint as data: parameters, combinations,
//!   fields, plan, dataset), `request` (validation, canonical form and the one admission
//!   rule), `envelope` (the upstream's `{"data", "pagination_key"}` with raw rows), `schedule`
//!   (update times, freshness, splits), `auth` (client keys and quotas), `error` (the one
//!   `ApiError`), `jst` (Japan time and the injectable clock), `gzip`, `signal`,
//!   `flat_json` (rows read member by member without a full JSON parse).
//! - pure: `derived` (market cap, margin ratios, dividend chains, margin-account arithmetic)
//!   and `chart` (SVG), functions of their inputs only.
//! - upstream: `upstream` (the only code that talks to J-Quants: rate limit, fair queue,
//!   retries, paging, replica coordination), `store` (Postgres: answers, leases, budget),
//!   `sim` (the offline simulator of the upstream).
//! - cache: `cache` (L1 in memory in front of the store, single flight, freshness, paging)
//!   and `rows` (the market row store and its planner).
//! - services: `market` (the market-data service: the derived routes' inputs, whole-market
//!   digests and their memos), `sync` (fills the row store ahead of demand) and `bulk` (bulk
//!   files for apps without egress, fetched once per version).
//! - http: `http` (routes as adapters, access groups, OpenAPI, the edge hit path) and
//!   `telemetry` (logs and metrics).
//! - app: `config` (composes each subsystem's settings), `startup` (builds the application;
//!   port 0 in tests), `cli` (the commands).
//!
//! The domain facts the code relies on (upstream protocol and update times, margin rules,
//! market cap, dividend chains) are written down with their sources in `docs/`.

pub mod auth;
pub mod bulk;
pub mod cache;
pub mod catalog;
pub mod chart;
pub mod cli;
pub mod config;
pub mod derived;
pub mod envelope;
pub mod error;
pub mod flat_json;
pub mod gzip;
pub mod http;
pub mod jst;
pub mod market;
pub mod request;
pub mod rows;
pub mod schedule;
pub mod signal;
pub mod sim;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod upstream;
