-- Collection definitions, in PocketBase's `_collections` shape. The
-- default `_superusers` and `users` rows (with their fresh token secrets)
-- are written by the schema module on first start.
CREATE TABLE _collections (
    id         TEXT PRIMARY KEY NOT NULL,
    system     BOOLEAN NOT NULL DEFAULT FALSE,
    type       TEXT NOT NULL DEFAULT 'base',
    name       TEXT NOT NULL,
    fields     JSON NOT NULL DEFAULT '[]',
    indexes    JSON NOT NULL DEFAULT '[]',
    listRule   TEXT DEFAULT NULL,
    viewRule   TEXT DEFAULT NULL,
    createRule TEXT DEFAULT NULL,
    updateRule TEXT DEFAULT NULL,
    deleteRule TEXT DEFAULT NULL,
    options    JSON NOT NULL DEFAULT '{}',
    created    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')),
    updated    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ'))
);
CREATE UNIQUE INDEX idx__collections_name ON _collections (name COLLATE NOCASE);
