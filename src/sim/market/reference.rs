//! What the simulator takes from the vendored JPX reference data
//! (`jpx/reference_data.json`): 17- and 33-sector names and the index codes
//! `/indices/bars/daily` serves. Parsed once per process and shared by every simulator;
//! the sector table below only pairs each 33-sector code with its 17-sector code.

use std::collections::HashMap;
use std::sync::OnceLock;

/// 33-sector codes with their 17-sector code; names come from the vendored reference data.
pub const SECTORS33: &[(&str, &str)] = &[
    ("0050", "1"),
    ("1050", "2"),
    ("2050", "3"),
    ("3050", "1"),
    ("3100", "4"),
    ("3150", "4"),
    ("3200", "4"),
    ("3250", "5"),
    ("3300", "2"),
    ("3350", "6"),
    ("3400", "3"),
    ("3450", "7"),
    ("3500", "7"),
    ("3550", "3"),
    ("3600", "8"),
    ("3650", "9"),
    ("3700", "6"),
    ("3750", "9"),
    ("3800", "10"),
    ("4050", "11"),
    ("5050", "12"),
    ("5100", "12"),
    ("5150", "12"),
    ("5200", "12"),
    ("5250", "10"),
    ("6050", "13"),
    ("6100", "14"),
    ("7050", "15"),
    ("7100", "16"),
    ("7150", "16"),
    ("7200", "16"),
    ("8050", "17"),
    ("9050", "10"),
];

/// What the simulator takes from the vendored JPX reference data.
pub struct RefNames {
    pub s17: HashMap<String, String>,
    pub s33: HashMap<String, String>,
    /// Index codes for `/indices/bars/daily`, in file order (never empty: TOPIX at least).
    pub index_codes: Vec<String>,
}

/// The vendored reference data, parsed once per process (every simulator shares it).
pub fn ref_names() -> &'static RefNames {
    static R: OnceLock<RefNames> = OnceLock::new();
    R.get_or_init(parse_ref_names)
}

fn parse_ref_names() -> RefNames {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../../jpx/reference_data.json"))
            .expect("vendored reference data parses");
    let mut s17 = HashMap::new();
    let mut s33 = HashMap::new();
    let mut index_codes = Vec::new();
    for t in v["reference_data"].as_array().into_iter().flatten() {
        let rows = t["reference_data"].as_array().cloned().unwrap_or_default();
        match t["name"].as_str() {
            Some("sector17_codes") => name_table(&mut s17, &rows, "Sector17Code"),
            Some("sector33_codes") => name_table(&mut s33, &rows, "Sector33Code"),
            Some("index_codes") => {
                index_codes.extend(
                    rows.iter()
                        .filter_map(|r| r["Code"].as_str())
                        .map(String::from),
                );
            }
            _ => {}
        }
    }
    if index_codes.is_empty() {
        index_codes.push("0000".into());
    }
    RefNames {
        s17,
        s33,
        index_codes,
    }
}

/// Code -> name from rows carrying `{code_key}` and `{code_key}Name`.
fn name_table(into: &mut HashMap<String, String>, rows: &[serde_json::Value], code_key: &str) {
    let name_key = format!("{code_key}Name");
    for r in rows {
        into.insert(
            r[code_key].as_str().unwrap_or("").to_string(),
            r[name_key.as_str()].as_str().unwrap_or("").to_string(),
        );
    }
}
