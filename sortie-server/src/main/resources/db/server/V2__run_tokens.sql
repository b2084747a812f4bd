-- Tokens the server mints for one run (its agent and its command report home with it): scoped to that experiment,
-- allowed only to post reports about it. NULL for a user's token. expires_at: set when the run ends (a grace for
-- the agent's last reports, sent again after an outage), refused from then on and removed; NULL while it runs.
ALTER TABLE server_tokens ADD COLUMN experiment_id TEXT;
ALTER TABLE server_tokens ADD COLUMN expires_at BIGINT;
