//! The `codex-pooler` binary starts and answers `--help` for its commands.
//!
//! Being an integration test of this package, it also makes Cargo build the binary whenever the
//! package's tests are built (Cargo builds a package's binaries for its integration tests), so
//! `cargo test --workspace` has `target/<profile>/codex-pooler` ready before the end-to-end
//! suite (`tests/e2e`, another package) runs it.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_codex-pooler"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run codex-pooler");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn help_names_the_commands() {
    let top = help(&[]);
    for command in ["serve", "pools", "upstreams", "keys", "secrets"] {
        assert!(top.contains(command), "{command} missing from:\n{top}");
    }
    // Hidden from the list, still there: the fake backend the benchmarks start.
    assert!(help(&["fake-upstream"]).contains("--auth-json"));
}
