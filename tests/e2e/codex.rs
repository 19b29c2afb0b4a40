//! Running the real Codex CLI against a gateway.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Codex CLI versions every CLI test runs with: the pinned one (`$CODEX_BIN`, or the copy
/// `.ci/run` installs under `npm/`) and the newest tested one (`$CODEX_BIN_0171`, or
/// `npm-0171/`). A missing one fails the test, unless `CODEX_POOLER_SKIP_CODEX_CLI_TESTS=1` asks
/// to skip it (an empty list); `.ci/run` never sets it.
pub(crate) fn codex_binaries() -> Vec<PathBuf> {
    [("CODEX_BIN", "npm"), ("CODEX_BIN_0171", "npm-0171")]
        .into_iter()
        .filter_map(|(env, cached)| codex_binary(env, cached))
        .collect()
}

/// One installed Codex CLI: `$env`, else `~/.cache/codex-pooler/<cached>`.
fn codex_binary(env: &str, cached: &str) -> Option<PathBuf> {
    let candidates =
        std::env::var_os(env)
            .map(PathBuf::from)
            .into_iter()
            .chain(std::env::var_os("HOME").map(|h| {
                PathBuf::from(h)
                    .join(".cache/codex-pooler")
                    .join(cached)
                    .join("node_modules/.bin/codex")
            }));
    for candidate in candidates {
        if candidate.exists() {
            return Some(candidate);
        }
    }
    assert!(
        std::env::var("CODEX_POOLER_SKIP_CODEX_CLI_TESTS").as_deref() == Ok("1"),
        "the Codex CLI for {env} is missing: run `bash .ci/run` (it installs both tested \
         versions), set {env} to a codex binary, or set CODEX_POOLER_SKIP_CODEX_CLI_TESTS=1 to \
         skip these tests"
    );
    eprintln!("SKIPPED: Codex CLI for {env} not installed (CODEX_POOLER_SKIP_CODEX_CLI_TESTS=1)");
    None
}

/// Writes a `config.toml` pointing a custom provider at `base_url` into `home`.
pub(crate) fn write_config(home: &Path, base_url: &str) {
    let config = format!(
        r#"model = "gpt-5.1-codex"
model_provider = "pooler"

[model_providers.pooler]
name = "codex-pooler"
base_url = "{base_url}"
wire_api = "responses"
env_key = "CODEX_POOLER_KEY"
request_max_retries = 0
stream_max_retries = 0
"#
    );
    std::fs::create_dir_all(home.join("work")).unwrap();
    std::fs::write(home.join("config.toml"), config).unwrap();
}

/// Runs `codex <args>` with `home` as `CODEX_HOME` and `key` as the provider key.
pub(crate) fn run_codex(codex: &Path, home: &Path, key: &str, args: &[&str]) -> Output {
    Command::new(codex)
        .args(args)
        .current_dir(home.join("work"))
        .env("CODEX_HOME", home)
        .env("CODEX_POOLER_KEY", key)
        .env_remove("OPENAI_API_KEY")
        .env_remove("CODEX_API_KEY")
        .output()
        .expect("run codex")
}

/// `codex exec` with a read-only sandbox; fails the test if it fails; returns stdout.
pub(crate) fn codex_exec(
    codex: &Path,
    home: &Path,
    base_url: &str,
    key: &str,
    prompt: &str,
) -> String {
    write_config(home, base_url);
    let out = run_codex(
        codex,
        home,
        key,
        &["exec", "--skip-git-repo-check", "-s", "read-only", prompt],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "codex exec failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
