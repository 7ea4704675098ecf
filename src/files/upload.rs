//! Uploads on their way in: each form part that holds a file is matched to
//! its file field (`name`, `+name` to prepend, `name+` to append), named
//! for storage, sniffed, and checked against the field's `maxSize` and
//! `mimeTypes`, with PocketBase's error codes.

use bytes::Bytes;
use serde_json::json;

use super::{names, sniff};
use crate::{
    schema::{
        Collection,
        field::{Field, FieldKind},
    },
    validation::{ErrorTree, FieldError},
};

/// PocketBase's size limit for a file field whose `maxSize` is 0.
pub const DEFAULT_MAX_SIZE: u64 = 5 << 20;

/// A file part of a multipart body, as the client sent it.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The form key, modifiers included (`documents+`).
    pub key: String,
    pub filename: String,
    pub bytes: Bytes,
}

/// Where new files go in the field's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The plain key: the new files (plus any names given with them) become the value.
    Replace,
    Prepend,
    Append,
}

/// An accepted upload, with the name it is stored under.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub field: String,
    pub placement: Placement,
    pub name: String,
    pub bytes: Bytes,
}

/// The largest upload a field accepts.
pub fn max_size(field: &Field) -> u64 {
    match &field.kind {
        FieldKind::File { max_size, .. } if *max_size > 0 => *max_size,
        _ => DEFAULT_MAX_SIZE,
    }
}

/// How many bytes a multipart body for `c` may carry: every file field
/// filled to its limit. Used by the body limit, so a form can be as large
/// as the collection allows and no larger.
pub fn form_capacity(c: &Collection) -> u64 {
    c.fields
        .iter()
        .filter_map(|f| match &f.kind {
            FieldKind::File { max_select, .. } => Some(max_size(f).saturating_mul((*max_select).max(1))),
            _ => None,
        })
        .fold(0u64, u64::saturating_add)
}

fn target<'a>(c: &'a Collection, key: &str) -> Option<(&'a Field, Placement)> {
    let (name, placement) = if let Some(n) = key.strip_prefix('+') {
        (n, Placement::Prepend)
    } else if let Some(n) = key.strip_suffix('+') {
        (n, Placement::Append)
    } else {
        (key, Placement::Replace)
    };
    let field = c.field(name)?;
    matches!(field.kind, FieldKind::File { .. }).then_some((field, placement))
}

/// Names, sniffs and checks every upload for `c`. Parts for keys that are
/// not file fields are ignored, as PocketBase ignores unknown fields.
pub fn accept(c: &Collection, uploads: Vec<Upload>, errors: &mut ErrorTree) -> Vec<NewFile> {
    let mut out = Vec::new();
    for upload in uploads {
        let Some((field, placement)) = target(c, &upload.key) else {
            continue;
        };
        let FieldKind::File { mime_types, .. } = &field.kind else {
            continue;
        };
        let limit = max_size(field);
        if upload.bytes.len() as u64 > limit {
            errors.add(
                &[&field.name],
                FieldError::new(
                    "validation_file_size_limit",
                    format!(
                        "Failed to upload {} - the maximum allowed file size is {limit} bytes.",
                        upload.filename
                    ),
                )
                .with_params(json!({"file": upload.filename, "maxSize": limit})),
            );
            continue;
        }
        let sniffed = sniff::sniff(&upload.bytes);
        let name = names::stored_name(&upload.filename, sniffed.ext);
        if !mime_types.is_empty() && !mime_types.iter().any(|m| m.eq_ignore_ascii_case(sniffed.mime)) {
            errors.add(
                &[&field.name],
                FieldError::new(
                    "validation_invalid_mime_type",
                    format!("\"{name}\" mime type must be one of: {}.", mime_types.join(", ")),
                ),
            );
            continue;
        }
        out.push(NewFile {
            field: field.name.clone(),
            placement,
            name,
            bytes: upload.bytes,
        });
    }
    out
}
