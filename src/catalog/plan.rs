//! Subscription plans and the upstream's request budgets (docs/upstream.md, "Rate limits").
//!
//! Invariants: plans are ordered by what they include (`Free < Light < Standard <
//! Premium`), so "at least this plan" is a comparison; every upstream call draws from its
//! plan's per-minute limit, and `/fins/summary` and `/fins/details` also from the 60/min
//! statements cap.

/// Subscription plans, ordered by what they include.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Light,
    Standard,
    Premium,
}

impl Plan {
    /// Upstream requests per minute for the whole key.
    pub fn per_minute(self) -> u32 {
        match self {
            Plan::Free => 5,
            Plan::Light => 60,
            Plan::Standard => 120,
            Plan::Premium => 500,
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        match s.trim().to_ascii_lowercase().as_str() {
            "free" => Some(Plan::Free),
            "light" => Some(Plan::Light),
            "standard" => Some(Plan::Standard),
            "premium" => Some(Plan::Premium),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Light => "light",
            Plan::Standard => "standard",
            Plan::Premium => "premium",
        }
    }
}

impl std::str::FromStr for Plan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plan::parse(s).ok_or_else(|| format!("unknown plan {s:?} (free, light, standard, premium)"))
    }
}

/// `/fins/summary` and `/fins/details` have their own 60/min cap on every plan.
pub const FINS_PER_MINUTE: u32 = 60;

/// Which per-minute budget an upstream call draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateGroup {
    /// Only the plan's limit.
    Plan,
    /// The plan's limit and the 60/min statements cap.
    Statements,
}
