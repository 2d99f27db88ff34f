//! The body of `POST /derived/margin-account` as the client sends it. Nothing here is
//! checked beyond JSON types and field names: [`AccountInput::validate`] turns it into an
//! [`super::Account`].

use serde::Deserialize;
use utoipa::ToSchema;

fn default_haircut() -> f64 {
    0.8
}
fn default_maintenance_min() -> f64 {
    0.20
}
fn default_initial_rate() -> f64 {
    0.30
}
fn default_min_deposit() -> f64 {
    300_000.0
}

/// `POST /derived/margin-account` body.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AccountInput {
    /// Cash deposited as margin, yen. Default 0.
    #[serde(default)]
    pub cash: f64,
    /// Securities pledged as collateral (代用有価証券).
    #[serde(default)]
    pub pledged: Vec<PledgedInput>,
    /// Open margin positions (建玉).
    #[serde(default)]
    pub positions: Vec<PositionInput>,
    /// Collateral haircut (担保掛目) for pledged securities, fraction (0.8 = 80%). Default 0.8.
    #[serde(default = "default_haircut")]
    pub haircut: f64,
    /// Minimum maintenance ratio (最低保証金維持率), fraction. Default 0.20.
    #[serde(default = "default_maintenance_min")]
    pub maintenance_min: f64,
    /// Initial deposit rate for new positions, fraction of contract value. Default 0.30.
    #[serde(default = "default_initial_rate")]
    pub initial_rate: f64,
    /// Minimum deposit to open positions, yen. Default 300,000.
    #[serde(default = "default_min_deposit")]
    pub min_deposit: f64,
}

/// A pledged security: either `Code` + `Quantity` (valued at `Price`, or the latest close),
/// or a market `Value` in yen.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PledgedInput {
    /// Issue code; needed unless `Value` is given.
    #[serde(default)]
    pub code: Option<String>,
    /// Shares pledged.
    #[serde(default)]
    pub quantity: Option<f64>,
    /// Price per share to value it at, yen; default the latest close of `Code`.
    #[serde(default)]
    pub price: Option<f64>,
    /// Market value, yen, instead of `Code` x `Quantity` x price.
    #[serde(default)]
    pub value: Option<f64>,
    /// Haircut for this security, fraction; default the account's `Haircut`.
    #[serde(default)]
    pub haircut: Option<f64>,
}

/// An open margin position.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PositionInput {
    /// Issue code.
    pub code: String,
    /// `long` (信用買い) or `short` (信用売り).
    pub side: String,
    /// `standardized` (制度信用, default) or `negotiable` (一般信用).
    #[serde(default)]
    pub kind: Option<String>,
    /// Shares.
    pub quantity: f64,
    /// Entry price (約定単価), yen per share.
    pub entry_price: f64,
    /// Current price, yen per share; default the latest close of `Code`.
    #[serde(default)]
    pub price: Option<f64>,
    /// Issue under restriction (制限措置): doubles the maximum reverse daily fee.
    #[serde(default)]
    pub restricted: bool,
}
