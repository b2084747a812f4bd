-- Tokens the server mints for one run (its agent and its command report home with it): scoped to that experiment,
-- allowed only to post reports about it, removed when the run ends. NULL for a user's token.
ALTER TABLE server_tokens ADD COLUMN experiment_id TEXT;
