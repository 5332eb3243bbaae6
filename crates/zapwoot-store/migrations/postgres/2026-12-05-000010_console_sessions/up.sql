-- Operator console sign-ins: the SHA-256 of each session cookie's token (never the token),
-- who signed in, and when it ends. In the store so a session survives a restart and works on
-- every replica; expired rows are removed when a new session is made.
CREATE TABLE console_sessions (
    token_hash TEXT   NOT NULL PRIMARY KEY,
    principal  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
