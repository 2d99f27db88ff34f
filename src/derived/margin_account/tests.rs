//! The margin-account rules on the JSF primer's worked examples (`docs/margin.md`) and on
//! the edge cases the primer states in words.

use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::derived::DerivedError;

/// Validate, then compute, as the route does.
fn evaluate(
    input: &AccountInput,
    prices: &HashMap<String, f64>,
) -> Result<AccountReport, DerivedError> {
    input.validate()?.evaluate(prices)
}

fn codes_needing_prices(input: &AccountInput) -> Vec<String> {
    input.validate().unwrap().codes_needing_prices()
}

fn input(v: serde_json::Value) -> AccountInput {
    serde_json::from_value(v).unwrap()
}

fn prices(p: &[(&str, f64)]) -> HashMap<String, f64> {
    p.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The primer's account: 2,000 shares of A bought on margin at 1,000 yen, the deposit in
/// `pledged` securities, priced at A's latest close.
fn jsf_buy(pledged: serde_json::Value) -> AccountInput {
    input(json!({
        "Pledged": pledged,
        "Positions": [{"Code": "A", "Side": "long", "Quantity": 2000, "EntryPrice": 1000}]
    }))
}

/// JSF primer: 2,000 shares of A at 1,000 yen bought on margin: contract 2,000,000 yen,
/// deposit 600,000 yen (30%), or 750,000 yen of securities at an 80% haircut.
#[test]
fn jsf_primer_initial_deposit() {
    let a = jsf_buy(json!([{"Value": 750000}]));
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
    // Defaults are the primer's.
    assert_eq!(
        (r.haircut, r.maintenance_min, r.initial_rate, r.min_deposit),
        (0.8, 0.2, 0.3, 300_000.0)
    );
}

/// JSF primer (2): the position falls to 850 yen: 300,000 yen valuation loss;
/// 750,000 x 80% - 300,000 = 300,000; 300,000 / 2,000,000 = 15% < 20%: call 100,000.
#[test]
fn jsf_primer_price_fall_to_15_percent() {
    let a = jsf_buy(json!([{"Value": 750000}]));
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

/// JSF primer (1): the pledged securities fall from 750,000 to 450,000 yen:
/// 450,000 x 80% = 360,000; 360,000 / 2,000,000 = 18% < 20%: call 40,000.
#[test]
fn jsf_primer_collateral_fall_to_18_percent() {
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
    // A long in A at `price_a`, and a short in B that lost 50,000 yen.
    let account = |price_a: f64| {
        input(json!({
            "Cash": 300000,
            "Positions": [
                {"Code": "A", "Side": "long", "Quantity": 1000, "EntryPrice": 1000, "Price": price_a},
                {"Code": "B", "Side": "short", "Quantity": 1000, "EntryPrice": 500, "Price": 550}
            ]
        }))
    };
    let r = evaluate(&account(1100.0), &HashMap::new()).unwrap();
    assert_eq!(r.positions[0].unrealised_pl, 100_000.0);
    assert_eq!(r.positions[1].unrealised_pl, -50_000.0);
    assert_eq!(r.unrealised_net, 50_000.0);
    assert_eq!(r.loss_deducted, 0.0);
    assert_eq!(r.deposit, 300_000.0, "a net gain does not add");
    let r = evaluate(&account(1010.0), &HashMap::new()).unwrap();
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
