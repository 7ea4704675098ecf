//! The error answers each operation of the document declares, all with the
//! envelope's schema: the statuses the edge gives (`http::error`), each
//! with the envelope's own message for it and the kind of operation that
//! can give it. They are added to every operation once the document is
//! assembled, so no endpoint lists them by hand and none misses one; an
//! operation that describes a status more precisely keeps its own words.

use poem::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::http::error::messages;

/// What decides which errors an operation can give.
struct Facts {
    /// It takes a body: malformed or too large.
    body: bool,
    /// It takes a body or parameters: invalid input.
    input: bool,
    /// It names something in its path (a collection, a record, a file).
    names: bool,
    /// A liveness or readiness probe: open to all, and it can say the
    /// server is not ready.
    probe: bool,
    /// Its method changes something (and so needs room on the disk).
    writes: bool,
}

type Applies = fn(&Facts) -> bool;

/// Every error status of the edge, its envelope message, and when it
/// applies. Any path can be covered by a rate-limit rule, so every
/// operation can answer 429.
const ANSWERS: [(StatusCode, &str, Applies); 8] = [
    (StatusCode::BAD_REQUEST, messages::VALIDATION, |f| f.input),
    (StatusCode::UNAUTHORIZED, messages::UNAUTHORIZED, |f| !f.probe),
    (StatusCode::FORBIDDEN, messages::FORBIDDEN, |f| !f.probe),
    (StatusCode::NOT_FOUND, messages::NOT_FOUND, |f| f.names),
    (StatusCode::PAYLOAD_TOO_LARGE, messages::TOO_LARGE, |f| f.body),
    (StatusCode::TOO_MANY_REQUESTS, messages::TOO_MANY, |_| true),
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "Not ready to serve (a migration is not applied, or the database is not writable).",
        |f| f.probe,
    ),
    (StatusCode::INSUFFICIENT_STORAGE, messages::DISK_FULL, |f| {
        f.writes
    }),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Adds the error answers to every operation of `doc` (an OpenAPI 3
/// document whose envelope schema is `components.schemas.ErrorEnvelope`).
pub fn declare(doc: &mut Value) {
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Value::Object(item) = item else { continue };
        for (method, op) in item.iter_mut() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let facts = facts(path, method, op);
            let Some(Value::Object(responses)) = op.get_mut("responses") else {
                continue;
            };
            add(&facts, responses);
        }
    }
}

fn facts(path: &str, method: &str, op: &Value) -> Facts {
    let params = op.get("parameters").and_then(Value::as_array);
    let body = op.get("requestBody").is_some();
    Facts {
        body,
        input: body || params.is_some_and(|p| !p.is_empty()),
        names: path.contains('{'),
        probe: matches!(path, "/health" | "/ready"),
        writes: matches!(method, "post" | "put" | "patch" | "delete"),
    }
}

fn add(facts: &Facts, responses: &mut Map<String, Value>) {
    for (status, message, applies) in ANSWERS {
        if applies(facts) {
            responses.entry(status.as_str()).or_insert_with(|| {
                json!({
                    "description": message,
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ErrorEnvelope"},
                    }},
                })
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_get_the_errors_they_can_give_and_keep_their_own_words() {
        let mut doc = json!({"paths": {
            "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/collections/{c}": {
                "parameters": [],
                "patch": {
                    "parameters": [{"name": "c", "in": "path"}],
                    "requestBody": {},
                    "responses": {"404": {"description": "No such collection."}},
                },
            },
        }});
        declare(&mut doc);
        let codes = |op: &str| -> Vec<String> {
            let mut codes: Vec<String> = doc
                .pointer(op)
                .and_then(Value::as_object)
                .map(|r| r.keys().cloned().collect())
                .unwrap_or_default();
            codes.sort();
            codes
        };
        assert_eq!(codes("/paths/~1health/get/responses"), ["200", "429", "503"]);
        assert_eq!(
            codes("/paths/~1collections~1{c}/patch/responses"),
            ["400", "401", "403", "404", "413", "429", "507"]
        );
        let patch = &doc["paths"]["/collections/{c}"]["patch"]["responses"];
        assert_eq!(patch["404"]["description"], "No such collection.");
        assert_eq!(
            patch["429"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorEnvelope"
        );
        assert_eq!(patch["429"]["description"], messages::TOO_MANY);
    }
}
