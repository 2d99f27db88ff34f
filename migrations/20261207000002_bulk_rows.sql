-- Rows of ingested bulk files (src/bulk/ingest.rs): each CSV record as the API's JSON row,
-- dated and coded, in file order. Loaded with COPY; a file version replaces the rows of the
-- key's earlier versions in the same transaction.
CREATE TABLE IF NOT EXISTS bulk_row (
    endpoint      TEXT NOT NULL,
    file_key      TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    date          DATE NOT NULL,
    code          TEXT NOT NULL,
    body          TEXT NOT NULL
);
-- Rows are read a file version at a time, in file order; one index, as COPY maintains each.
CREATE INDEX IF NOT EXISTS bulk_row_by_file ON bulk_row (file_key, last_modified, seq);

-- One row per ingested file version: what the rows say it covers.
CREATE TABLE IF NOT EXISTS bulk_ingest (
    file_key      TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    rows          BIGINT NOT NULL,
    ingested_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (file_key, last_modified)
);
