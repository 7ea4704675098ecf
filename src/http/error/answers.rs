//! Every domain error's answer, here and nowhere else: the services and
//! the core return their own enums and know nothing of statuses; each
//! converts into `ApiError` once, below, with PocketBase's status and
//! wording for it.

use poem::http::StatusCode;

use super::{ApiError, ErrorTree, FieldError, messages};
use crate::{
    auth::{
        flows::FlowError,
        oauth2::{OAuth2Error, exchange::ExchangeError},
        password_signin::LoginError,
        signin::SignInError,
        superusers::SuperuserError,
        token::TokenError,
    },
    backups::{Action, ArchiveProblem, BackupError},
    fields_param::FieldsError,
    identity::password::PasswordError,
    keys::KeyError,
    ops::{cron::UnknownJob, logs::LogsError},
    query::{QueryError, collections::FilterError},
    records::{delete::TruncateError, service::RecordError},
    schema::SchemaError,
    webhooks::WebhookError,
};

impl From<QueryError> for ApiError {
    fn from(err: QueryError) -> Self {
        match err {
            QueryError::Invalid(m) => ApiError::bad_request(m),
            QueryError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
        }
    }
}

impl From<FieldsError> for ApiError {
    fn from(err: FieldsError) -> Self {
        // PocketBase answers its generic 400, with no detail.
        tracing::debug!(error = %err, "fields refused");
        ApiError::bad_request(messages::INTERNAL)
    }
}

impl From<LogsError> for ApiError {
    fn from(err: LogsError) -> Self {
        match err {
            LogsError::Invalid(m) => ApiError::bad_request(m),
            LogsError::NotFound => ApiError::not_found(),
            LogsError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<KeyError> for ApiError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::Invalid => ApiError::unauthorized("The API key is invalid, expired or revoked."),
            KeyError::AddressRefused => ApiError::new(
                StatusCode::FORBIDDEN,
                "The API key is not allowed from this address.",
            ),
            KeyError::NotFound => ApiError::not_found(),
            KeyError::Validation(errors) => ApiError::validation_with(messages::VALIDATION, errors),
            KeyError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<UnknownJob> for ApiError {
    fn from(_: UnknownJob) -> Self {
        // PocketBase's words for it.
        ApiError::new(StatusCode::NOT_FOUND, "Missing or invalid cron job.")
    }
}

impl From<FilterError> for ApiError {
    fn from(err: FilterError) -> Self {
        match err {
            FilterError::Query(e) => e.into(),
            FilterError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<RecordError> for ApiError {
    fn from(err: RecordError) -> Self {
        match err {
            RecordError::NoCollection => ApiError::new(StatusCode::NOT_FOUND, messages::MISSING_COLLECTION),
            RecordError::Unsupported(m) => ApiError::bad_request(m),
            RecordError::SuperusersOnly => {
                ApiError::new(StatusCode::FORBIDDEN, "Only superusers can perform this action.")
            }
            RecordError::OutOfScope => ApiError::new(StatusCode::FORBIDDEN, messages::OUT_OF_SCOPE),
            RecordError::NotFound => ApiError::not_found(),
            RecordError::Invalid { message, errors } => ApiError::validation_with(message, errors),
            RecordError::Refused(m) => ApiError::bad_request(m),
            RecordError::BadQuery(e) => e.into(),
            RecordError::Password(e) => e.into(),
            // The store's and the file system's own errors, not wrapped, so
            // `internal` can tell a full disk.
            RecordError::Store(e) => ApiError::internal(e),
            RecordError::Storage(e) => ApiError::internal(e),
            other => ApiError::internal(other),
        }
    }
}

impl From<TruncateError> for ApiError {
    fn from(err: TruncateError) -> Self {
        match err {
            TruncateError::Schema(e) => e.into(),
            TruncateError::Record(e) => e.into(),
        }
    }
}

impl From<SchemaError> for ApiError {
    fn from(err: SchemaError) -> Self {
        match err {
            SchemaError::Unreadable => ApiError::bad_request(messages::UNREADABLE_DATA),
            SchemaError::UnreadableKind => {
                ApiError::bad_request("Failed to load the collection type data due to invalid formatting.")
            }
            SchemaError::Invalid { message, errors } => ApiError::validation_with(message, errors),
            SchemaError::NotFound => ApiError::not_found(),
            SchemaError::Refused(message) => ApiError::bad_request(message),
            SchemaError::Store(err) => ApiError::internal(err),
        }
    }
}

impl From<PasswordError> for ApiError {
    fn from(err: PasswordError) -> Self {
        match err {
            PasswordError::Busy => ApiError::unavailable("The server is busy. Try again shortly.")
                .retry_after(std::time::Duration::from_secs(1)),
            other => ApiError::internal(other),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::Invalid(fields) => ApiError::validation(fields),
            LoginError::Disabled => ApiError::new(
                StatusCode::FORBIDDEN,
                "The collection is not configured to allow password authentication.",
            ),
            LoginError::Failed => ApiError::bad_request("Failed to authenticate."),
            LoginError::Backoff(wait) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed sign-in attempts. Try again later.",
            )
            .retry_after(wait),
            LoginError::RuleRefused => ApiError::new(
                StatusCode::FORBIDDEN,
                "The request doesn't satisfy the collection requirements to authenticate.",
            ),
            LoginError::Rule(e) => e.into(),
            LoginError::Password(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

impl From<FlowError> for ApiError {
    fn from(err: FlowError) -> Self {
        match err {
            FlowError::Invalid(fields) => ApiError::validation(fields),
            FlowError::Refused(message) => ApiError::bad_request(message),
            FlowError::Forbidden(message) => ApiError::new(StatusCode::FORBIDDEN, message),
            FlowError::Unauthorized => ApiError::unauthorized(messages::UNAUTHORIZED),
            FlowError::WrongCollection(name) => ApiError::new(
                StatusCode::FORBIDDEN,
                format!("The request requires auth record from {name} collection."),
            ),
            FlowError::Login(e) => e.into(),
            FlowError::NotSet(fields) => ApiError::validation_with("Failed to set new password.", fields),
            other => ApiError::internal(other),
        }
    }
}

impl From<OAuth2Error> for ApiError {
    fn from(err: OAuth2Error) -> Self {
        match err {
            OAuth2Error::Disabled => ApiError::new(
                StatusCode::FORBIDDEN,
                "The collection is not configured to allow OAuth2 authentication.",
            ),
            OAuth2Error::Invalid(errors) => ApiError::validation_with(messages::BAD_REQUEST_BODY, errors),
            OAuth2Error::Exchange(e) => {
                // The provider's side of a failure is for the logs; the
                // client learns which step failed, as in PocketBase.
                tracing::warn!(error = %e, "OAuth2 provider call failed");
                ApiError::bad_request(match e {
                    ExchangeError::Token(_) => "Failed to fetch OAuth2 token.",
                    ExchangeError::User(_) => "Failed to fetch OAuth2 user.",
                })
            }
            OAuth2Error::Record(e) => e.into(),
            OAuth2Error::Login(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

impl From<SignInError> for ApiError {
    fn from(err: SignInError) -> Self {
        match err {
            SignInError::MfaExpired => ApiError::bad_request("Invalid or expired MFA session."),
            SignInError::MfaMismatch => ApiError::bad_request("Invalid MFA session."),
            SignInError::MfaSameMethod => {
                ApiError::bad_request("A different authentication method is required.")
            }
            SignInError::Rule(e) => e.into(),
            SignInError::Store(e) => ApiError::internal(e),
            SignInError::Token(e) => e.into(),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        ApiError::internal(err)
    }
}

impl From<SuperuserError> for ApiError {
    fn from(err: SuperuserError) -> Self {
        match err {
            SuperuserError::Invalid(fields) => ApiError::validation(fields),
            SuperuserError::Missing(_) => ApiError::not_found(),
            SuperuserError::AlreadyInstalled => ApiError::new(
                StatusCode::FORBIDDEN,
                "A superuser already exists: sign in, or use `cairn superuser`.",
            ),
            other => ApiError::internal(other),
        }
    }
}

impl From<BackupError> for ApiError {
    fn from(err: BackupError) -> Self {
        let field_error = |field: &str, error: FieldError| {
            let mut errors = ErrorTree::new();
            errors.add(&[field], error);
            ApiError::validation(errors)
        };
        let field = |field: &str, code: &'static str, message: String| {
            field_error(field, FieldError::new(code, message))
        };
        match err {
            BackupError::NameExists { field: f } => field(
                f,
                "validation_backup_name_exists",
                "A backup with this name already exists.".into(),
            ),
            BackupError::Busy => {
                ApiError::bad_request("Another backup or restore is already running; try again later.")
            }
            BackupError::Missing(Action::Download) => ApiError::not_found(),
            BackupError::Missing(Action::Delete) => {
                ApiError::bad_request("Invalid or already deleted backup file.")
            }
            BackupError::Missing(Action::Restore) => ApiError::bad_request("Missing or invalid backup file."),
            BackupError::NoUpload => field_error("file", FieldError::required()),
            BackupError::TooLarge => ApiError::payload_too_large(),
            BackupError::Archive(ArchiveProblem::NotZip) => field(
                "file",
                "validation_invalid_mime_type",
                "The file must be a zip archive.".into(),
            ),
            BackupError::Archive(ArchiveProblem::Io(e)) => ApiError::internal(e),
            BackupError::Archive(problem) => field(
                "file",
                "validation_invalid_backup",
                format!("The backup archive cannot be used: {problem}."),
            ),
            BackupError::Incompatible(problem) => {
                ApiError::bad_request(format!("The backup cannot be restored: {problem}"))
            }
            other @ (BackupError::Store(_) | BackupError::Io { .. }) => ApiError::internal(other),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(err: WebhookError) -> Self {
        match err {
            WebhookError::NotFound => ApiError::not_found(),
            WebhookError::Invalid(errors) => ApiError::validation(errors),
            WebhookError::Unfinished => {
                ApiError::bad_request("The delivery has not finished yet; it is sent without asking.")
            }
            WebhookError::Store(err) => ApiError::internal(err),
        }
    }
}
