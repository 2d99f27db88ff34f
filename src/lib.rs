//! jquants-proxy: a caching mirror of the J-Quants API V2, the derived data it does not
//! provide, and an offline simulator of the upstream for demos and tests.
//!
//! Data flows one way: `routes` -> `cache` -> `upstream`. The endpoint `catalog` drives the
//! routes, the validation in `request`, the freshness rules in `cache` and the simulator.

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
pub mod signal;
pub mod sim;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod upstream;
