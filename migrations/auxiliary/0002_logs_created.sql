-- Lists sort and retention deletes by `created`; stats group by the hour
-- (idx_logs_created_hour).
CREATE INDEX idx_logs_created ON _logs (created);
