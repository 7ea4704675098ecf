-- Cairn's sessions (not in PocketBase): one row per sign-in. The refresh
-- token itself is never stored, only its SHA-256; every rotation moves the
-- old hash to `_sessionRetiredTokens`, so a retired token presented again
-- is recognised as reuse and ends its session.
CREATE TABLE _sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    collectionId TEXT NOT NULL,
    recordId     TEXT NOT NULL,
    tokenHash    TEXT NOT NULL UNIQUE,
    -- SHA-256 of the record's tokenKey when the session opened: a password
    -- change (new tokenKey) ends every session.
    keyHash      TEXT NOT NULL,
    userAgent    TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    created      TEXT NOT NULL,
    lastUsed     TEXT NOT NULL,
    expires      TEXT NOT NULL,
    revoked      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx__sessions_record ON _sessions (collectionId, recordId);
CREATE INDEX idx__sessions_expires ON _sessions (expires);

CREATE TABLE _sessionRetiredTokens (
    tokenHash TEXT PRIMARY KEY NOT NULL,
    sessionId TEXT NOT NULL REFERENCES _sessions (id) ON DELETE CASCADE,
    retired   TEXT NOT NULL
);
CREATE INDEX idx__sessionRetiredTokens_session ON _sessionRetiredTokens (sessionId);
