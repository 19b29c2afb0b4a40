//! The `codex-pooler` binary starts and names its commands.
//!
//! Being an integration test of this package, it also makes Cargo build the binary whenever the
//! package's tests are built (Cargo builds a package's binaries for its integration tests), so
//! `cargo test --workspace` has `target/<profile>/codex-pooler` ready before the end-to-end
//! suite (`tests/e2e`, another package) runs it.

use std::process::Command;

#[test]
fn help_names_the_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_codex-pooler"))
        .arg("--help")
        .output()
        .expect("run codex-pooler --help");
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "fake-upstream"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}
