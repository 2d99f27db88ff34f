//! The endpoint catalog: every J-Quants V2 endpoint declared as data.
//!
//! One table drives the mirror's routes and OpenAPI paths, request validation and
//! canonicalisation (`crate::request`), the cache's freshness rules (by [`Dataset`]) and the
//! simulator. Parameters and valid combinations follow JPX's `endpoints.json` (vendored in
//! `jpx/`, checked by this module's tests); endpoints and parameters newer than that snapshot
//! are marked `newer` with their source.
//!
//! Layout: [`Plan`] and the request budgets in `plan`, what an entry declares in `endpoint`,
//! the table itself in `endpoints` (newer entries in `endpoints::newer`), response keys in
//! `field` / `fields`. The catalog is plain data: it imports nothing else of the crate.

mod endpoint;
mod endpoints;
pub mod field;
mod fields;
mod plan;

pub use endpoint::{Dataset, Endpoint, Envelope, Param, ParamKind};
pub use endpoints::ENDPOINTS;
pub use field::{Field, Ty};
pub use fields::{docs_of, fields_of};
pub use plan::{FINS_PER_MINUTE, Plan, RateGroup};

/// The endpoint served at `path` (without the `/v2` prefix).
pub fn find(path: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.path == path)
}

#[cfg(test)]
mod tests;
