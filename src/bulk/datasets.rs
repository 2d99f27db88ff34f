//! The bulk datasets the proxy ingests, as data: per endpoint, the row field that dates a row
//! (what its cross-section query selects on), the field naming its issue, and the columns
//! the ingest cannot do without (those the derived computations read). A dataset not listed
//! here is still served to apps as files (`super::BulkFiles`), just not ingested.
//!
//! Invariant: `needs` includes `date_field` and `code_field`, so a file whose header lacks one
//! of them is refused whole (the dataset falls back to date cross-sections).

/// One ingested bulk dataset.
#[derive(Debug)]
pub struct BulkSet {
    pub path: &'static str,
    /// The row field that the dataset's `date=` cross-section selects on.
    pub date_field: &'static str,
    pub code_field: &'static str,
    /// Columns without which the file is not ingested.
    pub needs: &'static [&'static str],
}

/// Datasets whose files become rows: the whole-market inputs of the derived endpoints.
pub static SETS: &[BulkSet] = &[
    BulkSet {
        path: "/equities/bars/daily",
        date_field: "Date",
        code_field: "Code",
        needs: &["Date", "Code", "C", "AdjFactor"],
    },
    BulkSet {
        path: "/markets/margin-interest",
        date_field: "Date",
        code_field: "Code",
        needs: &[
            "Date",
            "Code",
            "PubDate",
            "IssType",
            "LongVol",
            "ShrtVol",
            "LongNegVol",
            "ShrtNegVol",
            "LongStdVol",
            "ShrtStdVol",
        ],
    },
    BulkSet {
        path: "/fins/summary",
        date_field: "DiscDate",
        code_field: "Code",
        needs: &[
            "DiscDate", "DiscTime", "DiscNo", "Code", "CurPerEn", "ShOutFY", "TrShFY",
        ],
    },
    BulkSet {
        path: "/equities/master",
        date_field: "Date",
        code_field: "Code",
        needs: &["Date", "Code", "Mkt"],
    },
];

/// The ingested dataset at `path`, if it is one.
pub fn set(path: &str) -> Option<&'static BulkSet> {
    SETS.iter().find(|s| s.path == path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_needed_column_is_a_field_of_the_dataset() {
        for s in super::SETS {
            let fields = crate::catalog::fields_of(s.path);
            assert!(s.needs.contains(&s.date_field) && s.needs.contains(&s.code_field));
            for n in s.needs {
                assert!(fields.contains(n), "{} has no field {n}", s.path);
            }
        }
    }
}
