//! The datetime macros (`@now`, `@todayStart`, …), evaluated once per
//! compile in UTC and bound as parameters, and the functions a filter may
//! call (`strftime`, `geoDistance`).

use chrono::{Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc};
use rusqlite::types::Value as Sql;

use super::{CompileError, Compiler, Term, invalid};
use crate::query::parser::Operand;

/// The datetime macros, evaluated now, in UTC.
fn macro_value(name: &str) -> Option<Sql> {
    let now = Utc::now();
    let fmt = |t: chrono::DateTime<Utc>| Sql::Text(crate::datetime::format(t));
    let day_start = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    let month_start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()?;
    let next_month = if now.month() == 12 {
        Utc.with_ymd_and_hms(now.year() + 1, 1, 1, 0, 0, 0)
    } else {
        Utc.with_ymd_and_hms(now.year(), now.month() + 1, 1, 0, 0, 0)
    }
    .single()?;
    let year_start = Utc.with_ymd_and_hms(now.year(), 1, 1, 0, 0, 0).single()?;
    let next_year = Utc.with_ymd_and_hms(now.year() + 1, 1, 1, 0, 0, 0).single()?;
    let end = |t: chrono::DateTime<Utc>| fmt(t - Duration::milliseconds(1));
    Some(match name {
        "@now" => fmt(now),
        "@second" => Sql::Integer(i64::from(now.second())),
        "@minute" => Sql::Integer(i64::from(now.minute())),
        "@hour" => Sql::Integer(i64::from(now.hour())),
        "@weekday" => Sql::Integer(i64::from(now.weekday().num_days_from_sunday())),
        "@day" => Sql::Integer(i64::from(now.day())),
        "@month" => Sql::Integer(i64::from(now.month())),
        "@year" => Sql::Integer(i64::from(now.year())),
        "@yesterday" => fmt(now - Duration::days(1)),
        "@tomorrow" => fmt(now + Duration::days(1)),
        "@todayStart" => fmt(day_start),
        "@todayEnd" => end(day_start + Duration::days(1)),
        "@monthStart" => fmt(month_start),
        "@monthEnd" => end(next_month),
        "@yearStart" => fmt(year_start),
        "@yearEnd" => end(next_year),
        _ => return None,
    })
}

impl Compiler<'_> {
    /// A macro (`@now`) as a bound value.
    pub(super) fn macro_term(&mut self, name: &str) -> Result<Term, CompileError> {
        let v = macro_value(name).ok_or_else(|| invalid(format!("unknown macro {name:?}")))?;
        Ok(Term::Sql(self.bind(v)))
    }

    pub(super) fn call(&mut self, name: &str, args: &[Operand]) -> Result<Term, CompileError> {
        match (name, args.len()) {
            // As PocketBase takes it: the format and the modifiers are
            // quoted text, the time any value (none: now), eight modifiers
            // at most. Not a time gives NULL, which `=`/`!=` see as empty.
            ("strftime", 1..=10) => {
                let literal = |i: usize, a: &Operand| i == 1 || matches!(a, Operand::Str(_));
                if !args.iter().enumerate().all(|(i, a)| literal(i, a)) {
                    return Err(invalid(
                        "strftime() takes its format and modifiers as quoted text".to_owned(),
                    ));
                }
                let sql: Vec<String> = args.iter().map(|a| self.scalar(a)).collect::<Result<_, _>>()?;
                Ok(Term::Nullable(format!("strftime({})", sql.join(", "))))
            }
            ("geoDistance", 4) => {
                // Coordinates are numbers or fields; a quoted literal is
                // refused, as PocketBase refuses it.
                if args.iter().any(|a| matches!(a, Operand::Str(_))) {
                    return Err(invalid(
                        "geoDistance() takes numbers or fields, not text".to_owned(),
                    ));
                }
                let a: Vec<String> = args.iter().map(|a| self.scalar(a)).collect::<Result<_, _>>()?;
                // Kilometres; see `store::register_functions`. NULL where
                // a coordinate is no number: `=`/`!=` then see the empty
                // value, as PocketBase's comparisons do.
                Ok(Term::Nullable(format!(
                    "cairn_geo_distance({}, {}, {}, {})",
                    a[0], a[1], a[2], a[3]
                )))
            }
            _ => Err(invalid(format!(
                "unknown function {name}() or wrong number of arguments"
            ))),
        }
    }
}
