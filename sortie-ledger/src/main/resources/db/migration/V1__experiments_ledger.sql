-- The experiments ledger. Plain SQL that SQLite and PostgreSQL both run: TEXT, BIGINT, INTEGER and
-- DOUBLE PRECISION only, times as epoch milliseconds, booleans as 0/1.

CREATE TABLE experiments (
    id                      TEXT    NOT NULL PRIMARY KEY,
    -- insertion order, to break ties between experiments created in the same millisecond
    seq                     BIGINT  NOT NULL,
    name                    TEXT    NOT NULL,
    status                  TEXT    NOT NULL,
    executor                TEXT    NOT NULL,
    -- JSON: {"shell": "..."} or {"argv": ["...", ...]}
    command                 TEXT    NOT NULL,
    -- JSON object, keys in the order the user wrote them
    params                  TEXT    NOT NULL,
    -- code ref: all null when the experiment has none (code_dirty is never null when it has one)
    code_base_commit        TEXT,
    code_snapshot_commit    TEXT,
    code_ref                TEXT,
    code_dirty              INTEGER,
    task                    TEXT,
    created_at              BIGINT  NOT NULL,
    started_at              BIGINT,
    ended_at                BIGINT,
    exit_code               INTEGER,
    error                   TEXT,
    attempt                 INTEGER NOT NULL,
    -- run handle: all null when there is none (handle_supervisor_pid is never null when there is one)
    handle_host             TEXT,
    handle_supervisor_pid   BIGINT,
    handle_supervisor_start BIGINT,
    handle_pid              BIGINT,
    handle_process_start    BIGINT,
    -- JSON object {key: value} of the metrics table's rows for this experiment, keys sorted; null when there
    -- are none. Derived, rewritten in the same transaction as those rows: it lets the experiments table be
    -- read as one row per experiment instead of one row per metric.
    latest_metrics          TEXT
);

CREATE UNIQUE INDEX experiments_name ON experiments (name);
CREATE INDEX experiments_status ON experiments (status);
-- the order of every listing: read in index order, not sorted row by row (rows carry large JSON)
CREATE INDEX experiments_order ON experiments (created_at, seq);
-- MAX(seq) for the next insert
CREATE INDEX experiments_seq ON experiments (seq);

-- The latest value of each metric of an experiment: the point with the highest step seen.
-- value is null for NaN (SQLite cannot store NaN).
CREATE TABLE metrics (
    experiment_id TEXT   NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    metric_key    TEXT   NOT NULL,
    step          BIGINT NOT NULL,
    value         DOUBLE PRECISION,
    logged_at     BIGINT,
    PRIMARY KEY (experiment_id, metric_key)
);

-- Every recorded point; recording the same (experiment, key, step) again replaces it.
CREATE TABLE metric_points (
    experiment_id TEXT   NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    metric_key    TEXT   NOT NULL,
    step          BIGINT NOT NULL,
    value         DOUBLE PRECISION,
    logged_at     BIGINT,
    PRIMARY KEY (experiment_id, metric_key, step)
);

-- Files an experiment saved in the store; the same (kind, path) saved again replaces the row.
CREATE TABLE artifacts (
    experiment_id TEXT   NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    kind          TEXT   NOT NULL,
    path          TEXT   NOT NULL,
    hash          TEXT   NOT NULL,
    size          BIGINT NOT NULL,
    saved_at      BIGINT,
    PRIMARY KEY (experiment_id, kind, path)
);
