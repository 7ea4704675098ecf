//! The refresh-token cookie of Cairn's sessions, as HTTP sees it: its
//! name and scope, the header that asks for it, how a request presents
//! it, and the one writer of its `Set-Cookie` values, used by every route
//! that sets or clears it (the sign-ins and `/api/sessions`). The sessions
//! service hands out only the token and its lifetime (`RefreshCookie`).

use poem::Request;

use crate::auth::sessions::RefreshCookie;

/// The cookie's name.
pub const NAME: &str = "cairn_refresh";
/// The header a client sends to get the refresh token as a cookie.
pub const MODE_HEADER: &str = "x-cairn-auth-cookie";
/// Only the sessions endpoints ever receive the cookie.
const PATH: &str = "/api/sessions";

/// The `Set-Cookie` value carrying a refresh token. Always `Secure`:
/// browsers accept secure cookies from `localhost` over plain HTTP, and
/// nowhere else should a refresh token travel in clear.
pub fn set(cookie: &RefreshCookie) -> String {
    header(&cookie.token, cookie.max_age)
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear() -> String {
    header("", 0)
}

fn header(value: &str, max_age: u64) -> String {
    format!("{NAME}={value}; Path={PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// Whether the client asked for the refresh token as a cookie
/// (`X-Cairn-Auth-Cookie: 1`).
pub fn wanted(req: &Request) -> bool {
    req.headers()
        .get(MODE_HEADER)
        .is_some_and(|v| v.as_bytes() == b"1")
}

/// The refresh token the request's cookie carries, if any.
pub fn presented(req: &Request) -> Option<String> {
    req.headers()
        .get_all(poem::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == NAME && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_clear_write_the_same_cookie() {
        let set = set(&RefreshCookie {
            token: "abc".into(),
            max_age: 60,
        });
        assert_eq!(
            set,
            "cairn_refresh=abc; Path=/api/sessions; Max-Age=60; HttpOnly; Secure; SameSite=Strict"
        );
        assert_eq!(
            clear(),
            "cairn_refresh=; Path=/api/sessions; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
        );
    }
}
