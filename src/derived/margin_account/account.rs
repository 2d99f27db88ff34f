//! A margin account after validation: every amount and rate in range, sides and kinds typed,
//! each pledged security either a yen value or shares of a named issue. Whatever fails is
//! reported as the first offending field, spelled as the client spelled it
//! (`Positions[1].Side`).

use serde::Serialize;
use utoipa::ToSchema;

use super::canonical;
use super::input::{AccountInput, PledgedInput, PositionInput};
use crate::derived::DerivedError;

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

/// The account-wide rates and minimums.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Haircut for pledged securities, in (0, 1].
    pub haircut: f64,
    /// Minimum maintenance ratio, in (0, 1].
    pub maintenance_min: f64,
    /// Initial deposit rate, in (0, 1].
    pub initial_rate: f64,
    /// Minimum deposit to open positions, yen, >= 0.
    pub min_deposit: f64,
}

/// A validated account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Cash deposited, yen, >= 0.
    pub cash: f64,
    pub pledged: Vec<Pledged>,
    pub positions: Vec<Position>,
    pub rates: Rates,
}

/// How a pledged security is valued.
#[derive(Debug, Clone, PartialEq)]
pub enum PledgedValue {
    /// A market value in yen (>= 0), given directly. `Code`, `Quantity` and `Price`, if the
    /// client sent them too, are only echoed in the report.
    Value {
        value: f64,
        code: Option<String>,
        quantity: Option<f64>,
        price: Option<f64>,
    },
    /// A positive number of shares of `code`, at `price` (positive) or, when `None`, at the
    /// latest close.
    Shares {
        code: String,
        quantity: f64,
        price: Option<f64>,
    },
}

/// A validated pledged security.
#[derive(Debug, Clone, PartialEq)]
pub struct Pledged {
    pub value: PledgedValue,
    /// Its own haircut, else the account's, in [0, 1].
    pub haircut: f64,
}

/// A validated open position.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// Issue code as given (not empty).
    pub code: String,
    pub side: Side,
    pub kind: Kind,
    /// Shares, > 0.
    pub quantity: f64,
    /// Yen per share, > 0.
    pub entry_price: f64,
    /// Current price, yen per share (> 0); `None`: the latest close.
    pub price: Option<f64>,
    pub restricted: bool,
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

pub(super) fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

fn non_negative(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

const YEN: &str = "must be a non-negative amount of yen";
const FRACTION: &str = "must be a fraction in (0, 1]";
const SHARES: &str = "must be a positive number of shares";
const PRICE: &str = "must be a positive price in yen";

impl AccountInput {
    /// The account this input describes, or the first field that is wrong: the account-wide
    /// figures, then each pledged security, then each position, in input order.
    pub fn validate(&self) -> Result<Account, DerivedError> {
        check(non_negative(self.cash), "Cash", YEN)?;
        check(fraction(self.haircut), "Haircut", FRACTION)?;
        check(fraction(self.maintenance_min), "MaintenanceMin", FRACTION)?;
        check(fraction(self.initial_rate), "InitialRate", FRACTION)?;
        check(non_negative(self.min_deposit), "MinDeposit", YEN)?;
        let pledged = (self.pledged.iter().enumerate())
            .map(|(i, s)| s.validate(i, self.haircut))
            .collect::<Result<_, _>>()?;
        let positions = (self.positions.iter().enumerate())
            .map(|(i, p)| p.validate(i))
            .collect::<Result<_, _>>()?;
        Ok(Account {
            cash: self.cash,
            pledged,
            positions,
            rates: Rates {
                haircut: self.haircut,
                maintenance_min: self.maintenance_min,
                initial_rate: self.initial_rate,
                min_deposit: self.min_deposit,
            },
        })
    }
}

/// A price the client gave must be positive; none means the latest close.
fn given_price(price: Option<f64>, field: String) -> Result<Option<f64>, DerivedError> {
    match price {
        Some(p) => check(positive(p), field, PRICE).map(|()| Some(p)),
        None => Ok(None),
    }
}

impl PledgedInput {
    fn validate(&self, i: usize, account_haircut: f64) -> Result<Pledged, DerivedError> {
        let f = |name: &str| format!("Pledged[{i}].{name}");
        let haircut = self.haircut.unwrap_or(account_haircut);
        check(
            haircut.is_finite() && (0.0..=1.0).contains(&haircut),
            f("Haircut"),
            "must be a fraction in [0, 1]",
        )?;
        let value = match self.value {
            Some(value) => {
                check(non_negative(value), f("Value"), YEN)?;
                PledgedValue::Value {
                    value,
                    code: self.code.clone(),
                    quantity: self.quantity,
                    price: self.price,
                }
            }
            None => {
                let either = "give Code and Quantity, or Value";
                let code = (self.code.clone())
                    .filter(|c| !c.trim().is_empty())
                    .ok_or_else(|| DerivedError::new(f("Code"), either))?;
                let quantity =
                    (self.quantity).ok_or_else(|| DerivedError::new(f("Quantity"), either))?;
                check(positive(quantity), f("Quantity"), SHARES)?;
                let price = given_price(self.price, f("Price"))?;
                PledgedValue::Shares {
                    code,
                    quantity,
                    price,
                }
            }
        };
        Ok(Pledged { value, haircut })
    }
}

impl PositionInput {
    fn validate(&self, i: usize) -> Result<Position, DerivedError> {
        let f = |name: &str| format!("Positions[{i}].{name}");
        check(!self.code.trim().is_empty(), f("Code"), "must not be empty")?;
        let side = match self.side.trim().to_ascii_lowercase().as_str() {
            "long" => Side::Long,
            "short" => Side::Short,
            _ => {
                let reason = format!("must be \"long\" or \"short\", got {:?}", self.side);
                return Err(DerivedError::new(f("Side"), reason));
            }
        };
        let kind = match self.kind.as_deref().map(|k| k.trim().to_ascii_lowercase()) {
            None => Kind::Standardized,
            Some(k) if k == "standardized" => Kind::Standardized,
            Some(k) if k == "negotiable" => Kind::Negotiable,
            Some(_) => {
                let got = self.kind.as_deref().unwrap_or_default();
                let reason = format!("must be \"standardized\" or \"negotiable\", got {got:?}");
                return Err(DerivedError::new(f("Kind"), reason));
            }
        };
        check(positive(self.quantity), f("Quantity"), SHARES)?;
        check(positive(self.entry_price), f("EntryPrice"), PRICE)?;
        Ok(Position {
            code: self.code.clone(),
            side,
            kind,
            quantity: self.quantity,
            entry_price: self.entry_price,
            price: given_price(self.price, f("Price"))?,
            restricted: self.restricted,
        })
    }
}

impl Account {
    /// Codes whose latest close [`Account::evaluate`] needs (no `Price` or `Value` given),
    /// canonical and without duplicates (`7203` and `72030` are one), for the caller to fetch
    /// first.
    pub fn codes_needing_prices(&self) -> Vec<String> {
        let positions = (self.positions.iter())
            .filter(|p| p.price.is_none())
            .map(|p| canonical(&p.code));
        let pledged = self.pledged.iter().filter_map(|s| match &s.value {
            PledgedValue::Shares {
                code, price: None, ..
            } => Some(canonical(code)),
            _ => None,
        });
        let mut codes: Vec<String> = positions.chain(pledged).collect();
        codes.sort();
        codes.dedup();
        codes
    }
}
