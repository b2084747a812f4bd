-- The server's API tokens: only a SHA-256 hash of each is kept (a token is 256 random bits, not a password, so a
-- fast hash is enough: it cannot be guessed, only stolen, and the hash alone is useless to a thief of this table).
-- Plain SQL that SQLite and PostgreSQL both run; times as epoch milliseconds, booleans as 0/1.
CREATE TABLE server_tokens (
    name         TEXT    NOT NULL PRIMARY KEY,
    token_hash   TEXT    NOT NULL,
    read_only    INTEGER NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT
);
