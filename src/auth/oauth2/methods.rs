//! The OAuth2 part of `auth-methods`: for each enabled provider, a fresh
//! state and PKCE pair and the authorization URL to send the user to, with
//! `redirect_uri=` left last and empty for the client to complete (as the
//! SDKs expect).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::config::{self, ProviderConfig};
use crate::schema::Collection;

const STATE_LEN: usize = 30;
/// RFC 7636 asks for 43 to 128 characters.
const VERIFIER_LEN: usize = 43;

/// The S256 PKCE challenge of a verifier (RFC 7636 §4.2).
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn authorization_url(p: &ProviderConfig, state: &str, challenge: &str) -> String {
    let Ok(mut url) = reqwest::Url::parse(&p.auth_url) else {
        // An unset or broken authURL (an `oidc` provider without one) is
        // shown as is; the sign-in itself will fail at the token step.
        return p.auth_url.clone();
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("client_id", &p.client_id);
        if p.pkce {
            query.append_pair("code_challenge", challenge);
            query.append_pair("code_challenge_method", "S256");
        }
        query.append_pair("response_type", "code");
        if !p.provider.scopes.is_empty() {
            query.append_pair("scope", &p.provider.scopes.join(" "));
        }
        for (name, value) in p.provider.auth_params {
            query.append_pair(name, value);
        }
        query.append_pair("state", state);
    }
    format!("{url}&redirect_uri=")
}

/// One provider entry of `auth-methods`.
fn entry(p: &ProviderConfig) -> Value {
    let state = crate::random::alphanumeric(STATE_LEN);
    let verifier = crate::random::alphanumeric(VERIFIER_LEN);
    let challenge = code_challenge(&verifier);
    let auth_url = authorization_url(p, &state, &challenge);
    // A provider without PKCE (bitbucket, linear, vk by default) is
    // offered no pair, as PocketBase offers it: blank, not a pair its
    // link does not carry.
    let (verifier, challenge, method) = if p.pkce {
        (verifier, challenge, "S256")
    } else {
        (String::new(), String::new(), "")
    };
    json!({
        "name": p.provider.name,
        "displayName": p.display_name,
        "state": state,
        // `authUrl`, the name before PocketBase 0.23, which it still
        // sends beside `authURL` (and clients written then still read).
        "authUrl": auth_url,
        "authURL": auth_url,
        // PocketBase's entries have a `logo` too: empty in the legacy
        // `authProviders`, its own SVG of the brand in `oauth2.providers`.
        // Cairn ships no brand artwork, so it is empty in both.
        "logo": "",
        "codeVerifier": verifier,
        "codeChallenge": challenge,
        "codeChallengeMethod": method,
    })
}

/// The `oauth2.providers` list of `auth-methods` (empty when disabled).
pub fn providers(c: &Collection) -> Vec<Value> {
    config::providers(c).iter().map(entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_unpadded_base64url_of_sha256() {
        // Computed apart from this code (Python's hashlib and base64).
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mJ92K9RfD9lQd-s1JFr0rj0RUnPrtA"),
            "qDBGZ7c3EXRTc4rgLTrMVFR5KvurvYg-FiHZsJrj3Pc"
        );
        let p = ProviderConfig {
            provider: super::super::provider::by_name("oidc").expect("oidc is known"),
            client_id: "id 1".into(),
            client_secret: "s3cret".into(),
            auth_url: "https://idp.example/authorize?prompt=login".into(),
            token_url: String::new(),
            user_info_url: String::new(),
            display_name: "IdP".into(),
            pkce: true,
            extra: serde_json::Map::new(),
        };
        let url = authorization_url(&p, "st", "ch");
        assert_eq!(
            url,
            "https://idp.example/authorize?prompt=login&client_id=id+1&code_challenge=ch\
             &code_challenge_method=S256&response_type=code&scope=openid+email+profile&state=st&redirect_uri="
        );
        assert!(!entry(&p).to_string().contains("s3cret"));
        let without_pkce = ProviderConfig { pkce: false, ..p };
        let url = authorization_url(&without_pkce, "st", "ch");
        assert!(!url.contains("code_challenge"), "{url}");
    }
}
