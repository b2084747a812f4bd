-- Small named settings every process on the ledger shares, e.g. a request to stop draining the queue.
CREATE TABLE control (
    name       TEXT   NOT NULL PRIMARY KEY,
    value      TEXT,
    updated_at BIGINT NOT NULL
);
