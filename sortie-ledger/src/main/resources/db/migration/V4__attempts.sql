-- How each ended attempt of an experiment went: the experiments row holds the latest attempt only, so an attempt a
-- spot interruption or a lost host ended (then continued by the next) would otherwise leave no trace. Written in the
-- same transaction as the experiments row that ends the attempt; one row per (experiment, attempt), the last end
-- written wins (a stop recorded before the run's own end is collected).
CREATE TABLE attempts (
    experiment_id TEXT    NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    attempt       INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    -- where it ran: the run handle's host, null when it never started
    host          TEXT,
    started_at    BIGINT,
    ended_at      BIGINT,
    exit_code     INTEGER,
    error         TEXT,
    PRIMARY KEY (experiment_id, attempt)
);
