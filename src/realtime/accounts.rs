//! Subscribers' accounts, kept as they are now: a changed auth record
//! replaces the one its clients are signed in as (rules see it as it is);
//! revoked tokens, a deleted record or a whole auth collection gone sign
//! them out. The dispatcher calls these in the order of the changes.

use std::sync::Arc;

use serde_json::Value;

use super::{Broker, client::Client};
use crate::{
    auth::caller::load_auth_record,
    identity::{Caller, KeyGrant, Presented},
    records::events::{ChangeAction, RecordChange},
    store::Database,
};

/// Keeps the auth of clients signed in as a changed auth record current:
/// rules see the record as it is now; one whose tokens were revoked (new
/// `tokenKey`) signs its clients out at once, and a deleted record once
/// the rest of its write has gone out (into `signed_out`).
pub(super) async fn refresh(
    broker: &Broker,
    db: &Database,
    change: &RecordChange,
    signed_out: &mut Vec<(Arc<Client>, Caller)>,
) {
    let Some(id) = change.record.get("id").and_then(Value::as_str) else {
        return;
    };
    let affected: Vec<(Arc<Client>, Caller)> = broker
        .snapshot()
        .into_iter()
        .filter_map(|client| {
            let caller = client.interest()?.caller;
            matches!(&caller, Caller::Record(r, _) if r.collection.id == change.collection.id && r.id == id)
                .then_some((client, caller))
        })
        .collect();
    if affected.is_empty() {
        return;
    }
    if change.action == ChangeAction::Delete {
        signed_out.extend(
            affected
                .into_iter()
                .map(|(client, caller)| (client, ended(&caller))),
        );
        return;
    }
    let fresh = match load_auth_record(db, change.collection.clone(), id.to_owned()).await {
        Ok(found) => found,
        Err(err) => {
            tracing::error!(error = %err, "realtime: cannot reload a subscriber's auth record");
            return;
        }
    };
    for (client, caller) in affected {
        let next = match (&caller, &fresh) {
            // An API key does not depend on the record's tokenKey.
            (Caller::Record(old, presented), Some(new))
                if new.token_key == old.token_key || presented.key.is_some() =>
            {
                Caller::Record(new.clone(), presented.clone())
            }
            // Tokens revoked (or the record gone since): Cairn signs the
            // client out before this change goes out, where PocketBase
            // carries on as the record. A password changed to shut out
            // whoever holds a token shuts out its streams too.
            _ => ended(&caller),
        };
        client.reauth(next);
    }
}

/// Signs out the clients signed in as an account of auth collection
/// `collection_id`, all of whose accounts are gone at once.
pub(super) fn collection_gone(broker: &Broker, collection_id: &str) {
    for client in broker.snapshot() {
        if let Some(caller) = client.interest().map(|i| i.caller)
            && let Caller::Record(r, _) = &caller
            && r.collection.id == collection_id
        {
            client.reauth(ended(&caller));
        }
    }
}

/// Who a client signed in as `caller` is once its account is gone: a
/// guest, as PocketBase signs it out. An API key does not carry on as a
/// guest: it hears nothing more (a grant of its own, retired, so the
/// key's shared one is left to its resolution to judge).
fn ended(caller: &Caller) -> Caller {
    match caller {
        Caller::Record(old, presented) if presented.key.is_some() => {
            let ended = KeyGrant::new(String::new(), Vec::new(), String::new());
            ended.retire();
            Caller::Record(
                old.clone(),
                Presented {
                    key: Some(Arc::new(ended)),
                    ..presented.clone()
                },
            )
        }
        _ => Caller::Guest,
    }
}
