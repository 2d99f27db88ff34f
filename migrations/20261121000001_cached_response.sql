-- L2 of the response cache: one row per canonical request (path + sorted canonical query).
-- Bodies are stored exactly as served (identity encoding); the gzip form is rebuilt in memory.
CREATE TABLE IF NOT EXISTS cached_response (
    key          TEXT PRIMARY KEY,
    endpoint     TEXT NOT NULL,
    -- The issue code the request names (NULL for cross-sections); split invalidation and purge use it.
    code         TEXT,
    -- The last date the request covers (NULL for open-ended histories).
    last_date    DATE,
    body         BYTEA NOT NULL,
    etag         TEXT NOT NULL,
    row_count    INTEGER NOT NULL,
    fetched_at   TIMESTAMPTZ NOT NULL,
    fresh_until  TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS cached_response_endpoint_code ON cached_response (endpoint, code);

-- Splits the proxy has seen (AdjFactor != 1 on an ex-date), so each one invalidates
-- cached adjusted histories once, and a restarted proxy does not do it again.
CREATE TABLE IF NOT EXISTS split_event (
    code      TEXT NOT NULL,
    ex_date   DATE NOT NULL,
    factor    DOUBLE PRECISION NOT NULL,
    seen_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (code, ex_date)
);
