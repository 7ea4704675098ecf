//! `@request.body` and `@request.auth` read through the fields they
//! carry, as PocketBase reads them:
//! - `@request.body.tags:each`: the items of a select, relation or file
//!   list sent in the body, compared one by one (`Term::Item`), and
//!   `@request.auth.tags:each` (and `:length`), the signed-in record's;
//! - `@request.body.owner.role`, `@request.auth.team.name`: a path that
//!   starts at the records a relation's ids point at (the ids sent, or
//!   the ones the signed-in record holds) and walks on like any relation
//!   path.
//!
//! A sent value is read as the write will store it (`as_list`, the last
//! item for a single field), so a rule judges the stored value, however
//! the client spelled it: `["a","b"]` for a single relation is `b`, and a
//! rule cannot be shown `a` while `b` is stored. The related records are
//! looked up in the database when the rule runs, inside the write, and a
//! rule sees every record (no list rule narrows it): an id the caller
//! cannot see is judged by what it is, an id of no record by nothing (a
//! missing value, which no `=` to a value matches).
//!
//! The body's fields are the collection's, so a path through them is
//! checked when the rule is saved. The signed-in record's collection is
//! known only when a request comes: a path that does not fit it reads as
//! missing, as in PocketBase, rather than failing the request.

use rusqlite::types::Value as Sql;
use serde_json::Value;

use super::{CompileError, Compiler, Term, invalid, request::json_to_sql};
use crate::schema::field::{Field, FieldKind, as_list};

/// The items `sent` gives list field `f` as a write stores them: the list
/// for a multiple field, the one (last) value for a single one. Also
/// change `records::values::normalize` if this changes.
fn sent_items(f: &Field, sent: &Value) -> Vec<String> {
    let mut items = as_list(sent);
    if f.kind.is_multi() {
        items
    } else {
        vec![items.pop().unwrap_or_default()]
    }
}

/// The field kinds whose values are lists of items (PocketBase's
/// multi-valued fields, single or multiple).
fn is_list_field(f: &Field) -> bool {
    matches!(
        f.kind,
        FieldKind::Select { .. } | FieldKind::Relation { .. } | FieldKind::File { .. }
    )
}

/// How many items `sent` gives field `f`, for `@request.body.f:length`.
pub(super) fn sent_length(f: Option<&Field>, sent: Option<&Value>) -> usize {
    match (f, sent) {
        (_, None) => 0,
        (Some(f), Some(v)) if is_list_field(f) => sent_items(f, v).len(),
        (_, Some(v)) => v.as_array().map_or(0, Vec::len),
    }
}

impl<'a> Compiler<'a> {
    /// `@request.body.…` or `@request.auth.…` (`name`, with `modifier`)
    /// when it reads through one of the fields: `Some` term for a sent
    /// list under `:each` or a relation path, `None` for a plain value.
    pub(super) fn request_field(
        &mut self,
        name: &str,
        modifier: Option<&str>,
    ) -> Result<Option<Term>, CompileError> {
        let scope = self.scope;
        let parts: Vec<&str> = name.split('.').collect();
        match parts.get(1).copied() {
            Some("body") if parts.len() >= 3 => {
                let Some(f) = scope.collection.field(parts[2]) else {
                    return Ok(None);
                };
                let sent = scope.request.body.get(&f.name);
                if parts.len() > 3 && matches!(f.kind, FieldKind::Relation { .. }) {
                    return self.related(name, f, sent, &parts[3..], modifier).map(Some);
                }
                if parts.len() == 3 && modifier == Some("each") {
                    return self.sent_each(name, f, sent).map(Some);
                }
                Ok(None)
            }
            Some("auth") if parts.len() > 3 || matches!(modifier, Some("each" | "length")) => {
                // The signed-in record's collection is known only when a
                // request comes (a rule is saved with none, and callers
                // come from any auth collection): what does not fit it
                // reads as missing, as PocketBase reads it, rather than
                // failing the request. A guest's is missing too.
                let listed = parts.len() == 3;
                let missing = |c: &mut Self| Term::Nullable(c.bind(Sql::Null));
                let fallback = listed || matches!(modifier, Some("each" | "length"));
                let Some(auth) = scope.request.auth.as_deref() else {
                    return Ok(fallback.then(|| missing(self)));
                };
                let owner = auth
                    .get("collectionId")
                    .and_then(Value::as_str)
                    .and_then(|id| scope.catalog?.by_id(id));
                let Some(f) = owner.and_then(|c| c.field(parts[2])) else {
                    return Ok(fallback.then(|| missing(self)));
                };
                let (params, shared) = (self.params.len(), self.shared.len());
                let made = if listed {
                    self.auth_list(f, auth.get(&f.name), modifier)
                } else if matches!(f.kind, FieldKind::Relation { .. }) {
                    self.related(name, f, auth.get(&f.name), &parts[3..], modifier)
                } else {
                    return Ok(fallback.then(|| missing(self)));
                };
                match made {
                    Err(CompileError::Invalid(_)) => {
                        self.params.truncate(params);
                        self.shared.truncate(shared);
                        Ok(Some(missing(self)))
                    }
                    made => made.map(Some),
                }
            }
            _ => Ok(None),
        }
    }

    /// `@request.body.f:each`: one item of the list sent for `f`, the
    /// whole condition evaluated per item (a `shared` table, so two
    /// references to the same list name the same item, as in PocketBase).
    fn sent_each(&mut self, name: &str, f: &Field, sent: Option<&Value>) -> Result<Term, CompileError> {
        if !is_list_field(f) {
            return Err(invalid(format!(
                ":each needs a select, relation or file field, not {name:?}"
            )));
        }
        let items = sent.map(|v| sent_items(f, v)).unwrap_or_default();
        let list = Value::from(items).to_string();
        let bind = |c: &mut Self| c.bind(Sql::Text(list));
        Ok(self.each_item(format!("{name}:each"), bind, f.kind.is_multi(), true))
    }

    /// `@request.auth.f:each` and `:length`: the signed-in record's stored
    /// list, as the same field of a record is read. On a field that holds
    /// no list, `:each` is the value itself and `:length` is missing, as
    /// PocketBase answers.
    fn auth_list(
        &mut self,
        f: &Field,
        stored: Option<&Value>,
        modifier: Option<&str>,
    ) -> Result<Term, CompileError> {
        if !is_list_field(f) {
            return Ok(match (modifier, stored) {
                (Some("each"), Some(v)) => Term::Sql(self.bind(json_to_sql(v))),
                _ => Term::Nullable(self.bind(Sql::Null)),
            });
        }
        let items = stored.map(|v| sent_items(f, v)).unwrap_or_default();
        if modifier != Some("each") {
            return Ok(Term::Sql(self.bind(Sql::Integer(items.len() as i64))));
        }
        let list = Value::from(items).to_string();
        let bind = |c: &mut Self| c.bind(Sql::Text(list));
        Ok(self.each_item(
            format!("@request.auth.{}:each", f.name),
            bind,
            f.kind.is_multi(),
            false,
        ))
    }

    /// A path through relation `f` from the ids in `value` (sent, or the
    /// signed-in record's): `rest` walked from the records they name.
    fn related(
        &mut self,
        name: &str,
        f: &Field,
        value: Option<&Value>,
        rest: &[&str],
        modifier: Option<&str>,
    ) -> Result<Term, CompileError> {
        let FieldKind::Relation { collection_id, .. } = &f.kind else {
            return Err(invalid(format!("{:?} is not a relation", f.name)));
        };
        let target = self.target_by_id(collection_id)?;
        let ids: Vec<String> = value
            .map(|v| sent_items(f, v))
            .unwrap_or_default()
            .into_iter()
            .filter(|id| !id.is_empty())
            .collect();
        let ids = self.bind(Sql::Text(Value::from(ids).to_string()));
        self.path_from_ids(name, target, &ids, f.kind.is_multi(), rest, modifier)
    }
}
