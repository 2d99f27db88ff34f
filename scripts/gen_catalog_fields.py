#!/usr/bin/env python3
"""Regenerates src/catalog/fields.tsv: the response keys of every endpoint, in order, each with
its JSON type, whether it may be null, and its meaning and unit (one key a line; read by
src/catalog/fields.rs).

Sources: JPX's endpoints.json (vendored in jpx/; names, types and Japanese
descriptions), the keys the upstream added after that snapshot (NEWER below, described in
English from the upstream's documented field lists, see docs/ and the catalog's `newer`
sources), and the units in UNITS below. Run from the repository root.

Types, as the upstream sends them (a client generated from the OpenAPI document must accept
every value the upstream sends):
  string   a JSON string ("" where the upstream has no value)
  number   a JSON number (null where there is none, e.g. a no-trade day's bar)
  decimal  a number written as a JSON string: "1234", "0.123", or "" when not disclosed
           (/fins/summary sends every figure this way)
  flag     a boolean written as a string: "true", "false", or ""
  object   a JSON object (its keys are described in the description)
  array    a JSON array (its items are described in the description)
  numdash  a JSON number, or the string "-" where the value is not determined yet
"""
import json, pathlib, re

root = pathlib.Path(__file__).resolve().parent.parent
spec = json.loads((root / "jpx/endpoints.json").read_text())

DATE = "Date (YYYY-MM-DD)"
# Keys the upstream added after the January 2026 snapshot: (name, type, description).
# Sources: the upstream's current documentation as summarised in docs/upstream.md,
# and the official Python client (jquants-api-client 2.8), which selects these columns.
MARGIN_INTEREST = [
    ("PubDate", "string", "Publication date (YYYY-MM-DD)"),
    ("Date", "string", "Application date of the balances (YYYY-MM-DD): the previous business day since 2026-09-25, usually a Friday before (weekly data)"),
    ("Code", "string", "Issue code (5 characters)"),
    ("IssType", "string", "Issue type: 1 margin issue, 2 loan (taishaku) issue, 3 other"),
] + [
    (f"{side}{kind}{q}", "number", f"{'Short (sell)' if side == 'Shrt' else 'Long (buy)'} margin "
     f"{'balance' if q == 'Vol' else 'balance value'}, "
     f"{ {'': 'total', 'Neg': 'negotiable (general) margin', 'Std': 'standard (institutional) margin'}[kind]}")
    for q in ("Vol", "Val") for kind in ("", "Neg", "Std") for side in ("Shrt", "Long")
]
# The upstream's order: ShrtVol, LongVol, ShrtNegVol, LongNegVol, ShrtStdVol, LongStdVol, *Val.
NEWER = {
    "/markets/margin-interest": MARGIN_INTEREST,
    "/equities/valuation": [
        ("Date", "string", "Trading day (YYYY-MM-DD)"),
        ("Code", "string", "Issue code (5 characters)"),
        ("EPS", "number", "Earnings per share, latest actual (trailing)"),
        ("FwdEPS", "number", "Forecast earnings per share for the current fiscal year"),
        ("BPS", "number", "Book value per share, latest actual"),
        ("ROE", "number", "Return on equity, latest actual"),
        ("FwdROE", "number", "Forecast return on equity"),
        ("PER", "number", "Price-earnings ratio: close / EPS"),
        ("FwdPER", "number", "Forward price-earnings ratio: close / FwdEPS"),
        ("PBR", "number", "Price-book ratio: close / BPS"),
        ("MktCap", "number", "Market capitalisation: close x issued shares"),
    ],
    "/fins/earnings-date": [
        ("PubDate", "string", "Date the schedule was published (YYYY-MM-DD)"),
        ("SchDate", "string", "Scheduled announcement date (YYYY-MM-DD)"),
        ("FQName", "string", "Fiscal period of the announcement (1Q, 2Q, 3Q, 4Q)"),
        ("FYE", "string", "Fiscal year end (YYYY-MM)"),
        ("Code", "string", "Issue code (5 characters)"),
        ("CoName", "string", "Company name (Japanese)"),
        ("CoNameEn", "string", "Company name (English)"),
    ],
    "/td/list": [
        ("DiscNo", "string", "Disclosure number (14 digits)"),
        ("Code", "string", "Issue code (5 characters)"),
        ("Name", "string", "Company name"),
        ("DiscDate", "string", "Disclosure date (YYYY-MM-DD)"),
        ("DiscTime", "string", "Disclosure time, JST (HH:MM)"),
        ("Title", "string", "Title of the disclosure"),
        ("DiscStatus", "string", "Status: 0 normal, other values for corrections and deletions"),
        ("RevNo", "string", "Revision number (0 for the original)"),
        ("DiscItems", "array", "TDnet disclosure item codes (array of strings)"),
        ("Docs", "array", "File kinds available (array of strings: g summary PDF, s summary XBRL, x XBRL)"),
    ],
    "/td/files": [
        ("discNo", "string", "Disclosure number (14 digits)"),
        ("files", "object", "Download URL per file kind (keys g, s, x; values presigned URLs valid about 5 minutes)"),
    ],
    "/td/bulk": [
        ("lastUpdated", "string", "When the index file was last rebuilt (ISO 8601 date-time, JST offset)"),
        ("url", "string", "Presigned download URL of the disclosure index (CSV, gzip), valid about 5 minutes"),
    ],
}
EDINET_DOC = [
    ("DocId", "string", "EDINET document ID (e.g. S100ABCD)"),
    ("Code", "string", "Issue code of the company (5 characters)"),
    ("EdinetCode", "string", "EDINET code of the filer (e.g. E03814)"),
]
EDINET_SUB = [
    ("DocTypeCode", "string", "EDINET document type code (120 annual securities report, 350 large shareholding report)"),
    ("SubDate", "string", "Submission date (YYYY-MM-DD)"),
    ("SubTime", "string", "Submission time, JST (HH:MM)"),
]
EDINET_PERIOD = [
    ("PerSt", "string", "Start of the reporting period (YYYY-MM-DD)"),
    ("PerEn", "string", "End of the reporting period (YYYY-MM-DD)"),
]
FILER = [
    ("FilerName", "string", "Filer's name (Japanese)"),
    ("FilerNameEn", "string", "Filer's name (English)"),
]
NEWER["/edinet/major-shareholders"] = EDINET_DOC + FILER + EDINET_SUB + EDINET_PERIOD + [
    ("Hldrs", "array", "Major shareholders: array of objects {Name (string), Shares (number, shares), Ratio (number, percent of issued shares)}"),
]
NEWER["/edinet/cross-shareholdings"] = EDINET_DOC + FILER + EDINET_SUB + EDINET_PERIOD + [
    ("Report", "object", "Totals of the shares held for purposes other than pure investment: {Holdings (number, issues), BookValue (number, yen)}"),
    ("Largest", "object", "Largest cross-shareholding: {Name (string), Shares (number, shares)}"),
    ("SecondLargest", "object", "Second-largest cross-shareholding: {Name (string), Shares (number, shares)}"),
]
NEWER["/edinet/large-volume-shareholders"] = EDINET_DOC + [
    ("IsrName", "string", "Issuer's name"),
] + EDINET_SUB + [
    ("LargeHldgTypeCode", "string", "Kind of large shareholding report (1 new report, 2 change report, 3 correction)"),
    ("DocTitle", "string", "Title of the document"),
    ("ChgRsn", "string", "Reason for the change (\"\" on new reports)"),
    ("TotalShsHeld", "number", "Shares held by the reporter and joint holders"),
    ("TotalShsRatio", "number", "Holding ratio"),
    ("TotalShsRatioLast", "number", "Holding ratio in the previous report"),
    ("TotalOutStks", "number", "Issued shares of the issuer"),
    ("Hldrs", "array", "Reporter and joint holders: array of objects {Name (string), Shares (number, shares), Ratio (number, percent of issued shares)}"),
]
# Keys JPX's snapshot lacks on endpoints it does describe: (after, name, type, description).
ADDED = {
    "/equities/master": [("MrgnNm", "ProdCat", "string", "Product category code (011 domestic common stock, 012 other)")],
    "/fins/summary": [
        ("MatChgSub", "SigChgInC", "flag", "Significant changes in the scope of consolidation"),
        (None, "ShEq", "decimal", "Shareholders' equity"),
        (None, "NCShEq", "decimal", "Shareholders' equity, non-consolidated"),
        (None, "ROE", "decimal", "Return on equity (fraction: 0.123 is 12.3%)"),
        (None, "NCROE", "decimal", "Return on equity, non-consolidated (fraction)"),
    ],
}

# Where the upstream writes a key differently from its JPX type: (path pattern, key pattern)
# -> (type, description). Sources: the upstream's answers as the official client reads them.
OVERRIDES = [
    (r"^/equities/bars/daily", r"^(M|A)?UL$", ("string", "\"1\" when the price reached the day's upper price limit (stop high), \"0\" otherwise")),
    (r"^/equities/bars/daily", r"^(M|A)?LL$", ("string", "\"1\" when the price reached the day's lower price limit (stop low), \"0\" otherwise")),
    (r"^/fins/dividend$", r"^DivRate$", ("numdash", "Dividend per share; \"-\" while undetermined")),
    # JPX's snapshot copies IFCode's description onto FRCode; the simulator and the derived
    # dividends read FRCode as decided or forecast.
    (r"^/fins/dividend$", r"^FRCode$", ("string", "確定・予想区分 (1:確定, 2:予想): 1 decided, 2 forecast")),
    (r"^/markets/margin-alert$", r"^PubReason$", ("object", "公表理由: reasons for publication, each \"1\" (applies) or \"0\": Restricted, DailyPublication, Monitoring, RestrictedByJSF, PrecautionByJSF, UnclearOrSecOnAlert")),
    (r"^/fins/details$", r"^FS$", ("object", "財務諸表の各項目データ: the statement items, English XBRL label -> value written as a string (yen for amounts, shares for share counts)")),
]

def override(path, name, ty, desc):
    for pp, fp, (oty, odesc) in OVERRIDES:
        if re.search(pp, path) and re.search(fp, name):
            half_day = {"M": "Morning session: ", "A": "Afternoon session: "}.get(name[0], "") if len(name) == 3 else ""
            return oty, half_day + odesc
    return ty, desc

# Units, by (path pattern, field pattern); the first match wins. A field without a unit is a
# date, a code, a name or a count of its own kind.
PRICE = r"^(M|A|E)?(Adj)?(O|H|L|C)$"
UNITS = [
    (r"^/indices/", r"^(O|H|L|C)$", "index points"),
    (r"^/derivatives/", r"^(M|A|E)?(O|H|L|C)$|^(Settle|Theo|Strike|UnderPx)$", "yen (index points for index products)"),
    (r"^/derivatives/", r"^(Vo|VoOA|OI)$", "contracts"),
    (r"^/derivatives/", r"^(BaseVol|IV|IR)$", "percent"),
    (r".", r"^AdjFactor$", "ratio (0.5 on the ex-date of a 1:2 split, 1 otherwise)"),
    (r"^/equities/bars", PRICE, "yen per share"),
    (r".", r"^(M|A)?(Adj)?Vo$", "shares"),
    (r"^/markets/breakdown$", r"Vo$", "shares"),
    (r".", r"^(M|A)?Va$|Va$", "yen"),
    (r"^/equities/investor-types$", r"(Sell|Buy|Tot|Bal)$", "thousand yen"),
    (r"^/markets/margin-interest$", r"Vol$", "shares"),
    (r"^/markets/margin-interest$", r"Val$", "yen (null before 2026-09-25)"),
    (r"^/markets/margin-alert$", r"Out(Chg)?$", "shares"),
    (r"^/markets/margin-alert$", r"OutRatio$", "percent of issued shares, written as a string"),
    (r"^/markets/margin-alert$", r"^SLRatio$", "times (long / short)"),
    (r"^/markets/short-sale-report$", r"Ratio$|ToSO$", "fraction of issued shares"),
    (r"^/markets/short-sale-report$", r"Shares$", "shares"),
    (r"^/markets/short-sale-report$", r"Units$", "trading units"),
    (r"^/fins/summary$", r"EPS|BPS|^(Nx)?F?Div(1Q|2Q|3Q|FY|Ann|Unit)$", "yen per share"),
    (r"^/fins/summary$", r"Ratio|EqAR$|ROE$", "fraction (0.123 is 12.3%)"),
    (r"^/fins/summary$", r"^(ShOutFY|TrShFY|AvgSh)$", "shares"),
    (r"^/fins/summary$", r"Sales|OP|OdP|NP|Np|^(NC)?TA$|Eq$|^CF|CashEq|DivTotalAnn", "yen"),
    (r"^/fins/dividend$", r"^(DivRate|DistAmt|RetEarn|DeemDiv|DeemCapGains|CommDivRate|SpecDivRate)$", "yen per share"),
    (r"^/fins/dividend$", r"^NetAssetDecRatio$", "ratio"),
    (r"^/equities/valuation$", r"EPS$|BPS$", "yen per share"),
    (r"^/equities/valuation$", r"ROE$", "percent"),
    (r"^/equities/valuation$", r"PER$|PBR$", "times"),
    (r"^/equities/valuation$", r"^MktCap$", "yen"),
    (r"^/edinet/", r"^(TotalShsHeld|TotalOutStks)$", "shares"),
    (r"^/edinet/", r"^TotalShsRatio", "percent of issued shares"),
    (r"^/bulk/list$", r"^Size$", "bytes"),
]

# JPX types -> ours, where the upstream writes them differently from their JPX type.
def our_type(path, jpx_type):
    if jpx_type == "Map":
        return "object"
    if path == "/fins/summary":
        return {"Number": "decimal", "Boolean": "flag"}.get(jpx_type, "string")
    return {"Number": "number", "Boolean": "flag"}.get(jpx_type, "string")

def unit_of(path, name):
    for pp, fp, unit in UNITS:
        if re.search(pp, path) and re.search(fp, name):
            return unit
    return None

def nullable(ty):
    # Numbers are null where there is no value; strings, decimals and flags use "".
    return ty in ("number", "numdash", "object", "array")

rows = []
for e in spec["endpoints"]:
    path = e["path"]
    fields = [(f["name"], *override(path, f["name"], our_type(path, f["type"]), f["description"]))
              for f in e["response"]["fields"]]
    if path in NEWER:
        fields = NEWER[path]
    for after, name, ty, desc in ADDED.get(path, []):
        if any(f[0] == name for f in fields):
            continue
        at = len(fields) if after is None else [f[0] for f in fields].index(after) + 1
        fields.insert(at, (name, ty, desc))
    rows.append((path, fields))
for p, f in NEWER.items():
    if not any(p == r[0] for r in rows):
        rows.append((p, f))

TY = {"string": "Str", "number": "Number", "decimal": "Decimal", "flag": "Flag",
      "object": "Object", "array": "Array", "numdash": "NumberOrDash"}

# One line a key: path, key, type, nullable, description (with its unit). Tabs and line
# breaks cannot occur inside a value, so the columns need no quoting.
out = ["# Response keys of every endpoint, in the upstream's order. Generated by",
       "# scripts/gen_catalog_fields.py from JPX's endpoints.json plus newer keys; do not edit.",
       "# path\tkey\ttype\tnullable\tdescription"]
for p, f in rows:
    for name, ty, desc in f:
        unit = unit_of(p, name)
        doc = desc if unit is None else f"{desc}. Unit: {unit}"
        cols = [p, name, TY[ty], str(nullable(ty)).lower(), doc]
        assert not any(c in v for v in cols for c in "\t\n"), cols
        out.append("\t".join(cols))
(root / "src/catalog/fields.tsv").write_text("\n".join(out) + "\n")
print("wrote", len(rows), "endpoints")
