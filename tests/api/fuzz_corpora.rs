//! The fuzz targets replayed over their committed inputs on every test run:
//! the minimized corpora (`fuzz/corpus/TARGET`) and the inputs that once
//! found a bug (`fuzz/regressions/TARGET`). The targets' bodies are the
//! very files the libFuzzer targets call (`fuzz/src`), included by path,
//! so this needs neither cargo-fuzz nor a nightly-only flag; the long
//! libFuzzer runs are `tests/faults/fuzz.sh long`.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
};

#[path = "../../fuzz/src/filter_parser.rs"]
mod filter_parser;
#[path = "../../fuzz/src/multipart.rs"]
mod multipart;
#[path = "../../fuzz/src/rules.rs"]
mod rules;
#[path = "../../fuzz/src/values.rs"]
mod values;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 4] = [
    ("filter_parser", filter_parser::run),
    ("multipart", multipart::run),
    ("rules", rules::run),
    ("values", values::run),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs `target` over every file in `dir` (none if it does not exist):
/// how many inputs ran, and the ones that panicked, with the panic.
fn replay(dir: &Path, target: Target) -> (usize, Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("entry").path()).collect();
    paths.sort();
    let mut failures = Vec::new();
    for path in &paths {
        let data = std::fs::read(path).expect("input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(&data))) {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {why}", path.display()));
        }
    }
    (paths.len(), failures)
}

#[test]
fn every_committed_fuzz_input_passes() {
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        let (corpus, mut failed) = replay(&fuzz_dir().join("corpus").join(name), target);
        // An empty or missing corpus would make this test pass vacuously.
        assert!(corpus >= 10, "fuzz/corpus/{name} holds {corpus} inputs");
        failures.append(&mut failed);
        let (_, mut failed) = replay(&fuzz_dir().join("regressions").join(name), target);
        failures.append(&mut failed);
    }
    assert!(
        failures.is_empty(),
        "fuzz inputs that fail:\n{}",
        failures.join("\n")
    );
}

/// The positive control: an input that breaks a target is reported.
#[test]
fn a_failing_fuzz_input_is_reported() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("fine"), b"title = 'x'").expect("write");
    std::fs::write(dir.path().join("bad"), b"boom").expect("write");
    let planted: Target = |data| assert!(data != b"boom", "planted failure");
    let (ran, failures) = replay(dir.path(), planted);
    assert_eq!(ran, 2);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("planted failure"), "{failures:?}");
}
