//! The log's writer task: takes what is queued, waits a moment for more
//! (a batch costs one transaction however many rows it holds), turns the
//! records into rows here rather than on the request path, and inserts
//! them. Its own failures are logged under the `cairn::logs` target,
//! which the server-log forwarding skips, so a failing insert cannot feed
//! itself.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use super::{
    Entry, Msg,
    insert::{Row, insert_keyed},
    level, record_level,
};
use crate::store::{Database, StoreError};

/// Rows per transaction, at most (an import's copy too).
pub(super) const BATCH: usize = 1024;
/// How long a small batch waits for company. A request's log is readable
/// this long after it is answered, at worst.
const GATHER: Duration = Duration::from_millis(50);

pub(super) async fn run(db: Arc<Database>, mut rx: mpsc::Receiver<Msg>, dropped: Arc<AtomicU64>) {
    let mut msgs = Vec::with_capacity(BATCH);
    let mut reported = 0;
    // Off after a `Retain(0)`: records taken before logging was turned
    // off, but queued after it, are not written.
    let mut keeping = true;
    loop {
        if rx.recv_many(&mut msgs, BATCH).await == 0 {
            return; // every sender is gone
        }
        let urgent = |m: &Msg| matches!(m, Msg::Flush(_) | Msg::Retain(_));
        if msgs.len() < BATCH && !msgs.iter().any(urgent) {
            tokio::time::sleep(GATHER).await;
            while msgs.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
        }
        let mut rows = Vec::with_capacity(msgs.len() + 1);
        let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
        for msg in msgs.drain(..) {
            match msg {
                Msg::Entry(entry) if keeping => rows.push(row(entry)),
                Msg::Entry(_) => {}
                Msg::Flush(done) => waiting.push(done),
                Msg::Retain(max_days) => {
                    // What was queued before the change is written first,
                    // so the retention reaches it too.
                    write(&db, std::mem::take(&mut rows)).await;
                    keeping = max_days > 0;
                    if let Err(err) = super::query::delete_older_than(&db, max_days).await {
                        tracing::warn!(target: "cairn::logs", error = %err, "could not apply the log retention");
                    }
                }
            }
        }
        let lost = dropped.load(Ordering::Relaxed);
        if lost > reported {
            if keeping {
                rows.push(lost_row(lost - reported));
            }
            reported = lost;
        }
        write(&db, rows).await;
        for done in waiting {
            let _ = done.send(());
        }
    }
}

/// Inserts `rows` (if any); a failure is logged, and the rows are lost.
async fn write(db: &Database, rows: Vec<Row>) {
    if !rows.is_empty()
        && let Err(err) = insert(db, rows).await
    {
        tracing::warn!(target: "cairn::logs", error = %err, "could not write request logs");
    }
}

/// Inserts `rows` in one transaction, in time order (keeping the order of
/// equal times): a request's time is when it began, and requests end in
/// another order; in time order, `insert_keyed` appends all but the rows
/// of requests that began before the previous batch was written. Sorted
/// here, off the database's writer thread.
async fn insert(db: &Database, mut rows: Vec<Row>) -> Result<(), StoreError> {
    rows.sort_by_key(|r| r.at);
    db.write(move |tx| Ok::<_, StoreError>(insert_keyed(tx, &rows)?))
        .await
}

/// A request's `data` as JSON, written by hand: the same text serde
/// gives for the reference struct in the tests (which hold them equal), at about a third of
/// the instructions, which matter here since every request makes one.
fn request_json(r: &super::RequestRecord, collection: &str, id: &str, policy: &super::Policy) -> String {
    let mut out = String::with_capacity(160 + r.url.len() + r.user_agent.len() + r.referer.len());
    out.push('{');
    if let Some(key) = &r.api_key {
        out.push_str("\"apiKey\":");
        json_str(&mut out, key);
        out.push(',');
    }
    out.push_str("\"auth\":");
    json_str(&mut out, collection);
    if policy.log_auth_id && !id.is_empty() {
        out.push_str(",\"authId\":");
        json_str(&mut out, id);
    }
    if let Some((message, details)) = &r.error {
        if !details.is_empty() {
            out.push_str(",\"details\":");
            json_str(&mut out, details);
        }
        out.push_str(",\"error\":");
        json_str(&mut out, message);
    }
    out.push_str(",\"execTime\":");
    // Nanoseconds over a million, as PocketBase computes it: whole
    // milliseconds stay whole and the rest take the nearest double
    // (`as_secs_f64() * 1000` gave 1.0253949999999998 for 1.025395).
    let ms = r.exec_time.as_nanos() as f64 / 1e6;
    if ms.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(ms));
    } else {
        out.push_str("null");
    }
    out.push_str(",\"method\":");
    json_str(&mut out, &r.method);
    out.push_str(",\"referer\":");
    json_str(&mut out, &r.referer);
    let remote = policy.log_ip.then(|| ip_text(&r.remote_ip));
    if let Some(ip) = &remote {
        out.push_str(",\"remoteIP\":");
        json_str(&mut out, ip);
    }
    out.push_str(",\"requestId\":");
    json_str(&mut out, &r.request_id);
    out.push_str(",\"status\":");
    out.push_str(itoa::Buffer::new().format(r.status));
    out.push_str(",\"type\":\"request\",\"url\":");
    json_str(&mut out, &r.url);
    out.push_str(",\"userAgent\":");
    json_str(&mut out, &r.user_agent);
    if policy.log_ip {
        out.push_str(",\"userIP\":");
        // Behind no proxy the two addresses are one: format it once.
        match remote {
            Some(ip) if r.user_ip == r.remote_ip => json_str(&mut out, &ip),
            _ => json_str(&mut out, &ip_text(&r.user_ip)),
        }
    }
    if !r.slow_queries.is_empty() {
        out.push_str(",\"slowQueries\":");
        out.push_str(&serde_json::to_string(&r.slow_queries).unwrap_or_else(|_| "[]".into()));
    }
    out.push('}');
    out
}

/// `s` as a JSON string. Most log text needs no escaping, and is copied
/// whole; the rest goes through serde's escaper.
fn json_str(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }
}

/// A request's URL as PocketBase writes it in the entry's message (its
/// `data.url` is the URL as sent): percent-escapes decoded, a `+` left as
/// it is, bytes that are not UTF-8 replaced; a URL with a malformed escape
/// (`%ZZ`) is written as sent.
fn message_url(url: &str) -> std::borrow::Cow<'_, str> {
    // Most URLs have no escape: one fast search, and the URL is the text.
    let Some(first) = url.find('%') else {
        return url.into();
    };
    let bytes = url.as_bytes();
    let malformed = bytes[first..].iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(first + i + 1..first + i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return url.into();
    }
    percent_encoding::percent_decode_str(url).decode_utf8_lossy()
}

/// An address as PocketBase logs it (IPv4-mapped IPv6 as IPv4), with
/// IPv4 written digit by digit rather than through `Display`, which cost
/// over a thousand instructions a request.
fn ip_text(ip: &std::net::IpAddr) -> String {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => {
            let mut out = String::with_capacity(15);
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(digits.format(*octet));
            }
            out
        }
        v6 => v6.to_string(),
    }
}

fn row(entry: Entry) -> Row {
    let (at, level, message, data) = match entry {
        Entry::Request(r, policy) => {
            let (collection, id) = r
                .auth
                .as_ref()
                .map_or(("", ""), |(c, i)| (c.as_str(), i.as_str()));
            let json = request_json(&r, collection, id, &policy);
            let data = match policy.max_data_size {
                0 => json,
                // Rare (a limit set in the settings): the row is read back
                // as a map for `cap` to shorten its longest texts.
                max => match serde_json::from_str::<Map<String, Value>>(&json) {
                    Ok(map) => cap(map, max),
                    Err(_) => "{}".into(),
                },
            };
            let message = format!("{} {}", r.method, message_url(&r.url));
            (r.at, record_level(&r), message, data)
        }
        Entry::Server(s, policy) => (s.at, s.level, s.message, cap(s.data, policy.max_data_size)),
    };
    Row {
        at,
        level,
        message,
        data,
    }
}

/// The row that says how many records the full queue cost.
fn lost_row(count: u64) -> Row {
    let mut data = Map::new();
    data.insert("type".into(), "app".into());
    data.insert("dropped".into(), count.into());
    Row {
        at: chrono::Utc::now(),
        level: level::WARN,
        message: "Log records were dropped: the log queue was full.".into(),
        data: Value::Object(data).to_string(),
    }
}

/// `data` as JSON, no longer than `max` bytes (0: no limit): the longest
/// text values are shortened first, so the fields that identify the
/// request (method, status, ids) survive a long URL or user agent.
fn cap(mut data: Map<String, Value>, max: u64) -> String {
    // A map of JSON values always serializes.
    let json = |d: &Map<String, Value>| serde_json::to_string(d).unwrap_or_else(|_| "{}".into());
    let mut text = json(&data);
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if max == 0 {
        return text;
    }
    // Each pass shortens one value; there are only so many.
    for _ in 0..data.len() {
        if text.len() <= max {
            return text;
        }
        let excess = text.len() - max;
        let Some(Value::String(longest)) = data
            .values_mut()
            .filter(|v| v.is_string())
            .max_by_key(|v| v.as_str().map_or(0, str::len))
        else {
            break;
        };
        let mut keep = longest.len().saturating_sub(excess);
        while !longest.is_char_boundary(keep) {
            keep -= 1;
        }
        longest.truncate(keep);
        text = json(&data);
    }
    if text.len() <= max {
        text
    } else {
        // Nothing left to shorten (or escaping grew it back): keep the
        // row, not the detail.
        "{}".into()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::{super::Policy, *};

    /// A request's `data` as serde writes it, the reference `request_json`
    /// is held to; its keys in PocketBase's (sorted) order.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct RequestData<'a> {
        /// Cairn's: the API key the caller acted through, by id.
        #[serde(skip_serializing_if = "Option::is_none")]
        api_key: Option<&'a str>,
        auth: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        auth_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        details: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
        exec_time: f64,
        method: &'a str,
        referer: &'a str,
        #[serde(rename = "remoteIP", skip_serializing_if = "Option::is_none")]
        remote_ip: Option<String>,
        request_id: &'a str,
        status: u16,
        #[serde(rename = "type")]
        kind: &'static str,
        url: &'a str,
        user_agent: &'a str,
        #[serde(rename = "userIP", skip_serializing_if = "Option::is_none")]
        user_ip: Option<String>,
        /// Cairn's: reads slower than `--slow-query`, with SQLite's plans.
        #[serde(rename = "slowQueries", skip_serializing_if = "<[_]>::is_empty")]
        slow_queries: &'a [crate::store::explain::SlowQuery],
    }

    /// `request_json` writes what serde writes for `RequestData`, for any
    /// policy, addresses of both kinds and text that needs escaping.
    #[test]
    fn hand_written_request_json_equals_serdes() {
        let texts = ["/api/x?y=1", "/a\"b\\c\u{1}\u{7f}é✓\n", ""];
        let ips = ["127.0.0.1", "::ffff:10.0.0.7", "2001:db8::1"];
        for (i, text) in texts.iter().enumerate() {
            for (j, ip) in ips.iter().enumerate() {
                for (log_ip, log_auth_id) in [(true, true), (false, false), (true, false)] {
                    let r = super::super::RequestRecord {
                        at: Utc::now(),
                        method: "PATCH".into(),
                        url: (*text).into(),
                        status: 200 + i as u16,
                        exec_time: Duration::from_nanos(1_234_567 * (j as u64 + 1)),
                        remote_ip: ip.parse().expect("ip"),
                        user_ip: ips[(i + j) % 3].parse().expect("ip"),
                        referer: texts[(i + 1) % 3].into(),
                        user_agent: texts[(i + 2) % 3].into(),
                        auth: (j != 1).then(|| ("users".to_owned(), format!("id{text}"))),
                        // A key on some rows, text needing escapes on one.
                        api_key: (j == 2).then(|| format!("key{text}")),
                        request_id: "abc123".into(),
                        slow_queries: Vec::new(),
                        // An error on some rows, with and without details.
                        error: (i != 0)
                            .then(|| (format!("Failed{text}"), ["", "{\"n\":1}", *text][j].to_owned())),
                    };
                    let policy = Policy {
                        log_ip,
                        log_auth_id,
                        max_data_size: 0,
                    };
                    let (collection, id) = r
                        .auth
                        .as_ref()
                        .map_or(("", ""), |(c, i)| (c.as_str(), i.as_str()));
                    let expected = serde_json::to_string(&RequestData {
                        api_key: r.api_key.as_deref(),
                        auth: collection,
                        auth_id: (policy.log_auth_id && !id.is_empty()).then_some(id),
                        details: r.error.as_ref().map(|e| e.1.as_str()).filter(|d| !d.is_empty()),
                        error: r.error.as_ref().map(|e| e.0.as_str()),
                        exec_time: r.exec_time.as_nanos() as f64 / 1e6,
                        method: &r.method,
                        referer: &r.referer,
                        remote_ip: policy.log_ip.then(|| r.remote_ip.to_canonical().to_string()),
                        request_id: &r.request_id,
                        status: r.status,
                        kind: "request",
                        url: &r.url,
                        user_agent: &r.user_agent,
                        user_ip: policy.log_ip.then(|| r.user_ip.to_canonical().to_string()),
                        slow_queries: &r.slow_queries,
                    })
                    .expect("json");
                    assert_eq!(request_json(&r, collection, id, &policy), expected);
                }
            }
        }
    }

    /// The message's URL, as PocketBase 0.40.6 wrote these (seen in its
    /// log): decoded once, `+` kept, invalid UTF-8 replaced, a malformed
    /// escape leaving the whole URL as sent.
    #[test]
    fn the_message_has_the_url_decoded_as_pocketbase_writes_it() {
        for (url, message) in [
            ("/api/health?a=b+c%20d%2Be&%C3%A9=1", "/api/health?a=b+c d+e&é=1"),
            ("/api/health?x=%2541", "/api/health?x=%41"),
            ("/api/health?q=%FF", "/api/health?q=\u{fffd}"),
            ("/api/health?a=b+c%20d%ZZ", "/api/health?a=b+c%20d%ZZ"),
            ("/api/health?a=%2", "/api/health?a=%2"),
            ("/api/collections/posts/records", "/api/collections/posts/records"),
        ] {
            assert_eq!(message_url(url), message, "{url}");
        }
    }

    #[test]
    fn cap_shortens_the_longest_text_first() {
        let mut data = Map::new();
        data.insert("method".into(), "GET".into());
        data.insert("status".into(), 200.into());
        data.insert("userAgent".into(), "x".repeat(500).into());
        let full = Value::Object(data.clone()).to_string();
        assert_eq!(cap(data.clone(), 0), full);
        let capped = cap(data.clone(), 100);
        assert!(capped.len() <= 100, "{capped}");
        let v: Value = serde_json::from_str(&capped).expect("json");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["status"], 200);
        assert_eq!(cap(data, 5), "{}");
    }

    /// No float noise: 1,025,395 ns is 1.025395 ms, as PocketBase logs it
    /// (`as_secs_f64() * 1000` made it 1.0253949999999998).
    #[test]
    fn exec_time_is_the_nearest_double_of_its_milliseconds() {
        for (nanos, text) in [(1_025_395, "1.025395"), (3_000_000, "3.0"), (70_100, "0.0701")] {
            let r = super::super::RequestRecord {
                exec_time: Duration::from_nanos(nanos),
                ..super::super::tests::record(200)
            };
            let policy = Policy {
                log_ip: false,
                log_auth_id: false,
                max_data_size: 0,
            };
            let json = request_json(&r, "", "", &policy);
            assert!(json.contains(&format!(r#""execTime":{text},"#)), "{json}");
        }
    }

    #[test]
    fn request_rows_honour_the_policy() {
        let record = |policy| {
            let r = super::super::RequestRecord {
                at: Utc::now(),
                method: "GET".into(),
                url: "/api/x?y=1".into(),
                status: 404,
                exec_time: Duration::from_micros(1500),
                remote_ip: "127.0.0.1".parse().expect("ip"),
                user_ip: "::ffff:10.0.0.9".parse().expect("ip"),
                referer: String::new(),
                user_agent: "ua".into(),
                auth: Some(("users".into(), "abc".into())),
                api_key: None,
                request_id: "rid".into(),
                slow_queries: Vec::new(),
                error: None,
            };
            let row = row(Entry::Request(Box::new(r), policy));
            let data: Value = serde_json::from_str(&row.data).expect("json");
            (row, data)
        };
        let (row, data) = record(Policy {
            log_ip: true,
            log_auth_id: true,
            max_data_size: 0,
        });
        assert_eq!((row.level, row.message.as_str()), (8, "GET /api/x?y=1"));
        assert_eq!(data["userIP"], "10.0.0.9");
        assert_eq!(data["authId"], "abc");
        assert_eq!(data["auth"], "users");
        assert_eq!(data["execTime"], 1.5);
        let (_, data) = record(Policy {
            log_ip: false,
            log_auth_id: false,
            max_data_size: 0,
        });
        assert!(data.get("userIP").is_none() && data.get("remoteIP").is_none());
        assert!(data.get("authId").is_none());
        assert_eq!(data["auth"], "users");
    }
}
