//! What the sign-in and account-flow services touch, named: the
//! collection definitions (the `authRule` and `mfa.rule` read the
//! catalog), the data database, the password hasher, the per-account
//! backoff, the refresh-token sessions, the mailer, and whoever must hear
//! that an account changed. Borrowed from the application state for one
//! call (`AppState::auth`), as `records::deps::RecordsDeps` is, so a
//! service's signature says what it may reach; helpers that need one or
//! two of these take just those.

use super::{backoff::Backoff, sessions::Sessions};
use crate::{
    identity::password::Hasher,
    mail::Mailer,
    records::deps::{CommitListener, TxHook},
    schema::Schema,
    store::Database,
};

pub struct AuthDeps<'a> {
    pub schema: &'a Schema,
    pub db: &'a Database,
    pub hasher: &'a Hasher,
    /// Failed sign-ins per identity.
    pub backoff: &'a Backoff,
    pub sessions: &'a Sessions,
    pub mailer: Mailer<'a>,
    /// Told when an account changes: its cached auth record is dropped
    /// and realtime subscribers hear of the update.
    pub listener: &'a dyn CommitListener,
    /// Told of a sign-in inside the transaction that opens its session.
    pub tx_hook: &'a std::sync::Arc<dyn TxHook>,
    /// Whether an OAuth2 avatar may come from a non-public address.
    pub avatars_allow_private: bool,
}
