//! The one integration-test binary: the real application on port 0 in front of the
//! in-process J-Quants simulator (see `helpers::spawn_app`), and the simulator itself.

mod access;
mod bulk;
mod bulk_history;
mod bulk_sync;
mod cache;
mod contract;
mod derived;
mod derived_jobs;
mod derived_market;
mod helpers;
mod hit;
mod layering;
mod limits;
mod mirror;
mod ops;
mod readme;
mod rows;
mod rows_datasets;
mod sharing;
mod sim;
