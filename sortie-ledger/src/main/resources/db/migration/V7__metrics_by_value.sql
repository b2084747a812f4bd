-- The experiments table sorted or filtered by a metric (Ledger#tablePage with metrics.KEY): the latest values of one
-- metric in value order, so a page sorted by loss walks this index and stops after the page, and "loss < 0.3" reads
-- the range that passes; experiment_id makes both index-only.
CREATE INDEX metrics_key_value ON metrics (metric_key, value, experiment_id);
