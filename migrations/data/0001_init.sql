-- Runtime settings (key 'settings' holds PocketBase's settings JSON) and
-- other small system values.
CREATE TABLE _params (
    id      TEXT PRIMARY KEY NOT NULL,
    value   JSON DEFAULT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')),
    updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ'))
);

-- The `_superusers` auth collection's table, with PocketBase's columns.
CREATE TABLE _superusers (
    id              TEXT PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL DEFAULT '',
    emailVisibility BOOLEAN NOT NULL DEFAULT FALSE,
    verified        BOOLEAN NOT NULL DEFAULT FALSE,
    password        TEXT NOT NULL DEFAULT '',
    tokenKey        TEXT NOT NULL DEFAULT '',
    created         TEXT NOT NULL DEFAULT '',
    updated         TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX idx_email__superusers ON _superusers (email) WHERE email != '';
CREATE UNIQUE INDEX idx_tokenKey__superusers ON _superusers (tokenKey);
