//! The real Codex CLI (`codex exec`, npm `@openai/codex`) through the gateway, then a search of
//! everything the gateway wrote for secrets and prompt text.

use std::path::{Path, PathBuf};

use codex_pooler_core::store::PoolStore;
use codex_pooler_server::store::SqlStore;

use crate::codex::{codex_binaries, codex_exec};
use crate::support::*;

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_exec_through_the_gateway_leaves_no_secret_behind() {
    for codex in codex_binaries() {
        let pool = TestPool::new(&["acct-alpha", "acct-beta"], |_, _| {});
        let (fake, key, creds, data, dir) =
            (&pool.fake, &pool.key, &pool.creds, &pool.data, &pool.dir);
        let gateway = pool.gateway();

        let prompts = [
            (
                "/backend-api/codex",
                "Say hello, marker PROMPT-7f3c9a-BACKEND",
            ),
            ("/v1", "Say hello, marker PROMPT-7f3c9a-V1"),
        ];
        for (i, (base, prompt)) in prompts.iter().enumerate() {
            fake.clear_seen();
            let home = dir.path().join(format!("codex-home-{i}"));
            let answer = codex_exec(
                &codex,
                &home,
                &format!("{}{base}", gateway.url()),
                key,
                prompt,
            );
            // The answer names the account that served it; upstream agrees.
            let served = creds
                .iter()
                .find(|c| answer.contains(&format!("Hello from {}", c.account_id)))
                .unwrap_or_else(|| panic!("unexpected answer: {answer}"));
            let turns = pool.turns();
            assert!(!turns.is_empty());
            assert!(
                turns
                    .iter()
                    .all(|r| r.chatgpt_account_id.as_deref() == Some(&served.account_id))
            );
            // The CLI's own headers and body reached upstream unchanged.
            let turn = &turns[0];
            let header = |n: &str| {
                turn.headers
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(header("originator").as_deref(), Some("codex_exec"));
            assert!(header("session-id").is_some());
            assert!(
                turn.raw_body
                    .windows(prompt.len())
                    .any(|w| w == prompt.as_bytes())
            );
        }
        gateway.stop();

        // Records were written (flushed on shutdown), metadata only.
        let url = format!("sqlite://{}", data.join("codex-pooler.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        let records = store.recent_records(10).await.unwrap();
        assert!(records.len() >= 2, "{records:?}");
        for r in &records {
            assert_eq!(r.status, 200);
            assert!(r.account.is_some());
            assert_eq!(r.end, "completed");
            assert!(r.usage.is_some_and(|u| u.output_tokens > 0));
        }
        store.close().await.unwrap();

        // Nothing secret or private anywhere the gateway writes: database files, data directory,
        // server log.
        let mut needles: Vec<(&str, String)> = vec![("pool key", key.clone())];
        for (_, prompt) in &prompts {
            needles.push(("prompt", (*prompt).to_owned()));
        }
        for c in creds {
            needles.push(("access token", c.access_token.clone()));
            needles.push(("refresh token", c.refresh_token.clone()));
        }
        let mut searched = files(data);
        searched.push(gateway_log(data));
        assert!(
            searched
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "db"))
        );
        for path in &searched {
            let contents = std::fs::read(path).unwrap();
            for (what, needle) in &needles {
                let found = contents
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes());
                assert!(!found, "{what} found in {}", path.display());
            }
        }
    }
}

fn gateway_log(data: &Path) -> PathBuf {
    data.with_extension("server.log")
}

/// Auto-compaction (remote compaction v2: a `/responses` turn ending in a `compaction_trigger`
/// item) completes through the gateway, on the thread's account.
#[tokio::test(flavor = "multi_thread")]
async fn codex_auto_compaction_completes_through_the_gateway() {
    for codex in codex_binaries() {
        let pool = TestPool::new(&["acct-k1", "acct-k2"], |_, _| {});
        let (key, dir) = (&pool.key, &pool.dir);
        let gateway = pool.gateway();

        // Remote compaction is used by providers named "OpenAI"; a low limit forces it after the
        // first answer (the fake reports about one token per four bytes of request).
        let home = dir.path().join("codex-home");
        std::fs::create_dir_all(home.join("work")).unwrap();
        std::fs::write(
            home.join("config.toml"),
            format!(
                r#"model = "gpt-5.1-codex"
model_provider = "pooler"
model_auto_compact_token_limit = 2000

[model_providers.pooler]
name = "OpenAI"
base_url = "{}/backend-api/codex"
wire_api = "responses"
env_key = "CODEX_POOLER_KEY"
request_max_retries = 0
"#,
                gateway.url()
            ),
        )
        .unwrap();
        let out = crate::codex::run_codex(
            &codex,
            &home,
            key,
            &[
                "exec",
                "--skip-git-repo-check",
                "-s",
                "read-only",
                "Please run this. RUN_TOOL: echo compact-me",
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let turns = pool.turns();
        let compaction = turns
            .iter()
            .find(|r| {
                r.body
                    .as_ref()
                    .and_then(|b| b["input"].as_array())
                    .and_then(|items| items.last())
                    .is_some_and(|last| last["type"] == "compaction_trigger")
            })
            .expect("the CLI asked for remote compaction");
        // The compaction ran on the thread's account, like every other request of the thread.
        assert!(
            turns
                .iter()
                .all(|r| r.chatgpt_account_id == compaction.chatgpt_account_id),
            "the thread moved"
        );
        gateway.stop();
    }
}
