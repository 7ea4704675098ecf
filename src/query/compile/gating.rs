//! The relation-rule gating of a client's own filter or sort (see the
//! module doc of `compile`): each relation hop is refused or narrowed by
//! the related collection's list rule (`gated_hop`, compiling the rule with
//! `rule_at`), and a path whose hops carry rules gets a guard (`guard`)
//! that leaves out rows whose related records are all hidden.

use super::{CompileError, Compiler, Scope, invalid};
use crate::schema::{Collection, sync::quote};

/// One relation hop of a path, kept to build the path's guard.
pub(super) struct Hop {
    table: String,
    alias: String,
    /// Links the hop's records to the previous hop's (or the row).
    link: String,
    /// The related collection's list rule over `alias`, when it has one.
    rule: Option<String>,
}

impl Compiler<'_> {
    /// A hop of a client's path into `target` (joined as `alias` by
    /// `link`, reached through `through`, the relation's name as the path
    /// spells it): refused when only superusers may list `target`, narrowed
    /// to the records its list rule admits otherwise. Returns the join
    /// condition to use; the hop is kept for the path's guard. The refusal
    /// names the relation the client wrote, never the collection behind it.
    pub(super) fn gated_hop(
        &mut self,
        hops: &mut Vec<Hop>,
        target: &Collection,
        alias: &str,
        link: String,
        through: &str,
    ) -> Result<String, CompileError> {
        let rule = if self.scope.trusted {
            None
        } else {
            match target.rules.list.as_deref().map(str::trim) {
                None => {
                    return Err(invalid(format!(
                        "only superusers can filter or sort through {through:?}"
                    )));
                }
                Some("") => None,
                Some(rule) => Some(self.rule_at(target, alias, rule)?),
            }
        };
        let cond = match &rule {
            Some(r) => format!("{link} AND {r}"),
            None => link.clone(),
        };
        hops.push(Hop {
            table: quote(&target.name),
            alias: alias.to_owned(),
            link,
            rule,
        });
        Ok(cond)
    }

    /// `target`'s list rule as a condition on its records joined as
    /// `alias`, evaluated for this request (a rule sees every record).
    fn rule_at(&mut self, target: &Collection, alias: &str, rule: &str) -> Result<String, CompileError> {
        let parsed = crate::query::parser::parse_cached(rule);
        let expr = parsed
            .as_ref()
            .as_ref()
            .map_err(|e| invalid(format!("the list rule of {:?} cannot be read: {e}", target.name)))?;
        let scope = Scope {
            collection: target,
            catalog: self.scope.catalog,
            request: self.scope.request,
            trusted: true,
            reach: None,
        };
        let mut inner = Compiler::new(&scope, self.offset + self.params.len(), alias.to_owned());
        inner.aliases = self.aliases;
        let compiled = inner.finish(expr)?;
        self.aliases = compiled.1;
        self.params.extend(compiled.0.params);
        Ok(format!("({})", compiled.0.sql))
    }

    /// Keeps the guard of a client's path whose hops carry rules: the row
    /// stays only if, along the path, some chain of related records is
    /// wholly visible, or a hop has no related record at all (a missing
    /// link reads as empty, which reveals nothing). PocketBase joins the
    /// related rows under their rules, which leaves out the same rows.
    pub(super) fn guard(&mut self, path: &str, hops: &[Hop]) {
        let Some(last_ruled) = hops.iter().rposition(|h| h.rule.is_some()) else {
            return;
        };
        let key = path.rsplit_once('.').map_or(path, |(p, _)| p).to_owned();
        if self.guards.iter().any(|(k, _)| *k == key) {
            return;
        }
        let mut inner = "1".to_owned();
        for hop in hops[..=last_ruled].iter().rev() {
            let Hop {
                table,
                alias,
                link,
                rule,
            } = hop;
            let rule = rule.as_deref().map_or(String::new(), |r| format!(" AND {r}"));
            inner = format!(
                "(NOT EXISTS (SELECT 1 FROM {table} {alias} WHERE {link}) OR EXISTS (SELECT 1 FROM {table} {alias} WHERE {link}{rule} AND {inner}))"
            );
        }
        self.guards.push((key, inner));
    }
}
