//! PocketBase's other providers, each signing in end to end through the
//! mock as that provider asks to be spoken to: credentials in the form or
//! as HTTP Basic ones, PKCE or none, the profile by `GET` with the headers
//! the provider requires or by a GraphQL `POST`, Apple's profile as a
//! signed `id_token`, VK's address in the token answer. And the refusals:
//! an address the provider does not vouch for never links an account, an
//! `id_token` for another app or signed by another key signs nobody in.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use super::{
    mock::{CLIENT_ID, MockProvider, SIGNING_KEY},
    pkce_pair, sign_in,
};
use crate::helpers::{TestApp, json, spawn_app};

/// `name` pointed at the mock: its token and profile URLs replaced. No
/// avatar is mapped: a profile's picture is on the provider's own host
/// (Discord's CDN), which a test must not reach (`avatars.rs` has them).
async fn use_provider(app: &TestApp, root: &str, mock: &MockProvider, name: &str, user_info: &str) {
    let mut p = mock.config();
    p["name"] = json!(name);
    p["displayName"] = json!("");
    p["userInfoURL"] = json!(mock.url(user_info));
    super::configure(
        app,
        root,
        json!({"oauth2": {"enabled": true, "providers": [p], "mappedFields": {"avatarURL": ""}}}),
    )
    .await;
}

/// A whole sign-in through the collection's one provider for `user`,
/// with `extra` in the token answer; PKCE as `auth-methods` offered it.
async fn sign_in_through(
    app: &TestApp,
    mock: &MockProvider,
    name: &str,
    user: Value,
    extra: Value,
    create: Value,
) -> (u16, Value) {
    let methods = json(app.get("/api/collections/users/auth-methods").await).await;
    let offered = &methods["oauth2"]["providers"][0];
    assert_eq!(offered["name"], name, "{methods}");
    let pkce = offered["authURL"].as_str().unwrap().contains("code_challenge=");
    let (verifier, challenge) = pkce_pair(app).await;
    let code = mock.issue_code_with(if pkce { &challenge } else { "" }, user, extra);
    let mut body =
        json!({"provider": name, "code": code, "redirectURL": "http://localhost/cb", "createData": create});
    if pkce {
        body["codeVerifier"] = json!(verifier);
    }
    let resp = sign_in(app, None, body).await;
    let status = resp.status().as_u16();
    (status, json(resp).await)
}

#[tokio::test]
async fn providers_sign_in_as_each_asks_to_be_spoken_to() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;

    // Discord: form credentials, PKCE, a verified address.
    use_provider(&app, &root, &mock, "discord", "/userinfo").await;
    let discord = json!({"id": "80351110224678912", "username": "nelly", "global_name": "Nelly",
                         "avatar": "8342729096ea3675442027381ff50dfe", "email": "nelly@example.com", "verified": true});
    let (status, out) = sign_in_through(&app, &mock, "discord", discord, json!({}), json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["record"]["email"], "nelly@example.com");
    assert_eq!(out["meta"]["name"], "Nelly");
    assert_eq!(
        out["meta"]["avatarURL"],
        "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
    );
    let last = mock.token_requests().pop().unwrap();
    assert_eq!(last["(credentials)"], "form");
    assert!(last.contains_key("code_verifier"));

    // Twitch: the profile needs the client id in a header.
    use_provider(&app, &root, &mock, "twitch", "/userinfo").await;
    let twitch = json!({"data": [{"id": "141981764", "login": "twitchdev", "display_name": "TwitchDev",
                                  "email": "dev@example.com", "profile_image_url": "http://127.0.0.1:9/t.png"}]});
    let (status, out) = sign_in_through(&app, &mock, "twitch", twitch, json!({}), json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["meta"]["username"], "twitchdev");
    let asked = mock.profile_requests().pop().unwrap();
    assert_eq!(
        asked.headers.get("client-id").map(String::as_str),
        Some(CLIENT_ID)
    );

    // Notion: Basic credentials (and never the secret in the form), a
    // version header on the profile request.
    use_provider(&app, &root, &mock, "notion", "/userinfo").await;
    let notion = json!({"object": "user", "type": "bot", "bot": {"owner": {"type": "user", "user": {
        "id": "notion-1", "name": "Nora", "avatar_url": null, "person": {"email": "nora@example.com"}}}}});
    let (status, out) = sign_in_through(&app, &mock, "notion", notion, json!({}), json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["record"]["email"], "nora@example.com");
    let last = mock.token_requests().pop().unwrap();
    assert_eq!(last["(credentials)"], "basic");
    assert!(
        !last.contains_key("client_secret") && !last.contains_key("client_id"),
        "{last:?}"
    );
    let asked = mock.profile_requests().pop().unwrap();
    assert_eq!(
        asked.headers.get("notion-version").map(String::as_str),
        Some("2022-06-28")
    );

    // Linear: no PKCE (it refuses the parameters), the profile by a
    // GraphQL POST.
    use_provider(&app, &root, &mock, "linear", "/userinfo").await;
    let linear = json!({"data": {"viewer": {"id": "lin-1", "name": "Lin", "displayName": "lin",
                                            "email": "lin@example.com", "avatarUrl": "", "active": true}}});
    let (status, out) = sign_in_through(&app, &mock, "linear", linear.clone(), json!({}), json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert!(!mock.token_requests().pop().unwrap().contains_key("code_verifier"));
    let asked = mock.profile_requests().pop().unwrap();
    assert_eq!(asked.method, "POST");
    assert!(asked.body.contains("viewer"), "{}", asked.body);
    assert_eq!(
        asked.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    // An account Linear says is not active signs nobody in.
    let mut inactive = linear;
    inactive["data"]["viewer"]["active"] = json!(false);
    inactive["data"]["viewer"]["id"] = json!("lin-2");
    let (status, out) = sign_in_through(&app, &mock, "linear", inactive, json!({}), json!({})).await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(out["message"], "Failed to fetch OAuth2 user.");

    // VK: the address comes in the token answer; no PKCE.
    use_provider(&app, &root, &mock, "vk", "/userinfo").await;
    let vk = json!({"response": [{"id": 210700286, "first_name": "Lindsey", "last_name": "Stirling",
                                  "screen_name": "lindseystirling", "photo_max": ""}]});
    let (status, out) = sign_in_through(
        &app,
        &mock,
        "vk",
        vk,
        json!({"email": "lindsey@example.com"}),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["record"]["email"], "lindsey@example.com");
    assert_eq!(out["meta"]["name"], "Lindsey Stirling");
}

/// An Apple `id_token` for `claims`, signed with the mock's key.
fn apple_token(claims: Value, key_id: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key_id.into());
    encode(&header, &claims, &EncodingKey::from_rsa_der(SIGNING_KEY)).unwrap()
}

fn apple_claims(sub: &str, audience: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": "https://appleid.apple.com", "aud": audience, "sub": sub, "iat": now, "exp": now + 600,
           "email": format!("{sub}@privaterelay.appleid.com"), "email_verified": "true"})
}

#[tokio::test]
async fn apple_signs_in_only_with_an_id_token_its_key_set_verifies() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    // Apple's "user info URL" is its key set.
    use_provider(&app, &root, &mock, "apple", "/jwks").await;

    // For another app, signed by an unknown key, or missing: refused.
    for extra in [
        json!({"id_token": apple_token(apple_claims("other-app", "com.other.app"), "test-key-1")}),
        json!({"id_token": apple_token(apple_claims("stranger", CLIENT_ID), "not-in-the-set")}),
        json!({}),
    ] {
        let (status, out) = sign_in_through(&app, &mock, "apple", json!({}), extra, json!({})).await;
        assert_eq!(status, 400, "{out}");
        assert_eq!(out["message"], "Failed to fetch OAuth2 user.");
    }
    assert_eq!(super::count(&app, &root, "users").await, 0, "no account was made");

    // The genuine token (positive control): signed in, with Apple's
    // verified address and the first consent's name.
    let extra = json!({"id_token": apple_token(apple_claims("001234.apple", CLIENT_ID), "test-key-1"),
                       "user": r#"{"name":{"firstName":"Ann","lastName":"Lee"}}"#});
    let (status, out) = sign_in_through(&app, &mock, "apple", json!({}), extra, json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["record"]["email"], "001234.apple@privaterelay.appleid.com");
    assert_eq!(out["meta"]["id"], "001234.apple");
    assert_eq!(out["meta"]["name"], "Ann Lee");
}

#[tokio::test]
async fn an_address_the_provider_does_not_vouch_for_never_links_an_account() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    let victim = json(
        app.call(
            "POST",
            "/api/collections/users/records",
            Some(&root),
            Some(json!({"email": "victim@example.com", "password": "victim-pass-1", "passwordConfirm": "victim-pass-1", "verified": true})),
        )
        .await,
    )
    .await;
    let victim_id = victim["id"].as_str().unwrap().to_owned();

    // Microsoft's `mail` is set by a tenant's administrator; Spotify's
    // address is unverified by its own account. Neither reaches the
    // victim's account: the sign-in needs an address of its own.
    for (name, profile) in [
        (
            "microsoft",
            json!({"id": "ms-1", "displayName": "Mallory", "mail": "victim@example.com"}),
        ),
        (
            "spotify",
            json!({"id": "sp-1", "display_name": "Mallory", "email": "victim@example.com", "images": []}),
        ),
        (
            "discord",
            json!({"id": "dc-1", "username": "mallory", "email": "victim@example.com", "verified": false}),
        ),
    ] {
        use_provider(&app, &root, &mock, name, "/userinfo").await;
        let (status, out) = sign_in_through(&app, &mock, name, profile, json!({}), json!({})).await;
        assert_eq!(status, 400, "{name}: {out}");
        assert_eq!(
            out["data"]["email"]["code"], "validation_required",
            "{name}: {out}"
        );
    }
    let links = json(
        app.call(
            "GET",
            "/api/collections/_externalAuths/records",
            Some(&root),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(links["totalItems"], 0, "{links}");

    // Positive control: Discord vouching for the address links it.
    use_provider(&app, &root, &mock, "discord", "/userinfo").await;
    let vouched = json!({"id": "dc-2", "username": "vic", "email": "victim@example.com", "verified": true});
    let (status, out) = sign_in_through(&app, &mock, "discord", vouched, json!({}), json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["record"]["id"], victim_id);
}

/// The sign-in link of each provider as a client sees it: the display
/// name, where the link goes, and its parameters (values that are random
/// per listing left out).
fn link_of(entry: &Value) -> Value {
    let url = url::Url::parse(entry["authURL"].as_str().unwrap_or("")).ok();
    let params: std::collections::BTreeMap<String, String> = url
        .as_ref()
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| {
                    let random = matches!(k.as_ref(), "state" | "code_challenge");
                    (k.into_owned(), if random { "…".into() } else { v.into_owned() })
                })
                .collect()
        })
        .unwrap_or_default();
    let base = url.map(|u| format!("{}://{}{}", u.scheme(), u.host_str().unwrap_or(""), u.path()));
    json!({"name": entry["name"], "displayName": entry["displayName"], "base": base, "params": params})
}

#[tokio::test]
async fn every_provider_offers_the_sign_in_link_pocketbase_offers() {
    let Some(both) = crate::differential::start_both().await else {
        return;
    };
    let names = cairn::schema::auth_options::OAUTH2_PROVIDERS;
    // Providers without default URLs (the OIDC ones, mailcow) get some, as
    // a collection must give them.
    let providers: Vec<Value> = names
        .iter()
        .map(|n| {
            let mut p = json!({"name": n, "clientId": "client-1", "clientSecret": "secret-1"});
            if n.starts_with("oidc") || *n == "mailcow" {
                p["authURL"] = json!("https://id.example.com/authorize");
                p["tokenURL"] = json!("https://id.example.com/token");
                p["userInfoURL"] = json!("https://id.example.com/userinfo");
            }
            p
        })
        .collect();
    let mut seen = Vec::new();
    for server in [&both.pb, &both.cairn] {
        server
            .admin(
                "PATCH",
                "/api/collections/users",
                json!({"oauth2": {"enabled": true, "providers": providers}}),
            )
            .await;
        let (status, methods) = server
            .call("GET", "/api/collections/users/auth-methods", None, None)
            .await;
        assert_eq!(status, 200);
        let links: Vec<Value> = methods["oauth2"]["providers"]
            .as_array()
            .unwrap()
            .iter()
            .map(link_of)
            .collect();
        assert_eq!(links.len(), names.len(), "{methods}");
        seen.push(links);
    }
    crate::differential::assert_alike(&seen[0], &seen[1]);
}

#[tokio::test]
async fn oidc_without_a_user_info_url_reads_the_id_token() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    let claims = |sub: &str, issuer: &str| {
        let now = chrono::Utc::now().timestamp();
        json!({"iss": issuer, "aud": CLIENT_ID, "sub": sub, "iat": now, "exp": now + 600,
               "email": format!("{sub}@example.com"), "email_verified": true, "name": "From the token"})
    };
    let configure = |extra: Value| {
        let mut p = mock.config();
        p["userInfoURL"] = json!("");
        p["extra"] = extra;
        p
    };

    // No key set: the claims are checked (audience, expiry, issuer), not
    // the signature, as PocketBase does.
    super::enable(
        &app,
        &root,
        configure(json!({"issuers": ["https://id.example.com"]})),
    )
    .await;
    let token = apple_token(claims("tok-1", "https://id.example.com"), "any-key");
    let (status, out) = sign_in_through(
        &app,
        &mock,
        "oidc",
        json!({}),
        json!({"id_token": token}),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["record"]["email"], "tok-1@example.com");
    assert_eq!(out["meta"]["name"], "From the token");
    let from_elsewhere = apple_token(claims("tok-2", "https://evil.example.com"), "any-key");
    let (status, _) = sign_in_through(
        &app,
        &mock,
        "oidc",
        json!({}),
        json!({"id_token": from_elsewhere}),
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "an issuer not listed is refused");
    let mut other_app = claims("tok-3", "https://id.example.com");
    other_app["aud"] = json!("someone-else");
    let (status, _) = sign_in_through(
        &app,
        &mock,
        "oidc",
        json!({}),
        json!({"id_token": apple_token(other_app, "k")}),
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "a token for another client is refused");

    // With a key set: only a token its keys sign passes.
    super::enable(&app, &root, configure(json!({"jwksURL": mock.url("/jwks")}))).await;
    let unknown_key = apple_token(claims("tok-4", "https://id.example.com"), "not-in-the-set");
    let (status, _) = sign_in_through(
        &app,
        &mock,
        "oidc",
        json!({}),
        json!({"id_token": unknown_key}),
        json!({}),
    )
    .await;
    assert_eq!(status, 400);
    let signed = apple_token(claims("tok-5", "https://id.example.com"), "test-key-1");
    let (status, out) = sign_in_through(
        &app,
        &mock,
        "oidc",
        json!({}),
        json!({"id_token": signed}),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["meta"]["id"], "tok-5");
}
