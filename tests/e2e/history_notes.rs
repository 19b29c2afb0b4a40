//! The Codex history and notes tools through the pool (`docs/routing.md`, "History and
//! notes"): a thread's notes and history go to its context owner, the first account that served
//! the thread; once the thread has moved off a paused owner, the tools are answered with
//! `pinned_account_unavailable` and never reach another account.
//!
//! The real CLI only calls these tools with a model that enables them (`token_budget`'s
//! `use_history_notes_extension`, set by the backend's catalog for some models), so these tests
//! send the CLI's request shape: a `POST` of the tool arguments plus
//! `context: {session_id, current_agent_name}`, with the `x-openai-tool-output-truncation-policy`
//! header (and `x-openai-encrypted-tool-arguments: true` on writes and searches).

use serde_json::{Value, json};

use crate::continuity::wait_for_eligible;
use crate::support::*;
use crate::wire_0171::HELPER_NOT_FOUND;

const CODEX: &str = "/backend-api/codex";
const SESSION: &str = "01a20bef-a46b-76a1-a2c1-ebf98185eea7";
const TRUNCATION: &str = r#"{"mode":"tokens","limit":10000}"#;

/// Calls tool endpoint `tail` (below `{codex}/`) with `args` and the session's context.
async fn tool(base: &str, key: &str, tail: &str, mut args: Value, encrypted: bool) -> Reply {
    args["context"] = json!({"session_id": SESSION, "current_agent_name": "/root"});
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("originator", "codex_cli_rs"),
        ("content-type", "application/json"),
        ("x-openai-tool-output-truncation-policy", TRUNCATION),
    ];
    if encrypted {
        headers.push(("x-openai-encrypted-tool-arguments", "true"));
    }
    send(
        "POST",
        &format!("{base}{CODEX}/{tail}"),
        &headers,
        args.to_string(),
    )
    .await
}

/// A model turn of the session.
async fn turn(base: &str, key: &str) -> Reply {
    let auth = format!("Bearer {key}");
    send(
        "POST",
        &format!("{base}{CODEX}/responses"),
        &[("authorization", &auth), ("session-id", SESSION)],
        responses_body("gpt-5.1-codex", "hello"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_and_history_follow_the_context_owner_and_a_moved_thread_is_refused() {
    let pool = TestPool::new(&["acct-a", "acct-b"], |_, _| {});
    let gateway = pool.gateway();
    let base = gateway.url();

    let first = turn(&base, &pool.key).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let owner = pool.last_account_on(&format!("{CODEX}/responses"));
    let (owner_id, other) = if owner == "acct-a" {
        ("1", "acct-b")
    } else {
        ("2", "acct-a")
    };

    // A note written and read back: both on the owner, headers as the client sent them.
    let write_path = format!("{CODEX}/alpha/notes/v2/write_file");
    let wrote = tool(
        &base,
        &pool.key,
        "alpha/notes/v2/write_file",
        json!({"path": "checkpoint.md", "text": "progress"}),
        true,
    )
    .await;
    assert_eq!(wrote.status, 200, "{}", wrote.body);
    assert_eq!(pool.last_account_on(&write_path), owner);
    let seen = pool
        .fake
        .seen()
        .into_iter()
        .rfind(|r| r.path == write_path)
        .unwrap();
    assert_eq!(
        seen.header("x-openai-tool-output-truncation-policy"),
        Some(TRUNCATION)
    );
    assert_eq!(
        seen.header("x-openai-encrypted-tool-arguments"),
        Some("true")
    );
    assert_eq!(
        seen.body.as_ref().unwrap()["context"]["session_id"],
        SESSION
    );
    let read = tool(
        &base,
        &pool.key,
        "alpha/notes/v2/read_file",
        json!({"path": "checkpoint.md"}),
        false,
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["text"], "progress");
    let read_path = format!("{CODEX}/alpha/notes/v2/read_file");
    assert_eq!(pool.last_account_on(&read_path), owner);
    assert_eq!(
        pool.fake
            .seen()
            .into_iter()
            .rfind(|r| r.path == read_path)
            .unwrap()
            .header("x-openai-encrypted-tool-arguments"),
        None,
        "nothing added"
    );

    // History is read where the thread was served.
    let history = tool(
        &base,
        &pool.key,
        "alpha/history/v2/list_windows",
        json!({}),
        false,
    )
    .await;
    assert_eq!(history.status, 200, "{}", history.body);
    assert_eq!(history.json()["served_by"], owner.as_str());
    assert_eq!(history.json()["windows"][0]["item_count"], 1);

    // The note lives on the owner only: the other account does not have it.
    let other_creds = pool.creds.iter().find(|c| c.account_id == other).unwrap();
    let direct = send(
        "POST",
        &format!("{}{read_path}", pool.fake.base_url()),
        &[
            ("authorization", &format!("Bearer {}", other_creds.access_token)),
            ("chatgpt-account-id", other),
        ],
        json!({"path": "checkpoint.md", "context": {"session_id": SESSION, "current_agent_name": "/root"}})
            .to_string(),
    )
    .await;
    assert_eq!(direct.status, 404);
    assert_eq!(direct.body, r#"{"detail":"Note not found"}"#);

    // The owner is paused: the thread's next turn moves to the other account ...
    cli_ok(&pool.data, &["upstreams", "pause", owner_id]);
    wait_for_eligible(&gateway, &pool.key, 1).await;
    let moved = turn(&base, &pool.key).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(pool.last_account_on(&format!("{CODEX}/responses")), other);
    pool.fake.clear_seen();

    // ... but its history and notes stay with the owner: refused, never sent elsewhere.
    for (tail, args, encrypted) in [
        ("alpha/history/v2/list_windows", json!({}), false),
        (
            "alpha/notes/v2/append_to_file",
            json!({"path": "checkpoint.md", "text": "more"}),
            true,
        ),
    ] {
        let refused = tool(&base, &pool.key, tail, args, encrypted).await;
        assert_eq!(refused.status, 503, "{tail}: {}", refused.body);
        let error = &refused.json()["error"];
        assert_eq!(error["code"], "pinned_account_unavailable", "{tail}");
        assert_eq!(error["param"], "context_owner", "{tail}");
        assert_eq!(error["reason"], "account_paused", "{tail}");
    }
    assert!(
        pool.fake.seen().iter().all(|r| !r.path.contains("/alpha/")),
        "a tool call went upstream: {:?}",
        pool.fake.seen()
    );

    // The owner is back: the tools reach it again, with the note written before.
    cli_ok(&pool.data, &["upstreams", "resume", owner_id]);
    wait_for_eligible(&gateway, &pool.key, 2).await;
    let again = tool(
        &base,
        &pool.key,
        "alpha/notes/v2/read_file",
        json!({"path": "checkpoint.md"}),
        false,
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["text"], "progress");
    assert_eq!(pool.last_account_on(&read_path), owner);

    // Any other `alpha/*` path is still the soft helper 404, never upstream.
    pool.fake.clear_seen();
    let unknown = tool(
        &base,
        &pool.key,
        "alpha/notes/v2/delete_file",
        json!({}),
        false,
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body, HELPER_NOT_FOUND);
    assert!(pool.fake.seen().iter().all(|r| !r.path.contains("/alpha/")));
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tool_shapes_are_refused_with_exact_bodies() {
    let pool = TestPool::new(&["acct-shape"], |_, _| {});
    let gateway = pool.gateway();
    let auth = format!("Bearer {}", pool.key);
    let url = format!("{}{CODEX}/alpha/notes/v2/read_file", gateway.url());

    // A session id of no id shape is refused by the gateway, before any account is chosen.
    let body = json!({"path": "a", "context": {"session_id": "bad id\u{1}", "current_agent_name": "/root"}});
    let refused = send("POST", &url, &[("authorization", &auth)], body.to_string()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body,
        r#"{"error":{"code":"invalid_request","message":"context.session_id must be at most 256 bytes of visible ASCII","param":"context.session_id","type":"invalid_request_error"}}"#
    );

    // Without a context, upstream refuses (the fake as the backend does) and the client gets it.
    let missing = send(
        "POST",
        &url,
        &[("authorization", &auth)],
        json!({"path": "a"}).to_string(),
    )
    .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body,
        r#"{"detail":"context.session_id is required"}"#
    );
    assert_eq!(
        pool.last_account_on(&format!("{CODEX}/alpha/notes/v2/read_file")),
        "acct-shape"
    );
    gateway.stop();
}
