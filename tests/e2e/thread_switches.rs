//! Thread switches over HTTP, measured from the fake's request log: a multi-turn real-CLI
//! thread (`codex exec`, then `codex exec resume --last` several times) through a pool of 3
//! accounts, with other threads' traffic in between, stays on one account; so does the same
//! request shape replayed without any session header, which upstream sees with one stable
//! derived `session-id` (scoped to the pool and key, never the client's own value).
//!
//! The figures are printed (run with `--nocapture`) and reported in `docs/routing.md`.

use std::collections::BTreeSet;

use codex_pooler_fake_upstream::SeenRequest;

use crate::codex::{codex_binaries, run_codex, write_config};
use crate::support::*;

/// CLI turns after the first (`codex exec resume --last`).
const RESUMES: usize = 4;
/// Unrelated one-turn threads sent between two turns of the measured thread.
const NOISE: usize = 6;

/// How one thread went: its turns' accounts in order.
struct Thread {
    accounts: Vec<String>,
}

impl Thread {
    fn of(turns: &[SeenRequest]) -> Self {
        Self {
            accounts: turns
                .iter()
                .map(|r| r.chatgpt_account_id.clone().unwrap_or_default())
                .collect(),
        }
    }

    fn distinct(&self) -> usize {
        self.accounts.iter().collect::<BTreeSet<_>>().len()
    }

    fn switches(&self) -> usize {
        self.accounts.windows(2).filter(|w| w[0] != w[1]).count()
    }

    fn report(&self, label: &str) {
        eprintln!(
            "thread switches ({label}): {} turns, {} switches, {} distinct accounts",
            self.accounts.len(),
            self.switches(),
            self.distinct()
        );
    }
}

/// Sends `NOISE` unrelated one-turn threads, each its own fingerprint.
async fn noise(gateway: &Gateway, key: &str, round: usize) {
    for i in 0..NOISE {
        let body = responses_body("gpt-5.1-codex", &format!("noise {round} {i}"));
        let reply =
            post_responses(&gateway.url(), "/backend-api/codex/responses", key, &body).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

/// The model turns upstream saw whose body carries `prompt_cache_key`.
fn turns_of(pool: &TestPool, prompt_cache_key: &str) -> Vec<SeenRequest> {
    pool.turns()
        .into_iter()
        .filter(|r| {
            r.body.as_ref().and_then(|b| b["prompt_cache_key"].as_str()) == Some(prompt_cache_key)
        })
        .collect()
}

/// Headers of the CLI's captured request a replay leaves out: the gateway's own (credentials,
/// framing) and every one naming the session or thread.
const NOT_REPLAYED: &[&str] = &[
    "authorization",
    "chatgpt-account-id",
    "host",
    "content-length",
    "session-id",
    "session_id",
    "thread-id",
    "conversation_id",
    "x-client-request-id",
    "x-codex-window-id",
    "x-codex-turn-metadata",
    "x-codex-turn-state",
];

/// Replays the CLI's first request of a thread as a new thread `thread` (its own
/// `prompt_cache_key`), `turns` times with a growing input, without any session header: the
/// model turns upstream saw.
async fn replay_without_session(
    pool: &TestPool,
    gateway: &Gateway,
    key: &str,
    captured: &SeenRequest,
    thread: &str,
) -> Vec<SeenRequest> {
    let mut body = captured.body.clone().expect("a JSON body");
    body["prompt_cache_key"] = thread.into();
    // The CLI repeats its thread id in `client_metadata`; a client without session ids has none.
    body.as_object_mut().unwrap().remove("client_metadata");
    let auth = format!("Bearer {key}");
    let mut headers: Vec<(&str, &str)> = captured
        .headers
        .iter()
        .filter(|(name, _)| !NOT_REPLAYED.contains(&name.as_str()))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    headers.push(("authorization", &auth));
    let url = format!("{}/backend-api/codex/responses", gateway.url());
    for turn in 0..=RESUMES {
        if turn > 0 {
            let input = body["input"].as_array_mut().unwrap();
            input.push(serde_json::json!({"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": format!("answer {turn}")}]}));
            input.push(serde_json::json!({"type": "message", "role": "user",
                "content": [{"type": "input_text", "text": format!("turn {turn}")}]}));
        }
        let reply = send("POST", &url, &headers, body.to_string()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        noise(gateway, key, 100 + turn).await;
    }
    turns_of(pool, thread)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_turn_cli_thread_stays_on_one_account_with_and_without_session_ids() {
    // `rotation` moves each new request one account further, so a thread that lost its pin
    // would switch on every turn; the default strategy is measured too.
    for (codex, strategy) in codex_binaries()
        .into_iter()
        .flat_map(|c| [(c.clone(), "rotation"), (c, "default")])
    {
        let pool = TestPool::new(&["acct-a", "acct-b", "acct-c"], |_, _| {});
        cli_ok(&pool.data, &["pools", "set-strategy", "team", strategy]);
        let (key, dir) = (&pool.key, &pool.dir);
        // A second key of the pool, created before the gateway loads the store.
        let other_key = create_key(&pool.data, "team");
        let gateway = pool.gateway();
        let home = dir.path().join("codex-home");
        write_config(&home, &format!("{}/backend-api/codex", gateway.url()));

        // With session ids: the real CLI, one exec and several resumes.
        for turn in 0..=RESUMES {
            let prompt = format!("turn {turn}");
            let mut args = vec!["exec", "--skip-git-repo-check", "-s", "read-only"];
            if turn > 0 {
                args.extend(["resume", "--last"]);
            }
            args.push(&prompt);
            let out = run_codex(&codex, &home, key, &args);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            noise(&gateway, key, turn).await;
        }
        let cli: Vec<SeenRequest> = pool
            .turns()
            .into_iter()
            .filter(|r| r.header("originator") == Some("codex_exec"))
            .collect();
        assert_eq!(cli.len(), RESUMES + 1, "one request per turn");
        let sessions: BTreeSet<_> = cli.iter().map(|r| r.header("session-id")).collect();
        assert_eq!(
            sessions.len(),
            1,
            "the CLI keeps its session id: {sessions:?}"
        );
        let with = Thread::of(&cli);
        with.report(&format!(
            "{}, {strategy}, with session ids",
            codex.display()
        ));
        assert_eq!(with.distinct(), 1, "{:?}", with.accounts);

        // The other threads did spread over the pool: staying put is the pins' doing.
        let spread: BTreeSet<_> = pool
            .turns()
            .iter()
            .filter(|r| r.header("originator") != Some("codex_exec"))
            .filter_map(|r| r.chatgpt_account_id.clone())
            .collect();
        eprintln!(
            "{strategy}: other threads served by {} accounts",
            spread.len()
        );
        if strategy == "rotation" {
            assert_eq!(spread.len(), 3, "the other threads never spread");
        }

        // Without session ids: the CLI's request shape, replayed with none.
        let replayed = replay_without_session(&pool, &gateway, key, &cli[0], "thread-replay").await;
        assert_eq!(replayed.len(), RESUMES + 1);
        let without = Thread::of(&replayed);
        without.report(&format!(
            "{}, {strategy}, without session ids",
            codex.display()
        ));
        assert_eq!(without.distinct(), 1, "{:?}", without.accounts);
        let derived: BTreeSet<_> = replayed.iter().map(|r| r.header("session-id")).collect();
        assert_eq!(derived.len(), 1, "one derived session id: {derived:?}");
        let derived = derived
            .into_iter()
            .next()
            .flatten()
            .expect("a derived session-id");
        assert_eq!(derived.len(), 36, "{derived}");
        assert_ne!(derived, "thread-replay");
        for r in &replayed {
            assert!(r.header("thread-id").is_none() && r.header("session_id").is_none());
        }

        // The same thread under another key of the pool gets another session id.
        pool.fake.clear_seen();
        let other =
            replay_without_session(&pool, &gateway, &other_key, &cli[0], "thread-replay").await;
        let other_ids: BTreeSet<_> = other
            .iter()
            .map(|r| r.header("session-id").map(str::to_owned))
            .collect();
        assert!(
            !other_ids.contains(&Some(derived.to_owned())),
            "two keys share a derived session id"
        );
        gateway.stop();
    }
}
