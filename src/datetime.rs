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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

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
