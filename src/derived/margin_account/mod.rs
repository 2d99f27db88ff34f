//! The arithmetic of the JSF margin-trading primer (`docs/margin.md`) as a calculator for an
//! app watching a margin account: collateral, unrealised P/L, deposit (委託保証金), maintenance
//! ratio (保証金維持率), margin call (追証), the deposit a new position needs, and the maximum
//! reverse daily fee (最高料率) on standardized shorts.
//!
//! Validate, then compute: the request body ([`AccountInput`]) is parsed into an [`Account`]
//! whose every amount and rate is in range and whose sides and kinds are typed; only then are
//! prices looked up ([`Account::codes_needing_prices`]) and the report computed
//! ([`Account::evaluate`]), which can fail only for a price the caller did not supply.
//!
//! Rules, as the primer states them:
//! - Pledged securities count at market value x haircut (担保掛目, default 80%).
//! - Deposit = cash + pledged collateral - net unrealised loss. Valuation losses may be offset
//!   by valuation gains, but the net never adds to the deposit (the primer's note 1: 評価損は
//!   評価益と相殺可能ですが、プラスにはなりません).
//! - Maintenance ratio = deposit / total position value at entry prices (建玉代金合計);
//!   below the minimum (default 20%) a margin call restores it to the minimum.
//! - Opening positions needs 30% of the contract value, at least 300,000 yen; in pledged
//!   securities that is the cash figure / haircut.
//! - 最高料率 per share from the 貸借値段 (the close): 1.0 yen up to 500 yen, +0.2 yen per
//!   further 100-yen band; doubled for issues under restriction (制限措置).

mod account;
mod input;
mod report;
#[cfg(test)]
mod tests;

pub use account::{Account, Kind, Pledged, PledgedValue, Position, Rates, Side};
pub use input::{AccountInput, PledgedInput, PositionInput};
pub use report::{AccountReport, PledgedReport, PositionReport};

/// Maximum reverse daily fee (最高料率) per share, yen, for a 貸借値段 (close) in yen, from the
/// primer's table for 100-share trading units: 1.0 yen up to 500 yen, then +0.2 yen for each
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
