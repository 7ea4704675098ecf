//! The `_apiKeys` table (migration `0008_api_keys.sql`): one row per key,
//! its secret only as a hash. Scopes and the address allowlist are JSON
//! lists in their columns: they are read whole with the key, never
//! queried into.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::{
    schema::{Collection, index, sync::quote},
    store::nocase,
};
use serde::{Deserialize, Serialize};

/// A scope as stored: a collection id and action names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredScope {
    pub collection: String,
    pub actions: Vec<String>,
}

/// One key's row, without its hash.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub collection_id: String,
    pub record_id: String,
    pub scopes: Vec<StoredScope>,
    pub allowed_ips: Vec<String>,
    pub expires: String,
    pub last_used: String,
    pub last_used_ip: String,
    pub created: String,
    pub updated: String,
}

const COLUMNS: &str = "id, name, prefix, collectionId, recordId, scopes, allowedIps, expires, \
                       lastUsed, lastUsedIp, created, updated";

fn from_row(row: &Row<'_>) -> rusqlite::Result<KeyRow> {
    let json_list = |i: usize| -> rusqlite::Result<String> { row.get(i) };
    Ok(KeyRow {
        id: row.get(0)?,
        name: row.get(1)?,
        prefix: row.get(2)?,
        collection_id: row.get(3)?,
        record_id: row.get(4)?,
        // Unreadable scopes must not read as none (every right): the row
        // is refused instead.
        scopes: serde_json::from_str(&json_list(5)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
        })?,
        allowed_ips: serde_json::from_str(&json_list(6)?).unwrap_or_default(),
        expires: row.get(7)?,
        last_used: row.get(8)?,
        last_used_ip: row.get(9)?,
        created: row.get(10)?,
        updated: row.get(11)?,
    })
}

pub fn insert(conn: &Connection, row: &KeyRow, hash: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO _apiKeys (id, name, prefix, secretHash, collectionId, recordId, scopes, \
         allowedIps, expires, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        row.id,
        row.name,
        row.prefix,
        hash,
        row.collection_id,
        row.record_id,
        json(&row.scopes),
        json(&row.allowed_ips),
        row.expires,
        row.created,
    ])?;
    Ok(())
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<KeyRow>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM _apiKeys ORDER BY created DESC, id"
    ))?
    .query_map([], from_row)?
    .collect()
}

pub fn by_id(conn: &Connection, id: &str) -> rusqlite::Result<Option<KeyRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM _apiKeys WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

pub fn by_hash(conn: &Connection, hash: &str) -> rusqlite::Result<Option<KeyRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM _apiKeys WHERE secretHash = ?1"))?
        .query_row([hash], from_row)
        .optional()
}

/// The hash of key `id`, to drop its cached resolution.
pub fn hash_of(conn: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT secretHash FROM _apiKeys WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// Writes the changeable part of `row` (name, scopes, allowlist, expiry).
pub fn update(conn: &Connection, row: &KeyRow) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE _apiKeys SET name = ?2, scopes = ?3, allowedIps = ?4, expires = ?5, updated = ?6 \
         WHERE id = ?1",
    )?
    .execute(params![
        row.id,
        row.name,
        json(&row.scopes),
        json(&row.allowed_ips),
        row.expires,
        row.updated,
    ])
}

pub fn delete(conn: &Connection, id: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM _apiKeys WHERE id = ?1")?
        .execute([id])
}

pub fn record_use(conn: &Connection, id: &str, when: &str, ip: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached("UPDATE _apiKeys SET lastUsed = ?2, lastUsedIp = ?3 WHERE id = ?1")?
        .execute(params![id, when, ip])
}

/// The id of the record of auth collection `c` whose id, or else email
/// (in any case), is `wanted`.
pub fn auth_record_id(conn: &Connection, c: &Collection, wanted: &str) -> rusqlite::Result<Option<String>> {
    let table = quote(&c.name);
    let email = c.fields.iter().any(|f| f.name == "email");
    if email && index::serves_binary_lookup(&c.indexes, "email") {
        // Through the email's index (`store::nocase`), not a scan.
        let by_id = conn
            .prepare_cached(&format!("SELECT id FROM {table} WHERE id = ?1"))?
            .query_row([wanted], |r| r.get(0))
            .optional()?;
        if by_id.is_some() {
            return Ok(by_id);
        }
        let Some(spelling) = nocase::held_spellings(conn, &table, &quote("email"), wanted, 1)?.pop() else {
            return Ok(None);
        };
        return conn
            .prepare_cached(&format!(
                "SELECT id FROM {table} WHERE email = ?1 AND email != '' LIMIT 1"
            ))?
            .query_row([spelling], |r| r.get(0))
            .optional();
    }
    let sql = if email {
        format!(
            "SELECT id FROM {table} WHERE id = ?1 UNION ALL \
             SELECT id FROM {table} WHERE email = ?1 COLLATE NOCASE LIMIT 1"
        )
    } else {
        format!("SELECT id FROM {table} WHERE id = ?1")
    };
    conn.prepare_cached(&sql)?
        .query_row([wanted], |r| r.get(0))
        .optional()
}
