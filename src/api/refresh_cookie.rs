//! The refresh-token cookie of Cairn's sessions, as HTTP sees it: its
//! name and scope, the header that asks for it, how a request presents
//! it, and the one writer of its `Set-Cookie` values, used by every route
//! that sets or clears it (the sign-ins and `/api/sessions`). The sessions
//! service hands out only the token and its lifetime (`RefreshCookie`).

use poem::Request;

use crate::auth::sessions::RefreshCookie;

/// The cookie's name, before the collection's id: `cairn_refresh_{id}`.
/// One cookie per auth collection, so a superuser's dashboard and an app's
/// user signed in from the same browser (cookies ignore ports: an app on
/// `localhost:5173` and the dashboard on `localhost:8090` share a jar)
/// keep their own sessions. Bare, it is the name cookies had before.
pub const NAME: &str = "cairn_refresh";
/// The header a client sends to get the refresh token as a cookie.
pub const MODE_HEADER: &str = "x-cairn-auth-cookie";
/// Only the sessions endpoints ever receive the cookie.
const PATH: &str = "/api/sessions";

/// The cookie's name for auth collection `collection_id`.
pub fn name(collection_id: &str) -> String {
    format!("{NAME}_{collection_id}")
}

/// The `Set-Cookie` value carrying a refresh token. Always `Secure`:
/// browsers accept secure cookies from `localhost` over plain HTTP, and
/// nowhere else should a refresh token travel in clear.
pub fn set(cookie: &RefreshCookie) -> String {
    header(&name(&cookie.collection_id), &cookie.token, cookie.max_age)
}

/// The `Set-Cookie` value that removes the cookie `name`.
pub fn clear(name: &str) -> String {
    header(name, "", 0)
}

fn header(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Path={PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// Whether the client asked for the refresh token as a cookie
/// (`X-Cairn-Auth-Cookie: 1`).
pub fn wanted(req: &Request) -> bool {
    req.headers()
        .get(MODE_HEADER)
        .is_some_and(|v| v.as_bytes() == b"1")
}

/// A refresh cookie the request carries.
#[derive(Debug, PartialEq, Eq)]
pub struct Presented {
    /// Its name, for clearing it.
    pub name: String,
    pub token: String,
}

/// Which refresh cookie a request means.
#[derive(Debug, PartialEq, Eq)]
pub enum Choice {
    None,
    One(Presented),
    /// Cookies of several collections and none named: the client must say.
    Several,
}

/// The refresh cookie of auth collection `collection_id` (by id), or
/// when none is named, the only one the request carries. A cookie of the
/// old, bare name (before cookies were named by collection) counts only
/// where no named one stands beside it: once a session has a named
/// cookie, the bare one holds a retired token, and presenting that would
/// end the session as a replay.
pub fn chosen(req: &Request, collection_id: Option<&str>) -> Choice {
    let mut named = Vec::new();
    let mut bare = None;
    let pairs = req
        .headers()
        .get_all(poem::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(_, value)| !value.is_empty());
    for (name, value) in pairs {
        let cookie = || Presented {
            name: name.to_owned(),
            token: value.to_owned(),
        };
        match name.strip_prefix(NAME) {
            Some("") => bare = bare.or_else(|| Some(cookie())),
            Some(rest) => match (rest.strip_prefix('_'), collection_id) {
                (Some(id), Some(wanted)) if id == wanted => return Choice::One(cookie()),
                (Some(_), _) if !named.iter().any(|c: &Presented| c.name == name) => named.push(cookie()),
                _ => {}
            },
            None => {}
        }
    }
    match (named.len(), collection_id) {
        (0, _) => bare.map_or(Choice::None, Choice::One),
        (_, Some(_)) => Choice::None,
        (1, None) => named.pop().map_or(Choice::None, Choice::One),
        _ => Choice::Several,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_clear_write_the_same_cookie() {
        let set = set(&RefreshCookie {
            collection_id: "pbc_1".into(),
            token: "abc".into(),
            max_age: 60,
        });
        assert_eq!(
            set,
            "cairn_refresh_pbc_1=abc; Path=/api/sessions; Max-Age=60; HttpOnly; Secure; SameSite=Strict"
        );
        assert_eq!(
            clear(&name("pbc_1")),
            "cairn_refresh_pbc_1=; Path=/api/sessions; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
        );
    }

    fn with(cookies: &[&str]) -> Request {
        let mut req = Request::builder();
        for c in cookies {
            req = req.header(poem::http::header::COOKIE, *c);
        }
        req.finish()
    }

    fn one(name: &str, token: &str) -> Choice {
        Choice::One(Presented {
            name: name.into(),
            token: token.into(),
        })
    }

    #[test]
    fn each_collection_has_its_cookie_and_a_request_names_the_one_it_means() {
        let both = with(&["theme=dark; cairn_refresh_su=S; cairn_refresh_users=U"]);
        assert_eq!(chosen(&both, Some("su")), one("cairn_refresh_su", "S"));
        assert_eq!(chosen(&both, Some("users")), one("cairn_refresh_users", "U"));
        assert_eq!(chosen(&both, None), Choice::Several, "never a guess between them");
        assert_eq!(chosen(&both, Some("other")), Choice::None);
        // One cookie: it is the one meant, named or not; across headers too.
        let single = with(&["theme=dark", "cairn_refresh_users=U"]);
        assert_eq!(chosen(&single, None), one("cairn_refresh_users", "U"));
        assert_eq!(chosen(&single, Some("su")), Choice::None);
        // Empty values (a cleared cookie) and look-alike names are nobody's.
        let cleared = with(&["cairn_refresh_su=; cairn_refreshx=X; xcairn_refresh_su=Y"]);
        assert_eq!(chosen(&cleared, None), Choice::None);
        assert_eq!(chosen(&with(&[]), None), Choice::None);
    }

    #[test]
    fn the_old_bare_cookie_is_read_only_where_no_named_one_stands_beside_it() {
        let old = with(&["cairn_refresh=OLD"]);
        assert_eq!(chosen(&old, None), one("cairn_refresh", "OLD"));
        assert_eq!(chosen(&old, Some("su")), one("cairn_refresh", "OLD"));
        // After its first refresh the session's named cookie stands beside
        // the old one, whose token is retired: presenting that would end
        // the session as a replay, so the named cookie wins.
        let moved = with(&["cairn_refresh=OLD; cairn_refresh_su=NEW"]);
        assert_eq!(chosen(&moved, None), one("cairn_refresh_su", "NEW"));
        assert_eq!(chosen(&moved, Some("su")), one("cairn_refresh_su", "NEW"));
        assert_eq!(chosen(&moved, Some("users")), Choice::None);
    }
}
