-- Request and application logs, in PocketBase's `_logs` shape.
CREATE TABLE _logs (
    id      TEXT PRIMARY KEY NOT NULL,
    level   INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    data    JSON NOT NULL DEFAULT '{}',
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ'))
);
CREATE INDEX idx_logs_level ON _logs (level);
CREATE INDEX idx_logs_message ON _logs (message);
CREATE INDEX idx_logs_created_hour ON _logs (strftime('%Y-%m-%d %H:00:00', created));
