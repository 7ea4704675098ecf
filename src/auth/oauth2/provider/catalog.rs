//! The providers, each described: default endpoints and scopes (the
//! names, scopes and sign-in URLs PocketBase 0.40 gives, checked against
//! a running PocketBase), how the token endpoint takes the credentials,
//! and how the profile is asked for; `read.rs` says how each one reads.

use super::{
    ClientAuth::{Basic, Form},
    Emails,
    HeaderValue::{ClientId, Fixed},
    Profile::{self, Get, IdToken, PostJson},
    Provider,
    read::*,
};

const GET: Profile = Get(&[]);

/// A generic OpenID Connect provider; its URLs come from the collection.
const fn oidc_named(name: &'static str) -> Provider {
    Provider {
        name,
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: &["openid", "email", "profile"],
        auth_params: &[],
        pkce: true,
        client_auth: Form,
        profile: Profile::Oidc,
        read: oidc,
        emails: None,
    }
}

/// A provider whose token endpoint takes the credentials in the form and
/// whose profile is a plain `GET`, with PKCE.
#[allow(clippy::too_many_arguments)]
const fn plain(
    name: &'static str,
    display_name: &'static str,
    auth_url: &'static str,
    token_url: &'static str,
    user_info_url: &'static str,
    scopes: &'static [&'static str],
    read: super::Reader,
) -> Provider {
    Provider {
        name,
        display_name,
        auth_url,
        token_url,
        user_info_url,
        scopes,
        auth_params: &[],
        pkce: true,
        client_auth: Form,
        profile: GET,
        read,
        emails: None,
    }
}

pub static PROVIDERS: &[Provider] = &[
    Provider {
        auth_params: &[("response_mode", "form_post")],
        profile: IdToken {
            issuer: "https://appleid.apple.com",
        },
        ..plain(
            "apple",
            "Apple",
            "https://appleid.apple.com/auth/authorize",
            "https://appleid.apple.com/auth/token",
            "https://appleid.apple.com/auth/keys",
            &["name", "email"],
            apple,
        )
    },
    Provider {
        pkce: false,
        emails: Some(Emails {
            url: emails_beside,
            pick: bitbucket_email,
        }),
        ..plain(
            "bitbucket",
            "Bitbucket",
            "https://bitbucket.org/site/oauth2/authorize",
            "https://bitbucket.org/site/oauth2/access_token",
            "https://api.bitbucket.org/2.0/user",
            &["account"],
            bitbucket,
        )
    },
    plain(
        "box",
        "Box",
        "https://account.box.com/api/oauth2/authorize",
        "https://api.box.com/oauth2/token",
        "https://api.box.com/2.0/users/me",
        &["root_readonly"],
        boxcom,
    ),
    plain(
        "discord",
        "Discord",
        "https://discord.com/api/oauth2/authorize",
        "https://discord.com/api/oauth2/token",
        "https://discord.com/api/users/@me",
        &["identify", "email"],
        discord,
    ),
    plain(
        "facebook",
        "Facebook",
        "https://www.facebook.com/v3.2/dialog/oauth",
        "https://graph.facebook.com/v3.2/oauth/access_token",
        "https://graph.facebook.com/me?fields=name,email,picture.type(large)",
        &["email"],
        facebook,
    ),
    Provider {
        emails: Some(GITHUB_EMAILS),
        ..plain(
            "gitea",
            "Gitea/Forgejo",
            "https://gitea.com/login/oauth/authorize",
            "https://gitea.com/login/oauth/access_token",
            "https://gitea.com/api/v1/user",
            &["read:user", "user:email"],
            gitea,
        )
    },
    Provider {
        emails: Some(Emails {
            url: emails_beside,
            pick: gitee_email,
        }),
        ..plain(
            "gitee",
            "Gitee",
            "https://gitee.com/oauth/authorize",
            "https://gitee.com/oauth/token",
            "https://gitee.com/api/v5/user",
            &["user_info", "emails"],
            gitee,
        )
    },
    Provider {
        emails: Some(GITHUB_EMAILS),
        ..plain(
            "github",
            "GitHub",
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user",
            &["read:user", "user:email"],
            github,
        )
    },
    plain(
        "gitlab",
        "GitLab",
        "https://gitlab.com/oauth/authorize",
        "https://gitlab.com/oauth/token",
        "https://gitlab.com/api/v4/user",
        &["read_user"],
        gitlab,
    ),
    plain(
        "google",
        "Google",
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
        "https://www.googleapis.com/oauth2/v3/userinfo",
        &[
            "https://www.googleapis.com/auth/userinfo.profile",
            "https://www.googleapis.com/auth/userinfo.email",
        ],
        oidc,
    ),
    plain(
        "instagram2",
        "Instagram",
        "https://www.instagram.com/oauth/authorize",
        "https://api.instagram.com/oauth/access_token",
        "https://graph.instagram.com/me?fields=id,username,account_type,user_id,name,profile_picture_url",
        &["instagram_business_basic"],
        instagram,
    ),
    plain(
        "kakao",
        "Kakao",
        "https://kauth.kakao.com/oauth/authorize",
        "https://kauth.kakao.com/oauth/token",
        "https://kapi.kakao.com/v2/user/me",
        &["account_email", "profile_nickname", "profile_image"],
        kakao,
    ),
    plain(
        "lark",
        "Lark",
        "https://accounts.feishu.cn/open-apis/authen/v1/authorize",
        "https://open.feishu.cn/open-apis/authen/v2/oauth/token",
        "https://open.feishu.cn/open-apis/authen/v1/user_info",
        &[],
        lark,
    ),
    Provider {
        pkce: false,
        profile: PostJson(
            r#"{"query":"query Me { viewer { id displayName name email avatarUrl active } }"}"#,
        ),
        ..plain(
            "linear",
            "Linear",
            "https://linear.app/oauth/authorize",
            "https://api.linear.app/oauth/token",
            "https://api.linear.app/graphql",
            &["read"],
            linear,
        )
    },
    plain(
        "livechat",
        "LiveChat",
        "https://accounts.livechat.com/",
        "https://accounts.livechat.com/token",
        "https://accounts.livechat.com/v2/accounts/me",
        &[],
        livechat,
    ),
    plain("mailcow", "mailcow", "", "", "", &["profile"], mailcow),
    plain(
        "microsoft",
        "Microsoft",
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "https://graph.microsoft.com/v1.0/me",
        &["User.Read"],
        microsoft,
    ),
    Provider {
        profile: PostJson(r#"{"query":"query { me { id enabled name email is_verified photo_small } }"}"#),
        ..plain(
            "monday",
            "monday.com",
            "https://auth.monday.com/oauth2/authorize",
            "https://auth.monday.com/oauth2/token",
            "https://api.monday.com/v2",
            &["me:read"],
            monday,
        )
    },
    Provider {
        client_auth: Basic,
        profile: Get(&[("Notion-Version", Fixed("2022-06-28"))]),
        ..plain(
            "notion",
            "Notion",
            "https://api.notion.com/v1/oauth/authorize",
            "https://api.notion.com/v1/oauth/token",
            "https://api.notion.com/v1/users/me",
            &[],
            notion,
        )
    },
    oidc_named("oidc"),
    oidc_named("oidc2"),
    oidc_named("oidc3"),
    plain(
        "patreon",
        "Patreon",
        "https://www.patreon.com/oauth2/authorize",
        "https://www.patreon.com/api/oauth2/token",
        "https://www.patreon.com/api/oauth2/v2/identity?fields%5Buser%5D=full_name,email,vanity,image_url,is_email_verified",
        &["identity", "identity[email]"],
        patreon,
    ),
    plain(
        "planningcenter",
        "Planning Center",
        "https://api.planningcenteronline.com/oauth/authorize",
        "https://api.planningcenteronline.com/oauth/token",
        "https://api.planningcenteronline.com/people/v2/me",
        &["people"],
        planningcenter,
    ),
    Provider {
        client_auth: Basic,
        ..plain(
            "spotify",
            "Spotify",
            "https://accounts.spotify.com/authorize",
            "https://accounts.spotify.com/api/token",
            "https://api.spotify.com/v1/me",
            &["user-read-private"],
            spotify,
        )
    },
    plain(
        "strava",
        "Strava",
        "https://www.strava.com/oauth/authorize",
        "https://www.strava.com/api/v3/oauth/token",
        "https://www.strava.com/api/v3/athlete",
        &["profile:read_all"],
        strava,
    ),
    Provider {
        profile: Get(&[("trakt-api-key", ClientId), ("trakt-api-version", Fixed("2"))]),
        ..plain(
            "trakt",
            "Trakt",
            "https://trakt.tv/oauth/authorize",
            "https://api.trakt.tv/oauth/token",
            "https://api.trakt.tv/users/settings",
            &[],
            trakt,
        )
    },
    Provider {
        profile: Get(&[("Client-Id", ClientId)]),
        ..plain(
            "twitch",
            "Twitch",
            "https://id.twitch.tv/oauth2/authorize",
            "https://id.twitch.tv/oauth2/token",
            "https://api.twitch.tv/helix/users",
            &["user:read:email"],
            twitch,
        )
    },
    Provider {
        client_auth: Basic,
        ..plain(
            "twitter",
            "X/Twitter",
            "https://x.com/i/oauth2/authorize",
            "https://api.x.com/2/oauth2/token",
            "https://api.x.com/2/users/me?user.fields=id,name,username,profile_image_url,confirmed_email",
            &["users.read", "users.email", "tweet.read"],
            twitter,
        )
    },
    Provider {
        pkce: false,
        ..plain(
            "vk",
            "ВКонтакте",
            "https://oauth.vk.com/authorize",
            "https://oauth.vk.com/access_token",
            "https://api.vk.com/method/users.get?fields=photo_max,screen_name&v=5.131",
            &["email"],
            vk,
        )
    },
    plain(
        "wakatime",
        "WakaTime",
        "https://wakatime.com/oauth/authorize",
        "https://wakatime.com/oauth/token",
        "https://wakatime.com/api/v1/users/current",
        &["email"],
        wakatime,
    ),
    plain(
        "yandex",
        "Yandex",
        "https://oauth.yandex.com/authorize",
        "https://oauth.yandex.com/token",
        "https://login.yandex.ru/info",
        &["login:email", "login:avatar", "login:info"],
        yandex,
    ),
];
