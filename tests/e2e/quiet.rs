//! Operator commands are quiet and scriptable: without `RUST_LOG`, a command that succeeds
//! writes its answer to stdout and nothing at all to stderr (no migration or SQL chatter), even
//! on its first run, when the database is created and migrated.

use std::process::Command;

use crate::support::*;

/// Runs a command with no log filter from the environment.
fn quiet(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(binary())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("CODEX_POOLER_DATABASE_URL")
        .env_remove("CODEX_POOLER_SECRET_KEY")
        .output()
        .expect("run codex-pooler")
}

#[test]
fn commands_write_nothing_to_stderr_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for args in [
        &["pools", "create", "team"][..],
        &["pools", "list"],
        &["keys", "create", "--pool", "team"],
        &["keys", "list"],
        &["upstreams", "list"],
        &["secrets", "status", "--json"],
    ] {
        let out = quiet(&data, args);
        assert!(out.status.success(), "{args:?} failed");
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "{args:?} wrote to stderr"
        );
    }
}
