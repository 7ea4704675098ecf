//! The layers, checked: reads every `crate::…` path and `poem` use under
//! `src/` and fails, naming the file, the line and the import, when a
//! module reaches a layer it must not, or when the top-level modules
//! below the edge import each other in a cycle (DESIGN.md §2).
//!
//! - edge: `http`, `api`, `cli` — the only code that knows poem and HTTP;
//! - root: `app`, `config`, `telemetry`, `lib`, `main` — the process and
//!   the `AppState` that wires the services together;
//! - services: `records`, `auth`, `identity`, `realtime`, `files`, `mail`, `jobs`,
//!   `settings`, `import`, `ops`, `backups`, `keys`, `webhooks`, `outbound`;
//! - core: `schema`, `query`, `store`, `stats`, `validation`, `datetime`,
//!   `random`, `fields_param`.
//!
//! Services and core never import the edge (nor poem); the root never
//! imports the edge; core imports only core. Services never name
//! `AppState` (nor import `app` or the crate root that re-exports it):
//! each receives only the parts it uses (`AppState::records`,
//! `AppState::auth`, `realtime::Broker::start`), so its signature says
//! what it touches. `KNOWN` lists the violations
//! that the layers issue has yet to remove: a new one fails the test, and
//! so does one that is gone but still listed, so the list only shrinks.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Violations that exist today, each to be removed (layers issue). None
/// are left: keep it so.
const KNOWN: &[&str] = &[];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Layer {
    Edge,
    Root,
    Service,
    Core,
}

fn layer(module: &str) -> Option<Layer> {
    Some(match module {
        "http" | "api" | "cli" | "poem" => Layer::Edge,
        "app" | "config" | "telemetry" | "lib" | "main" => Layer::Root,
        "records" | "auth" | "identity" | "realtime" | "files" | "mail" | "settings" | "import"
        | "export" | "ops" | "backups" | "jobs" | "keys" | "webhooks" | "outbound" => Layer::Service,
        "schema" | "query" | "store" | "stats" | "validation" | "datetime" | "random" | "fields_param"
        | "architecture" => Layer::Core,
        _ => return None,
    })
}

fn allowed(from: Layer, to: Layer) -> bool {
    match from {
        Layer::Edge => true,
        Layer::Root | Layer::Service => to != Layer::Edge,
        Layer::Core => to == Layer::Core,
    }
}

/// Whether `module` is where the whole application state is reached:
/// `app`, which defines `AppState`, or the crate root (`lib`), which
/// re-exports it. A line naming `AppState` counts as an import of `app`.
fn holds_the_state(module: &str) -> bool {
    matches!(module, "app" | "lib")
}

/// Where each top-level module first imports another: (from, to) → `file:line: text`.
type Imports = BTreeMap<(String, String), String>;

/// The top-level modules a `crate::` path names, with `crate::{a::x, b}`
/// groups read one level deep.
fn targets_after_crate(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)];
    };
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, true);
    for (i, ch) in group.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                start = false;
                out.push(ident(&group[i..]));
            }
            _ => {}
        }
    }
    out
}

fn scan(dir: &Path, src: &Path, imports: &mut Imports) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            scan(&path, src, imports);
            continue;
        }
        // This file names the edge in its own text.
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("architecture.rs") {
            continue;
        }
        let rel = path
            .strip_prefix(src)
            .expect("under src")
            .to_string_lossy()
            .into_owned();
        let from = rel
            .split('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_owned();
        let text = std::fs::read_to_string(&path).expect("read file");
        // A `use crate::{…}` group may span lines: read statements whole.
        let joined = text.replace('\n', " \u{1}");
        let mut line = 1;
        let mut at = 0;
        for (i, _) in joined.match_indices("crate::") {
            line += joined[at..i].matches('\u{1}').count();
            at = i;
            let code_line = text.lines().nth(line - 1).unwrap_or("");
            if code_line.trim_start().starts_with("//") {
                continue;
            }
            let rest: String = joined[i + "crate::".len()..].replace(['\u{1}', ' '], "");
            for to in targets_after_crate(&rest) {
                // `crate::App` and the like: re-exports of the crate root.
                let to = if to.starts_with(|c: char| c.is_ascii_uppercase()) {
                    "lib".to_owned()
                } else {
                    to
                };
                if !to.is_empty() && to != from {
                    imports
                        .entry((from.clone(), to))
                        .or_insert_with(|| format!("src/{rel}:{line}: {}", code_line.trim()));
                }
            }
        }
        for (n, code_line) in text.lines().enumerate() {
            let code = code_line.trim_start();
            let names_state = code
                .match_indices("AppState")
                .any(|(i, _)| !code[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_'));
            if !code.starts_with("//") && names_state && from != "app" {
                imports
                    .entry((from.clone(), "app".to_owned()))
                    .or_insert_with(|| format!("src/{rel}:{}: {}", n + 1, code));
            }
            // `poem_openapi` counts as poem: a derive names it without a `use`.
            let names_poem = code.contains("poem::") || code.contains("poem_openapi");
            if !code.starts_with("//") && (names_poem || code.starts_with("use poem")) {
                imports
                    .entry((from.clone(), "poem".to_owned()))
                    .or_insert_with(|| format!("src/{rel}:{}: {}", n + 1, code));
            }
        }
    }
}

/// The groups of modules below the edge and root that import each other
/// in a cycle (strongly connected components of more than one module).
fn cycles(imports: &Imports) -> Vec<BTreeSet<String>> {
    let below = |m: &str| matches!(layer(m), Some(Layer::Service | Layer::Core));
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in imports.keys() {
        if below(from) && below(to) {
            graph.entry(from).or_default().insert(to);
        }
    }
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(m) = stack.pop() {
            for next in graph.get(m).into_iter().flatten() {
                if seen.insert(*next) {
                    stack.push(next);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<&str>> = graph.keys().map(|m| (*m, reach(m))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for (m, reach) in &reachable {
        let group: BTreeSet<String> = reach
            .iter()
            .filter(|o| reachable.get(**o).is_some_and(|r| r.contains(m)))
            .map(|o| (*o).to_owned())
            .collect();
        if group.len() > 1 && !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

/// Every violation, with where it shows.
fn violations(imports: &Imports) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for ((from, to), at) in imports {
        let (Some(f), Some(t)) = (layer(from), layer(to)) else {
            continue;
        };
        if !allowed(f, t) || (f == Layer::Service && holds_the_state(to)) {
            found.insert(format!("{from} -> {to}"), at.clone());
        }
    }
    for group in cycles(imports) {
        let names: Vec<&str> = group.iter().map(String::as_str).collect();
        let at: Vec<String> = imports
            .iter()
            .filter(|((f, t), _)| group.contains(f) && group.contains(t))
            .map(|((f, t), at)| format!("\n    {f} -> {t}: {at}"))
            .collect();
        found.insert(format!("cycle among {}", names.join(", ")), at.concat());
    }
    found
}

#[test]
fn layers_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut imports = Imports::new();
    scan(&src, &src, &mut imports);
    let unknown: Vec<String> = imports
        .keys()
        .flat_map(|(f, t)| [f, t])
        .filter(|m| layer(m).is_none())
        .map(|m| format!("{m} (add it to a layer in src/architecture.rs)"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(unknown.is_empty(), "modules without a layer: {unknown:?}");
    let found = violations(&imports);
    let new: Vec<String> = found
        .iter()
        .filter(|(v, _)| !KNOWN.contains(&v.as_str()))
        .map(|(v, at)| format!("{v}: {at}"))
        .collect();
    let gone: Vec<&&str> = KNOWN.iter().filter(|k| !found.contains_key(**k)).collect();
    assert!(
        new.is_empty(),
        "imports that break the layers:\n{}",
        new.join("\n")
    );
    assert!(
        gone.is_empty(),
        "fixed, so take them off KNOWN in src/architecture.rs: {gone:?}"
    );
}

#[test]
fn groups_are_read_one_level_deep() {
    assert_eq!(
        targets_after_crate("{app::AppState,http::error::{ApiError,FieldError},schema};"),
        ["app", "http", "schema"]
    );
    assert_eq!(targets_after_crate("store::Database;"), ["store"]);
}

/// Files past this many lines say why in their module doc (STYLE.md
/// habit 2: a file past ~500 lines is asking to be split).
const LONG_FILE: usize = 510;

/// Every file under `src/` longer than `LONG_FILE` lines, except those
/// whose opening `//!` lines say why with the words "500 lines".
fn long_files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("src/ reads") {
        let path = entry.expect("src/ reads").path();
        if path.is_dir() {
            long_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file reads");
            let lines = text.lines().count();
            let head: String = (text.lines())
                .take_while(|l| l.starts_with("//!"))
                .collect::<Vec<_>>()
                .join(" ");
            if lines > LONG_FILE && !head.contains("500 lines") {
                out.push(format!("{} ({lines} lines)", path.display()));
            }
        }
    }
}

#[test]
fn long_files_say_why() {
    let mut long = Vec::new();
    long_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut long);
    assert!(
        long.is_empty(),
        "split these, or say in their module doc why they pass 500 lines: {long:?}"
    );
}
