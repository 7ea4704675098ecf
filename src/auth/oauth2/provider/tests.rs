use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Map, Value, json};

use super::*;

const TEST_KEY: &[u8] = include_bytes!("../../../../tests/api/oauth2/test_rsa_key.der");
const TEST_JWKS: &str = include_str!("../../../../tests/api/oauth2/test_jwks.json");

fn read(name: &str, profile: Value, grant: Value) -> Result<ExternalUser, &'static str> {
    let grant: Map<String, Value> = serde_json::from_value(grant).expect("a test value");
    by_name(name).expect("a test value").user(profile, &grant)
}

/// (id, name, username, email, avatar)
fn seen(u: &ExternalUser) -> [&str; 5] {
    [&u.id, &u.name, &u.username, &u.email, &u.avatar_url].map(String::as_str)
}

#[test]
fn every_provider_a_collection_may_name_is_implemented() {
    let mut names: Vec<&str> = all().iter().map(|p| p.name).collect();
    let mut allowed = crate::schema::auth_options::OAUTH2_PROVIDERS.to_vec();
    names.sort_unstable();
    allowed.sort_unstable();
    assert_eq!(names, allowed);
}

#[test]
fn the_dashboard_offers_every_provider() {
    let js = include_str!("../../../../assets/admin/js/auth_options.js");
    for p in all() {
        assert!(
            js.contains(&format!("['{}', ", p.name)),
            "{} is missing from the dashboard's list",
            p.name
        );
    }
}

#[test]
fn only_known_providers_are_found() {
    assert_eq!(by_name("google").map(|p| p.display_name), Some("Google"));
    assert_eq!(by_name("facebook").map(|p| p.display_name), Some("Facebook"));
    assert!(by_name("myspace").is_none());
}

#[test]
fn an_unverified_oidc_email_is_dropped() {
    let user = read(
        "oidc",
        json!({"sub": "1", "email": "a@b.co", "email_verified": false}),
        json!({}),
    )
    .expect("a test value");
    assert_eq!((user.id.as_str(), user.email.as_str()), ("1", ""));
    let user = read(
        "oidc2",
        json!({"sub": "1", "email": "a@b.co", "email_verified": "true"}),
        json!({}),
    )
    .expect("a test value");
    assert_eq!(user.email, "a@b.co");
}

#[test]
fn github_ids_are_numbers_and_emails_come_from_the_list() {
    let user = read(
        "github",
        json!({"id": 42, "login": "octo", "email": "public@x.co"}),
        json!({}),
    )
    .expect("a test value");
    assert_eq!(seen(&user), ["42", "", "octo", "", ""]);
    let list = json!([
        {"email": "old@x.co", "primary": false, "verified": true},
        {"email": "main@x.co", "primary": true, "verified": true},
    ]);
    assert_eq!(primary_verified_email(&list).as_deref(), Some("main@x.co"));
    let unverified = json!([{"email": "main@x.co", "primary": true, "verified": false}]);
    assert_eq!(primary_verified_email(&unverified), None);
}

#[test]
fn each_provider_reads_its_profile() {
    // Profiles shaped as each provider documents them; the address counts
    // only where the provider vouches for it.
    let cases: Vec<(&str, Value, Value, [&str; 5])> = vec![
        (
            "discord",
            json!({"id": "80", "username": "nelly", "global_name": "Nelly", "avatar": "8342", "email": "n@x.co", "verified": true}),
            json!({}),
            [
                "80",
                "Nelly",
                "nelly",
                "n@x.co",
                "https://cdn.discordapp.com/avatars/80/8342.png",
            ],
        ),
        (
            "discord",
            json!({"id": "80", "username": "nelly", "email": "n@x.co", "verified": false}),
            json!({}),
            ["80", "nelly", "nelly", "", ""],
        ),
        (
            "gitlab",
            json!({"id": 7, "name": "G", "username": "g", "email": "g@x.co", "confirmed_at": "2020-01-01T00:00:00Z", "avatar_url": "a"}),
            json!({}),
            ["7", "G", "g", "g@x.co", "a"],
        ),
        (
            "gitlab",
            json!({"id": 7, "email": "g@x.co", "confirmed_at": null}),
            json!({}),
            ["7", "", "", "", ""],
        ),
        (
            "facebook",
            json!({"id": "f1", "name": "F", "email": "f@x.co", "picture": {"data": {"url": "p"}}}),
            json!({}),
            ["f1", "F", "", "f@x.co", "p"],
        ),
        (
            "microsoft",
            json!({"id": "m1", "displayName": "M", "mail": "m@x.co"}),
            json!({}),
            ["m1", "M", "", "", ""],
        ),
        (
            "spotify",
            json!({"id": "s1", "display_name": "S", "email": "s@x.co", "images": [{"url": "i0"}, {"url": "i1"}]}),
            json!({}),
            ["s1", "S", "", "", "i0"],
        ),
        (
            "twitch",
            json!({"data": [{"id": "t1", "login": "tl", "display_name": "T", "email": "t@x.co", "profile_image_url": "ti"}]}),
            json!({}),
            ["t1", "T", "tl", "t@x.co", "ti"],
        ),
        (
            "twitter",
            json!({"data": {"id": "x1", "name": "X", "username": "xu", "profile_image_url": "xi", "confirmed_email": "x@x.co"}}),
            json!({}),
            ["x1", "X", "xu", "x@x.co", "xi"],
        ),
        (
            "kakao",
            json!({"id": 9, "properties": {"nickname": "k", "profile_image": "ki"}, "kakao_account": {"email": "k@x.co", "is_email_valid": true, "is_email_verified": true}}),
            json!({}),
            ["9", "", "k", "k@x.co", "ki"],
        ),
        (
            "kakao",
            json!({"id": 9, "kakao_account": {"email": "k@x.co", "is_email_valid": true, "is_email_verified": false}}),
            json!({}),
            ["9", "", "", "", ""],
        ),
        (
            "vk",
            json!({"response": [{"id": 5, "first_name": "V", "last_name": "K", "screen_name": "vk5", "photo_max": "vp"}]}),
            json!({"email": "v@x.co"}),
            ["5", "V K", "vk5", "v@x.co", "vp"],
        ),
        (
            "patreon",
            json!({"data": {"id": "p1", "attributes": {"full_name": "P", "vanity": "pv", "email": "p@x.co", "is_email_verified": true, "image_url": "pi"}}}),
            json!({}),
            ["p1", "P", "pv", "p@x.co", "pi"],
        ),
        (
            "strava",
            json!({"id": 12, "firstname": "S", "lastname": "T", "username": "st", "profile": "sp"}),
            json!({}),
            ["12", "S T", "st", "", "sp"],
        ),
        (
            "trakt",
            json!({"user": {"username": "tu", "name": "T", "ids": {"uuid": "u-1"}, "images": {"avatar": {"full": "ta"}}}}),
            json!({}),
            ["u-1", "T", "tu", "", "ta"],
        ),
        (
            "yandex",
            json!({"id": "y1", "real_name": "Y", "login": "yl", "default_email": "y@x.co", "default_avatar_id": "av", "is_avatar_empty": false}),
            json!({}),
            [
                "y1",
                "Y",
                "yl",
                "y@x.co",
                "https://avatars.yandex.net/get-yapic/av/islands-200",
            ],
        ),
        (
            "notion",
            json!({"bot": {"owner": {"user": {"id": "n1", "name": "N", "avatar_url": "na", "person": {"email": "n@x.co"}}}}}),
            json!({}),
            ["n1", "N", "", "n@x.co", "na"],
        ),
        (
            "lark",
            json!({"data": {"union_id": "on_1", "name": "L", "avatar_url": "la"}}),
            json!({}),
            ["on_1", "L", "", "", "la"],
        ),
        (
            "instagram2",
            json!({"id": "app-scoped", "user_id": "i1", "username": "iu", "name": "I", "profile_picture_url": "ip"}),
            json!({}),
            ["i1", "I", "iu", "", "ip"],
        ),
        (
            "livechat",
            json!({"account_id": "l1", "name": "L", "email": "l@x.co", "email_verified": true, "avatar_url": "la"}),
            json!({}),
            ["l1", "L", "", "l@x.co", "la"],
        ),
        (
            "wakatime",
            json!({"data": {"id": "w1", "display_name": "W", "username": "wu", "email": "w@x.co", "is_email_confirmed": false, "photo": "wp"}}),
            json!({}),
            ["w1", "W", "wu", "", "wp"],
        ),
        (
            "gitea",
            json!({"id": 3, "login": "gl", "full_name": "Gi", "email": "public@x.co", "avatar_url": "ga"}),
            json!({}),
            ["3", "Gi", "gl", "", "ga"],
        ),
        (
            "gitee",
            json!({"id": 4, "login": "ge", "name": "Ge", "email": "public@x.co", "avatar_url": "gea"}),
            json!({}),
            ["4", "Ge", "ge", "", "gea"],
        ),
        (
            "mailcow",
            json!({"id": "mc", "username": "me@mail.example", "email": "me@mail.example", "full_name": "Me", "active": 1}),
            json!({}),
            ["mc", "Me", "me", "me@mail.example", ""],
        ),
        (
            "box",
            json!({"id": "b1", "name": "B", "login": "b@x.co", "avatar_url": "ba", "status": "active"}),
            json!({}),
            ["b1", "B", "", "b@x.co", "ba"],
        ),
        (
            "linear",
            json!({"data": {"viewer": {"id": "li", "name": "Li", "displayName": "lid", "email": "li@x.co", "avatarUrl": "lia", "active": true}}}),
            json!({}),
            ["li", "Li", "lid", "li@x.co", "lia"],
        ),
        (
            "monday",
            json!({"data": {"me": {"id": "mo", "name": "Mo", "email": "mo@x.co", "is_verified": false, "photo_small": "mp", "enabled": true}}}),
            json!({}),
            ["mo", "Mo", "", "", "mp"],
        ),
        (
            "planningcenter",
            json!({"data": {"id": "pc", "attributes": {"status": "active", "name": "PC", "avatar": "pca"}}}),
            json!({}),
            ["pc", "PC", "", "", "pca"],
        ),
        (
            "bitbucket",
            json!({"uuid": "{b-1}", "username": "bu", "display_name": "Bb", "account_status": "active", "links": {"avatar": {"href": "bh"}}}),
            json!({}),
            ["{b-1}", "Bb", "bu", "", "bh"],
        ),
    ];
    for (name, profile, grant, want) in cases {
        let user = read(name, profile.clone(), grant).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(seen(&user), want, "{name}");
        assert_eq!(user.raw, profile, "{name} keeps the raw profile");
    }
}

#[test]
fn an_account_the_provider_says_is_not_active_cannot_sign_in() {
    let inactive = [
        ("bitbucket", json!({"uuid": "u", "account_status": "closed"})),
        ("box", json!({"id": "b", "status": "inactive"})),
        (
            "linear",
            json!({"data": {"viewer": {"id": "l", "active": false}}}),
        ),
        ("monday", json!({"data": {"me": {"id": "m", "enabled": false}}})),
        ("mailcow", json!({"id": "m", "active": 0})),
        (
            "planningcenter",
            json!({"data": {"id": "p", "attributes": {"status": "inactive"}}}),
        ),
        ("twitch", json!({"data": []})),
        ("vk", json!({"response": []})),
    ];
    for (name, profile) in inactive {
        assert!(read(name, profile, json!({})).is_err(), "{name}");
    }
}

#[test]
fn address_lists_give_only_a_confirmed_primary_address() {
    let bitbucket = by_name("bitbucket")
        .expect("a test value")
        .emails
        .expect("a test value");
    assert_eq!(
        (bitbucket.url)("https://api.bitbucket.org/2.0/user"),
        "https://api.bitbucket.org/2.0/user/emails"
    );
    let list = json!({"values": [
        {"email": "a@x.co", "is_primary": true, "is_confirmed": false},
        {"email": "b@x.co", "is_primary": false, "is_confirmed": true},
    ]});
    assert_eq!((bitbucket.pick)(&list), None);
    let list = json!({"values": [{"email": "a@x.co", "is_primary": true, "is_confirmed": true}]});
    assert_eq!((bitbucket.pick)(&list).as_deref(), Some("a@x.co"));

    let gitee = by_name("gitee")
        .expect("a test value")
        .emails
        .expect("a test value");
    let list = json!([
        {"email": "u@x.co", "state": "unconfirmed", "scope": ["primary"]},
        {"email": "c@x.co", "state": "confirmed", "scope": ["secondary"]},
    ]);
    assert_eq!((gitee.pick)(&list), None);
    let list = json!([{"email": "c@x.co", "state": "confirmed", "scope": ["primary", "committed"]}]);
    assert_eq!((gitee.pick)(&list).as_deref(), Some("c@x.co"));
    // A private-address answer is an object, not a list: no address.
    assert_eq!(
        (gitee.pick)(&json!({"email": "1+u@user.noreply.gitee.com"})),
        None
    );

    let gitea = by_name("gitea")
        .expect("a test value")
        .emails
        .expect("a test value");
    assert_eq!(
        (gitea.url)("https://git.example/api/v1/user"),
        "https://git.example/api/v1/user/emails"
    );
}

fn id_token(claims: Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    encode(&header, &claims, &EncodingKey::from_rsa_der(TEST_KEY)).expect("a test value")
}

fn apple_claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": "https://appleid.apple.com", "aud": "com.example.app", "sub": "001.apple",
           "exp": now + 600, "iat": now, "email": "a@privaterelay.appleid.com", "email_verified": "true"})
}

#[test]
fn an_id_token_verifies_against_the_key_set_and_nothing_else_does() {
    let keys: Value = serde_json::from_str(TEST_JWKS).expect("a test value");
    let apple = &["https://appleid.apple.com"];
    let good = id_token(apple_claims(), "test-key-1");
    let claims = verified_claims(&good, &keys, "com.example.app", apple).expect("a test value");
    assert_eq!(claims["sub"], "001.apple");

    // Another app's token, another issuer, an expired one, an unknown key.
    assert!(verified_claims(&good, &keys, "com.other.app", apple).is_err());
    assert!(verified_claims(&good, &keys, "com.example.app", &["https://evil.example"]).is_err());
    let mut old = apple_claims();
    old["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    assert!(verified_claims(&id_token(old, "test-key-1"), &keys, "com.example.app", apple).is_err());
    assert_eq!(
        verified_claims(
            &id_token(apple_claims(), "other-key"),
            &keys,
            "com.example.app",
            apple
        ),
        Err(IdTokenError::UnknownKey)
    );
    // A changed claim breaks the signature.
    let parts: Vec<&str> = good.split('.').collect();
    let mut forged = apple_claims();
    forged["sub"] = json!("someone.else");
    let body = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        forged.to_string(),
    );
    let tampered = format!("{}.{body}.{}", parts[0], parts[2]);
    assert!(matches!(
        verified_claims(&tampered, &keys, "com.example.app", apple),
        Err(IdTokenError::Invalid(_))
    ));
    // A token "signed" with a shared secret, or not at all, never passes.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("test-key-1".into());
    let hmac = encode(&hs, &apple_claims(), &EncodingKey::from_secret(b"public")).expect("a test value");
    assert_eq!(
        verified_claims(&hmac, &keys, "com.example.app", apple),
        Err(IdTokenError::Algorithm)
    );
    let unsigned = format!(
        "{}.{}.",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            r#"{"alg":"none","kid":"test-key-1"}"#
        ),
        parts[1]
    );
    assert!(verified_claims(&unsigned, &keys, "com.example.app", apple).is_err());
    assert_eq!(
        verified_claims("", &keys, "com.example.app", apple),
        Err(IdTokenError::Missing)
    );
}

#[test]
fn apple_reads_the_token_claims_and_the_first_consent_name() {
    let user = read(
        "apple",
        apple_claims(),
        json!({"user": r#"{"name": {"firstName": "Ann", "lastName": "Lee"}}"#}),
    )
    .expect("a test value");
    assert_eq!(
        seen(&user),
        ["001.apple", "Ann Lee", "", "a@privaterelay.appleid.com", ""]
    );
}

#[test]
fn an_unsigned_id_token_still_has_its_claims_checked() {
    let now = chrono::Utc::now().timestamp();
    let token = |claims: Value| id_token(claims, "k");
    let good = json!({"iss": "https://id.example", "aud": ["app", "other"], "sub": "s", "exp": now + 60, "iat": now});
    let check = |t: &str, issuers: &[&str]| unsigned_claims(t, "app", issuers, now);
    assert_eq!(
        check(&token(good.clone()), &[]).expect("a good token")["sub"],
        "s"
    );
    assert!(check(&token(good.clone()), &["https://id.example"]).is_ok());
    assert!(check(&token(good.clone()), &["https://else.example"]).is_err());
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("another-app");
    assert!(check(&token(wrong_audience), &[]).is_err());
    let mut expired = good.clone();
    expired["exp"] = json!(now - 301);
    assert!(check(&token(expired), &[]).is_err());
    let mut late_but_within_leeway = good.clone();
    late_but_within_leeway["exp"] = json!(now - 200);
    assert!(check(&token(late_but_within_leeway), &[]).is_ok());
    let mut from_the_future = good;
    from_the_future["iat"] = json!(now + 3600);
    assert!(check(&token(from_the_future), &[]).is_err());
    assert_eq!(check("", &[]), Err(IdTokenError::Missing));
    assert_eq!(check("not a token", &[]), Err(IdTokenError::Malformed));
}
