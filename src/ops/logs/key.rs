//! The log's key, `seq` (migrations/auxiliary/0005): the millisecond a row
//! was written, shifted left by `SHIFT` bits, plus a count within that
//! millisecond. `_log_entries` is one B-tree ordered by it, and the `_logs`
//! view reads `id` and `created` from it (as SQL), so this
//! module is what the Rust side knows of that mapping: the key a time
//! starts at, the key an id names, and the keys a `created` comparison can
//! admit.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::{datetime, query::lexer::Op};

/// Bits for the count within a millisecond: 262,144 rows a millisecond
/// before a row is counted into the next one. Keys stay below 2^60, so ids
/// stay 15 hex digits, until the year 2109.
pub(super) const SHIFT: u32 = 18;

/// The first key of `at`'s millisecond (times before 1970 are 1970's).
pub(super) fn first(at: DateTime<Utc>) -> i64 {
    first_of_ms(at.timestamp_millis())
}

fn first_of_ms(ms: i64) -> i64 {
    ms.clamp(0, i64::MAX >> SHIFT) << SHIFT
}

/// The key an id names: its 15 lowercase hex digits (the view's `id` is
/// `printf('%015x', seq)`); `None` for anything else, which names no row.
pub(super) fn of_id(id: &str) -> Option<i64> {
    let hex = id.len() == 15
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex {
        i64::from_str_radix(id, 16).ok()
    } else {
        None
    }
}

/// What `created <op> literal` admits of the keys, as `[low, high)` (either
/// end open): a narrowing the caller adds to the comparison, which still
/// decides. Only literals that are a leading part of the stored text's form
/// (`2026-12-06`, `2026-12-06 10:00`, … up to the whole of it) narrow,
/// since only for those is text order the time's order; others give
/// `(None, None)`.
///
/// With `L` such a literal and `t` its time (the parts it leaves out read
/// as zero): a stored text that starts with `L` is longer than `L` (so
/// greater) unless `L` is the whole form, and the texts before `L` are the
/// times before `t`. So `> L` and `>= L` hold only from `t` on, `< L` only
/// before `t`, and `<= L` and `= L` only before `t`, or up to `t` itself
/// when `L` is whole.
pub(super) fn created_range(op: Op, literal: &str) -> (Option<i64>, Option<i64>) {
    let Some((t, whole)) = leading_time(literal) else {
        return (None, None);
    };
    let low = first_of_ms(t);
    let through = first_of_ms(t.saturating_add(i64::from(whole)));
    match op {
        Op::Gt | Op::Gte => (Some(low), None),
        Op::Lt => (None, Some(low)),
        Op::Lte => (None, Some(through)),
        Op::Eq => (Some(low), Some(through)),
        Op::Neq | Op::Like | Op::NotLike => (None, None),
    }
}

/// The comparison `literal <op> created`, written the other way round.
pub(super) fn flipped(op: Op) -> Op {
    match op {
        Op::Gt => Op::Lt,
        Op::Gte => Op::Lte,
        Op::Lt => Op::Gt,
        Op::Lte => Op::Gte,
        other => other,
    }
}

/// `literal`'s time in milliseconds, if it is a leading part, at least a
/// whole date, of `datetime::FORMAT`'s text; and whether it is all of it.
fn leading_time(literal: &str) -> Option<(i64, bool)> {
    const TEMPLATE: &str = "1970-01-01 00:00:00.000Z";
    let n = literal.len();
    if !(10..=TEMPLATE.len()).contains(&n) || !literal.is_ascii() {
        return None;
    }
    let whole = format!("{literal}{}", &TEMPLATE[n..]);
    let t = NaiveDateTime::parse_from_str(&whole, datetime::FORMAT)
        .ok()?
        .and_utc();
    // Only a literal the stored form starts with: not `2026-1-6`, nor a
    // `T` or an offset, which sort differently from the stored text.
    if datetime::format(t) != whole {
        return None;
    }
    Some((t.timestamp_millis(), n == TEMPLATE.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> i64 {
        first(datetime::parse(text).expect(text))
    }

    #[test]
    fn ids_name_keys_in_hex() {
        let k = key("2026-12-06 10:00:00.123Z") | 7;
        assert_eq!(of_id(&format!("{k:015x}")), Some(k));
        for bad in [
            "",
            "zzzzzzzzzzzzzzz",
            "0000000000000000",
            "00000000000000",
            "00000000000000G",
        ] {
            assert_eq!(of_id(bad), None, "{bad}");
        }
    }

    /// For every literal form and operator, every time whose stored text
    /// the comparison admits has its keys within the range: the narrowing
    /// never drops a row the comparison keeps.
    #[test]
    fn created_ranges_hold_every_key_the_comparison_admits() {
        let base = datetime::parse("2026-12-06 10:20:30.456Z").expect("base");
        // Times around each literal's edges: a day either side, in steps
        // that cross every unit's boundary.
        let times: Vec<DateTime<Utc>> = (-50..=50)
            .flat_map(|i: i64| {
                [1, 7, 997, 60_001, 3_600_013, 86_400_017]
                    .map(|step| base + chrono::Duration::milliseconds(i * step))
            })
            .collect();
        let literals = [
            "2026-12-06",
            "2026-12-06 ",
            "2026-12-06 10",
            "2026-12-06 10:2",
            "2026-12-06 10:20",
            "2026-12-06 10:20:30",
            "2026-12-06 10:20:30.",
            "2026-12-06 10:20:30.4",
            "2026-12-06 10:20:30.45",
            "2026-12-06 10:20:30.456",
            "2026-12-06 10:20:30.456Z",
        ];
        let mut narrowed = 0;
        for literal in literals {
            for op in [Op::Eq, Op::Gt, Op::Gte, Op::Lt, Op::Lte] {
                let (low, high) = created_range(op, literal);
                assert!(low.is_some() || high.is_some(), "{literal} {op:?} narrows");
                for t in &times {
                    let text = datetime::format(*t);
                    let admitted = match op {
                        Op::Eq => text.as_str() == literal,
                        Op::Gt => text.as_str() > literal,
                        Op::Gte => text.as_str() >= literal,
                        Op::Lt => text.as_str() < literal,
                        _ => text.as_str() <= literal,
                    };
                    // The first and the last key of the time's millisecond.
                    let (k0, k1) = (first(*t), first(*t) | ((1 << SHIFT) - 1));
                    let inside = |k: i64| low.is_none_or(|l| k >= l) && high.is_none_or(|h| k < h);
                    if admitted {
                        assert!(
                            inside(k0) && inside(k1),
                            "{text} {op:?} {literal}: {low:?}..{high:?}"
                        );
                    } else if !inside(k0) {
                        narrowed += 1;
                    }
                }
            }
        }
        assert!(narrowed > 1000, "the ranges narrow: {narrowed}");
    }

    #[test]
    fn only_leading_parts_of_the_stored_form_narrow() {
        for literal in [
            "2026-12-6",
            "2026-12-06T10:00:00Z",
            "2026-12-06 10:00:00+01:00",
            "2026-13-01",
            "2026",
            "2026-12-06 10:00:00.000Z ",
            "abc",
            "2026-12-06 10:00:00.000Zx",
        ] {
            assert_eq!(created_range(Op::Gte, literal), (None, None), "{literal}");
        }
        assert_eq!(created_range(Op::Neq, "2026-12-06"), (None, None));
        assert_eq!(
            created_range(Op::Gte, "2026-12-06"),
            (Some(key("2026-12-06 00:00:00.000Z")), None)
        );
        assert_eq!(
            created_range(Op::Lte, "2026-12-06 10"),
            (None, Some(key("2026-12-06 10:00:00.000Z")))
        );
        assert_eq!(
            created_range(Op::Eq, "2026-12-06 10:00:00.000Z"),
            (
                Some(key("2026-12-06 10:00:00.000Z")),
                Some(key("2026-12-06 10:00:00.001Z"))
            )
        );
    }
}
