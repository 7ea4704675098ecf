-- The level index, for the same reason as 0003: it was paid on every
-- request (a fourth B-tree insert per row) to speed up a filter people
-- run now and then from the dashboard. Levels have four values, so it
-- narrowed little but the rare warnings and errors; such a filter now
-- reads the table, which retention (`settings.logs.maxDays`) keeps to a
-- bounded size.
DROP INDEX IF EXISTS idx_logs_level;
