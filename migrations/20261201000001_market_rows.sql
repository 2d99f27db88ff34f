-- The market row store (src/rows): upstream rows kept one by one under the catalog's row
-- identity, each as the exact JSON text received, and the coverage saying which slices
-- (a code's history over [from_date, to_date], or one date's cross-section) are complete.
CREATE TABLE IF NOT EXISTS market_row (
    endpoint    TEXT NOT NULL,
    -- The catalog row_key values' JSON text joined by '|', e.g. "2026-11-19"|"72030".
    row_id      TEXT NOT NULL,
    -- Empty for rows without an issue (the trading calendar).
    code        TEXT NOT NULL,
    date        DATE NOT NULL,
    body        TEXT NOT NULL,
    fetched_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (endpoint, row_id)
);
CREATE INDEX IF NOT EXISTS market_row_by_code ON market_row (endpoint, code, date);
CREATE INDEX IF NOT EXISTS market_row_by_date ON market_row (endpoint, date, code COLLATE "C");

-- One row per complete slice. A date cross-section has code '' and from_date = to_date;
-- a whole history spans 1900-01-01 .. 9999-12-31.
CREATE TABLE IF NOT EXISTS market_coverage (
    endpoint     TEXT NOT NULL,
    code         TEXT NOT NULL,
    from_date    DATE NOT NULL,
    to_date      DATE NOT NULL,
    fetched_at   TIMESTAMPTZ NOT NULL,
    fresh_until  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (endpoint, code, from_date, to_date)
);
