//! The account report: pure arithmetic on a validated [`Account`] and the latest closes of
//! the codes it names. Yen amounts are rounded to the sen so binary-float noise never
//! reaches clients.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::account::{Account, Kind, Pledged, PledgedValue, Position, Rates, Side, positive};
use super::{canonical, max_reverse_fee_per_share};
use crate::derived::DerivedError;

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

/// Yen amounts to the sen, so binary-float noise (600000.0000000001) never reaches clients.
fn yen(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The price to value `code` at: the one given, else the latest close in `prices` (keyed by
/// canonical code, see [`Account::codes_needing_prices`]).
fn price_of(
    given: Option<f64>,
    prices: &HashMap<String, f64>,
    code: &str,
    field: String,
) -> Result<f64, DerivedError> {
    if let Some(p) = given {
        return Ok(p);
    }
    (prices.get(&canonical(code)).copied())
        .filter(|p| positive(*p))
        .ok_or_else(|| {
            DerivedError::new(
                field,
                format!("no latest close known for code {code}; give Price"),
            )
        })
}

impl Account {
    /// The report. `prices`: latest raw close by canonical code (yen), used where the input
    /// gave no `Price`; the only error is a code missing from it, naming the field.
    pub fn evaluate(&self, prices: &HashMap<String, f64>) -> Result<AccountReport, DerivedError> {
        let pledged = (self.pledged.iter().enumerate())
            .map(|(i, s)| s.report(prices, format!("Pledged[{i}].Price")))
            .collect::<Result<Vec<_>, _>>()?;
        let positions = (self.positions.iter().enumerate())
            .map(|(i, p)| p.report(prices, format!("Positions[{i}].Price"), &self.rates))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.totals(positions, pledged))
    }

    /// Sums the positions and pledged securities into the account figures.
    fn totals(&self, positions: Vec<PositionReport>, pledged: Vec<PledgedReport>) -> AccountReport {
        let r = &self.rates;
        let pledged_market_value = yen(pledged.iter().map(|s| s.market_value).sum());
        let pledged_collateral_value = yen(pledged.iter().map(|s| s.collateral_value).sum());
        let entry_value = yen(positions.iter().map(|p| p.entry_value).sum());
        let market_value = yen(positions.iter().map(|p| p.market_value).sum());
        let unrealised_gain = yen(positions.iter().map(|p| p.unrealised_pl.max(0.0)).sum());
        let unrealised_loss = yen(positions.iter().map(|p| (-p.unrealised_pl).max(0.0)).sum());
        let unrealised_net = yen(unrealised_gain - unrealised_loss);
        // Gains offset losses but never add to the deposit.
        let loss_deducted = (-unrealised_net).max(0.0);
        let deposit = yen(self.cash + pledged_collateral_value - loss_deducted);
        let has_positions = entry_value > 0.0;
        let maintenance_ratio = has_positions.then(|| deposit / entry_value);
        let margin_call = if has_positions {
            yen((r.maintenance_min * entry_value - deposit).max(0.0))
        } else {
            0.0
        };
        let initial_deposit_required = if has_positions {
            yen(r.min_deposit.max(r.initial_rate * entry_value))
        } else {
            0.0
        };
        AccountReport {
            positions,
            pledged,
            cash: self.cash,
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
            maintenance_min: r.maintenance_min,
            below_minimum: margin_call > 0.0,
            margin_call,
            margin_call_in_securities: yen(margin_call / r.haircut),
            initial_deposit_required,
            initial_deposit_in_securities: yen(initial_deposit_required / r.haircut),
            haircut: r.haircut,
            initial_rate: r.initial_rate,
            min_deposit: r.min_deposit,
        }
    }
}

impl Pledged {
    fn report(
        &self,
        prices: &HashMap<String, f64>,
        price_field: String,
    ) -> Result<PledgedReport, DerivedError> {
        let (code, quantity, price, value) = match &self.value {
            PledgedValue::Value {
                value,
                code,
                quantity,
                price,
            } => (code.clone(), *quantity, *price, *value),
            PledgedValue::Shares {
                code,
                quantity,
                price,
            } => {
                let price = price_of(*price, prices, code, price_field)?;
                (
                    Some(code.clone()),
                    Some(*quantity),
                    Some(price),
                    quantity * price,
                )
            }
        };
        Ok(PledgedReport {
            code,
            quantity,
            price,
            market_value: yen(value),
            haircut: self.haircut,
            collateral_value: yen(value * self.haircut),
        })
    }
}

impl Position {
    fn report(
        &self,
        prices: &HashMap<String, f64>,
        price_field: String,
        rates: &Rates,
    ) -> Result<PositionReport, DerivedError> {
        let price = price_of(self.price, prices, &self.code, price_field)?;
        let entry_value = self.quantity * self.entry_price;
        let pl = match self.side {
            Side::Long => (price - self.entry_price) * self.quantity,
            Side::Short => (self.entry_price - price) * self.quantity,
        };
        let fee = (self.side == Side::Short && self.kind == Kind::Standardized)
            .then(|| max_reverse_fee_per_share(price, self.restricted));
        Ok(PositionReport {
            code: self.code.clone(),
            side: self.side,
            kind: self.kind,
            quantity: self.quantity,
            entry_price: self.entry_price,
            price,
            entry_value: yen(entry_value),
            market_value: yen(self.quantity * price),
            unrealised_pl: yen(pl),
            initial_deposit: yen(rates.initial_rate * entry_value),
            initial_deposit_in_securities: yen(rates.initial_rate * entry_value / rates.haircut),
            maintenance_required: yen(rates.maintenance_min * entry_value),
            restricted: self.restricted,
            max_reverse_fee_per_share: fee,
            max_reverse_fee_per_day: fee.map(|f| yen(f * self.quantity)),
        })
    }
}
