//! PocketBase's action tags (`list`, `create`, `authWithPassword`, `file`,
//! …), the names rate-limit rules such as `*:create` use, declared once
//! with the route they name and collected here into the one table the
//! rate limiter reads:
//!
//! - a typed operation's tag is its `operation_id` (`#[oai(path = …,
//!   method = …, operation_id = "requestOTP")]`); an `authWith…`
//!   operation also carries the group tag `auth`;
//! - a plain route declares its tag where it is registered, through
//!   `tagged_routes!`.
//!
//! A tag names an action on a collection: it counts only where the path's
//! fourth segment (`/api/collections/{c}/…`, `/api/files/{c}/…`) is one.
//!
//! The same declarations give every route's template
//! (`/api/collections/{collection}/records/{id}`), by which the metrics
//! count requests (`template`).

use std::sync::LazyLock;

use poem_openapi::OpenApi;

use super::{Api, files, records};

/// A plain route's tag, as `tagged_routes!` declares it.
pub struct Declared {
    pub method: &'static str,
    /// poem's form: `/api/collections/:collection/records`.
    pub path: &'static str,
    pub tag: &'static str,
}

/// Registers plain routes and declares their tags in one place: expands to
/// `pub fn routes(Route) -> Route` and `pub const TAGS: &[Declared]`.
/// `METHOD handler` registers a handler, `METHOD handler => "tag"` tags it
/// too.
macro_rules! tagged_routes {
    ($($path:literal => { $($method:ident $handler:ident $(=> $tag:literal)?),+ $(,)? }),+ $(,)?) => {
        /// The routes, to be mounted at the root of the route tree.
        pub fn routes(route: poem::Route) -> poem::Route {
            route $(.at(
                $path,
                poem::RouteMethod::new() $(.method(poem::http::Method::$method, $handler))+,
            ))+
        }

        /// Their paths, for the route templates (`api::tags::template`).
        pub const PATHS: &[&str] = &[$($path),+];

        /// Their rate-limit tags, collected by `api::tags`.
        pub const TAGS: &[$crate::api::tags::Declared] = &[$($($(
            $crate::api::tags::Declared { method: stringify!($method), path: $path, tag: $tag },
        )?)+)+];
    };
}
pub(crate) use tagged_routes;

/// One tagged route: its method, its path's segments (`None` where the
/// route takes a parameter) and its tags, most specific first.
struct Entry {
    method: String,
    segments: Vec<Option<String>>,
    tags: Vec<&'static str>,
}

/// Every tagged route, collected once.
static TABLE: LazyLock<Vec<Entry>> = LazyLock::new(collect);

fn collect() -> Vec<Entry> {
    let mut table = Vec::new();
    for api in <Api as OpenApi>::meta() {
        for path in api.paths {
            for op in path.operations {
                if let Some(id) = op.operation_id {
                    // The described API is served under /api.
                    table.push(entry(op.method.as_str(), &format!("/api{}", path.path), id));
                }
            }
        }
    }
    for declared in records::TAGS.iter().chain(files::TAGS) {
        table.push(entry(declared.method, declared.path, declared.tag));
    }
    table
}

fn entry(method: &str, path: &str, tag: &'static str) -> Entry {
    let segments = path
        .split('/')
        .map(|s| {
            let param = s.starts_with(':') || (s.starts_with('{') && s.ends_with('}'));
            (!param).then(|| s.to_owned())
        })
        .collect();
    let mut tags = vec![tag];
    if tag.starts_with("authWith") {
        tags.push("auth");
    }
    Entry {
        method: method.to_ascii_uppercase(),
        segments,
        tags,
    }
}

/// The tags of `method` on the path split into `segments` (raw, as the
/// router matches them), most specific first.
pub fn lookup(method: &str, segments: &[&str]) -> Option<&'static [&'static str]> {
    let table: &'static [Entry] = &TABLE;
    table
        .iter()
        .find(|e| {
            e.method == method
                && e.segments.len() == segments.len()
                && e.segments
                    .iter()
                    .zip(segments)
                    .all(|(want, got)| want.as_deref().is_none_or(|w| w == *got))
        })
        .map(|e| e.tags.as_slice())
}

/// The route templates as a tree of their segments: a child per literal
/// segment, one for a parameter; a node that ends a template holds its
/// text. A request walks it once, literal before parameter (as the router
/// prefers), instead of being compared with every template.
#[derive(Default)]
struct Node {
    literals: Vec<Literal>,
    param: Option<Box<Node>>,
    template: Option<&'static str>,
}

/// A literal segment and the routes under it. Its length and first byte
/// are kept apart so that a lookup skips most literals on two integer
/// comparisons instead of a string comparison each (about two thousand
/// instructions a request otherwise, with some twenty literals per level;
/// a binary search over them measured slower still).
struct Literal {
    len: usize,
    first: u8,
    text: &'static str,
    node: Node,
}

impl Literal {
    fn is(&self, segment: &str) -> bool {
        self.len == segment.len()
            && segment.as_bytes().first().copied().unwrap_or(0) == self.first
            && self.text == segment
    }
}

impl Node {
    fn insert(&mut self, segments: &[&'static str], text: &'static str) {
        let Some((first, rest)) = segments.split_first() else {
            self.template = Some(text);
            return;
        };
        let child = if first.starts_with('{') && first.ends_with('}') {
            &mut **self.param.get_or_insert_with(Box::default)
        } else {
            match self.literals.iter().position(|l| l.text == *first) {
                Some(i) => &mut self.literals[i].node,
                None => {
                    self.literals.push(Literal {
                        len: first.len(),
                        first: first.as_bytes().first().copied().unwrap_or(0),
                        text: first,
                        node: Node::default(),
                    });
                    let last = self.literals.len() - 1;
                    &mut self.literals[last].node
                }
            }
        };
        child.insert(rest, text);
    }

    /// The template for the rest of a path: `rest` is what follows the
    /// last `/` taken (`None` once the path is used up). Segments are cut
    /// as the walk goes, so a path is scanned once and never further than
    /// the tree reaches.
    fn find(&self, rest: Option<&str>) -> Option<&'static str> {
        let Some(rest) = rest else {
            return self.template;
        };
        let (segment, tail) = match rest.bytes().position(|b| b == b'/') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if let Some(literal) = self.literals.iter().find(|l| l.is(segment))
            && let Some(found) = literal.node.find(tail)
        {
            return Some(found);
        }
        match &self.param {
            Some(p) if !segment.is_empty() => p.find(tail),
            _ => None,
        }
    }
}

/// Routes registered outside the described API and the tagged tables.
const OTHER_ROUTES: &[&str] = &[
    "/",
    "/api/realtime",
    "/api/oauth2-redirect",
    "/api/batch",
    "/api/openapi.json",
    "/api/docs",
];

/// Every route's template, as a tree (see `Node`).
static TEMPLATES: LazyLock<Node> = LazyLock::new(|| {
    let mut paths: Vec<String> = Vec::new();
    for api in <Api as OpenApi>::meta() {
        for path in api.paths {
            paths.push(format!("/api{}", path.path));
        }
    }
    paths.extend(
        records::PATHS
            .iter()
            .chain(files::PATHS)
            .chain(OTHER_ROUTES)
            .map(|p| p.to_string()),
    );
    paths.sort();
    paths.dedup();
    let mut root = Node::default();
    for p in paths {
        // `:name` (poem's plain routes) is written `{name}`, as the
        // described API writes it.
        let text: String = p
            .split('/')
            .map(|s| {
                s.strip_prefix(':')
                    .map_or_else(|| s.to_owned(), |n| format!("{{{n}}}"))
            })
            .collect::<Vec<_>>()
            .join("/");
        let text: &'static str = Box::leak(text.into_boxed_str());
        let segments: Vec<&'static str> = text.split('/').collect();
        root.insert(&segments, text);
    }
    root
});

/// The label of a request's route in the metrics: the template of the
/// route that answered it. The router names the route it chose by its
/// pattern (`pattern`, poem's `PathPattern`, in poem's own syntax); the
/// template is found from the path once per pattern and thread, then
/// remembered, since every path a pattern matches has the same template
/// (both prefer a literal segment to a parameter). A hash lookup instead
/// of the walk: about 390 instructions for a record view instead of 780.
/// Without a pattern (refused before routing, or no route) the path is
/// walked.
pub fn route_label(pattern: Option<&str>, path: &str) -> &'static str {
    thread_local! {
        static KNOWN: std::cell::RefCell<std::collections::HashMap<Box<str>, &'static str>> =
            std::cell::RefCell::default();
    }
    /// Patterns come from the route table; the bound only says so.
    const MAX_KNOWN: usize = 512;
    let Some(pattern) = pattern else {
        return template(path);
    };
    KNOWN.with(|known| {
        if let Some(label) = known.borrow().get(pattern) {
            return *label;
        }
        let label = template(path);
        let mut known = known.borrow_mut();
        if known.len() < MAX_KNOWN {
            known.insert(pattern.into(), label);
        }
        label
    })
}

/// The template of the route `path` is served by, `/_/*` for the
/// dashboard, and `other` for a path no route takes.
pub fn template(path: &str) -> &'static str {
    if path == "/_" || path.starts_with("/_/") {
        return "/_/*";
    }
    TEMPLATES.find(Some(path)).unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_counted_by_their_route_template() {
        for (path, want) in [
            (
                "/api/collections/posts/records",
                "/api/collections/{collection}/records",
            ),
            (
                "/api/collections/posts/records/abc123",
                "/api/collections/{collection}/records/{id}",
            ),
            (
                "/api/collections/users/auth-with-password",
                "/api/collections/{collection}/auth-with-password",
            ),
            (
                "/api/files/c/r/a.png",
                "/api/files/{collection}/{record}/{filename}",
            ),
            ("/api/files/token", "/api/files/token"),
            ("/api/health", "/api/health"),
            ("/api/realtime", "/api/realtime"),
            ("/api/logs/stats", "/api/logs/stats"),
            ("/_/", "/_/*"),
            ("/_/js/main.js", "/_/*"),
            ("/", "/"),
            ("/wp-login.php", "other"),
            ("/api/nothing/here/at/all/really", "other"),
            ("/api/collections/posts/records/", "other"),
            ("/api/collections/posts/records/a/b/c/d/e/f/g/h/i/j/k", "other"),
            ("//api/health", "other"),
            ("/api/health/", "other"),
            ("", "other"),
        ] {
            assert_eq!(template(path), want, "{path}");
        }
    }

    fn tags(method: &str, path: &str) -> Option<&'static [&'static str]> {
        lookup(method, &path.split('/').collect::<Vec<_>>())
    }

    /// The table PocketBase's labels name, as the routes declare it.
    #[test]
    fn every_pocketbase_tag_is_declared_by_its_route() {
        let c = "/api/collections/c";
        let expected: &[(&str, String, &[&str])] = &[
            ("GET", format!("{c}/records"), &["list"]),
            // A HEAD runs the same read (see `http::head`).
            ("HEAD", format!("{c}/records"), &["list"]),
            ("POST", format!("{c}/records"), &["create"]),
            ("GET", format!("{c}/records/r"), &["view"]),
            ("HEAD", format!("{c}/records/r"), &["view"]),
            ("PATCH", format!("{c}/records/r"), &["update"]),
            ("DELETE", format!("{c}/records/r"), &["delete"]),
            ("GET", format!("{c}/auth-methods"), &["listAuthMethods"]),
            ("POST", format!("{c}/auth-refresh"), &["authRefresh"]),
            (
                "POST",
                format!("{c}/auth-with-password"),
                &["authWithPassword", "auth"],
            ),
            (
                "POST",
                format!("{c}/auth-with-oauth2"),
                &["authWithOAuth2", "auth"],
            ),
            ("POST", format!("{c}/auth-with-otp"), &["authWithOTP", "auth"]),
            ("POST", format!("{c}/request-otp"), &["requestOTP"]),
            (
                "POST",
                format!("{c}/request-password-reset"),
                &["requestPasswordReset"],
            ),
            (
                "POST",
                format!("{c}/confirm-password-reset"),
                &["confirmPasswordReset"],
            ),
            (
                "POST",
                format!("{c}/request-verification"),
                &["requestVerification"],
            ),
            (
                "POST",
                format!("{c}/confirm-verification"),
                &["confirmVerification"],
            ),
            (
                "POST",
                format!("{c}/request-email-change"),
                &["requestEmailChange"],
            ),
            (
                "POST",
                format!("{c}/confirm-email-change"),
                &["confirmEmailChange"],
            ),
            ("GET", "/api/files/c/r/a.png".into(), &["file"]),
            ("HEAD", "/api/files/c/r/a.png".into(), &["file"]),
        ];
        for (method, path, want) in expected {
            assert_eq!(tags(method, path), Some(*want), "{method} {path}");
        }
        for (method, path) in [
            ("PUT", "/api/collections/c/records"),
            ("GET", "/api/collections/c"),
            ("DELETE", "/api/collections/c/truncate"),
            ("POST", "/api/collections/c/impersonate/r"),
            ("GET", "/api/collections/c/records/r/x"),
            ("POST", "/api/files/token"),
            ("POST", "/api/batch"),
        ] {
            assert_eq!(tags(method, path), None, "{method} {path}");
        }
        assert_eq!(TABLE.len(), expected.len(), "one entry per tagged route");
    }
}
