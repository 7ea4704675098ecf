-- The scheduled clean-up removes sessions that ended over a week ago,
-- expired (idx__sessions_expires) or revoked: this partial index finds the
-- revoked ones without reading every session.
CREATE INDEX idx__sessions_revoked ON _sessions (revoked) WHERE revoked != '';
