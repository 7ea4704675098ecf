-- Cairn's webhooks (not in PocketBase): managed by superusers through
-- `/api/webhooks`. Their deliveries are jobs of kind `webhook` in the job
-- queue, tagged with the webhook's id (the deliveries log reads them there).
CREATE TABLE _webhooks (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    -- A collection id, or '*' for every collection.
    collection    TEXT NOT NULL,
    -- A JSON array of event names (`create`, `update`, `delete`,
    -- `auth.signup`, `auth.signin`).
    events        TEXT NOT NULL,
    -- A rule-language expression the record must match; '' for every record.
    filter        TEXT NOT NULL DEFAULT '',
    url           TEXT NOT NULL,
    -- `whsec_` + base64 of the signing key (Standard Webhooks).
    secret        TEXT NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    includeHidden INTEGER NOT NULL DEFAULT 0,
    -- When the current run of failed deliveries began; '' when the last
    -- delivery went through.
    failingSince  TEXT NOT NULL DEFAULT '',
    -- Why Cairn disabled it ('' when a superuser did, or it is enabled).
    disabledReason TEXT NOT NULL DEFAULT '',
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL
);
