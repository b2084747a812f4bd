-- The experiments table's pages (ExperimentQuery: filter by status or executor, order by creation, name, status,
-- start or end, then by creation): one index per order holding the rows in it, so a page is read off an index and the
-- database stops after it, with no sort of the table. Each order ends with created_at, seq, as every listing's does.
-- The order is SQLite's (vendor/sqlite, the same version): names by code point whatever the database's collation
-- (COLLATE "C"), times not set first (NULLS FIRST); the queries say the same (SqlDialect).
CREATE INDEX experiments_status_order ON experiments (status, created_at, seq);
CREATE INDEX experiments_executor_order ON experiments (executor, created_at, seq);
CREATE INDEX experiments_name_order ON experiments (name COLLATE "C", created_at, seq);
CREATE INDEX experiments_started_order ON experiments (started_at NULLS FIRST, created_at, seq);
CREATE INDEX experiments_ended_order ON experiments (ended_at NULLS FIRST, created_at, seq);
-- a prefix of experiments_status_order
DROP INDEX experiments_status;
