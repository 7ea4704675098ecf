//! What a create its rule refuses may say: nothing of its fields, as
//! PocketBase answers it. A create that cannot be stored (a field error, a
//! taken unique value, a relation to no record) is checked against its
//! rule with the values standing in for the row, and its errors are told
//! only to a caller the rule lets create the record; to anyone else it
//! fails with no detail, or a guest could learn what a unique field of
//! another's record holds, or which ids exist, from a create it may not
//! make.

use rusqlite::{Connection, params_from_iter, types::Value as Sql};
use serde_json::Value;

use super::{
    access::Conditions,
    service::{CREATE_FAILED, RecordError, Values, invalid},
    values,
};
use crate::{
    schema::{Collection, sync::quote},
    validation::ErrorTree,
};

/// `err`, or for a create whose `rule` (`None`: an update, or a rule that
/// lets everyone) refuses the caller, the bare failure.
pub(super) fn unless_refused(
    tx: &Connection,
    c: &Collection,
    id: &str,
    rule: Option<&Conditions>,
    values: &Values,
    err: RecordError,
) -> RecordError {
    let (Some(rule), RecordError::Invalid { .. }) = (rule, &err) else {
        return err;
    };
    match matches_rule_as(tx, c, id, values, rule) {
        Ok(true) => err,
        Ok(false) => invalid(CREATE_FAILED, ErrorTree::new()),
        Err(failed) => failed.into(),
    }
}

/// `matches_rule` for a record not (validly) stored: `values` stand in
/// for row `id`, every other row of `c` read as stored. Lets a create that
/// cannot be stored (a field error, a taken unique value) still be told
/// whether its rule would let the caller make it.
fn matches_rule_as(
    conn: &Connection,
    c: &Collection,
    id: &str,
    values: &Values,
    conditions: &Conditions,
) -> rusqlite::Result<bool> {
    let table = quote(&c.name);
    let mut params = conditions.params.clone();
    params[0] = Sql::Text(id.to_owned());
    let (mut cols, mut marks) = (Vec::new(), Vec::new());
    for f in &c.fields {
        let v = match f.name.as_str() {
            "id" => Value::from(id),
            name => values.get(name).cloned().unwrap_or_else(|| values::zero(f)),
        };
        params.push(values::to_sql(f, &v));
        cols.push(quote(&f.name));
        marks.push(format!("?{}", params.len()));
    }
    let cols = cols.join(", ");
    let sql = format!(
        "WITH {table}({cols}) AS (SELECT {} UNION ALL SELECT {cols} FROM main.{table} WHERE id != ?1) \
         SELECT count(*) > 0 FROM {table} WHERE id = ?1{}",
        marks.join(", "),
        conditions.and_sql()
    );
    conn.prepare_cached(&sql)?
        .query_row(params_from_iter(params), |r| r.get(0))
}
