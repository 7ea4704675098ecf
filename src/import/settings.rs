//! PocketBase's settings into Cairn's: decrypted when PocketBase ran with
//! an encryption key, read into Cairn's `Settings` (same JSON shape), and
//! every non-empty value Cairn has no place for named, never dropped in
//! silence.
//!
//! PocketBase encrypts the stored settings (`--encryptionEnv`) with
//! AES-256-GCM under the 32-byte key, storing base64 of the 12-byte nonce
//! followed by the sealed JSON; plain settings are stored as the JSON
//! itself. Checked against PocketBase 0.40.6's own output.

use aes_gcm::{Aes256Gcm, KeyInit, Nonce, aead::Aead};
use base64::Engine;
use serde_json::Value;

use super::ImportError;
use crate::settings::Settings;

const NONCE_LEN: usize = 12;

/// The settings in `stored` (as `_params` holds them), and the notes on
/// what of them does not carry.
pub fn read(stored: Option<&[u8]>, key: Option<&str>) -> Result<(Settings, Vec<String>), ImportError> {
    let Some(stored) = stored else {
        return Ok((Settings::default(), Vec::new()));
    };
    let json = if stored.trim_ascii_start().starts_with(b"{") {
        stored.to_vec()
    } else {
        let key = key.ok_or(ImportError::EncryptedSettings)?;
        decrypt(stored, key)?
    };
    let raw: Value = serde_json::from_slice(&json).map_err(|e| ImportError::Settings(e.to_string()))?;
    let settings: Settings =
        serde_json::from_value(raw.clone()).map_err(|e| ImportError::Settings(e.to_string()))?;
    let mut notes = Vec::new();
    let kept = serde_json::to_value(&settings).unwrap_or(Value::Null);
    let mut missing = Vec::new();
    unplaced(&raw, &kept, "", &mut missing);
    if !missing.is_empty() {
        notes.push(format!("settings Cairn has no place for: {}", missing.join(", ")));
    }
    if settings.s3.enabled {
        notes.push(
            "S3 file storage (settings.s3): Cairn keeps files on local disk; the files in the bucket are not copied, and the S3 settings are kept but not used".into(),
        );
    }
    if !settings.backups.cron.is_empty() || settings.backups.s3.enabled {
        notes.push(
            "scheduled backups (settings.backups): kept in the settings, but Cairn does not run them yet"
                .into(),
        );
    }
    Ok((settings, notes))
}

fn decrypt(stored: &[u8], key: &str) -> Result<Vec<u8>, ImportError> {
    if key.len() != 32 {
        return Err(ImportError::BadKey(
            "the encryption key must be 32 characters long, as PocketBase's is".into(),
        ));
    }
    let wrong = || ImportError::BadKey("the encryption key does not decrypt the stored settings".into());
    let text: Vec<u8> = stored
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| {
            ImportError::Settings("the stored settings are neither JSON nor encrypted text".into())
        })?;
    if sealed.len() <= NONCE_LEN {
        return Err(wrong());
    }
    let cipher = Aes256Gcm::new_from_slice(key.as_bytes()).map_err(|_| wrong())?;
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| wrong())?;
    cipher.decrypt(&Nonce::from(nonce), body).map_err(|_| wrong())
}

/// The paths of `raw` that hold a value (not empty, false or zero) and
/// that Cairn's settings, re-serialized as `kept`, do not have.
fn unplaced(raw: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    };
    let (Value::Object(r), Value::Object(k)) = (raw, kept) else {
        return;
    };
    for (key, value) in r {
        let at = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match k.get(key) {
            Some(inner) => unplaced(value, inner, &at, out),
            None if !empty(value) => out.push(at),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz012345";

    fn seal(plain: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new_from_slice(KEY.as_bytes()).expect("key");
        let nonce = [7u8; NONCE_LEN];
        let mut out = nonce.to_vec();
        out.extend(cipher.encrypt(&Nonce::from(nonce), plain).expect("seal"));
        base64::engine::general_purpose::STANDARD.encode(out).into_bytes()
    }

    #[test]
    fn encrypted_settings_need_the_key() {
        let plain =
            json!({"smtp": {"enabled": true, "host": "mail.example.com", "password": "s3cret"}}).to_string();
        let stored = seal(plain.as_bytes());
        assert!(matches!(
            read(Some(&stored), None),
            Err(ImportError::EncryptedSettings)
        ));
        assert!(matches!(
            read(Some(&stored), Some("zyxwvutsrqponmlkjihgfedcba012345")),
            Err(ImportError::BadKey(_))
        ));
        let (s, _) = read(Some(&stored), Some(KEY)).expect("decrypts");
        assert_eq!(s.smtp.password, "s3cret");
        assert_eq!(s.smtp.host, "mail.example.com");
    }

    #[test]
    fn values_without_a_place_are_named() {
        let plain =
            json!({"meta": {"appName": "X", "newThing": "on"}, "future": {"a": 1}, "empty": ""}).to_string();
        let (s, notes) = read(Some(plain.as_bytes()), None).expect("reads");
        assert_eq!(s.meta.app_name, "X");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("meta.newThing") && notes[0].contains("future"),
            "{notes:?}"
        );
        assert!(!notes[0].contains("empty"), "{notes:?}");
    }
}
