//! How each provider's profile reads into a user, and where a verified
//! address comes from when the profile vouches for none. Fields follow
//! each provider's own documentation of its user API.

use serde_json::{Map, Value};

use super::{Emails, ExternalUser, flag_at, text_at};

type Read = Result<ExternalUser, &'static str>;
type Grant = Map<String, Value>;

/// The address when `verified`, else none.
fn if_verified(email: String, verified: bool) -> String {
    if verified { email } else { String::new() }
}

/// OpenID Connect claims (`sub`, `name`, `preferred_username`, `email`,
/// `email_verified`, `picture`), which Google and Apple speak too.
pub(super) fn oidc(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/sub"),
        name: text_at(raw, "/name"),
        username: text_at(raw, "/preferred_username"),
        email: if_verified(text_at(raw, "/email"), flag_at(raw, "/email_verified")),
        avatar_url: text_at(raw, "/picture"),
        ..ExternalUser::default()
    })
}

/// Apple's id_token claims; the name comes only with the first consent,
/// in the token answer's `user` (a JSON text).
pub(super) fn apple(raw: &Value, grant: &Grant) -> Read {
    let mut user = oidc(raw, grant)?;
    if user.name.is_empty()
        && let Some(Value::String(given)) = grant.get("user")
        && let Ok(given) = serde_json::from_str::<Value>(given)
    {
        let first = text_at(&given, "/name/firstName");
        let last = text_at(&given, "/name/lastName");
        user.name = format!("{first} {last}").trim().to_owned();
    }
    Ok(user)
}

/// GitHub and Gitea: the profile's address is only the public one; the
/// verified primary comes from the address list.
pub(super) fn github(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        name: text_at(raw, "/name"),
        username: text_at(raw, "/login"),
        avatar_url: text_at(raw, "/avatar_url"),
        ..ExternalUser::default()
    })
}

pub(super) fn gitea(raw: &Value, grant: &Grant) -> Read {
    let mut user = github(raw, grant)?;
    user.name = text_at(raw, "/full_name");
    Ok(user)
}

/// `[{email, primary, verified}]`, GitHub's and Gitea's address list.
pub fn primary_verified_email(list: &Value) -> Option<String> {
    list.as_array()?
        .iter()
        .find(|e| flag_at(e, "/primary") && flag_at(e, "/verified"))
        .map(|e| text_at(e, "/email"))
        .filter(|e| !e.is_empty())
}

pub(super) fn emails_beside(user_info_url: &str) -> String {
    let (path, query) = user_info_url.split_once('?').unwrap_or((user_info_url, ""));
    let url = format!("{}/emails", path.trim_end_matches('/'));
    if query.is_empty() {
        url
    } else {
        format!("{url}?{query}")
    }
}

pub(super) const GITHUB_EMAILS: Emails = Emails {
    url: emails_beside,
    pick: primary_verified_email,
};

/// Bitbucket's `{values: [{email, is_primary, is_confirmed}]}`.
pub(super) fn bitbucket_email(list: &Value) -> Option<String> {
    list.get("values")?
        .as_array()?
        .iter()
        .find(|e| flag_at(e, "/is_primary") && flag_at(e, "/is_confirmed"))
        .map(|e| text_at(e, "/email"))
        .filter(|e| !e.is_empty())
}

pub(super) fn bitbucket(raw: &Value, _: &Grant) -> Read {
    if text_at(raw, "/account_status") != "active" {
        return Err("the Bitbucket account is not active");
    }
    Ok(ExternalUser {
        id: text_at(raw, "/uuid"),
        name: text_at(raw, "/display_name"),
        username: text_at(raw, "/username"),
        avatar_url: text_at(raw, "/links/avatar/href"),
        ..ExternalUser::default()
    })
}

/// Gitee's `[{email, state, scope: [...]}]`: a confirmed primary address.
/// (PocketBase also takes the profile's public address, which Gitee does
/// not say is confirmed; here only the list counts.)
pub(super) fn gitee_email(list: &Value) -> Option<String> {
    list.as_array()?
        .iter()
        .find(|e| {
            text_at(e, "/state") == "confirmed"
                && e.get("scope")
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|x| x == "primary"))
        })
        .map(|e| text_at(e, "/email"))
        .filter(|e| !e.is_empty())
}

pub(super) fn gitee(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        name: text_at(raw, "/name"),
        username: text_at(raw, "/login"),
        avatar_url: text_at(raw, "/avatar_url"),
        ..ExternalUser::default()
    })
}

pub(super) fn gitlab(raw: &Value, _: &Grant) -> Read {
    // GitLab sets `confirmed_at` once the address is confirmed.
    let confirmed = !text_at(raw, "/confirmed_at").is_empty();
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        name: text_at(raw, "/name"),
        username: text_at(raw, "/username"),
        email: if_verified(text_at(raw, "/email"), confirmed),
        avatar_url: text_at(raw, "/avatar_url"),
        ..ExternalUser::default()
    })
}

pub(super) fn discord(raw: &Value, _: &Grant) -> Read {
    let id = text_at(raw, "/id");
    let hash = text_at(raw, "/avatar");
    let username = text_at(raw, "/username");
    let global = text_at(raw, "/global_name");
    Ok(ExternalUser {
        avatar_url: if hash.is_empty() {
            String::new()
        } else {
            format!("https://cdn.discordapp.com/avatars/{id}/{hash}.png")
        },
        name: if global.is_empty() {
            username.clone()
        } else {
            global
        },
        email: if_verified(text_at(raw, "/email"), flag_at(raw, "/verified")),
        id,
        username,
        ..ExternalUser::default()
    })
}

/// Microsoft's `mail` is not taken: in a multi-tenant app any tenant's
/// administrator can set it to any address (PocketBase takes it).
pub(super) fn microsoft(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        name: text_at(raw, "/displayName"),
        ..ExternalUser::default()
    })
}

/// Facebook sends an address only when it has a confirmed one.
pub(super) fn facebook(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        name: text_at(raw, "/name"),
        email: text_at(raw, "/email"),
        avatar_url: text_at(raw, "/picture/data/url"),
        ..ExternalUser::default()
    })
}

/// Instagram sends no address.
pub(super) fn instagram(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/user_id"),
        name: text_at(raw, "/name"),
        username: text_at(raw, "/username"),
        avatar_url: text_at(raw, "/profile_picture_url"),
        ..ExternalUser::default()
    })
}

pub(super) fn kakao(raw: &Value, _: &Grant) -> Read {
    let account = |k: &str| flag_at(raw, &format!("/kakao_account/{k}"));
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        username: text_at(raw, "/properties/nickname"),
        avatar_url: text_at(raw, "/properties/profile_image"),
        email: if_verified(
            text_at(raw, "/kakao_account/email"),
            account("is_email_valid") && account("is_email_verified"),
        ),
        ..ExternalUser::default()
    })
}

/// Lark (Feishu) sends no address it vouches for.
pub(super) fn lark(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/data/union_id"),
        name: text_at(raw, "/data/name"),
        avatar_url: text_at(raw, "/data/avatar_url"),
        ..ExternalUser::default()
    })
}

pub(super) fn linear(raw: &Value, _: &Grant) -> Read {
    let at = |k: &str| text_at(raw, &format!("/data/viewer/{k}"));
    if !flag_at(raw, "/data/viewer/active") {
        return Err("the Linear account is not active");
    }
    Ok(ExternalUser {
        id: at("id"),
        name: at("name"),
        username: at("displayName"),
        email: at("email"),
        avatar_url: at("avatarUrl"),
        ..ExternalUser::default()
    })
}

pub(super) fn livechat(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/account_id"),
        name: text_at(raw, "/name"),
        email: if_verified(text_at(raw, "/email"), flag_at(raw, "/email_verified")),
        avatar_url: text_at(raw, "/avatar_url"),
        ..ExternalUser::default()
    })
}

/// A mailcow server's own mailbox: its address is the account.
pub(super) fn mailcow(raw: &Value, _: &Grant) -> Read {
    if !flag_at(raw, "/active") {
        return Err("the mailcow account is not active");
    }
    let username = text_at(raw, "/username");
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        name: text_at(raw, "/full_name"),
        username: username.split('@').next().unwrap_or_default().to_owned(),
        email: text_at(raw, "/email"),
        ..ExternalUser::default()
    })
}

pub(super) fn monday(raw: &Value, _: &Grant) -> Read {
    let at = |k: &str| text_at(raw, &format!("/data/me/{k}"));
    if !flag_at(raw, "/data/me/enabled") {
        return Err("the monday.com account is not enabled");
    }
    Ok(ExternalUser {
        id: at("id"),
        name: at("name"),
        email: if_verified(at("email"), flag_at(raw, "/data/me/is_verified")),
        avatar_url: at("photo_small"),
        ..ExternalUser::default()
    })
}

/// Notion's bot user names the person who granted access.
pub(super) fn notion(raw: &Value, _: &Grant) -> Read {
    let owner = |path: &str| text_at(raw, &format!("/bot/owner/user{path}"));
    Ok(ExternalUser {
        id: owner("/id"),
        name: owner("/name"),
        email: owner("/person/email"),
        avatar_url: owner("/avatar_url"),
        ..ExternalUser::default()
    })
}

pub(super) fn patreon(raw: &Value, _: &Grant) -> Read {
    let at = |k: &str| text_at(raw, &format!("/data/attributes/{k}"));
    Ok(ExternalUser {
        id: text_at(raw, "/data/id"),
        name: at("full_name"),
        username: at("vanity"),
        email: if_verified(at("email"), flag_at(raw, "/data/attributes/is_email_verified")),
        avatar_url: at("image_url"),
        ..ExternalUser::default()
    })
}

/// Planning Center's people may have several addresses, none vouched for.
pub(super) fn planningcenter(raw: &Value, _: &Grant) -> Read {
    if text_at(raw, "/data/attributes/status") != "active" {
        return Err("the Planning Center account is not active");
    }
    Ok(ExternalUser {
        id: text_at(raw, "/data/id"),
        name: text_at(raw, "/data/attributes/name"),
        avatar_url: text_at(raw, "/data/attributes/avatar"),
        ..ExternalUser::default()
    })
}

/// Spotify's address is, by its own documentation, unverified.
pub(super) fn spotify(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        name: text_at(raw, "/display_name"),
        avatar_url: text_at(raw, "/images/0/url"),
        ..ExternalUser::default()
    })
}

/// Strava shares no address.
pub(super) fn strava(raw: &Value, _: &Grant) -> Read {
    let name = format!("{} {}", text_at(raw, "/firstname"), text_at(raw, "/lastname"));
    Ok(ExternalUser {
        id: Some(text_at(raw, "/id"))
            .filter(|id| id != "0")
            .unwrap_or_default(),
        name: name.trim().to_owned(),
        username: text_at(raw, "/username"),
        avatar_url: text_at(raw, "/profile"),
        ..ExternalUser::default()
    })
}

/// Trakt shares no address.
pub(super) fn trakt(raw: &Value, _: &Grant) -> Read {
    Ok(ExternalUser {
        id: text_at(raw, "/user/ids/uuid"),
        name: text_at(raw, "/user/name"),
        username: text_at(raw, "/user/username"),
        avatar_url: text_at(raw, "/user/images/avatar/full"),
        ..ExternalUser::default()
    })
}

/// Twitch's `email` is, by its documentation, the verified address.
pub(super) fn twitch(raw: &Value, _: &Grant) -> Read {
    let at = |k: &str| text_at(raw, &format!("/data/0/{k}"));
    if raw
        .get("data")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        return Err("Twitch described no user");
    }
    Ok(ExternalUser {
        id: at("id"),
        name: at("display_name"),
        username: at("login"),
        email: at("email"),
        avatar_url: at("profile_image_url"),
        ..ExternalUser::default()
    })
}

/// X (Twitter) shares only a confirmed address, as `confirmed_email`.
pub(super) fn twitter(raw: &Value, _: &Grant) -> Read {
    let at = |k: &str| text_at(raw, &format!("/data/{k}"));
    Ok(ExternalUser {
        id: at("id"),
        name: at("name"),
        username: at("username"),
        email: at("confirmed_email"),
        avatar_url: at("profile_image_url"),
        ..ExternalUser::default()
    })
}

/// VK puts the address in the token answer, not the profile.
pub(super) fn vk(raw: &Value, grant: &Grant) -> Read {
    let at = |k: &str| text_at(raw, &format!("/response/0/{k}"));
    if raw
        .get("response")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        return Err("VK described no user");
    }
    let name = format!("{} {}", at("first_name"), at("last_name"));
    Ok(ExternalUser {
        id: at("id"),
        name: name.trim().to_owned(),
        username: at("screen_name"),
        email: grant
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        avatar_url: at("photo_max"),
        ..ExternalUser::default()
    })
}

pub(super) fn wakatime(raw: &Value, _: &Grant) -> Read {
    let at = |k: &str| text_at(raw, &format!("/data/{k}"));
    Ok(ExternalUser {
        id: at("id"),
        name: at("display_name"),
        username: at("username"),
        email: if_verified(at("email"), flag_at(raw, "/data/is_email_confirmed")),
        avatar_url: at("photo"),
        ..ExternalUser::default()
    })
}

/// Yandex's default address is a Yandex mailbox or one it confirmed.
pub(super) fn yandex(raw: &Value, _: &Grant) -> Read {
    let avatar = text_at(raw, "/default_avatar_id");
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        name: text_at(raw, "/real_name"),
        username: text_at(raw, "/login"),
        email: text_at(raw, "/default_email"),
        avatar_url: if avatar.is_empty() || flag_at(raw, "/is_avatar_empty") {
            String::new()
        } else {
            format!("https://avatars.yandex.net/get-yapic/{avatar}/islands-200")
        },
        ..ExternalUser::default()
    })
}

/// Box lets only a verified address sign in with OAuth2.
pub(super) fn boxcom(raw: &Value, _: &Grant) -> Read {
    if text_at(raw, "/status") != "active" {
        return Err("the Box account is not active");
    }
    Ok(ExternalUser {
        id: text_at(raw, "/id"),
        name: text_at(raw, "/name"),
        email: text_at(raw, "/login"),
        avatar_url: text_at(raw, "/avatar_url"),
        ..ExternalUser::default()
    })
}
