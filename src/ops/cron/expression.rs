//! Cron expressions as PocketBase takes them: five fields (minute, hour,
//! day of month, month, day of week), each `*`, a number, a range `a-b`,
//! a step `*/n` or `a-b/n`, or a comma list of those; or one of the
//! macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
//! `@midnight`, `@hourly`. Times are UTC. When both day fields are
//! restricted a day matching either runs, as in classic cron.

use chrono::{DateTime, Datelike, Timelike, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(pub String);

/// A parsed expression: for each field, the set of values it admits
/// (bit `v` set: value `v` matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether the day-of-month and day-of-week fields were `*`.
    any_day: bool,
    any_weekday: bool,
}

/// The fields' names and bounds, in order.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 6),
];

fn macro_expression(name: &str) -> Option<&'static str> {
    Some(match name {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

fn number(text: &str, name: &str, min: u32, max: u32) -> Result<u32, CronError> {
    let n: u32 = text
        .parse()
        .map_err(|_| CronError(format!("Invalid {name} value {text:?}: not a number.")))?;
    if n < min || n > max {
        return Err(CronError(format!(
            "Invalid {name} value {n}: it must be between {min} and {max}."
        )));
    }
    Ok(n)
}

/// The set one field admits.
fn field(text: &str, (name, min, max): (&str, u32, u32)) -> Result<u64, CronError> {
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step = number(s, name, 1, max.max(1))
                    .map_err(|_| CronError(format!("Invalid {name} step {s:?}.")))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (number(a, name, min, max)?, number(b, name, min, max)?);
            if a > b {
                return Err(CronError(format!("Invalid {name} range {range:?}.")));
            }
            (a, b)
        } else {
            let a = number(range, name, min, max)?;
            // `5/15` means from 5 to the end, every 15.
            (a, if part.contains('/') { max } else { a })
        };
        let mut v = from;
        while v <= to {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

impl std::str::FromStr for Schedule {
    type Err = CronError;

    fn from_str(raw: &str) -> Result<Self, CronError> {
        let raw = raw.trim();
        let text = macro_expression(raw).unwrap_or(raw);
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != FIELDS.len() {
            return Err(CronError(format!(
                "Invalid cron expression {raw:?}: it needs 5 fields (minute hour day month weekday) or a macro such as @daily."
            )));
        }
        let mut sets = [0u64; 5];
        for (i, part) in parts.iter().enumerate() {
            sets[i] = field(part, FIELDS[i])?;
        }
        Ok(Self {
            minutes: sets[0],
            hours: sets[1],
            days: sets[2],
            months: sets[3],
            weekdays: sets[4],
            any_day: parts[2] == "*",
            any_weekday: parts[4] == "*",
        })
    }
}

impl Schedule {
    /// Whether a job on this schedule is due in the minute of `t`.
    pub fn matches(&self, t: DateTime<Utc>) -> bool {
        let has = |set: u64, v: u32| set & (1 << v) != 0;
        let day = has(self.days, t.day());
        let weekday = has(self.weekdays, t.weekday().num_days_from_sunday());
        let day_ok = match (self.any_day, self.any_weekday) {
            (false, false) => day || weekday,
            _ => day && weekday,
        };
        has(self.minutes, t.minute()) && has(self.hours, t.hour()) && has(self.months, t.month()) && day_ok
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("time")
    }

    #[test]
    fn parses_and_matches() {
        let s: Schedule = "0 */6 * * *".parse().expect("parse");
        assert!(s.matches(at(2026, 1, 1, 6, 0)));
        assert!(!s.matches(at(2026, 1, 1, 7, 0)));
        assert!(!s.matches(at(2026, 1, 1, 6, 1)));
        let s: Schedule = "@daily".parse().expect("macro");
        assert!(s.matches(at(2026, 3, 9, 0, 0)) && !s.matches(at(2026, 3, 9, 1, 0)));
        let s: Schedule = "15,45 9-17/4 1 * 1".parse().expect("lists");
        // 2026-03-02 is a Monday (weekday matches), the 1st is a Sunday.
        assert!(s.matches(at(2026, 3, 2, 13, 45)));
        assert!(s.matches(at(2026, 3, 1, 9, 15)));
        assert!(!s.matches(at(2026, 3, 3, 9, 15)));
        assert!(!s.matches(at(2026, 3, 2, 10, 15)));
        let s: Schedule = "5/20 * * * *".parse().expect("start/step");
        assert!(s.matches(at(2026, 3, 2, 1, 45)) && !s.matches(at(2026, 3, 2, 1, 0)));
    }

    #[test]
    fn refuses_what_does_not_parse() {
        for bad in [
            "",
            "* * * *",
            "61 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "*/0 * * * *",
            "5-1 * * * *",
            "a * * * *",
            "@often",
            "* * * * * *",
        ] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad:?}");
        }
    }
}
