//! Finding a stored file for a download: the collection, the record and
//! the file field that names the file; for a protected field, the record's
//! view rule checked for the holder of the file token; and the thumbnail,
//! made on first request and kept on disk. A record's question (who may
//! read it), so it lives with the records; the bytes are `files`'.

use std::{path::PathBuf, sync::Arc};

use rusqlite::OptionalExtension;
use serde_json::Value;

use super::{
    RecordId,
    access::Requester,
    deps::RecordsDeps,
    service::{self, RecordError},
};
use crate::{
    files::{names, sniff, thumbs},
    identity::Caller,
    query::compile::{RequestInfo, RuleContext},
    schema::{Collection, CollectionKind, field::FieldKind, sync::quote, view},
    store::StoreError,
};

static THUMB_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A file ready to send.
pub struct Found {
    pub path: PathBuf,
    /// The name the client sees (`{size}_{name}` for a thumbnail).
    pub name: String,
    pub mime: &'static str,
    pub protected: bool,
}

/// Locates `filename` of record `id` of `c`, or `NotFound` for anything
/// the caller may not read (so a guess learns nothing). `holder` is who
/// the request's file token names (a guest without one): awaited only for
/// a protected file, so no other download pays for checking a token.
pub async fn find(
    deps: &RecordsDeps<'_>,
    c: Arc<Collection>,
    id: &RecordId,
    filename: &str,
    holder: impl Future<Output = Result<Caller, StoreError>>,
    thumb: Option<&str>,
) -> Result<Found, RecordError> {
    let record_id = id.as_str();
    if !names::is_safe(filename) || !names::is_safe(record_id) {
        return Err(RecordError::NotFound);
    }
    let (c2, rid) = (c.clone(), record_id.to_owned());
    let record = deps
        .db
        // Stored values, hidden fields included: a hidden file field's
        // files are still served (their names just are not listed).
        .read(move |conn| service::read_values(conn, &c2, &rid).map_err(RecordError::from))
        .await?
        .ok_or(RecordError::NotFound)?;
    let holds = |v: &Value| match v {
        Value::String(s) => s == filename,
        Value::Array(items) => items.iter().any(|i| i.as_str() == Some(filename)),
        _ => false,
    };
    let field = c
        .fields
        .iter()
        .find(|f| matches!(f.kind, FieldKind::File { .. }) && record.get(&f.name).is_some_and(holds))
        .ok_or(RecordError::NotFound)?;
    let FieldKind::File {
        protected,
        thumbs: sizes,
        ..
    } = &field.kind
    else {
        return Err(RecordError::NotFound);
    };
    if *protected {
        may_view(deps, c.clone(), id, holder.await?).await?;
    }
    // A view stores nothing: its file is the one the record it reads
    // holds, found by its unique stored name, and served under the view's
    // rules and field options (checked above and below), as PocketBase
    // serves it.
    let (store_c, store_id) = match c.kind {
        CollectionKind::View => stored_at(deps, &c, record_id, &field.name, filename).await?,
        _ => (c.id.clone(), record_id.to_owned()),
    };
    let path = deps
        .storage
        .file(&store_c, &store_id, filename)
        .ok_or(RecordError::NotFound)?;
    let head = read_head(&path).await?;
    let mime = sniff::sniff(&head).mime;
    let found = Found {
        path,
        name: filename.to_owned(),
        mime,
        protected: *protected,
    };
    // A size the field does not offer, or a file that is not an image,
    // gets the original, as in PocketBase.
    let Some(size) = thumb.filter(|s| *s == thumbs::ALWAYS || sizes.iter().any(|t| t == s)) else {
        return Ok(found);
    };
    let (Some(parsed), true) = (thumbs::ThumbSize::parse(size), thumbs::supported(mime)) else {
        return Ok(found);
    };
    let thumb_path = deps
        .storage
        .thumb(&store_c, &store_id, filename, size)
        .ok_or(RecordError::NotFound)?;
    if tokio::fs::metadata(&thumb_path).await.is_err() {
        // Decoding and resizing is CPU- and memory-heavy: a few at a time,
        // so a burst of first views cannot starve everything else.
        let _slot = THUMB_SLOTS
            .acquire()
            .await
            .map_err(|_| RecordError::Store(crate::store::StoreError::Closed))?;
        let source = found.path.clone();
        let target = thumb_path.clone();
        let made = tokio::task::spawn_blocking(move || make_thumb(&source, &target, parsed))
            .await
            .map_err(|_| RecordError::Store(crate::store::StoreError::WorkerLost))?;
        if let Err(err) = made {
            // An image the decoder cannot read is still served as uploaded.
            tracing::warn!(file = %filename, error = %err, "could not make a thumbnail");
            return Ok(found);
        }
    }
    Ok(Found {
        path: thumb_path,
        name: format!("{size}_{filename}"),
        ..found
    })
}

/// The collection and record that store `filename`, which view field
/// `field` of `view` shows: the record of the collection the field reads
/// (`schema::view::file_source`) whose file field holds that name. Stored
/// names are unique and no write can copy one into another record, so the
/// name finds the one record; should an import have copied one, the record
/// of the view row's own id is taken first.
async fn stored_at(
    deps: &RecordsDeps<'_>,
    view: &Collection,
    view_id: &str,
    field: &str,
    filename: &str,
) -> Result<(String, String), RecordError> {
    let catalog = deps.schema.catalog();
    let (source, field) = view::file_source(&catalog, view, field).ok_or(RecordError::NotFound)?;
    if !source
        .fields
        .iter()
        .any(|f| f.name == field && matches!(f.kind, FieldKind::File { .. }))
    {
        return Err(RecordError::NotFound);
    }
    let (table, column) = (quote(&source.name), quote(&field));
    let sql = format!(
        "SELECT id FROM {table} WHERE {column} = ?1 OR (json_valid({column}) \
         AND EXISTS (SELECT 1 FROM json_each({column}) WHERE value = ?1)) \
         ORDER BY id = ?2 DESC LIMIT 1"
    );
    let (name, view_id) = (filename.to_owned(), view_id.to_owned());
    let id: Option<String> = deps
        .db
        .read(move |conn| {
            conn.prepare_cached(&sql)?
                .query_row([&name, &view_id], |r| r.get(0))
                .optional()
                .map_err(RecordError::from)
        })
        .await?;
    Ok((source.id.clone(), id.ok_or(RecordError::NotFound)?))
}

/// The record's view rule, for the holder of the file token.
async fn may_view(
    deps: &RecordsDeps<'_>,
    c: Arc<Collection>,
    id: &RecordId,
    caller: Caller,
) -> Result<(), RecordError> {
    let auth = caller.rule_auth();
    let requester = Requester {
        caller,
        info: RequestInfo {
            auth,
            method: "GET".into(),
            context: RuleContext::ProtectedFile,
            ..RequestInfo::default()
        }
        .into(),
    };
    match service::view(deps, &requester, c, id).await {
        Ok(_) => Ok(()),
        Err(RecordError::SuperusersOnly | RecordError::OutOfScope) => Err(RecordError::NotFound),
        Err(other) => Err(other),
    }
}

async fn read_head(path: &std::path::Path) -> Result<Vec<u8>, RecordError> {
    use tokio::io::AsyncReadExt;
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RecordError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let mut head = Vec::with_capacity(sniff::SAMPLE);
    file.take(sniff::SAMPLE as u64).read_to_end(&mut head).await?;
    Ok(head)
}

/// Renders a thumbnail into place: written beside, then renamed, so a
/// concurrent request never reads half a file.
fn make_thumb(
    source: &std::path::Path,
    target: &std::path::Path,
    size: thumbs::ThumbSize,
) -> anyhow::Result<()> {
    // Another request may have made it while this one waited for a slot.
    if target.is_file() {
        return Ok(());
    }
    let bytes = std::fs::read(source)?;
    let out = thumbs::render(&bytes, size)?;
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = target.with_extension(format!("tmp{}", crate::random::lower_alphanumeric(8)));
    std::fs::write(&tmp, out)?;
    std::fs::rename(&tmp, target)?;
    Ok(())
}
