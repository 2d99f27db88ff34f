//! The arithmetic of the JSF margin-trading primer (`docs/margin.md`) as a calculator for an app watching
//! a margin account: collateral, unrealised P/L, deposit (委託保証金), maintenance ratio
//! (保証金維持率), margin call (追証), the deposit a new position needs, and the maximum
//! reverse daily fee (最高料率) on standardized shorts.
//!
//! Rules, as the seed states them:
//! - Pledged securities count at market value x haircut (担保掛目, default 80%).
//! - Deposit = cash + pledged collateral - net unrealised loss. Valuation losses may be offset
//!   by valuation gains, but the net never adds to the deposit (seed note 1: 評価損は評価益と
//!   相殺可能ですが、プラスにはなりません).
//! - Maintenance ratio = deposit / total position value at entry prices (建玉代金合計);
//!   below the minimum (default 20%) a margin call restores it to the minimum.
//! - Opening positions needs 30% of the contract value, at least 300,000 yen; in pledged
//!   securities that is the cash figure / haircut.
//! - 最高料率 per share from the 貸借値段 (the close): 1.0 yen up to 500 yen, +0.2 yen per
//!   further 100-yen band; doubled for issues under restriction (制限措置).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::DerivedError;

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

/// Long or short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Long,
    Short,
}

/// Standardized (制度信用) or negotiable (一般信用) margin trading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Standardized,
    Negotiable,
}

/// One position of the report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PositionReport {
    /// Issue code.
    pub code: String,
    /// `long` or `short`.
    pub side: Side,
    /// `standardized` or `negotiable`.
    pub kind: Kind,
    /// Shares.
    pub quantity: f64,
    /// Entry price, yen per share.
    pub entry_price: f64,
    /// Price used for the valuation (given, else the latest close), yen per share.
    pub price: f64,
    /// Contract value at entry (建玉代金) = `Quantity` x `EntryPrice`, yen.
    pub entry_value: f64,
    /// Current valuation = `Quantity` x `Price`, yen.
    pub market_value: f64,
    /// Unrealised P/L, yen: long (`Price` - `EntryPrice`) x `Quantity`, short
    /// (`EntryPrice` - `Price`) x `Quantity`; negative is a loss.
    pub unrealised_pl: f64,
    /// Deposit this position needed when opened = `InitialRate` x `EntryValue`, yen (the
    /// account-wide 300,000-yen minimum is applied in the totals).
    pub initial_deposit: f64,
    /// The same in pledged securities at market value = `InitialDeposit` / `Haircut`, yen.
    pub initial_deposit_in_securities: f64,
    /// Deposit this position needs to stay at the minimum = `MaintenanceMin` x `EntryValue`, yen.
    pub maintenance_required: f64,
    /// Issue flagged as under restriction (制限措置).
    pub restricted: bool,
    /// Maximum reverse daily fee (最高料率), yen per share per day; only for standardized
    /// shorts (null otherwise), x2 when restricted.
    pub max_reverse_fee_per_share: Option<f64>,
    /// `MaxReverseFeePerShare` x `Quantity`, yen per day.
    pub max_reverse_fee_per_day: Option<f64>,
}

/// One pledged security of the report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PledgedReport {
    /// Issue code; null when only a value was given.
    pub code: Option<String>,
    /// Shares; null when only a value was given.
    pub quantity: Option<f64>,
    /// Price used, yen per share; null when only a value was given.
    pub price: Option<f64>,
    /// Market value, yen.
    pub market_value: f64,
    /// Haircut applied, fraction.
    pub haircut: f64,
    /// Collateral value = `MarketValue` x `Haircut`, yen.
    pub collateral_value: f64,
}

/// `POST /derived/margin-account` result.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AccountReport {
    /// Per position, in input order.
    pub positions: Vec<PositionReport>,
    /// Per pledged security, in input order.
    pub pledged: Vec<PledgedReport>,
    /// Cash deposited, yen.
    pub cash: f64,
    /// Market value of pledged securities, yen.
    pub pledged_market_value: f64,
    /// Collateral value of pledged securities (after haircuts), yen.
    pub pledged_collateral_value: f64,
    /// Total contract value at entry (建玉代金合計), yen.
    pub entry_value: f64,
    /// Total current valuation of the positions, yen.
    pub market_value: f64,
    /// Sum of unrealised gains, yen (>= 0).
    pub unrealised_gain: f64,
    /// Sum of unrealised losses, yen (>= 0).
    pub unrealised_loss: f64,
    /// Net unrealised P/L = `UnrealisedGain` - `UnrealisedLoss`, yen.
    pub unrealised_net: f64,
    /// Loss deducted from the deposit = max(0, -`UnrealisedNet`), yen (gains never add).
    pub loss_deducted: f64,
    /// Deposit (委託保証金) = `Cash` + `PledgedCollateralValue` - `LossDeducted`, yen.
    pub deposit: f64,
    /// Maintenance ratio (保証金維持率) = `Deposit` / `EntryValue`, fraction; null without
    /// positions.
    pub maintenance_ratio: Option<f64>,
    /// Minimum maintenance ratio used, fraction.
    pub maintenance_min: f64,
    /// Whether `MaintenanceRatio` is below `MaintenanceMin` (a margin call is due).
    pub below_minimum: bool,
    /// Margin call (追証) to restore the minimum = max(0, `MaintenanceMin` x `EntryValue` -
    /// `Deposit`), yen in cash.
    pub margin_call: f64,
    /// The margin call in pledged securities at market value = `MarginCall` / `Haircut`, yen.
    pub margin_call_in_securities: f64,
    /// Deposit required to open the current positions = max(`MinDeposit`, `InitialRate` x
    /// `EntryValue`), yen; 0 without positions.
    pub initial_deposit_required: f64,
    /// The same in pledged securities at market value = `InitialDepositRequired` / `Haircut`, yen.
    pub initial_deposit_in_securities: f64,
    /// Account haircut used, fraction.
    pub haircut: f64,
    /// Initial deposit rate used, fraction.
    pub initial_rate: f64,
    /// Minimum deposit used, yen.
    pub min_deposit: f64,
}

/// Maximum reverse daily fee (最高料率) per share, yen, for a 貸借値段 (close) in yen, from the
/// seed's table for 100-share trading units: 1.0 yen up to 500 yen, then +0.2 yen for each
/// further 100 yen or part of it (<= 600 -> 1.2, <= 1,000 -> 2.0, <= 1,100 -> 2.2). Doubled
/// for restricted issues.
pub fn max_reverse_fee_per_share(lending_price: f64, restricted: bool) -> f64 {
    let bands = if lending_price <= 500.0 {
        0.0
    } else {
        ((lending_price - 500.0) / 100.0).ceil()
    };
    // In tenths of a yen, so 2.2 comes out as 2.2 and not 2.2000000000000002.
    let tenths = 10.0 + 2.0 * bands;
    let fee = tenths / 10.0;
    if restricted { fee * 2.0 } else { fee }
}

/// A code as the upstream spells it (`7203` -> `72030`), or as given when it is not a code
/// (the caller rejects it).
fn canonical(code: &str) -> String {
    crate::request::canonical_code(code).unwrap_or_else(|| code.to_string())
}

/// Codes whose latest close `evaluate` needs (no `Price`/`Value` given), canonical and
/// without duplicates (`7203` and `72030` are one), for the caller to fetch first.
pub fn codes_needing_prices(input: &AccountInput) -> Vec<String> {
    let mut codes: Vec<String> = input
        .positions
        .iter()
        .filter(|p| p.price.is_none())
        .map(|p| canonical(&p.code))
        .chain(
            input
                .pledged
                .iter()
                .filter(|s| s.value.is_none() && s.price.is_none())
                .filter_map(|s| s.code.as_deref().map(canonical)),
        )
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// `prices` is keyed by canonical code (see [`codes_needing_prices`]).
fn lookup(prices: &HashMap<String, f64>, code: &str) -> Option<f64> {
    prices.get(&canonical(code)).copied()
}

/// Yen amounts to the sen, so binary-float noise (600000.0000000001) never reaches clients.
fn yen(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn check(ok: bool, field: impl Into<String>, reason: &str) -> Result<(), DerivedError> {
    if ok {
        Ok(())
    } else {
        Err(DerivedError::new(field, reason))
    }
}

fn fraction(x: f64) -> bool {
    x.is_finite() && x > 0.0 && x <= 1.0
}

fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// Evaluates the account. `prices`: latest raw close by code (yen), used where the input
/// gives no `Price`; a missing one is an error naming the field.
pub fn evaluate(
    input: &AccountInput,
    prices: &HashMap<String, f64>,
) -> Result<AccountReport, DerivedError> {
    check(
        input.cash.is_finite() && input.cash >= 0.0,
        "Cash",
        "must be a non-negative amount of yen",
    )?;
    check(
        fraction(input.haircut),
        "Haircut",
        "must be a fraction in (0, 1]",
    )?;
    check(
        fraction(input.maintenance_min),
        "MaintenanceMin",
        "must be a fraction in (0, 1]",
    )?;
    check(
        fraction(input.initial_rate),
        "InitialRate",
        "must be a fraction in (0, 1]",
    )?;
    check(
        input.min_deposit.is_finite() && input.min_deposit >= 0.0,
        "MinDeposit",
        "must be a non-negative amount of yen",
    )?;

    let mut pledged = Vec::with_capacity(input.pledged.len());
    for (i, s) in input.pledged.iter().enumerate() {
        let f = |name: &str| format!("Pledged[{i}].{name}");
        let haircut = s.haircut.unwrap_or(input.haircut);
        check(
            haircut.is_finite() && (0.0..=1.0).contains(&haircut),
            f("Haircut"),
            "must be a fraction in [0, 1]",
        )?;
        let (code, qty, price, value) = match s.value {
            Some(v) => {
                check(
                    v.is_finite() && v >= 0.0,
                    f("Value"),
                    "must be a non-negative amount of yen",
                )?;
                (s.code.clone(), s.quantity, s.price, v)
            }
            None => {
                let code = s
                    .code
                    .clone()
                    .filter(|c| !c.trim().is_empty())
                    .ok_or_else(|| {
                        DerivedError::new(f("Code"), "give Code and Quantity, or Value")
                    })?;
                let qty = s.quantity.ok_or_else(|| {
                    DerivedError::new(f("Quantity"), "give Code and Quantity, or Value")
                })?;
                check(
                    positive(qty),
                    f("Quantity"),
                    "must be a positive number of shares",
                )?;
                let price = price_of(s.price, prices, &code, f("Price"))?;
                (Some(code), Some(qty), Some(price), qty * price)
            }
        };
        pledged.push(PledgedReport {
            code,
            quantity: qty,
            price,
            market_value: yen(value),
            haircut,
            collateral_value: yen(value * haircut),
        });
    }

    let mut positions = Vec::with_capacity(input.positions.len());
    for (i, p) in input.positions.iter().enumerate() {
        let f = |name: &str| format!("Positions[{i}].{name}");
        check(!p.code.trim().is_empty(), f("Code"), "must not be empty")?;
        let side = match p.side.trim().to_ascii_lowercase().as_str() {
            "long" => Side::Long,
            "short" => Side::Short,
            _ => {
                return Err(DerivedError::new(
                    f("Side"),
                    format!("must be \"long\" or \"short\", got {:?}", p.side),
                ));
            }
        };
        let kind = match p.kind.as_deref().map(|k| k.trim().to_ascii_lowercase()) {
            None => Kind::Standardized,
            Some(k) if k == "standardized" => Kind::Standardized,
            Some(k) if k == "negotiable" => Kind::Negotiable,
            Some(_) => {
                return Err(DerivedError::new(
                    f("Kind"),
                    format!(
                        "must be \"standardized\" or \"negotiable\", got {:?}",
                        p.kind.as_deref().unwrap_or_default()
                    ),
                ));
            }
        };
        check(
            positive(p.quantity),
            f("Quantity"),
            "must be a positive number of shares",
        )?;
        check(
            positive(p.entry_price),
            f("EntryPrice"),
            "must be a positive price in yen",
        )?;
        let price = price_of(p.price, prices, &p.code, f("Price"))?;

        let entry_value = p.quantity * p.entry_price;
        let pl = match side {
            Side::Long => (price - p.entry_price) * p.quantity,
            Side::Short => (p.entry_price - price) * p.quantity,
        };
        let fee = (side == Side::Short && kind == Kind::Standardized)
            .then(|| max_reverse_fee_per_share(price, p.restricted));
        positions.push(PositionReport {
            code: p.code.clone(),
            side,
            kind,
            quantity: p.quantity,
            entry_price: p.entry_price,
            price,
            entry_value: yen(entry_value),
            market_value: yen(p.quantity * price),
            unrealised_pl: yen(pl),
            initial_deposit: yen(input.initial_rate * entry_value),
            initial_deposit_in_securities: yen(input.initial_rate * entry_value / input.haircut),
            maintenance_required: yen(input.maintenance_min * entry_value),
            restricted: p.restricted,
            max_reverse_fee_per_share: fee,
            max_reverse_fee_per_day: fee.map(|f| yen(f * p.quantity)),
        });
    }

    let pledged_market_value = yen(pledged.iter().map(|s| s.market_value).sum());
    let pledged_collateral_value = yen(pledged.iter().map(|s| s.collateral_value).sum());
    let entry_value = yen(positions.iter().map(|p| p.entry_value).sum());
    let market_value = yen(positions.iter().map(|p| p.market_value).sum());
    let unrealised_gain = yen(positions.iter().map(|p| p.unrealised_pl.max(0.0)).sum());
    let unrealised_loss = yen(positions.iter().map(|p| (-p.unrealised_pl).max(0.0)).sum());
    let unrealised_net = yen(unrealised_gain - unrealised_loss);
    let loss_deducted = (-unrealised_net).max(0.0);
    let deposit = yen(input.cash + pledged_collateral_value - loss_deducted);
    let has_positions = entry_value > 0.0;
    let maintenance_ratio = has_positions.then(|| deposit / entry_value);
    let margin_call = if has_positions {
        yen((input.maintenance_min * entry_value - deposit).max(0.0))
    } else {
        0.0
    };
    let initial_deposit_required = if has_positions {
        yen(input.min_deposit.max(input.initial_rate * entry_value))
    } else {
        0.0
    };
    Ok(AccountReport {
        positions,
        pledged,
        cash: input.cash,
        pledged_market_value,
        pledged_collateral_value,
        entry_value,
        market_value,
        unrealised_gain,
        unrealised_loss,
        unrealised_net,
        loss_deducted,
        deposit,
        maintenance_ratio,
        maintenance_min: input.maintenance_min,
        below_minimum: margin_call > 0.0,
        margin_call,
        margin_call_in_securities: yen(margin_call / input.haircut),
        initial_deposit_required,
        initial_deposit_in_securities: yen(initial_deposit_required / input.haircut),
        haircut: input.haircut,
        initial_rate: input.initial_rate,
        min_deposit: input.min_deposit,
    })
}

fn price_of(
    given: Option<f64>,
    prices: &HashMap<String, f64>,
    code: &str,
    field: String,
) -> Result<f64, DerivedError> {
    match given {
        Some(p) if positive(p) => Ok(p),
        Some(_) => Err(DerivedError::new(field, "must be a positive price in yen")),
        None => lookup(prices, code)
            .filter(|p| positive(*p))
            .ok_or_else(|| {
                DerivedError::new(
                    field,
                    format!("no latest close known for code {code}; give Price"),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> AccountInput {
        serde_json::from_value(v).unwrap()
    }

    fn prices(p: &[(&str, f64)]) -> HashMap<String, f64> {
        p.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// Seed 004: 2,000 shares of A at 1,000 yen bought on margin: contract 2,000,000 yen,
    /// deposit 600,000 yen (30%), or 750,000 yen of securities at an 80% haircut.
    #[test]
    fn seed_004_initial_deposit() {
        let a = input(json!({
            "Pledged": [{"Value": 750000}],
            "Positions": [{"Code": "A", "Side": "long", "Quantity": 2000, "EntryPrice": 1000}]
        }));
        let r = evaluate(&a, &prices(&[("A", 1000.0)])).unwrap();
        assert_eq!(r.entry_value, 2_000_000.0);
        assert_eq!(r.initial_deposit_required, 600_000.0);
        assert_eq!(r.initial_deposit_in_securities, 750_000.0);
        assert_eq!(r.positions[0].initial_deposit, 600_000.0);
        assert_eq!(r.positions[0].initial_deposit_in_securities, 750_000.0);
        assert_eq!(r.pledged_collateral_value, 600_000.0);
        assert_eq!(r.deposit, 600_000.0);
        assert_eq!(r.maintenance_ratio, Some(0.3));
        assert_eq!(r.margin_call, 0.0);
        assert!(!r.below_minimum);
        // Defaults are the seed's.
        assert_eq!(
            (r.haircut, r.maintenance_min, r.initial_rate, r.min_deposit),
            (0.8, 0.2, 0.3, 300_000.0)
        );
    }

    /// Seed 004 (2): the position falls to 850 yen: 300,000 yen valuation loss;
    /// 750,000 x 80% - 300,000 = 300,000; 300,000 / 2,000,000 = 15% < 20%: call 100,000.
    #[test]
    fn seed_004_price_fall_to_15_percent() {
        let a = input(json!({
            "Pledged": [{"Value": 750000}],
            "Positions": [{"Code": "A", "Side": "long", "Quantity": 2000, "EntryPrice": 1000}]
        }));
        let r = evaluate(&a, &prices(&[("A", 850.0)])).unwrap();
        assert_eq!(r.positions[0].unrealised_pl, -300_000.0);
        assert_eq!(r.unrealised_loss, 300_000.0);
        assert_eq!(r.loss_deducted, 300_000.0);
        assert_eq!(r.deposit, 300_000.0);
        assert_eq!(r.maintenance_ratio, Some(0.15));
        assert!(r.below_minimum);
        assert_eq!(r.margin_call, 100_000.0);
        assert_eq!(r.margin_call_in_securities, 125_000.0);
    }

    /// Seed 004 (1): the pledged securities fall from 750,000 to 450,000 yen:
    /// 450,000 x 80% = 360,000; 360,000 / 2,000,000 = 18% < 20%: call 40,000.
    #[test]
    fn seed_004_collateral_fall_to_18_percent() {
        let a = input(json!({
            "Pledged": [{"Code": "B", "Quantity": 1000}],
            "Positions": [{"Code": "A", "Side": "long", "Quantity": 2000, "EntryPrice": 1000}]
        }));
        let r = evaluate(&a, &prices(&[("A", 1000.0), ("B", 450.0)])).unwrap();
        assert_eq!(r.pledged[0].market_value, 450_000.0);
        assert_eq!(r.pledged_collateral_value, 360_000.0);
        assert_eq!(r.deposit, 360_000.0);
        assert_eq!(r.maintenance_ratio, Some(0.18));
        assert_eq!(r.margin_call, 40_000.0);
    }

    #[test]
    fn gains_offset_losses_but_never_add() {
        let a = input(json!({
            "Cash": 300000,
            "Positions": [
                {"Code": "A", "Side": "long", "Quantity": 1000, "EntryPrice": 1000, "Price": 1100},
                {"Code": "B", "Side": "short", "Quantity": 1000, "EntryPrice": 500, "Price": 550}
            ]
        }));
        let r = evaluate(&a, &HashMap::new()).unwrap();
        assert_eq!(r.positions[0].unrealised_pl, 100_000.0);
        assert_eq!(r.positions[1].unrealised_pl, -50_000.0);
        assert_eq!(r.unrealised_net, 50_000.0);
        assert_eq!(r.loss_deducted, 0.0);
        assert_eq!(r.deposit, 300_000.0, "a net gain does not add");
        let b = input(json!({
            "Cash": 300000,
            "Positions": [
                {"Code": "A", "Side": "long", "Quantity": 1000, "EntryPrice": 1000, "Price": 1010},
                {"Code": "B", "Side": "short", "Quantity": 1000, "EntryPrice": 500, "Price": 550}
            ]
        }));
        let r = evaluate(&b, &HashMap::new()).unwrap();
        assert_eq!(r.loss_deducted, 40_000.0);
        assert_eq!(r.deposit, 260_000.0);
        assert_eq!(r.entry_value, 1_500_000.0);
    }

    #[test]
    fn minimum_deposit_applies_to_small_accounts() {
        let a = input(json!({
            "Positions": [{"Code": "A", "Side": "long", "Quantity": 100, "EntryPrice": 1000, "Price": 1000}]
        }));
        let r = evaluate(&a, &HashMap::new()).unwrap();
        assert_eq!(r.positions[0].initial_deposit, 30_000.0);
        assert_eq!(r.initial_deposit_required, 300_000.0);
        assert_eq!(r.initial_deposit_in_securities, 375_000.0);
        // No cash at all: ratio 0, call to 20% of 100,000.
        assert_eq!(r.maintenance_ratio, Some(0.0));
        assert_eq!(r.margin_call, 20_000.0);
        // No positions: nothing required, ratio undefined.
        let r = evaluate(&input(json!({"Cash": 100})), &HashMap::new()).unwrap();
        assert_eq!(
            (
                r.maintenance_ratio,
                r.margin_call,
                r.initial_deposit_required
            ),
            (None, 0.0, 0.0)
        );
    }

    #[test]
    fn max_reverse_fee_table() {
        let cases = [
            (100.0, 1.0),
            (500.0, 1.0),
            (500.5, 1.2),
            (600.0, 1.2),
            (700.0, 1.4),
            (800.0, 1.6),
            (900.0, 1.8),
            (1_000.0, 2.0),
            (1_001.0, 2.2),
            (1_100.0, 2.2),
            (1_200.0, 2.4),
        ];
        for (p, fee) in cases {
            assert_eq!(max_reverse_fee_per_share(p, false), fee, "{p}");
            assert_eq!(
                max_reverse_fee_per_share(p, true),
                fee * 2.0,
                "{p} restricted"
            );
        }
    }

    #[test]
    fn fee_only_on_standardized_shorts() {
        let a = input(json!({
            "Cash": 1000000,
            "Positions": [
                {"Code": "A", "Side": "short", "Quantity": 2000, "EntryPrice": 1000, "Price": 1000},
                {"Code": "A", "Side": "short", "Kind": "standardized", "Quantity": 100, "EntryPrice": 1050, "Price": 1050, "Restricted": true},
                {"Code": "A", "Side": "short", "Kind": "negotiable", "Quantity": 100, "EntryPrice": 1000, "Price": 1000},
                {"Code": "A", "Side": "long", "Quantity": 100, "EntryPrice": 1000, "Price": 1000}
            ]
        }));
        let r = evaluate(&a, &HashMap::new()).unwrap();
        let p = &r.positions;
        assert_eq!(
            (p[0].max_reverse_fee_per_share, p[0].max_reverse_fee_per_day),
            (Some(2.0), Some(4_000.0))
        );
        assert_eq!(
            (p[1].max_reverse_fee_per_share, p[1].max_reverse_fee_per_day),
            (Some(4.4), Some(440.0))
        );
        assert_eq!(p[2].max_reverse_fee_per_share, None);
        assert_eq!(p[3].max_reverse_fee_per_day, None);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["Positions"][0]["Side"], json!("short"));
        assert_eq!(v["Positions"][2]["Kind"], json!("negotiable"));
        assert_eq!(v["Positions"][3]["MaxReverseFeePerShare"], json!(null));
    }

    #[test]
    fn invalid_input_says_what_is_wrong() {
        let pos = |p: serde_json::Value| input(json!({"Positions": [p]}));
        let err =
            |a: AccountInput| evaluate(&a, &prices(&[("A", 100.0), ("72030", 100.0)])).unwrap_err();
        let e = err(pos(
            json!({"Code": "A", "Side": "buy", "Quantity": 1, "EntryPrice": 1}),
        ));
        assert_eq!(e.field, "Positions[0].Side");
        assert!(e.to_string().contains("\"buy\""), "{e}");
        let e = err(pos(
            json!({"Code": "A", "Side": "long", "Quantity": -5, "EntryPrice": 1}),
        ));
        assert_eq!(e.field, "Positions[0].Quantity");
        let e = err(pos(
            json!({"Code": "A", "Side": "long", "Quantity": 5, "EntryPrice": 0}),
        ));
        assert_eq!(e.field, "Positions[0].EntryPrice");
        let e = err(pos(
            json!({"Code": "A", "Side": "long", "Kind": "x", "Quantity": 5, "EntryPrice": 1}),
        ));
        assert_eq!(e.field, "Positions[0].Kind");
        let e = err(pos(
            json!({"Code": "Z", "Side": "long", "Quantity": 5, "EntryPrice": 1}),
        ));
        assert_eq!(
            e.to_string(),
            "Positions[0].Price: no latest close known for code Z; give Price"
        );
        let e = err(input(json!({"Cash": -1})));
        assert_eq!(e.field, "Cash");
        let e = err(input(json!({"Haircut": 1.5})));
        assert_eq!(e.field, "Haircut");
        let e = err(input(json!({"Pledged": [{"Quantity": 5}]})));
        assert_eq!(e.field, "Pledged[0].Code");
        let e = err(input(json!({"Pledged": [{"Code": "A", "Quantity": 0}]})));
        assert_eq!(e.field, "Pledged[0].Quantity");
        // Typos in field names are refused by the body parser, not silently defaulted.
        assert!(serde_json::from_value::<AccountInput>(json!({"Csh": 1})).is_err());
        // A 4-character code finds the 5-character close; "Long" is case-insensitive.
        let ok = pos(json!({"Code": "7203", "Side": "Long", "Quantity": 1, "EntryPrice": 90}));
        assert_eq!(
            evaluate(&ok, &prices(&[("72030", 100.0)]))
                .unwrap()
                .positions[0]
                .unrealised_pl,
            10.0
        );
    }

    #[test]
    fn codes_to_fetch() {
        let a = input(json!({
            "Pledged": [{"Code": "C", "Quantity": 1}, {"Value": 5}, {"Code": "D", "Quantity": 1, "Price": 3}],
            "Positions": [
                {"Code": "B", "Side": "long", "Quantity": 1, "EntryPrice": 1},
                {"Code": "A", "Side": "long", "Quantity": 1, "EntryPrice": 1, "Price": 2},
                {"Code": "B", "Side": "short", "Quantity": 1, "EntryPrice": 1}
            ]
        }));
        assert_eq!(codes_needing_prices(&a), ["B", "C"]);
    }
}
