-- A request log row is written for every request, so each index on it is
-- paid on every request. The message index (PocketBase has one) served no
-- query Cairn runs often: a filter on `message` scans, as a filter on any
-- `data.*` field does. The hour index served the stats, which read the
-- `created` range (idx_logs_created) and group what they find.
DROP INDEX IF EXISTS idx_logs_message;
DROP INDEX IF EXISTS idx_logs_created_hour;
