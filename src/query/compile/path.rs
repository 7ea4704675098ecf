//! Field paths: a field of the collection (`title`), of related records
//! (`author.name`, with `author.id` read in place), of records pointing
//! back (`comments_via_post.text`), of another collection
//! (`@collection.name.field`, with `:alias`), inside a JSON value
//! (`meta.a.b`), and their modifiers (`:lower`, `:length`, `:each`).
//! A path walks from the row through its relation hops, each gated for a
//! client (see `gating`); what it reaches becomes a `Term`.

use serde_json::Value;

use super::{CompileError, Compiler, Term, gating::Hop, invalid};
use crate::schema::{
    Collection, CollectionKind,
    field::{Field, FieldKind},
    sync::quote,
};

/// Relation hops allowed in one path, forward and back-relations alike, as
/// PocketBase allows: each is a join, so a client's filter cannot chain
/// them without bound.
const MAX_HOPS: usize = 6;

fn within_hop_limit(name: &str, walk: &Walk<'_>) -> Result<(), CompileError> {
    if walk.hops.len() > MAX_HOPS {
        return Err(invalid(format!(
            "{name:?} has more than {MAX_HOPS} relation hops"
        )));
    }
    Ok(())
}

/// Where a path's walk stands: the collection reached, how the SQL names
/// it, and the subquery of the relation hops taken so far.
struct Walk<'a> {
    owner: &'a Collection,
    owner_ref: String,
    /// The subquery's tables (`FROM …`), empty while no hop was taken.
    from: String,
    /// The subquery's link to the outer row (its WHERE).
    link: String,
    /// The hops taken, for the path's guard.
    hops: Vec<Hop>,
    /// Whether the path reaches many values (a multi-valued relation, a
    /// back-relation, `@collection`).
    multi: bool,
    /// Whether it ends in a JSON field's value (`meta`, `meta.a.b`).
    json: bool,
    /// Per hop that reaches many records, how its records come in
    /// PocketBase's join: a multiple relation's in their stored order, a
    /// back-relation's and `@collection`'s by insertion (see `Term::Multi`).
    order: Vec<String>,
}

/// A path and its modifier: the modifier follows the last segment;
/// `@collection.name:alias.x` has a colon that is not one.
fn split_modifier(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once(':') {
        Some((b, m)) if !m.contains('.') => (b, Some(m)),
        _ => (name, None),
    }
}

/// `meta.a.b`: the JSON value at `rest` inside `column`.
fn json_value(name: &str, column: &str, rest: &[&str]) -> Result<String, CompileError> {
    if rest
        .iter()
        .any(|k| k.is_empty() || !k.chars().all(|c| c.is_alphanumeric() || c == '_'))
    {
        return Err(invalid(format!("invalid JSON path in {name:?}")));
    }
    Ok(format!("json_extract({column}, '{}')", json_path(rest)))
}

/// `$.a.b` for `["a", "b"]`; a number is an array's index (`arr.0` is
/// `$.arr[0]`), as PocketBase reads it.
fn json_path(rest: &[&str]) -> String {
    let mut path = String::from("$");
    for key in rest {
        if key.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(key);
            path.push(']');
        } else {
            path.push('.');
            path.push_str(key);
        }
    }
    path
}

impl<'a> Compiler<'a> {
    pub(super) fn path(&mut self, name: &str) -> Result<Term, CompileError> {
        let (base, modifier) = split_modifier(name);
        if base.starts_with("@request.") || base == "@request" {
            return self.request_path(base, modifier);
        }
        let mut walk = Walk {
            owner: self.scope.collection,
            owner_ref: self.base_ref.clone(),
            from: String::new(),
            link: String::new(),
            hops: Vec::new(),
            multi: false,
            json: false,
            order: Vec::new(),
        };
        let segments: Vec<&str> = if let Some(rest) = base.strip_prefix("@collection.") {
            self.enter_collection(base, rest, &mut walk)?
        } else if base.starts_with('@') {
            return self.macro_term(base);
        } else {
            base.split('.').collect()
        };
        let value = self.walk(name, &segments, &mut walk)?;
        self.guard(base, &walk.hops);
        self.path_term(name, base, modifier, &segments, &walk, value)
    }

    /// A path that starts at the records of `target` whose ids are in the
    /// bound JSON list `ids`, as if a relation hop (a multiple one when
    /// `multi`) had reached them: `segments` walked on from there (see
    /// `request_fields`). Rules only: no hop is gated.
    pub(super) fn path_from_ids(
        &mut self,
        name: &str,
        target: &'a Collection,
        ids: &str,
        multi: bool,
        segments: &[&str],
        modifier: Option<&str>,
    ) -> Result<Term, CompileError> {
        let alias = self.alias();
        let mut walk = Walk {
            owner: target,
            owner_ref: alias.clone(),
            from: String::new(),
            link: String::new(),
            hops: Vec::new(),
            multi,
            json: false,
            order: vec![stored_position(ids, &alias)],
        };
        let link = format!("{alias}.\"id\" IN (SELECT value FROM json_each({ids}))");
        join(&mut walk, target, &alias, link);
        let value = self.walk(name, segments, &mut walk)?;
        self.path_term(name, name, modifier, segments, &walk, value)
    }

    /// `@collection.name.field…`: the records of another collection,
    /// compared like a multi-valued relation, one subquery per reference.
    /// Under a `?` operator an alias (`@collection.name:a.field`) makes
    /// every such reference to `a` the same record: the whole condition is
    /// then evaluated per record of the aliased collection (see `finish`).
    /// Returns the segments after the collection's name.
    fn enter_collection<'n>(
        &mut self,
        base: &str,
        rest: &'n str,
        walk: &mut Walk<'a>,
    ) -> Result<Vec<&'n str>, CompileError> {
        if !self.scope.trusted {
            return Err(CompileError::Forbidden(
                "Only superusers can filter by @collection.".into(),
            ));
        }
        let mut segments: Vec<&str> = rest.split('.').collect();
        let named = segments.remove(0);
        if segments.is_empty() {
            return Err(invalid(format!("{base:?} needs a field")));
        }
        match named.split_once(':') {
            // The alias ties references together only under the `?`
            // operators; a plain operator compares every record.
            Some((name, tag)) if self.comparing_any => {
                let target = self.target_by_name(name)?;
                let key = format!("{name}:{tag}");
                let alias = match self.shared.iter().find(|(k, _, _)| *k == key) {
                    Some((_, alias, _)) => alias.clone(),
                    None => {
                        let alias = self.alias();
                        self.shared.push((key, alias.clone(), quote(&target.name)));
                        alias
                    }
                };
                (walk.owner, walk.owner_ref) = (target, alias);
            }
            _ => {
                let named = named.split_once(':').map_or(named, |(n, _)| n);
                let target = self.target_by_name(named)?;
                let alias = self.alias();
                join(walk, target, &alias, "1 = 1".into());
                walk.order.extend(insertion_order(target, &alias));
                (walk.owner, walk.owner_ref, walk.multi) = (target, alias, true);
            }
        }
        Ok(segments)
    }

    /// Follows `segments` from where `walk` stands, taking a relation hop
    /// for every relation or back-relation before the last segment, and
    /// returns the SQL value the path ends on.
    fn walk(&mut self, name: &str, segments: &[&str], walk: &mut Walk<'a>) -> Result<String, CompileError> {
        let mut i = 0;
        loop {
            let segment = segments[i];
            let last = i + 1 == segments.len();
            if let Some((other, via)) = segment.split_once("_via_") {
                self.back_relation_hop(walk, other, via)?;
                if last {
                    return Err(invalid(format!("{segment:?} needs a field after it")));
                }
                i += 1;
                within_hop_limit(name, walk)?;
                continue;
            }
            let f = self.field(walk.owner, segment)?;
            let column = format!("{}.{}", walk.owner_ref, quote(&f.name));
            if last {
                return Ok(self.field_value(walk, f, column));
            }
            match &f.kind {
                // A geo point is stored as `{"lon":…,"lat":…}`: `geo.lon` reads
                // as a JSON path, as PocketBase reads it (and as
                // `geoDistance(geo.lon, geo.lat, …)` needs).
                FieldKind::Json { .. } | FieldKind::GeoPoint { .. } => {
                    walk.json = matches!(f.kind, FieldKind::Json { .. });
                    return json_value(name, &column, &segments[i + 1..]);
                }
                FieldKind::Relation { collection_id, .. } => {
                    // `author.id` is the stored id itself: no join, so no
                    // rule to apply (PocketBase resolves it the same way).
                    if !f.kind.is_multi() && i + 2 == segments.len() && segments[i + 1] == "id" {
                        return Ok(column);
                    }
                    self.relation_hop(walk, f, collection_id, &column)?;
                    i += 1;
                }
                _ => return Err(invalid(format!("{segment:?} has no sub-fields"))),
            }
            within_hop_limit(name, walk)?;
        }
    }

    /// The value of the field a path ends on (`column` of `f`).
    fn field_value(&mut self, walk: &mut Walk<'a>, f: &Field, column: String) -> String {
        match &f.kind {
            FieldKind::Json { .. } => {
                walk.json = true;
                format!("json_extract({column}, '$')")
            }
            _ if walk.owner.kind == CollectionKind::Auth && f.name == "email" && !self.scope.trusted => {
                self.visible_email(walk.owner, &walk.owner_ref, &column)
            }
            _ => column,
        }
    }

    /// `other_via_via`: the records of `other` whose relation `via` points
    /// at the record `walk` stands on.
    fn back_relation_hop(&mut self, walk: &mut Walk<'a>, other: &str, via: &str) -> Result<(), CompileError> {
        let target = self.target_by_name(other)?;
        // A collection only superusers may list is, to a client, one that
        // does not exist: refused before its fields are looked at, so
        // neither its name nor its fields can be probed from a filter.
        if !self.scope.trusted && target.rules.list.is_none() {
            return Err(invalid(format!("unknown collection {other:?}")));
        }
        let f = self.field(target, via)?;
        if !matches!(&f.kind, FieldKind::Relation { collection_id, .. } if *collection_id == walk.owner.id) {
            return Err(invalid(format!(
                "{via:?} of {other:?} is not a relation to {:?}",
                walk.owner.name
            )));
        }
        let alias = self.alias();
        let owner_ref = &walk.owner_ref;
        let cond = if f.kind.is_multi() {
            format!(
                "{owner_ref}.\"id\" IN (SELECT value FROM json_each({alias}.{}))",
                quote(&f.name)
            )
        } else {
            format!("{alias}.{} = {owner_ref}.\"id\"", quote(&f.name))
        };
        let cond = self.gated_hop(&mut walk.hops, target, &alias, cond, other)?;
        join(walk, target, &alias, cond);
        walk.order.extend(insertion_order(target, &alias));
        walk.multi = true;
        (walk.owner, walk.owner_ref) = (target, alias);
        Ok(())
    }

    /// The records relation `f` (stored in `column`) points at.
    fn relation_hop(
        &mut self,
        walk: &mut Walk<'a>,
        f: &Field,
        collection_id: &str,
        column: &str,
    ) -> Result<(), CompileError> {
        let target = self.target_by_id(collection_id)?;
        let alias = self.alias();
        let cond = if f.kind.is_multi() {
            format!("{alias}.\"id\" IN (SELECT value FROM json_each({column}))")
        } else {
            format!("{alias}.\"id\" = {column}")
        };
        let cond = self.gated_hop(&mut walk.hops, target, &alias, cond, &f.name)?;
        join(walk, target, &alias, cond);
        if f.kind.is_multi() {
            walk.order.push(stored_position(column, &alias));
        }
        walk.multi |= f.kind.is_multi();
        (walk.owner, walk.owner_ref) = (target, alias);
        Ok(())
    }

    /// The term a walked path gives, with its modifier applied: a subquery
    /// over the hops taken, or the value itself when none was.
    fn path_term(
        &mut self,
        name: &str,
        base: &str,
        modifier: Option<&str>,
        segments: &[&str],
        walk: &Walk<'a>,
        value: String,
    ) -> Result<Term, CompileError> {
        let last_field = self.field(walk.owner, segments[segments.len() - 1]).ok();
        let stored_multi = last_field.is_some_and(|f| f.kind.is_multi());
        // Under `:each` and `:length` a single select, relation or file is
        // the list of its one value (none when empty), as PocketBase reads
        // it: `status:each` works whatever the field's `maxSelect`.
        let single_list = !stored_multi
            && matches!(modifier, Some("each" | "length"))
            && last_field.is_some_and(|f| {
                matches!(
                    f.kind,
                    FieldKind::Select { .. } | FieldKind::Relation { .. } | FieldKind::File { .. }
                )
            });
        let is_multi_field = stored_multi || single_list;
        let value = if single_list {
            format!("(CASE WHEN {value} IS NULL OR {value} = '' THEN '[]' ELSE json_array({value}) END)")
        } else {
            value
        };
        if !walk.from.is_empty() {
            let rows = format!("{} WHERE {}", walk.from, walk.link);
            match modifier {
                None | Some("lower") => {}
                // A list reached through single relations is the one
                // related record's (none when the link is empty, like an
                // empty list). Two references to the same path name the
                // same item, as PocketBase's join does.
                Some("each") if is_multi_field && !walk.multi => {
                    let list = format!("(SELECT {value} FROM {rows} LIMIT 1)");
                    return Ok(self.each_item(format!("{base}:each"), |_| list, true, false));
                }
                Some("length") if is_multi_field && !walk.multi => {
                    return Ok(Term::Nullable(format!(
                        "json_array_length((SELECT {value} FROM {rows} LIMIT 1))"
                    )));
                }
                // Through a multiple relation: the items of every related
                // record's list, one missing item for a record whose list
                // is empty (as PocketBase's joins leave one).
                Some("each") if is_multi_field => {
                    let item = self.alias();
                    let (from, link) = (&walk.from, &walk.link);
                    let list = format!(
                        "(SELECT json_group_array({item}.value) FROM {from} LEFT JOIN json_each({value}) {item} ON 1 WHERE {link})"
                    );
                    return Ok(self.each_item(format!("{base}:each"), |_| list, true, false));
                }
                Some("length") if is_multi_field => {
                    let value = format!("json_array_length({value})");
                    let order = walk.order.join(", ");
                    return Ok(Term::Multi { rows, value, order });
                }
                Some(_) => {
                    return Err(invalid(format!(
                        "the modifier in {name:?} is not supported on this relation path yet"
                    )));
                }
            }
            let value = if modifier == Some("lower") {
                format!("LOWER({value})")
            } else {
                value
            };
            let one = format!("(SELECT {value} FROM {rows} LIMIT 1)");
            return Ok(if walk.multi {
                let order = walk.order.join(", ");
                Term::Multi { rows, value, order }
            } else if walk.json && modifier.is_none() {
                Term::Json(one)
            } else {
                Term::Nullable(one)
            });
        }
        Ok(match modifier {
            None if walk.json => Term::Json(value),
            None => Term::Sql(value),
            Some("lower") => Term::Sql(format!("LOWER({value})")),
            Some("length") if is_multi_field => Term::Sql(format!("json_array_length({value})")),
            Some("each") if is_multi_field => {
                let key = format!("{value}:each");
                self.each_item(key, |_| value, true, false)
            }
            Some(m @ ("length" | "each")) => {
                return Err(invalid(format!(":{m} needs a multi-valued field, not {base:?}")));
            }
            Some(m) => return Err(invalid(format!("unknown modifier :{m}"))),
        })
    }

    /// Field `name` of `c`. A client's filter may not use hidden fields,
    /// and is told so in the words of an unknown field: a different answer
    /// would let a guest learn the names of fields it cannot see (PocketBase
    /// gives both the same 400).
    pub(super) fn field<'c>(&self, c: &'c Collection, name: &str) -> Result<&'c Field, CompileError> {
        c.field(name)
            .filter(|f| !f.hidden || self.scope.trusted)
            .ok_or_else(|| invalid(format!("unknown field {name:?} in collection {:?}", c.name)))
    }

    /// An account's email as a client's filter may see it: the same
    /// accounts whose email an answer would show (their own, or one made
    /// visible); others read as empty, so a filter cannot probe them.
    fn visible_email(&mut self, owner: &Collection, owner_ref: &str, column: &str) -> String {
        let auth = self.scope.request.auth.as_ref();
        let own_id = auth
            .filter(|a| a.get("collectionId").and_then(Value::as_str) == Some(owner.id.as_str()))
            .and_then(|a| a.get("id").and_then(Value::as_str))
            .unwrap_or("")
            .to_owned();
        let id = self.bind(rusqlite::types::Value::Text(own_id));
        format!(
            "(CASE WHEN {owner_ref}.\"emailVisibility\" = 1 OR {owner_ref}.\"id\" = {id} THEN {column} ELSE '' END)"
        )
    }

    pub(super) fn target_by_id(&self, id: &str) -> Result<&'a Collection, CompileError> {
        let catalog = self
            .scope
            .catalog
            .ok_or_else(|| invalid("relation paths are not available here"))?;
        let found = catalog.by_id(id).map(|c| c.as_ref());
        self.within_reach(found)?
            .ok_or_else(|| invalid(format!("the relation's collection {id:?} does not exist")))
    }

    fn target_by_name(&self, name: &str) -> Result<&'a Collection, CompileError> {
        let catalog = self
            .scope
            .catalog
            .ok_or_else(|| invalid("relation paths are not available here"))?;
        let found = catalog.all().find(|c| c.name == name).map(|c| c.as_ref());
        self.within_reach(found)?
            .ok_or_else(|| invalid(format!("unknown collection {name:?}")))
    }

    /// A client's path narrowed by its credential (`Scope::reach`, an API
    /// key's scopes) enters no collection outside it. The refusal depends
    /// on the path and the key alone, never on data, so a right guess and
    /// a wrong one answer alike; an unknown collection answers as one
    /// outside the reach, so a key learns no collection's name either.
    /// Checked before anything of the target (its fields, its rule) is.
    fn within_reach(&self, found: Option<&'a Collection>) -> Result<Option<&'a Collection>, CompileError> {
        match self.scope.reach.filter(|_| !self.scope.trusted) {
            Some(reach) if found.is_none_or(|c| !reach.contains(&c.id)) => Err(invalid(OUT_OF_REACH)),
            _ => Ok(found),
        }
    }
}

/// Why a narrowed client's path was refused (see `within_reach`).
const OUT_OF_REACH: &str = "this API key's scopes do not allow filtering or sorting by fields of another collection it may not list or view";

/// Where the record joined as `alias` stands in the JSON list of ids
/// `list` (a multiple relation's column, or ids bound as JSON).
fn stored_position(list: &str, alias: &str) -> String {
    format!("(SELECT MIN(key) FROM json_each({list}) WHERE value = {alias}.\"id\")")
}

/// The insertion order of `target`'s records joined as `alias`; a view's
/// rows have none to read.
fn insertion_order(target: &Collection, alias: &str) -> Option<String> {
    (target.kind != CollectionKind::View).then(|| format!("{alias}._rowid_"))
}

/// Adds `target AS alias` to the walk's subquery; the first table's
/// condition becomes the subquery's WHERE link to the outer row.
fn join(walk: &mut Walk<'_>, target: &Collection, alias: &str, cond: String) {
    if walk.from.is_empty() {
        walk.from = format!("{} {alias}", quote(&target.name));
        walk.link = cond;
    } else {
        walk.from
            .push_str(&format!(" JOIN {} {alias} ON {cond}", quote(&target.name)));
    }
}
