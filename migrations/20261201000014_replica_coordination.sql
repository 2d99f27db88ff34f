-- Replicas of the proxy share one upstream subscription through this database.
-- Both tables are UNLOGGED: their rows are seconds-lived coordination state, so they skip the
-- write-ahead log and its fsync on every commit (the cost that dominates each upstream
-- call's coordination); after a Postgres crash they come back empty, which only means
-- "no slot taken, no lease held".

-- One row per upstream budget ('plan', 'statements'): the GCRA theoretical arrival time of the
-- next free slot, and the cool-down every replica waits out after any replica saw a 429.
CREATE UNLOGGED TABLE IF NOT EXISTS upstream_budget (
    name          TEXT PRIMARY KEY,
    tat           TIMESTAMPTZ NOT NULL,
    paused_until  TIMESTAMPTZ
);

-- Takes the next slot of every named budget at one instant (a statements call charges both
-- budgets together) and returns how many seconds the caller must wait before calling.
-- Rows are locked in name order so concurrent callers never deadlock; Postgres' clock is the
-- only clock, so replicas' clocks need not agree.
CREATE OR REPLACE FUNCTION jqp_take_slot(names TEXT[], intervals DOUBLE PRECISION[])
RETURNS DOUBLE PRECISION LANGUAGE plpgsql AS $$
DECLARE
    now_ts TIMESTAMPTZ := clock_timestamp();
    at_ts  TIMESTAMPTZ;
BEGIN
    INSERT INTO upstream_budget (name, tat)
        SELECT n, now_ts FROM unnest(names) AS n
        ON CONFLICT (name) DO NOTHING;
    SELECT greatest(now_ts, max(b.tat), max(coalesce(b.paused_until, now_ts)))
        INTO at_ts
        FROM (SELECT tat, paused_until FROM upstream_budget
              WHERE name = ANY(names) ORDER BY name FOR UPDATE) AS b;
    UPDATE upstream_budget AS b
        SET tat = at_ts + make_interval(secs => v.secs)
        FROM unnest(names, intervals) AS v(name, secs)
        WHERE b.name = v.name;
    RETURN extract(epoch FROM at_ts - now_ts);
END
$$;

-- Cross-replica single flight: the replica holding a request's lease fetches it; the others
-- wait for its answer to land in cached_response. A holder renews its lease while it works,
-- so a crashed holder's lease simply expires and another replica takes over.
CREATE UNLOGGED TABLE IF NOT EXISTS upstream_lease (
    key         TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
