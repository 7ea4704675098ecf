-- Account flows. These are internal tables rather than system collections:
-- the SDKs never read `_otps`, `_mfas` or `_authOrigins` directly (they only
-- call request-otp / auth-with-otp and get `mfaId` back), and keeping them
-- out of the collection catalog keeps them out of rules and the record API.

-- The dev outbox: mail that would have been sent while SMTP is disabled.
CREATE TABLE _outbox (
    id        TEXT PRIMARY KEY NOT NULL,
    recipient TEXT NOT NULL,
    subject   TEXT NOT NULL,
    html      TEXT NOT NULL,
    text      TEXT NOT NULL,
    created   TEXT NOT NULL
);
CREATE INDEX idx__outbox_created ON _outbox (created);

-- One-time sign-in codes, stored hashed. `expires` is Unix seconds.
CREATE TABLE _otps (
    id            TEXT PRIMARY KEY NOT NULL,
    collectionRef TEXT NOT NULL,
    recordRef     TEXT NOT NULL,
    password      TEXT NOT NULL,
    sentTo        TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    expires       INTEGER NOT NULL,
    created       TEXT NOT NULL
);
CREATE INDEX idx__otps_record ON _otps (collectionRef, recordRef);

-- First factors of a multi-factor sign-in awaiting their second.
CREATE TABLE _mfas (
    id            TEXT PRIMARY KEY NOT NULL,
    collectionRef TEXT NOT NULL,
    recordRef     TEXT NOT NULL,
    method        TEXT NOT NULL,
    expires       INTEGER NOT NULL,
    created       TEXT NOT NULL
);
CREATE INDEX idx__mfas_record ON _mfas (collectionRef, recordRef);

-- Where each account has signed in from (a hash of IP and user agent), so
-- a sign-in from somewhere new can be reported to the account's owner.
CREATE TABLE _authOrigins (
    id            TEXT PRIMARY KEY NOT NULL,
    collectionRef TEXT NOT NULL,
    recordRef     TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL
);
CREATE UNIQUE INDEX idx__authOrigins_unique ON _authOrigins (collectionRef, recordRef, fingerprint);
