-- Bulk files (gzip CSV) as downloaded from the upstream's file host, one row per file version
-- (key + LastModified), kept where every replica sees it. A version's chunks and its
-- `bulk_file` row are written in one transaction: a row means the whole file is here and
-- passed its checks; a crash mid-download leaves nothing.
CREATE TABLE IF NOT EXISTS bulk_file (
    key           TEXT        NOT NULL,
    last_modified TEXT        NOT NULL,
    size          BIGINT      NOT NULL,
    sha256        TEXT        NOT NULL,
    chunks        INT         NOT NULL,
    stored_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (key, last_modified)
);

CREATE TABLE IF NOT EXISTS bulk_chunk (
    key           TEXT  NOT NULL,
    last_modified TEXT  NOT NULL,
    seq           INT   NOT NULL,
    data          BYTEA NOT NULL,
    PRIMARY KEY (key, last_modified, seq)
);
