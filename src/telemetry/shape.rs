//! The bytes of a log line, written by hand: the access line whole, and
//! the head and tail of every other line around what `tracing` formats.
//! Each mirrors the shape `tracing`'s own formatters give, so the lines a
//! reader sees look alike whichever path wrote them.

use std::{
    cell::RefCell,
    fmt::Write as _,
    io::Write as _,
    net::IpAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::{ACCESS_TARGET, Access};

/// `tracing`'s JSON shape: `fields` holds the message and the fields,
/// `span` the request's id under the name a span would have.
pub(super) fn json_line(line: &mut Vec<u8>, level: &str, a: &Access<'_>) {
    json_head(line, level);
    line.extend_from_slice(b"{\"message\":\"request\",\"method\":");
    json_str(line, a.method);
    line.extend_from_slice(b",\"path\":");
    json_str(line, a.path);
    line.extend_from_slice(b",\"status\":");
    push_int(line, a.status);
    line.extend_from_slice(b",\"duration_ms\":\"");
    millis(line, a.duration);
    // An address needs no escaping.
    line.extend_from_slice(b"\",\"ip\":\"");
    push_ip(line, a.ip);
    line.extend_from_slice(b"\",\"auth_id\":");
    json_str(line, a.auth_id);
    line.push(b'}');
    json_tail(line, ACCESS_TARGET, Some(a.request_id));
}

/// A JSON line up to its `fields` object.
pub(super) fn json_head(line: &mut Vec<u8>, level: &str) {
    line.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(line);
    line.extend_from_slice(b"\",\"level\":\"");
    line.extend_from_slice(level.as_bytes());
    line.extend_from_slice(b"\",\"fields\":");
}

/// A JSON line after its `fields` object.
pub(super) fn json_tail(line: &mut Vec<u8>, target: &str, request_id: Option<&str>) {
    line.extend_from_slice(b",\"target\":");
    json_str(line, target);
    if let Some(id) = request_id {
        line.extend_from_slice(b",\"span\":{\"request_id\":");
        json_str(line, id);
        line.extend_from_slice(b",\"name\":\"request\"}");
    }
    line.extend_from_slice(b"}\n");
}

/// `tracing`'s plain shape, without the target (as `init` configures it).
pub(super) fn pretty_line(line: &mut Vec<u8>, level: &str, a: &Access<'_>) {
    pretty_head(line, level, Some(a.request_id), false);
    line.extend_from_slice(b"request method=");
    line.extend_from_slice(a.method.as_bytes());
    line.extend_from_slice(b" path=");
    line.extend_from_slice(a.path.as_bytes());
    line.extend_from_slice(b" status=");
    push_int(line, a.status);
    line.extend_from_slice(b" duration_ms=");
    millis(line, a.duration);
    line.extend_from_slice(b" ip=");
    push_ip(line, a.ip);
    // `Debug` for the id, as tracing records a plain `&str` field.
    line.extend_from_slice(b" auth_id=");
    push_debug_str(line, a.auth_id);
    line.push(b'\n');
}

/// A plain line up to its fields: the time, the level right-aligned in
/// five columns and the request's scope; in colour for a terminal.
pub(super) fn pretty_head(line: &mut Vec<u8>, level: &str, request_id: Option<&str>, ansi: bool) {
    let paint = |line: &mut Vec<u8>, code: &[u8], text: &[u8]| {
        if ansi {
            line.extend_from_slice(b"\x1b[");
            line.extend_from_slice(code);
            line.push(b'm');
            line.extend_from_slice(text);
            line.extend_from_slice(b"\x1b[0m");
        } else {
            line.extend_from_slice(text);
        }
    };
    let mut time = Vec::with_capacity(27);
    timestamp(&mut time);
    paint(line, b"2", &time);
    line.push(b' ');
    let mut padded = Vec::with_capacity(5);
    padded.extend(std::iter::repeat_n(b' ', 5usize.saturating_sub(level.len())));
    padded.extend_from_slice(level.as_bytes());
    let colour: &[u8] = match level {
        "ERROR" => b"31",
        "WARN" => b"33",
        "INFO" => b"32",
        "DEBUG" => b"34",
        _ => b"35",
    };
    paint(line, colour, &padded);
    line.push(b' ');
    if let Some(id) = request_id {
        paint(line, b"1", b"request{");
        line.extend_from_slice(b"request_id=");
        line.extend_from_slice(id.as_bytes());
        paint(line, b"1", b"}");
        line.extend_from_slice(b": ");
    }
}

// The line is built byte by byte rather than with `write!`: `fmt`'s
// machinery (argument tables, padding, `Display` for an address) was
// about half of the line's cost, and the line is written on every request.

pub(super) fn push_int(line: &mut Vec<u8>, n: impl itoa::Integer) {
    line.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `n` zero-padded to `width` digits.
pub(super) fn push_padded(line: &mut Vec<u8>, n: u32, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    line.extend(std::iter::repeat_n(b'0', width.saturating_sub(digits.len())));
    line.extend_from_slice(digits.as_bytes());
}

/// As `Display` writes it.
pub(super) fn push_ip(line: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    line.push(b'.');
                }
                push_int(line, octet);
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(line, "{v6}");
        }
    }
}

/// As `Debug` writes a string: quoted, with `"`, `\` and anything
/// unprintable escaped. Record ids never need it, so they skip `fmt`.
pub(super) fn push_debug_str(line: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| matches!(b, b' '..=b'~') && b != b'"' && b != b'\\')
    {
        line.push(b'"');
        line.extend_from_slice(s.as_bytes());
        line.push(b'"');
    } else {
        let _ = write!(line, "{s:?}");
    }
}

/// A JSON string literal: record ids and request ids are plain, but a
/// path may carry anything the URI grammar allows.
pub(super) fn json_str(line: &mut Vec<u8>, s: &str) {
    // Writing a `&str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(line, s);
}

/// Milliseconds with three decimals, as the `tracing` path gives them.
pub(super) fn millis(line: &mut Vec<u8>, d: Duration) {
    let micros = d.as_micros();
    push_int(line, micros / 1000);
    line.push(b'.');
    // Below 1000, so it fits.
    push_padded(line, (micros % 1000) as u32, 3);
}

/// RFC 3339 UTC with microseconds, as `tracing`'s default timer writes.
/// The part down to the second is formatted once a second per thread.
pub(super) fn timestamp(line: &mut Vec<u8>) {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    SECOND.with_borrow_mut(|(secs, text)| {
        if *secs != now.as_secs() {
            *secs = now.as_secs();
            text.clear();
            let at = chrono::DateTime::from_timestamp(now.as_secs() as i64, 0).unwrap_or_default();
            let _ = write!(text, "{}", at.format("%Y-%m-%dT%H:%M:%S"));
        }
        line.extend_from_slice(text.as_bytes());
    });
    line.push(b'.');
    push_padded(line, now.subsec_micros(), 6);
    line.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(path: &str) -> Access<'_> {
        Access {
            request_id: "trace-me-42",
            method: "GET",
            path,
            status: 404,
            duration: Duration::from_micros(1_234_567),
            ip: IpAddr::from([127, 0, 0, 1]),
            auth_id: "",
        }
    }

    fn render(shape: fn(&mut Vec<u8>, &str, &Access<'_>), level: &str, a: &Access<'_>) -> String {
        let mut line = Vec::new();
        shape(&mut line, level, a);
        String::from_utf8(line).expect("utf-8")
    }

    #[test]
    fn the_json_line_is_json_in_tracings_shape() {
        let line = render(json_line, "INFO", &sample("/api/\"odd\\\u{1}path"));
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], ACCESS_TARGET);
        assert_eq!(v["span"]["request_id"], "trace-me-42");
        assert_eq!(v["span"]["name"], "request");
        assert_eq!(v["fields"]["message"], "request");
        assert_eq!(v["fields"]["path"], "/api/\"odd\\\u{1}path");
        assert_eq!(v["fields"]["status"], 404);
        assert_eq!(v["fields"]["duration_ms"], "1234.567");
        assert_eq!(v["fields"]["auth_id"], "");
        let ts = v["timestamp"].as_str().expect("timestamp");
        let parsed = chrono::DateTime::parse_from_rfc3339(ts).expect("rfc 3339");
        let age = chrono::Utc::now().signed_duration_since(parsed);
        assert!(age.num_seconds().abs() < 5, "{ts}");
        assert_eq!(ts.len(), "2026-12-02T09:14:46.301596Z".len());
    }

    #[test]
    fn the_plain_line_reads_like_tracings() {
        let line = render(pretty_line, "ERROR", &sample("/api/x"));
        let (ts, rest) = line.split_once(' ').expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(
            rest,
            "ERROR request{request_id=trace-me-42}: request method=GET path=/api/x status=404 \
             duration_ms=1234.567 ip=127.0.0.1 auth_id=\"\"\n"
        );
        let info = render(pretty_line, "INFO", &sample("/"));
        assert!(info.contains("Z  INFO request{"), "{info}");
    }

    #[test]
    fn plain_heads_name_the_request_and_colour_only_for_a_terminal() {
        let head = |level, id, ansi| {
            let mut line = Vec::new();
            pretty_head(&mut line, level, id, ansi);
            String::from_utf8(line).expect("utf-8")
        };
        let plain = head("WARN", Some("r-1"), false);
        let (ts, rest) = plain.split_once(' ').expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(rest, " WARN request{request_id=r-1}: ");
        assert!(head("ERROR", None, false).ends_with("Z ERROR "));
        let colour = head("INFO", Some("r-2"), true);
        assert!(
            colour.starts_with("\x1b[2m") && colour.contains("\x1b[32m INFO\x1b[0m"),
            "{colour:?}"
        );
        assert!(
            colour.ends_with("\x1b[1mrequest{\x1b[0mrequest_id=r-2\x1b[1m}\x1b[0m: "),
            "{colour:?}"
        );
    }

    #[test]
    fn json_tails_carry_the_request_only_inside_one() {
        let tail = |id| {
            let mut line = b"{\"fields\":{}".to_vec();
            json_tail(&mut line, "cairn::x", id);
            serde_json::from_slice::<serde_json::Value>(&line).expect("json")
        };
        assert_eq!(tail(Some("q\"1"))["span"]["request_id"], "q\"1");
        assert_eq!(tail(Some("q"))["span"]["name"], "request");
        assert_eq!(tail(None)["target"], "cairn::x");
        assert!(tail(None).get("span").is_none());
    }

    #[test]
    fn the_plain_line_writes_ids_and_addresses_as_tracing_would() {
        let odd = "say \"hi\"\\\u{7}é";
        for (auth_id, ip) in [
            ("abc123def456ghi", IpAddr::from([10, 0, 255, 9])),
            (odd, "2001:db8::1".parse().expect("ipv6")),
            ("", "::ffff:1.2.3.4".parse().expect("mapped")),
        ] {
            let a = Access {
                auth_id,
                ip,
                duration: Duration::from_micros(7),
                ..sample("/p")
            };
            let line = render(pretty_line, "INFO", &a);
            let expected = format!(" status=404 duration_ms=0.007 ip={ip} auth_id={auth_id:?}\n");
            assert!(line.ends_with(&expected), "{line}");
            let v: serde_json::Value = serde_json::from_str(&render(json_line, "INFO", &a)).expect("json");
            assert_eq!(v["fields"]["ip"], ip.to_string());
            assert_eq!(v["fields"]["auth_id"], auth_id);
            assert_eq!(v["fields"]["duration_ms"], "0.007");
        }
    }
}
