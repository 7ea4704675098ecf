//! `/api/backups` (superusers): list, create, upload, download, delete and
//! restore backups, in PocketBase's shapes. The work is `backups`'; a
//! restore is done in-process (`AppState::restore_backup`), so unlike
//! PocketBase the server does not restart, and the answer comes once the
//! restored data is live.

use std::sync::Arc;

use poem::{Body, Request};
use poem_openapi::{
    ApiResponse, Multipart, Object, OpenApi,
    param::{Path, Query},
    payload::{Binary, Json},
    types::multipart::Upload,
};

use super::{ApiTags, body::Body as Fields, guard::Superuser};
use crate::{
    app::AppState,
    backups::{Action, BackupError, BackupFile, BackupName},
    http::error::ApiError,
    validation::{ErrorTree, FieldError},
};

pub struct BackupsApi {
    state: Arc<AppState>,
}

impl BackupsApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// One backup file.
#[derive(Object)]
struct BackupItem {
    /// The file name, which is the backup's key.
    key: String,
    /// Size in bytes.
    size: u64,
    /// Last modified (`2006-01-02 15:04:05.000Z`).
    modified: String,
}

impl From<BackupFile> for BackupItem {
    fn from(b: BackupFile) -> Self {
        Self {
            key: b.key,
            size: b.size,
            modified: b.modified,
        }
    }
}

#[derive(Object, Default)]
struct CreateBackup {
    /// `[a-z0-9_-]+\.zip`, at most 150 characters; generated when empty.
    #[oai(default)]
    name: String,
}

#[derive(Multipart)]
struct UploadForm {
    /// The zip archive; its file name becomes the backup's key. Given
    /// more than once, the first is taken (as PocketBase does).
    file: Vec<Upload>,
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
enum Download {
    /// The archive.
    #[oai(status = 200, content_type = "application/zip")]
    Zip(
        Binary<Body>,
        #[oai(header = "Content-Disposition")] String,
        #[oai(header = "Content-Length")] u64,
    ),
}

fn invalid(field: &str, error: FieldError) -> ApiError {
    let mut errors = ErrorTree::new();
    errors.add(&[field], error);
    ApiError::validation(errors)
}

/// Progress of work started by a request goes to the log.
fn log_progress(step: &str) {
    tracing::info!(step, "backup");
}

#[OpenApi(tag = "ApiTags::Backups")]
impl BackupsApi {
    /// Superusers only: every backup file, newest first.
    #[oai(path = "/backups", method = "get")]
    async fn list(&self, _superuser: Superuser) -> poem::Result<Json<Vec<BackupItem>>> {
        let items = self.state.backups.list().await.map_err(ApiError::from)?;
        Ok(Json(items.into_iter().map(Into::into).collect()))
    }

    /// Superusers only: makes a backup of the live data, while the server
    /// goes on serving; answers once it is written.
    #[oai(path = "/backups", method = "post")]
    async fn create(&self, _superuser: Superuser, body: Fields<CreateBackup>) -> poem::Result<Done> {
        let name = match body.0.name.as_str() {
            "" => BackupName::generated(false),
            given => BackupName::parse(given).map_err(|e| invalid("name", e))?,
        };
        let state = &self.state;
        state
            .backups
            .create(&state.store, &state.storage, &name, &log_progress)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    /// Superusers only: keeps an uploaded zip as a backup, named after the
    /// uploaded file, once its contents pass the checks.
    #[oai(path = "/backups/upload", method = "post")]
    async fn upload(&self, _superuser: Superuser, form: UploadForm) -> poem::Result<Done> {
        // A part without a file name is no file: a plain text field, or
        // a browser form's file input left empty (`filename=""`). Only the
        // last part of the name a client gives counts: never a path.
        let (upload, given) = form
            .file
            .into_iter()
            .next()
            .and_then(|upload| {
                let given = upload.file_name()?.rsplit(['/', '\\']).next()?.to_owned();
                (!given.is_empty()).then_some((upload, given))
            })
            .ok_or(BackupError::NoUpload)
            .map_err(ApiError::from)?;
        let name = BackupName::parse(&given).map_err(|e| invalid("file", e))?;
        let (mut out, temp) = self.state.backups.upload_file().await.map_err(ApiError::from)?;
        let mut reader = upload.into_async_read();
        tokio::io::copy(&mut reader, &mut out)
            .await
            .map_err(ApiError::internal)?;
        out.sync_all().await.map_err(ApiError::internal)?;
        drop(out);
        self.state
            .backups
            .accept_upload(temp.path(), &name)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    /// Superusers only, by a file token (`POST /api/files/token`) in
    /// `?token=`: the backup archive.
    #[oai(path = "/backups/:key", method = "get")]
    async fn download(
        &self,
        req: &Request,
        key: Path<String>,
        token: Query<Option<String>>,
    ) -> poem::Result<Download> {
        let state = &self.state;
        let caller = state
            .auth_records
            .identify_file(
                &state.schema,
                &state.store.data,
                &state.sessions,
                token.0.as_deref().filter(|t| !t.is_empty()),
            )
            .await
            .map_err(ApiError::internal)?;
        if !caller.is_superuser() {
            return Err(ApiError::new(
                poem::http::StatusCode::FORBIDDEN,
                "Insufficient permissions to access the resource.",
            )
            .into());
        }
        // A file token is a superuser's credential like any other: the
        // `superuserIPs` allowlist applies to it too.
        crate::http::client::superuser_may_call(req, &state.settings.get())?;
        let path = state
            .backups
            .path(&key.0, Action::Download)
            .await
            .map_err(ApiError::from)?;
        let file = tokio::fs::File::open(&path).await.map_err(ApiError::internal)?;
        let len = file.metadata().await.map_err(ApiError::internal)?.len();
        Ok(Download::Zip(
            Binary(Body::from_async_read(file)),
            format!("attachment; filename=\"{}\"", key.0),
            len,
        ))
    }

    /// Superusers only: deletes a backup file.
    #[oai(path = "/backups/:key", method = "delete")]
    async fn delete(&self, _superuser: Superuser, key: Path<String>) -> poem::Result<Done> {
        self.state.backups.delete(&key.0).await.map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    /// Superusers only: replaces the live data with a backup's, after
    /// checking all of it, and answers once the restored data is served.
    /// What it replaced is kept in `.restore_rollback/` in the data folder.
    #[oai(path = "/backups/:key/restore", method = "post")]
    async fn restore(&self, _superuser: Superuser, key: Path<String>) -> poem::Result<Done> {
        self.state
            .restore_backup(&key.0, &log_progress)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }
}
