//! File fields in a record write: the field's new list of names from what
//! it held, the names the body keeps (`field`), removes (`field-`) and the
//! new uploads (`field`, `+field`, `field+`), checked against `maxSelect`
//! and `required`. A name the record never held is refused, whichever key
//! names it, so a client cannot point a record at another record's file.

use serde_json::{Map, Value, json};

use crate::{
    files::{NewFile, upload::Placement},
    schema::{
        Collection,
        field::{Field, FieldKind},
    },
    validation::{ErrorTree, FieldError},
};

/// The names a file field's value holds (one name or a list).
pub(super) fn names_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Sets every file field of `values` from the body and the new files;
/// returns the names no longer referenced (to remove after the commit):
/// old files dropped, and new ones that were replaced in the same write.
pub fn apply(
    c: &Collection,
    body: &Map<String, Value>,
    new_files: &[NewFile],
    values: &mut Map<String, Value>,
    errors: &mut ErrorTree,
) -> Vec<String> {
    let mut removed = Vec::new();
    for f in c
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::File { .. }))
    {
        let old = names_of(values.get(&f.name));
        let news = |p: Placement| {
            new_files
                .iter()
                .filter(move |n| n.field == f.name && n.placement == p)
                .map(|n| n.name.clone())
        };
        let replacing = news(Placement::Replace).next().is_some();
        let mut list = match body.get(&f.name) {
            Some(given) => names_of(Some(given)),
            None if replacing => Vec::new(),
            None => old.clone(),
        };
        // Names given with `+field` or `field+` add nothing a record can
        // be given by name, but they must be its own, as in the plain key.
        let named = [format!("+{}", f.name), format!("{}+", f.name)]
            .map(|key| names_of(body.get(&key)))
            .concat();
        let invalid: Vec<&String> = list.iter().chain(&named).filter(|n| !old.contains(n)).collect();
        if !invalid.is_empty() {
            let shown = invalid.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
            errors.add(
                &[&f.name],
                FieldError::new(
                    "validation_invalid_file",
                    format!("Invalid new files: [{shown}]."),
                )
                .with_params(json!({"invalidFiles": invalid})),
            );
            continue;
        }
        list.extend(news(Placement::Replace));
        let prepended: Vec<String> = news(Placement::Prepend).collect();
        list.splice(0..0, prepended);
        list.extend(news(Placement::Append));
        let dropped = names_of(body.get(&format!("{}-", f.name)));
        list.retain(|n| !dropped.contains(n));
        list.dedup();
        // A single-file field keeps the last file given, as PocketBase does.
        if !f.kind.is_multi() && list.len() > 1 {
            list.drain(..list.len() - 1);
        }
        if let Some(e) = check(f, &list) {
            errors.add(&[&f.name], e);
            continue;
        }
        // Old files no longer listed, and new ones that did not make it.
        let uploaded = new_files.iter().filter(|n| n.field == f.name).map(|n| &n.name);
        removed.extend(old.iter().chain(uploaded).filter(|n| !list.contains(n)).cloned());
        let value = if f.kind.is_multi() {
            json!(list)
        } else {
            json!(list.pop().unwrap_or_default())
        };
        values.insert(f.name.clone(), value);
    }
    removed
}

fn check(f: &Field, list: &[String]) -> Option<FieldError> {
    let FieldKind::File {
        max_select, required, ..
    } = &f.kind
    else {
        return None;
    };
    let max = (*max_select).max(1);
    if list.len() as u64 > max {
        return Some(
            FieldError::new(
                "validation_too_many_files",
                format!("The maximum allowed files is {max}."),
            )
            .with_params(json!({"maxSelect": max})),
        );
    }
    (*required && list.is_empty()).then(FieldError::required)
}
