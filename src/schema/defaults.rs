//! What PocketBase puts in place by itself: the system fields every base
//! and auth collection has, the default auth options, and the two auth
//! collections of a fresh data folder (`_superusers` and `users`).
//!
//! The mail templates are Cairn's own wording with PocketBase's
//! placeholders (`{APP_NAME}`, `{APP_URL}`, `{TOKEN}`, `{OTP}`, …).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{
    auth_options::{AuthOptions, DefaultTemplates, MailTemplate, TokenKind},
    collection::{Collection, CollectionKind, Rules},
    field::{Field, FieldKind},
    index::has_unique_index,
};

pub const USERS_ID: &str = "_pb_users_auth_";
pub const SUPERUSERS_ID: &str = "pbc_3142635823";
pub const EXTERNAL_AUTHS_ID: &str = "pbc_2281828961";

/// The keys of an auth collection's options, in PocketBase's order.
pub const AUTH_OPTION_KEYS: &[&str] = &[
    "authRule",
    "manageRule",
    "authAlert",
    "oauth2",
    "passwordAuth",
    "mfa",
    "otp",
    "authToken",
    "passwordResetToken",
    "emailChangeToken",
    "verificationToken",
    "fileToken",
    "verificationTemplate",
    "resetPasswordTemplate",
    "confirmEmailChangeTemplate",
    // Cairn's own: refresh-token sessions (`auth_options::SessionOptions`).
    "sessions",
];

pub fn id_field() -> Field {
    Field::new(
        "id",
        FieldKind::Text {
            required: true,
            min: 15,
            max: 15,
            pattern: "^[a-z0-9]+$".into(),
            autogenerate_pattern: "[a-z0-9]{15}".into(),
            primary_key: true,
        },
    )
    .system()
}

/// The system fields of an auth collection, after `id`.
pub fn auth_fields() -> Vec<Field> {
    vec![
        Field::new(
            "password",
            FieldKind::Password {
                required: true,
                min: 8,
                max: 0,
                pattern: String::new(),
                cost: 0,
            },
        )
        .system()
        .hidden(),
        Field::new(
            "tokenKey",
            FieldKind::Text {
                required: true,
                min: 30,
                max: 60,
                pattern: String::new(),
                autogenerate_pattern: "[a-zA-Z0-9]{50}".into(),
                primary_key: false,
            },
        )
        .system()
        .hidden(),
        Field::new(
            "email",
            FieldKind::Email {
                required: true,
                except_domains: vec![],
                only_domains: vec![],
            },
        )
        .system(),
        Field::new("emailVisibility", FieldKind::Bool { required: false }).system(),
        Field::new("verified", FieldKind::Bool { required: false }).system(),
    ]
}

pub fn autodate(name: &str, on_update: bool) -> Field {
    Field::new(
        name,
        FieldKind::Autodate {
            on_create: true,
            on_update,
        },
    )
}

/// Sets back on a client's version of a system field what the server
/// relies on: the `id` is a visible, required primary key with a pattern
/// (records are looked up, linked and stored in folders by it); a
/// password and a token key are hidden and required; an email is visible.
/// The rest (an id's lengths and patterns, which validation checks
/// against each other, a password's minimum, an email's domains, whether
/// `emailVisibility` is hidden) is the client's.
fn keep_locked(f: &mut Field, system: &Field) {
    // Theirs to hide or show (PocketBase lets them), unlike the others.
    if !matches!(f.name.as_str(), "emailVisibility" | "verified") {
        f.hidden = system.hidden;
    }
    match (&mut f.kind, &system.kind) {
        (
            FieldKind::Text {
                required,
                pattern,
                primary_key,
                ..
            },
            FieldKind::Text {
                primary_key: true,
                pattern: default_pattern,
                ..
            },
        ) => {
            *required = true;
            *primary_key = true;
            if pattern.is_empty() {
                pattern.clone_from(default_pattern);
            }
        }
        (FieldKind::Text { required, .. }, FieldKind::Text { required: true, .. })
        | (FieldKind::Password { required, .. }, FieldKind::Password { required: true, .. }) => {
            *required = true;
        }
        _ => {}
    }
}

fn template(subject: &str, body: &str) -> MailTemplate {
    MailTemplate {
        subject: subject.into(),
        body: body.into(),
    }
}

/// A new auth collection's options, with fresh token secrets and
/// `token_duration` for its auth tokens.
pub fn new_auth_options(token_duration: u64) -> AuthOptions {
    AuthOptions::new_collection(
        token_duration,
        DefaultTemplates {
            auth_alert: template(
                "New sign-in to your {APP_NAME} account",
                "<p>Hi,</p>\n<p>Your {APP_NAME} account was just used to sign in from a device or place we had not seen before:</p>\n<p><em>{ALERT_INFO}</em></p>\n<p><strong>If this was not you, change your password now: that signs out every other session.</strong></p>\n<p>If it was you, there is nothing to do.</p>\n<p>— {APP_NAME}</p>",
            ),
            otp: template(
                "Your {APP_NAME} sign-in code",
                "<p>Hi,</p>\n<p>Your one-time sign-in code is <strong>{OTP}</strong>.</p>\n<p>If you did not ask for it, you can ignore this message.</p>\n<p>— {APP_NAME}</p>",
            ),
            verification: template(
                "Confirm your {APP_NAME} email address",
                "<p>Hi,</p>\n<p>Welcome to {APP_NAME}. Please confirm your email address:</p>\n<p><a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-verification/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Confirm my address</a></p>\n<p>If you did not sign up, you can ignore this message.</p>\n<p>— {APP_NAME}</p>",
            ),
            reset_password: template(
                "Reset your {APP_NAME} password",
                "<p>Hi,</p>\n<p>Someone (hopefully you) asked to reset your {APP_NAME} password:</p>\n<p><a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Choose a new password</a></p>\n<p>If you did not ask for this, you can ignore this message; your password stays as it is.</p>\n<p>— {APP_NAME}</p>",
            ),
            confirm_email_change: template(
                "Confirm your new {APP_NAME} email address",
                "<p>Hi,</p>\n<p>Please confirm the new email address for your {APP_NAME} account:</p>\n<p><a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Confirm new address</a></p>\n<p>If you did not ask for this, you can ignore this message.</p>\n<p>— {APP_NAME}</p>",
            ),
        },
    )
}

/// Whether `complete` puts the system field `name` back in a collection
/// of this kind that lacks it (so leaving it out of a change is no harm).
pub fn puts_back(kind: CollectionKind, name: &str) -> bool {
    match kind {
        CollectionKind::View => false,
        CollectionKind::Base => name == "id",
        CollectionKind::Auth => name == "id" || auth_fields().iter().any(|f| f.name == name),
    }
}

/// Adds the system fields a collection of this kind must have, keeping the
/// client's versions of them where given, and fills in missing options.
///
/// A client's version keeps only what may differ, as PocketBase 0.40.6
/// does, quietly: one of another type is the system field again (an
/// `email` sent as a url field; but not the `id`, which validation refuses
/// as no primary key), and what the server relies on is set back
/// (`system::check_fields` refuses the changes that cannot be set back).
pub fn complete(collection: &mut Collection) {
    let mut required = vec![id_field()];
    if collection.kind == CollectionKind::Auth {
        required.extend(auth_fields());
    }
    if collection.kind == CollectionKind::View {
        return;
    }
    for system in required {
        match collection.fields.iter().position(|f| f.name == system.name) {
            Some(at) => {
                let f = &mut collection.fields[at];
                if f.kind.type_name() != system.kind.type_name() && system.name != "id" {
                    *f = system;
                    continue;
                }
                f.system = true;
                f.id = system.id.clone();
                keep_locked(f, &system);
            }
            // As PocketBase places them: the `id` first, any other
            // missing system field after the client's own (an auth
            // collection sent as `[bio]` is `id, bio, password, …`), so a
            // field's index, in the answer and in errors, is the same.
            None if system.name == "id" => collection.fields.insert(0, system),
            None => collection.fields.push(system),
        }
    }
    if collection.kind == CollectionKind::Auth && !collection.name.is_empty() {
        // As PocketBase does on every save: without these, two accounts
        // could share an email (or a token key) in a collection made
        // through the API.
        let (id, name) = (&collection.id, &collection.name);
        if !has_unique_index(&collection.indexes, "tokenKey") {
            let sql = format!("CREATE UNIQUE INDEX `idx_tokenKey_{id}` ON `{name}` (`tokenKey`)");
            collection.indexes.push(sql);
        }
        if !has_unique_index(&collection.indexes, "email") {
            let sql =
                format!("CREATE UNIQUE INDEX `idx_email_{id}` ON `{name}` (`email`) WHERE `email` != ''");
            collection.indexes.push(sql);
        }
    }
    if collection.kind == CollectionKind::Auth {
        let defaults = new_auth_options(TokenKind::Auth.default_duration()).to_json();
        for (key, value) in defaults {
            match collection.options.get_mut(&key) {
                None => {
                    collection.options.insert(key, value);
                }
                Some(Value::Object(current)) => {
                    if let Value::Object(defaults) = value {
                        for (k, v) in defaults {
                            current.entry(k).or_insert(v);
                        }
                    }
                }
                Some(_) => {}
            }
        }
    }
}

/// A new collection of each kind (`base`, `auth`, `view`) as a client
/// starts one: nameless, with its system fields and default options.
/// PocketBase's `GET /api/collections/meta/scaffolds`, which the SDKs'
/// `collections.getScaffolds()` and dashboards read.
pub fn scaffolds() -> Map<String, Value> {
    [CollectionKind::Base, CollectionKind::Auth, CollectionKind::View]
        .into_iter()
        .filter_map(|kind| {
            let body = serde_json::json!({"name": "", "type": kind.as_str()});
            let (mut c, _) = Collection::from_create(body.as_object()?).ok()?;
            complete(&mut c);
            c.read_options().ok()?;
            (c.id, c.created, c.updated) = (String::new(), String::new(), String::new());
            Some((kind.as_str().to_owned(), c.to_json()))
        })
        .collect()
}

fn auth_collection(
    id: &str,
    name: &str,
    system: bool,
    extra: Vec<Field>,
    rules: Rules,
    duration: u64,
) -> Collection {
    let now = crate::datetime::now();
    let mut fields = vec![id_field()];
    fields.extend(auth_fields());
    fields.extend(extra);
    let mut options = new_auth_options(duration);
    if name == "users" {
        options.oauth2.mapped_fields.name = "name".into();
        options.oauth2.mapped_fields.avatar_url = "avatar".into();
    }
    Collection {
        id: id.into(),
        name: name.into(),
        kind: CollectionKind::Auth,
        system,
        fields,
        indexes: vec![
            format!("CREATE UNIQUE INDEX `idx_tokenKey_{id}` ON `{name}` (`tokenKey`)"),
            format!("CREATE UNIQUE INDEX `idx_email_{id}` ON `{name}` (`email`) WHERE `email` != ''"),
        ],
        rules,
        view_query: String::new(),
        options: options.to_json(),
        auth: Some(Arc::new(options)),
        created: now.clone(),
        updated: now,
    }
}

/// `_superusers`: the system auth collection of administrators.
pub fn superusers() -> Collection {
    let mut created = autodate("created", false);
    created.system = true;
    let mut updated = autodate("updated", true);
    updated.system = true;
    auth_collection(
        SUPERUSERS_ID,
        "_superusers",
        true,
        vec![created, updated],
        Rules::default(),
        86_400,
    )
}

/// `users`: the default auth collection for an app's users.
pub fn users() -> Collection {
    let owner = Some("id = @request.auth.id".to_owned());
    auth_collection(
        USERS_ID,
        "users",
        false,
        vec![
            Field::new(
                "name",
                FieldKind::Text {
                    required: false,
                    min: 0,
                    max: 255,
                    pattern: String::new(),
                    autogenerate_pattern: String::new(),
                    primary_key: false,
                },
            ),
            Field::new(
                "avatar",
                FieldKind::File {
                    required: false,
                    max_select: 1,
                    max_size: 0,
                    mime_types: [
                        "image/jpeg",
                        "image/png",
                        "image/svg+xml",
                        "image/gif",
                        "image/webp",
                    ]
                    .map(String::from)
                    .to_vec(),
                    thumbs: vec![],
                    protected: false,
                },
            ),
            autodate("created", false),
            autodate("updated", true),
        ],
        Rules {
            list: owner.clone(),
            view: owner.clone(),
            create: Some(String::new()),
            update: owner.clone(),
            delete: owner,
        },
        TokenKind::Auth.default_duration(),
    )
}

fn required_text(name: &str) -> Field {
    Field::new(
        name,
        FieldKind::Text {
            required: true,
            min: 0,
            max: 0,
            pattern: String::new(),
            autogenerate_pattern: String::new(),
            primary_key: false,
        },
    )
    .system()
}

/// `_externalAuths`: which OAuth2 identity is linked to which auth record.
/// A base collection as in PocketBase, so the SDK lists and unlinks a
/// user's links through the records API; its rules let an account see and
/// delete only its own links, and only the server creates them.
pub fn external_auths() -> Collection {
    let now = crate::datetime::now();
    let own = Some(
        "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId"
            .to_owned(),
    );
    let mut created = autodate("created", false);
    created.system = true;
    let mut updated = autodate("updated", true);
    updated.system = true;
    let name = "_externalAuths";
    Collection {
        id: EXTERNAL_AUTHS_ID.into(),
        name: name.into(),
        kind: CollectionKind::Base,
        system: true,
        fields: vec![
            id_field(),
            required_text("collectionRef"),
            required_text("recordRef"),
            required_text("provider"),
            required_text("providerId"),
            created,
            updated,
        ],
        indexes: vec![
            format!(
                "CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `{name}` (collectionRef, recordRef, provider)"
            ),
            format!(
                "CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `{name}` (collectionRef, provider, providerId)"
            ),
        ],
        rules: Rules {
            list: own.clone(),
            view: own.clone(),
            create: None,
            update: None,
            delete: own,
        },
        view_query: String::new(),
        options: Map::new(),
        auth: None,
        created: now.clone(),
        updated: now,
    }
}
