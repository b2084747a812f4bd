-- The experiments table's pages (ExperimentQuery: filter by status or executor, order by creation, name, status,
-- start or end, then by creation): one index per order holding the rows in it, so a page is read off an index and the
-- database stops after it, with no sort of the table. Each order ends with created_at, seq, as every listing's does.
-- SQLite's own order of the rest (text by code point, nulls first) is the one every ledger keeps; PostgreSQL's file of
-- the same version says it there (vendor/postgresql).
CREATE INDEX experiments_status_order ON experiments (status, created_at, seq);
CREATE INDEX experiments_executor_order ON experiments (executor, created_at, seq);
CREATE INDEX experiments_name_order ON experiments (name, created_at, seq);
CREATE INDEX experiments_started_order ON experiments (started_at, created_at, seq);
CREATE INDEX experiments_ended_order ON experiments (ended_at, created_at, seq);
-- a prefix of experiments_status_order
DROP INDEX experiments_status;
