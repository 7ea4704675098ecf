//! A text field's `autogeneratePattern`: a new record without a value
//! gets one drawn from the pattern (a custom id pattern too); a pattern
//! that is not a regular expression, matches places, or draws values the
//! field refuses is refused when the collection is saved, in PocketBase's
//! codes.

use serde_json::json;

use crate::{
    differential::start_both,
    helpers::{error_codes, json, spawn_app},
};

#[tokio::test]
async fn a_new_record_gets_a_value_drawn_from_the_pattern() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let created = app
        .call(
            "POST",
            "/api/collections",
            Some(&su),
            Some(
                json!({"name": "invoices", "createRule": "", "updateRule": "", "fields": [
                {"name": "number", "type": "text", "autogeneratePattern": r"INV-\d{6}"},
                {"name": "note", "type": "text"}]}),
            ),
        )
        .await;
    assert_eq!(created.status(), 200);
    let re = regex::Regex::new(r"^INV-\d{6}$").unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..5 {
        let r = json(
            app.call("POST", "/api/collections/invoices/records", None, Some(json!({})))
                .await,
        )
        .await;
        let n = r["number"].as_str().unwrap().to_owned();
        assert!(re.is_match(&n), "{r}");
        seen.insert(n);
    }
    assert!(seen.len() > 1, "drawn, not fixed: {seen:?}");
    // A value given is kept; an update does not draw one.
    let r = json(
        app.call(
            "POST",
            "/api/collections/invoices/records",
            None,
            Some(json!({"number": "MINE-1"})),
        )
        .await,
    )
    .await;
    assert_eq!(r["number"], "MINE-1");
    let id = r["id"].as_str().unwrap();
    let r = json(
        app.call(
            "PATCH",
            &format!("/api/collections/invoices/records/{id}"),
            None,
            Some(json!({"number": ""})),
        )
        .await,
    )
    .await;
    assert_eq!(r["number"], "", "{r}");

    // The id field's own pattern, changed by a superuser.
    let c = json(
        app.call("GET", "/api/collections/invoices", Some(&su), None)
            .await,
    )
    .await;
    let mut fields = c["fields"].as_array().unwrap().clone();
    fields[0]["autogeneratePattern"] = json!("[0-9]{12}");
    fields[0]["pattern"] = json!("^[0-9]+$");
    fields[0]["min"] = json!(12);
    fields[0]["max"] = json!(12);
    let resp = app
        .call(
            "PATCH",
            "/api/collections/invoices",
            Some(&su),
            Some(json!({"fields": fields})),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let r = json(
        app.call("POST", "/api/collections/invoices/records", None, Some(json!({})))
            .await,
    )
    .await;
    let id = r["id"].as_str().unwrap();
    assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()), "{r}");
}

#[tokio::test]
async fn patterns_are_checked_as_pocketbase_checks_them() {
    let Some(both) = start_both().await else {
        return;
    };
    let cases = [
        (r"(", json!({})),
        (r"[a-z]{6}", json!({"pattern": "^[0-9]+$"})),
        (r"[a-z]{6}", json!({"max": 3})),
        (r"[a-z]{6}", json!({"min": 10})),
        (r"[a-z]{100000}", json!({})),
        (r"^abc$", json!({})),
        (r"(ab|cd){2}", json!({})),
        (r"\d{4}-[A-Z]{2}", json!({})),
        (r"x.y", json!({})),
        (r"a+b?", json!({})),
        (r"\w{3}", json!({})),
        (r"[[:alpha:]]{3}", json!({})),
        (r"[a-z]{6}", json!({"pattern": "^[a-z]+$", "min": 6, "max": 6})),
    ];
    let mut disagreements = Vec::new();
    for (i, (pattern, extra)) in cases.iter().enumerate() {
        let mut field = json!({"name": "code", "type": "text", "autogeneratePattern": pattern});
        for (k, v) in extra.as_object().unwrap() {
            field[k] = v.clone();
        }
        let name = format!("agx{i}");
        let mut answers = Vec::new();
        for s in [&both.pb, &both.cairn] {
            let (status, body) = s
                .call(
                    "POST",
                    "/api/collections",
                    Some(&s.superuser),
                    Some(json!({"name": name, "createRule": "", "fields": [field.clone()]})),
                )
                .await;
            if status != 200 {
                answers.push((status, error_codes(&body["data"])));
                continue;
            }
            // Created: each server's drawn value matches the pattern.
            let (status, record) = s
                .call(
                    "POST",
                    &format!("/api/collections/{name}/records"),
                    None,
                    Some(json!({})),
                )
                .await;
            let drawn = record["code"].as_str().unwrap_or("").to_owned();
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
            answers.push((status, json!(re.is_match(&drawn))));
        }
        if answers[0] != answers[1] {
            disagreements.push(format!(
                "{pattern} {extra}: PocketBase {:?} Cairn {:?}",
                answers[0], answers[1]
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
