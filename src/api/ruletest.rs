//! `POST /api/collections/{collection}/rule-test` (Cairn's own): the rule
//! tester behind the dashboard's "Test the rules" panel. A superuser asks
//! what another account (or a guest) would see through a collection's list
//! or view rule, and why one record is hidden. The account is acted as,
//! never signed in as: no token is issued.

use std::{collections::BTreeMap, sync::Arc};

use poem_openapi::{Enum, Object, OpenApi, param::Path, payload::Json, types::MaybeUndefined};
use serde_json::{Value, json};

use super::{ApiTags, body::Body, guard::Superuser, path};
use crate::{
    app::AppState,
    auth::caller::caller_for,
    http::error::ApiError,
    identity::Caller,
    query::{
        Paging,
        compile::{RequestInfo, RequestValues, RuleContext, header_key},
    },
    records::{
        RecordId,
        access::{Filter, Requester},
        ruletest::{self, Checked, RuleTest},
    },
    schema::CollectionKind,
    validation::{ErrorTree, FieldError},
};

/// Which rule to test.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum TestedRule {
    List,
    View,
}

/// An auth record to act as.
#[derive(Object)]
pub struct Account {
    /// Its auth collection, by id or name.
    collection: String,
    /// Its id.
    id: String,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct RuleTestBody {
    /// `list` or `view`.
    rule: TestedRule,
    /// The account to act as; absent or `null` for a guest.
    #[oai(default)]
    auth: Option<Account>,
    /// A draft of the rule to test instead of the stored one (`null`
    /// locks it to superusers, `""` opens it to everyone); absent to test
    /// the stored rule.
    expression: MaybeUndefined<String>,
    /// A record to explain: whether the account sees it and, part by
    /// part, what the rule says of it.
    #[oai(default)]
    record: Option<String>,
    /// A filter of the superuser's own on the records listed, applied as
    /// the account's would be.
    #[oai(default)]
    filter: Option<String>,
    /// The request to imagine, for rules that read `@request.query.*`:
    /// query parameters by name.
    #[oai(default)]
    query: Option<BTreeMap<String, String>>,
    /// …and `@request.headers.*`: headers by name (matched as rules see
    /// them: lower-case, `-` as `_`).
    #[oai(default)]
    headers: Option<BTreeMap<String, String>>,
    #[oai(default)]
    page: Option<u64>,
    #[oai(default)]
    per_page: Option<u64>,
}

pub struct RuleTestApi {
    state: Arc<AppState>,
}

impl RuleTestApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Collections")]
impl RuleTestApi {
    /// Test a list or view rule as an account (Cairn's own).
    ///
    /// The records (one page, in insertion order) that the rule lets the
    /// account (or a guest) see, and with `record`, whether it sees that
    /// record and, for an expression, each `&&` / `||` part of the rule
    /// with whether it holds for the record. `access` says how the rule
    /// treats the account: `rule`, `everyone` (`""`), `locked` (`null`:
    /// superusers only) or `superuser` (rules do not apply).
    #[oai(path = "/collections/:collection/rule-test", method = "post")]
    async fn rule_test(
        &self,
        _superuser: Superuser,
        collection: Path<String>,
        body: Body<RuleTestBody>,
    ) -> poem::Result<Json<Value>> {
        let c = path::found(path::find_collection(&self.state, &collection.0))?;
        let body = body.0;
        let caller = self.account(body.auth).await?;
        let rule = match body.expression {
            MaybeUndefined::Undefined => match body.rule {
                TestedRule::List => c.rules.list.clone(),
                TestedRule::View => c.rules.view.clone(),
            },
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(text) => Some(text),
        };
        let paging = Paging::parse(
            body.page.map(|n| n.to_string()).as_deref(),
            body.per_page.map(|n| n.to_string()).as_deref(),
            None,
        )
        .map_err(ApiError::from)?;
        let requester = Requester {
            info: RequestInfo {
                auth: caller.rule_auth(),
                method: "GET".into(),
                context: RuleContext::Default,
                query: RequestValues::ready(Arc::new(
                    body.query
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                )),
                headers: RequestValues::ready(Arc::new(
                    body.headers
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (header_key(&k), Value::String(v)))
                        .collect(),
                )),
                ..Default::default()
            }
            .into(),
            caller,
        };
        let test = RuleTest {
            rule: rule.clone(),
            filter: body.filter.as_deref().and_then(Filter::parse),
            paging,
            record: body.record.as_deref().and_then(RecordId::parse),
        };
        let outcome = ruletest::run(&self.state.records(), &requester, c, test)
            .await
            .map_err(ApiError::from)?;
        let mut answer = paging.envelope(
            Some(outcome.total),
            outcome.items.into_iter().map(Value::Object).collect(),
        );
        answer["rule"] = json!(rule);
        answer["access"] = json!(outcome.verdict.as_str());
        answer["record"] = match outcome.record {
            Some(r) => json!({
                "id": r.id,
                "visible": r.visible,
                "explanation": r.rule.as_ref().map(part_json),
            }),
            None => Value::Null,
        };
        Ok(Json(answer))
    }
}

impl RuleTestApi {
    /// The caller `auth` names; 400 naming the field when there is none.
    async fn account(&self, auth: Option<Account>) -> Result<Caller, ApiError> {
        let Some(auth) = auth else {
            return Ok(Caller::Guest);
        };
        let refuse = |field: &str, message: &'static str| {
            let mut errors = ErrorTree::new();
            errors.add(
                &["auth", field],
                FieldError::new("validation_invalid_value", message),
            );
            ApiError::validation(errors)
        };
        let Some(c) =
            path::find_collection(&self.state, &auth.collection).filter(|c| c.kind == CollectionKind::Auth)
        else {
            return Err(refuse("collection", "No such auth collection."));
        };
        match caller_for(&self.state.store.data, c, auth.id)
            .await
            .map_err(ApiError::internal)?
        {
            Some(caller) => Ok(caller),
            None => Err(refuse("id", "No such account in that auth collection.")),
        }
    }
}

fn part_json(p: &Checked) -> Value {
    json!({
        "text": p.text,
        "holds": p.holds,
        "joiner": p.joiner.map(|j| j.as_str()),
        "parts": p.parts.iter().map(part_json).collect::<Vec<_>>(),
    })
}
