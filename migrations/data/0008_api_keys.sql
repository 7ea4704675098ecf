-- Cairn's API keys (not in PocketBase): each acts as one auth record,
-- optionally narrowed by scopes, an expiry and an address allowlist. The
-- key itself is never stored, only the SHA-256 of the whole string
-- (`secretHash`); `prefix` is its first characters, for telling keys apart.
CREATE TABLE _apiKeys (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secretHash   TEXT NOT NULL UNIQUE,
    -- The bound record; a key whose record or collection is gone stops
    -- working (checked when it is presented).
    collectionId TEXT NOT NULL,
    recordId     TEXT NOT NULL,
    -- JSON: [{"collection": id, "actions": ["list", …]}]; [] = the record's
    -- full rights.
    scopes       TEXT NOT NULL DEFAULT '[]',
    -- JSON: addresses and CIDR networks; [] = from anywhere.
    allowedIps   TEXT NOT NULL DEFAULT '[]',
    expires      TEXT NOT NULL DEFAULT '',
    lastUsed     TEXT NOT NULL DEFAULT '',
    lastUsedIp   TEXT NOT NULL DEFAULT '',
    created      TEXT NOT NULL,
    updated      TEXT NOT NULL
);
CREATE INDEX idx__apiKeys_record ON _apiKeys (collectionId, recordId);
