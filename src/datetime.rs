//! PocketBase's datetime text: `2006-01-02 15:04:05.000Z`, always UTC.
//! Stored and sent in this one form so that string order is time order.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

pub const FORMAT: &str = "%Y-%m-%d %H:%M:%S%.3fZ";

/// `t` in `FORMAT`. Written digit by digit: every record write stamps
/// its dates, and chrono's general formatter (which parses `FORMAT` each
/// time) was a visible share of a create. Years outside 0..=9999 and leap
/// seconds, which need chrono's signs and rules, go through chrono.
pub fn format(t: DateTime<Utc>) -> String {
    let year = t.year();
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return t.format(FORMAT).to_string();
    }
    let mut out = String::with_capacity(24);
    let parts = [
        (year as u32, 4, '-'),
        (t.month(), 2, '-'),
        (t.day(), 2, ' '),
        (t.hour(), 2, ':'),
        (t.minute(), 2, ':'),
        (t.second(), 2, '.'),
        (nanos / 1_000_000, 3, 'Z'),
    ];
    for (n, width, then) in parts {
        for place in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
        }
        out.push(then);
    }
    out
}

pub fn now() -> String {
    format(Utc::now())
}

/// Parses the datetime forms clients send: PocketBase's own, RFC 3339,
/// and a bare date (record fields, an API key's expiry).
pub fn parse(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.fZ",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A date as PocketBase 0.40 reads a record's date field: `YYYY-MM-DD`,
/// optionally followed (after a space or `T`) by `hh:mm:ss`, a fraction
/// and a zone (`Z`, `+02:00` or `+0200`); nothing trimmed, every part at
/// its full width, no leap second. Anything else, and Go's zero time
/// (`0001-01-01 00:00:00Z`, which PocketBase shows as no date), is `None`,
/// which a date field stores as "". `parse` stays lenient for Cairn's own
/// inputs (an API key's expiry).
pub fn parse_field_value(raw: &str) -> Option<DateTime<Utc>> {
    let b = raw.as_bytes();
    let digits = |at: usize, n: usize| {
        b.get(at..at + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let number = |at: usize, n: usize| raw[at..at + n].parse::<u32>().ok();
    let shaped = |at: usize, sep: u8| b.get(at) == Some(&sep);
    if !(digits(0, 4) && shaped(4, b'-') && digits(5, 2) && shaped(7, b'-') && digits(8, 2)) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(number(0, 4)? as i32, number(5, 2)?, number(8, 2)?)?;
    if b.len() == 10 {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc()).filter(|t| !is_zero_time(t));
    }
    if !(matches!(b[10], b' ' | b'T')
        && digits(11, 2)
        && shaped(13, b':')
        && digits(14, 2)
        && shaped(16, b':')
        && digits(17, 2))
    {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0;
    if shaped(at, b'.') {
        let start = at + 1;
        at = start;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return None;
        }
        let fraction = &raw[start..at.min(start + 9)];
        nanos = fraction.parse::<u32>().ok()? * 10u32.pow(9 - fraction.len() as u32);
    }
    let offset = match &b[at..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), ..] => {
            let zone = &raw[at + 1..];
            let (h, m) = match zone.len() {
                5 if zone.as_bytes()[2] == b':' => (zone.get(0..2)?, zone.get(3..5)?),
                4 => (zone.get(0..2)?, zone.get(2..4)?),
                _ => return None,
            };
            if !(h.bytes().chain(m.bytes()).all(|c| c.is_ascii_digit())) {
                return None;
            }
            let seconds = (h.parse::<i32>().ok()? * 60 + m.parse::<i32>().ok()?) * 60;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let time = chrono::NaiveTime::from_hms_nano_opt(number(11, 2)?, number(14, 2)?, number(17, 2)?, nanos)?;
    let local = date.and_time(time);
    let zone = chrono::FixedOffset::east_opt(offset)?;
    let t = local.and_local_timezone(zone).single()?.with_timezone(&Utc);
    Some(t).filter(|t| !is_zero_time(t))
}

fn is_zero_time(t: &DateTime<Utc>) -> bool {
    t.year() == 1 && t.ordinal() == 1 && t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn reads_a_date_field_as_pocketbase_does() {
        let read = |s: &str| parse_field_value(s).map(format);
        for (raw, stored) in [
            ("2024-01-02", "2024-01-02 00:00:00.000Z"),
            ("2024-01-02 03:04:05", "2024-01-02 03:04:05.000Z"),
            ("2024-01-02T03:04:05.1Z", "2024-01-02 03:04:05.100Z"),
            ("2024-01-02T03:04:05.1234567891Z", "2024-01-02 03:04:05.123Z"),
            ("2024-01-02T03:04:05+0200", "2024-01-02 01:04:05.000Z"),
            ("2024-01-02T03:04:05-07:00", "2024-01-02 10:04:05.000Z"),
            ("0000-01-01", "0000-01-01 00:00:00.000Z"),
            ("0001-01-01 00:00:00.001Z", "0001-01-01 00:00:00.001Z"),
        ] {
            assert_eq!(read(raw).as_deref(), Some(stored), "{raw}");
        }
        for none in [
            "",
            " 2024-01-02",
            "2024-01-02 ",
            "2024-1-2",
            "2024-02-30",
            "2024-01-02t03:04:05z",
            "2024-01-02 23:59:60",
            "2024-01-02T03:04",
            "2024-01-02Z",
            "0001-01-01",
            "2024-01-02 03:04:05.Z",
            "2024-01-02 03:04:05 Z",
            "10000-01-01",
        ] {
            assert_eq!(read(none), None, "{none:?}");
        }
    }

    #[test]
    fn formats_like_pocketbase() {
        let t = Utc
            .with_ymd_and_hms(2006, 1, 2, 15, 4, 5)
            .single()
            .expect("valid")
            + chrono::Duration::milliseconds(7);
        assert_eq!(format(t), "2006-01-02 15:04:05.007Z");
        assert_eq!(now().len(), "2006-01-02 15:04:05.000Z".len());
    }

    #[test]
    fn agrees_with_chrono_across_the_range() {
        let mut at = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).single().expect("valid");
        let end = Utc
            .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
            .single()
            .expect("valid");
        // A step that is no round number of anything visits every digit.
        let step = chrono::Duration::milliseconds(9_876_543_211) + chrono::Duration::nanoseconds(123_457);
        while at < end {
            assert_eq!(format(at), at.format(FORMAT).to_string());
            at += step;
        }
        let far = Utc
            .with_ymd_and_hms(12_345, 6, 7, 8, 9, 10)
            .single()
            .expect("valid");
        assert_eq!(format(far), far.format(FORMAT).to_string());
    }
}
