//! The route modules, one per group of endpoints. Each is an adapter: it parses the request
//! into a validated type (`crate::http::params`), calls a service (the cache, the market-data
//! service, the pure functions of `crate::derived`) and renders the answer
//! (`crate::http::render`). A route module never imports another one; what two of them share
//! lives in `crate::http` or below.

pub mod admin;
pub mod bulk;
pub mod charts;
pub mod derived;
pub mod margin_market;
pub mod mirror;
pub mod ops;
pub mod page;
