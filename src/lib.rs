//! jquants-proxy: a caching mirror of the J-Quants API V2, the derived data it does not
//! provide, and an offline simulator of the upstream for demos and tests.
//!
//! Data flows one way: `routes` -> `cache` -> `upstream`. The endpoint `catalog` drives the
//! routes, the validation in `request`, the freshness rules in `cache` and the simulator.
//! The domain facts the code relies on (upstream protocol and update times, margin rules,
//! market cap, dividend chains) are written down with their sources in `docs/`.
//!
//! # Layout
//!
//! The binary (`main.rs`) parses the command line (`cli`) and hands over to:
//!
//! - `startup`: builds the application from a `config::ServeConfig`, wires upstream ->
//!   cache -> routes and the middleware stack, and binds (port 0 in tests).
//! - `routes`: the HTTP surface: the mirror (`/v2/*`), `derived` data (`/derived/*`), admin,
//!   operations and the OpenAPI document.
//! - `auth`: client keys (`x-api-key`, or a browser's Basic password), per-client quotas and
//!   the admin key; `routes::access` puts every route in a group guarded by it.
//! - `catalog`: every upstream endpoint as data (parameters, valid combinations, fields,
//!   plan, update schedule).
//! - `request`: validation and canonicalisation of a request against the catalog, shared
//!   with the simulator.
//! - `cache`: L1 in memory in front of `store` (L2 in Postgres), single flight, freshness
//!   rules, split invalidation and the proxy's own paging.
//! - `upstream`: the only code that talks to J-Quants: rate limiter, retries, page following.
//! - `envelope`: the upstream's `{"data": [...], "pagination_key"}` envelope, rows kept as
//!   raw JSON; `gzip`: compression as J-Quants does it.
//! - `derived`: pure functions computing market cap, margin ratios, dividend chains and the
//!   margin-account arithmetic from upstream rows.
//! - `sim`: the offline J-Quants simulator (synthetic market, protocol, limits, faults).
//! - Support: `config`, `error` (the one `ApiError`), `jst` (Japan time and the injectable
//!   clock), `signal` (graceful shutdown), `telemetry` (logs and metrics).

pub mod auth;
pub mod cache;
pub mod catalog;
pub mod chart;
pub mod cli;
pub mod config;
pub mod derived;
pub mod envelope;
pub mod error;
pub mod gzip;
pub mod jst;
pub mod request;
pub mod routes;
pub mod rows;
pub mod signal;
pub mod sim;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod upstream;
