//! The rule tester (Cairn's own, for the dashboard): which records a
//! collection's list or view rule lets a given account (or a guest) see,
//! and, for one record, which part of the rule hides it.
//!
//! Nothing here is a shortcut past the real checks: the records are read
//! by the list query itself (`list::select`) with the tested rule in the
//! list rule's place, and each part of the rule is compiled by the same
//! compiler (`Conditions::add_rule`) and asked of that one row the way a
//! view asks (`service::matches_rule`). What a request would add beyond
//! the account (its query parameters, headers and body) is empty here, as
//! in a plain `GET`.

use std::sync::Arc;

use rusqlite::{OptionalExtension, types::Value as Sql};
use serde_json::{Map, Value};

use super::{
    RecordId,
    access::{Access, Conditions, Filter, Requester, decide},
    deps::RecordsDeps,
    list::{self, Items, ListQuery},
    service::{RecordError, matches_rule},
};
use crate::{
    query::{
        Paging,
        parts::{self, Joiner, Part},
    },
    schema::{Catalog, Collection, sync::quote},
};

/// How the tested rule treats the tested account, before any row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `""`: everyone sees every record.
    Everyone,
    /// `null`: superusers only, and the account is not one.
    Locked,
    /// The account is a superuser: rules do not apply.
    Superuser,
    /// An expression, row by row.
    Rule,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Everyone => "everyone",
            Self::Locked => "locked",
            Self::Superuser => "superuser",
            Self::Rule => "rule",
        }
    }
}

/// One part of the rule and whether it holds for the record.
#[derive(Debug)]
pub struct Checked {
    pub text: String,
    pub joiner: Option<Joiner>,
    pub holds: bool,
    pub parts: Vec<Checked>,
}

/// One record's answer.
#[derive(Debug)]
pub struct Explained {
    pub id: String,
    pub visible: bool,
    /// The rule's parts (only for an expression).
    pub rule: Option<Checked>,
}

pub struct Outcome {
    pub verdict: Verdict,
    pub total: u64,
    pub items: Vec<Map<String, Value>>,
    pub record: Option<Explained>,
}

/// What to test: `rule` is the rule's text (`None` locked, `""` open),
/// stored or a draft.
pub struct RuleTest {
    pub rule: Option<String>,
    pub filter: Option<Filter>,
    pub paging: Paging,
    pub record: Option<RecordId>,
}

/// Runs the test for `requester` (the tested account, not the superuser
/// asking).
pub async fn run(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: Arc<Collection>,
    test: RuleTest,
) -> Result<Outcome, RecordError> {
    let catalog = deps.schema.catalog();
    let access = decide(&requester.caller, &test.rule);
    let verdict = match &access {
        Access::All if requester.caller.is_superuser() => Verdict::Superuser,
        Access::All => Verdict::Everyone,
        Access::SuperusersOnly | Access::OutOfScope => Verdict::Locked,
        Access::Rule(_) => Verdict::Rule,
    };
    // Parts first: a draft that does not parse or compile is the
    // caller's mistake (400), not a broken stored rule (500).
    let parts = match &access {
        Access::Rule(expr) => {
            let part = parts::split(expr).map_err(|e| invalid(&e.to_string()))?;
            Some(compile(&catalog, &c, requester, part)?)
        }
        _ => None,
    };
    let (total, items) = if verdict == Verdict::Locked {
        (0, Vec::new())
    } else {
        let mut tested = (*c).clone();
        tested.rules.list = test.rule.clone();
        let query = ListQuery {
            paging: test.paging,
            sort: Vec::new(),
            filter: test.filter,
        };
        match list::select(deps, requester, Arc::new(tested), query, None).await? {
            (total, Items::Records(items)) => (total.unwrap_or(0), items),
            // Only written as JSON when given a tree to expand (`direct`).
            (total, Items::Json(_)) => (total.unwrap_or(0), Vec::new()),
        }
    };
    let record = match test.record {
        Some(id) => Some(explain(deps, c, id.as_str().to_owned(), verdict, parts).await?),
        None => None,
    };
    Ok(Outcome {
        verdict,
        total,
        items,
        record,
    })
}

fn invalid(message: &str) -> RecordError {
    RecordError::Refused(format!("Invalid rule: {message}."))
}

/// A part with its compiled condition, still to be asked of a row.
struct Compiled {
    part: Part,
    conditions: Conditions,
    parts: Vec<Compiled>,
}

fn compile(
    catalog: &Catalog,
    c: &Collection,
    requester: &Requester,
    part: Part,
) -> Result<Compiled, RecordError> {
    let mut conditions = Conditions::default();
    // ?1 is the record's id (`matches_rule`).
    conditions.params.push(Sql::Text(String::new()));
    conditions
        .add_rule(catalog, c, requester, &part.text)
        .map_err(|e| match e {
            RecordError::BrokenRule(m) => invalid(&m),
            e => e,
        })?;
    let parts = part
        .parts
        .iter()
        .cloned()
        .map(|p| compile(catalog, c, requester, p))
        .collect::<Result<_, _>>()?;
    Ok(Compiled {
        part,
        conditions,
        parts,
    })
}

async fn explain(
    deps: &RecordsDeps<'_>,
    c: Arc<Collection>,
    id: String,
    verdict: Verdict,
    parts: Option<Compiled>,
) -> Result<Explained, RecordError> {
    deps.db
        .read(move |conn| {
            let exists = conn
                .prepare_cached(&format!("SELECT 1 FROM {} WHERE id = ?1", quote(&c.name)))?
                .query_row([&id], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Err(RecordError::Refused(format!(
                    "There is no record {id:?} in {:?}.",
                    c.name
                )));
            }
            let rule = match &parts {
                Some(p) => Some(check(conn, &c, &id, p)?),
                None => None,
            };
            let visible = match verdict {
                Verdict::Everyone | Verdict::Superuser => true,
                Verdict::Locked => false,
                Verdict::Rule => rule.as_ref().is_some_and(|r| r.holds),
            };
            Ok(Explained { id, visible, rule })
        })
        .await
}

fn check(conn: &rusqlite::Connection, c: &Collection, id: &str, p: &Compiled) -> rusqlite::Result<Checked> {
    Ok(Checked {
        text: p.part.text.clone(),
        joiner: p.part.joiner,
        holds: matches_rule(conn, c, id, &p.conditions)?,
        parts: p
            .parts
            .iter()
            .map(|p| check(conn, c, id, p))
            .collect::<Result<_, _>>()?,
    })
}
