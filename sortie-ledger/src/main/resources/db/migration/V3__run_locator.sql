-- A run's locator: the type of executor that wrote it (which alone reads locator_value) and that value; the host
-- stays in handle_host, readable. Rows written before locators get one from their pid columns: a launcher's
-- (no command pid yet) or the previous release's form ('pids'), which the executors of then read as their own.
-- The pid columns are left as they were and no longer written.
ALTER TABLE experiments ADD COLUMN locator_type TEXT;
ALTER TABLE experiments ADD COLUMN locator_value TEXT;

UPDATE experiments
SET locator_type = CASE WHEN handle_pid IS NULL OR handle_pid = 0 THEN 'launcher' ELSE 'pids' END,
    locator_value = 'supervisor=' || CAST(handle_supervisor_pid AS TEXT)
        || COALESCE('@' || CAST(handle_supervisor_start AS TEXT), '')
        || ';pid=' || CAST(COALESCE(handle_pid, 0) AS TEXT)
        || COALESCE('@' || CAST(handle_process_start AS TEXT), '')
WHERE handle_supervisor_pid IS NOT NULL;
