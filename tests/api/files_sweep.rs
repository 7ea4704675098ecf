//! The daily sweep of stored files that no record names
//! (`files::sweep`, the job `__cairnFilesSweep__`).

use std::{
    path::Path,
    time::{Duration, SystemTime},
};

use serde_json::{Value, json};

use crate::{
    files::{create, form, record_dir, with_docs},
    helpers::assert_envelope,
};

/// Waits (at most 10 s) until `path` is gone.
async fn gone(path: &Path) {
    for _ in 0..200 {
        if !path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} is still there", path.display());
}

/// A file field taken out of a collection leaves its files on disk. The
/// daily sweep (`__cairnFilesSweep__`) removes those that no record names
/// and that are older than an hour, and waits for a backup's hold.
#[tokio::test]
async fn the_daily_sweep_removes_the_files_of_a_field_taken_out() {
    let (app, token, c) = with_docs("").await;
    let aged = create(
        &app,
        form(
            &[],
            &[("one", "a.txt", b"a".to_vec()), ("many", "b.txt", b"b".to_vec())],
        ),
    )
    .await;
    let recent = create(&app, form(&[], &[("one", "c.txt", b"c".to_vec())])).await;
    let fields: Vec<Value> = c["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"] != "one")
        .cloned()
        .collect();
    let resp = app
        .call(
            "PATCH",
            "/api/collections/docs",
            Some(&token),
            Some(json!({"fields": fields})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let file = |record: &Value, name: &Value| {
        record_dir(&app, &c, record["id"].as_str().unwrap()).join(name.as_str().unwrap())
    };
    let (taken_out, kept, recent) = (
        file(&aged, &aged["one"]),
        file(&aged, &aged["many"][0]),
        file(&recent, &recent["one"]),
    );
    assert!(
        taken_out.exists() && recent.exists(),
        "taking the field out removes nothing"
    );
    let age = |path: &Path| {
        let long_ago = SystemTime::now() - 2 * cairn::files::sweep::SETTLED;
        std::fs::File::open(path).unwrap().set_modified(long_ago).unwrap();
    };
    age(&taken_out);
    age(&kept);

    // Only superusers run jobs.
    let (_, user) = app.sign_up("sweeper@example.com", "sweeper-pass-1").await;
    for (who, status) in [(None, 401), (Some(user.as_str()), 403)] {
        let resp = app
            .call("POST", "/api/crons/__cairnFilesSweep__", who, None)
            .await;
        assert_envelope(resp, status).await;
    }
    let resp = app
        .call("POST", "/api/crons/__cairnFilesSweep__", Some(&token), None)
        .await;
    assert_eq!(resp.status(), 204);
    gone(&taken_out).await;
    // The job runs in the background; its body run here, to its end,
    // shows what it keeps: a file a record names, however old, and an
    // unnamed one younger than an hour (it may be an upload in flight).
    let sweep = || async {
        let catalog = app.state.schema.catalog();
        cairn::files::sweep::sweep_settled(&app.state.storage, &catalog, &app.state.store.data).await
    };
    sweep().await;
    assert!(kept.exists() && recent.exists());
    let resp = app
        .get(&format!(
            "/api/files/docs/{}/{}",
            aged["id"].as_str().unwrap(),
            aged["many"][0].as_str().unwrap()
        ))
        .await;
    assert_eq!(resp.status(), 200);

    // A backup copying files holds removals: the sweep's wait for it.
    age(&recent);
    let hold = app.state.storage.hold_removals();
    sweep().await;
    assert!(recent.exists(), "removed under a backup's hold");
    drop(hold);
    gone(&recent).await;
    assert!(kept.exists());
}
