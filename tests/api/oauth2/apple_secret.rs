//! `POST /api/settings/apple/generate-client-secret` (the SDK's
//! `settings.generateAppleClientSecret`), beside the real PocketBase:
//! the same refusals for the same bad input, the same secret's shape for
//! good input (both verify with the key's public half), and only a
//! superuser may ask.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde_json::{Value, json};

use crate::differential::{Server, assert_alike, start_both};

const APPLE_KEY: &str = include_str!("test_apple_key.p8");
const APPLE_KEY_PUBLIC: &str = include_str!("test_apple_key.pub.json");
const NOT_EC_KEY: &str = include_str!("test_not_ec_key.p8");
const PATH: &str = "/api/settings/apple/generate-client-secret";

fn good() -> Value {
    json!({"clientId": "com.example.app", "teamId": "ABCDE12345", "keyId": "KEY1234567",
           "privateKey": APPLE_KEY, "duration": 3600})
}

fn with(changes: Value) -> Value {
    let mut body = good();
    body.as_object_mut()
        .unwrap()
        .extend(changes.as_object().unwrap().clone());
    body
}

/// The secret's header and claims, with its times as their difference.
fn opened(server: &str, secret: &str) -> Value {
    let public: Value = serde_json::from_str(APPLE_KEY_PUBLIC).unwrap();
    let key = DecodingKey::from_ec_components(public["x"].as_str().unwrap(), public["y"].as_str().unwrap())
        .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["https://appleid.apple.com"]);
    let data =
        decode::<Value>(secret, &key, &validation).unwrap_or_else(|e| panic!("{server}'s secret: {e}"));
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(secret.split('.').next().unwrap()).unwrap()).unwrap();
    let mut claims = data.claims;
    let lasts = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (claims["iat"].as_i64().unwrap() - now).abs() < 60,
        "{server}: issued now"
    );
    claims["exp"] = json!(lasts);
    claims["iat"] = json!("now");
    json!({"header": header, "claims": claims})
}

async fn answers(server: &Server) -> Vec<Value> {
    let cases = [
        json!({}),
        with(json!({"clientId": "", "teamId": "AB", "keyId": "K", "privateKey": "junk", "duration": 0})),
        with(json!({"teamId": "ABCDE123456", "keyId": "KEY12345678", "duration": 15_777_001})),
        with(json!({"duration": -1})),
        with(json!({"duration": "60"})),
        with(json!({"privateKey": APPLE_KEY.replace("PRIVATE KEY", "EC PRIVATE KEY")})),
        with(json!({"privateKey": NOT_EC_KEY})),
        with(json!({"teamId": "ÅBCDÉ12345"})),
    ];
    let mut out = Vec::new();
    for body in cases {
        let (status, answer) = server
            .call("POST", PATH, Some(&server.superuser), Some(body.clone()))
            .await;
        // The key's own error words are each server's; the message's start is PocketBase's.
        let mut answer = answer;
        if let Some(m) = answer["message"].as_str()
            && let Some((start, _)) = m.split_once(" Raw error:")
        {
            answer["message"] = json!(start);
        }
        if status == 200 {
            let secret = answer["secret"].as_str().unwrap().to_owned();
            answer = opened(&server.base, &secret);
        }
        out.push(json!({"sent": body.to_string().chars().take(80).collect::<String>(), "status": status, "answer": answer}));
    }
    for duration in [3600, 15_777_000] {
        let (status, answer) = server
            .call(
                "POST",
                PATH,
                Some(&server.superuser),
                Some(with(json!({"duration": duration}))),
            )
            .await;
        assert_eq!(status, 200, "{}: {answer}", server.base);
        out.push(opened(&server.base, answer["secret"].as_str().unwrap()));
    }
    // A guest is asked to sign in.
    let (status, answer) = server.call("POST", PATH, None, Some(good())).await;
    out.push(json!({"guest": status, "answer": answer}));
    out
}

#[tokio::test]
async fn apple_client_secrets_are_made_as_pocketbase_makes_them() {
    let Some(both) = start_both().await else {
        return;
    };
    let expected = answers(&both.pb).await;
    let actual = answers(&both.cairn).await;
    assert_alike(&expected, &actual);
}
