//! The catalog against JPX's machine-readable spec (`jpx/endpoints.json`) and its own
//! consistency.

use super::*;
use std::collections::BTreeSet;

fn jpx() -> serde_json::Value {
    serde_json::from_str(include_str!("../../jpx/endpoints.json")).unwrap()
}

#[test]
fn every_jpx_endpoint_is_in_the_catalog_with_its_parameters_and_combinations() {
    for e in jpx()["endpoints"].as_array().unwrap() {
        let path = e["path"].as_str().unwrap();
        let ours = find(path).unwrap_or_else(|| panic!("{path} missing from catalog"));
        let their_params: BTreeSet<&str> = e["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .filter(|n| *n != "pagination_key")
            .collect();
        let our_params: BTreeSet<&str> = ours.params.iter().map(|p| p.name).collect();
        assert!(
            their_params.is_subset(&our_params),
            "{path}: JPX params {their_params:?} not all in {our_params:?}"
        );
        if ours.newer.is_none() {
            // Same parameters, same combinations, except additions documented as newer.
            let extra: Vec<_> = our_params
                .difference(&their_params)
                .filter(|n| !ours.optional.contains(n))
                .collect();
            assert!(extra.is_empty(), "{path}: undocumented params {extra:?}");
        }
        for pat in e["valid_request_patterns"].as_array().unwrap() {
            let want: BTreeSet<&str> = pat["params"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert!(
                ours.patterns
                    .iter()
                    .any(|p| p.iter().copied().collect::<BTreeSet<_>>() == want),
                "{path}: JPX pattern {want:?} missing"
            );
        }
        let paginated = e["pagination"].is_object() && e["pagination"]["supported"] == true;
        assert_eq!(ours.paginated, paginated, "{path}: pagination");
        let min_plan = e["plan"][0].as_str().unwrap();
        assert_eq!(
            ours.min_plan,
            Plan::parse(min_plan).unwrap(),
            "{path}: plan"
        );
    }
}

#[test]
fn jpx_fields_appear_in_order() {
    for e in jpx()["endpoints"].as_array().unwrap() {
        let path = e["path"].as_str().unwrap();
        if path == "/markets/margin-interest" {
            continue; // replaced wholesale by the current 16-key schema
        }
        let ours = fields_of(path);
        let mut pos = 0;
        for f in e["response"]["fields"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            let at = ours[pos..].iter().position(|o| *o == name);
            assert!(at.is_some(), "{path}: {name} missing or out of order");
            pos += at.unwrap() + 1;
        }
    }
    assert_eq!(fields_of("/markets/margin-interest").len(), 16);
}

#[test]
fn patterns_only_name_declared_params_and_paths_are_unique() {
    let mut paths = BTreeSet::new();
    for e in ENDPOINTS {
        assert!(paths.insert(e.path), "duplicate {}", e.path);
        for pat in e.patterns {
            for name in *pat {
                assert!(
                    e.param(name).is_some(),
                    "{}: pattern names unknown {name}",
                    e.path
                );
            }
        }
        for name in e.optional {
            assert!(
                e.param(name).is_some(),
                "{}: optional names unknown {name}",
                e.path
            );
        }
        if e.api_available {
            assert!(!e.fields().is_empty(), "{}: no fields", e.path);
        }
    }
}
