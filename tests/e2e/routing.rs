//! Routing across accounts with quota evidence, through the real binary.

use crate::support::*;

/// Three accounts: `healthy`, `full` (reports 100% of its primary window in headers) and
/// `limited` (answers `usage_limit_reached`). Ten sequential requests all succeed, and once the
/// evidence has been seen no request lands on the exhausted accounts again.
#[tokio::test(flavor = "multi_thread")]
async fn exhausted_accounts_are_avoided_once_seen() {
    let pool = TestPool::new(
        &["acct-healthy", "acct-full", "acct-limited"],
        |i, a| match i {
            1 => a.primary_used_percent = 100.0,
            2 => a.usage_limit_reached = true,
            _ => {}
        },
    );
    let key = &pool.key;
    let gateway = pool.gateway();

    let mut served = Vec::new();
    for i in 0..10 {
        let reply = post_responses(
            &gateway.url(),
            "/backend-api/codex/responses",
            key,
            &responses_body("gpt-5.1-codex", &format!("request {i}")),
        )
        .await;
        assert_eq!(reply.status, 200, "request {i}: {}", reply.body);
        assert!(
            reply.body.contains("response.completed"),
            "request {i} incomplete"
        );
        let who = reply
            .body
            .split("Hello from ")
            .nth(1)
            .map(|s| s.split(['"', ' ']).next().unwrap_or_default().to_owned());
        served.push(who.unwrap_or_default());
    }
    // Answers can only come from the healthy account or, once, from the full one (its 200
    // carries the evidence); the limited one never answers.
    let from_full = served.iter().filter(|s| s.as_str() == "acct-full").count();
    assert!(
        served
            .iter()
            .all(|s| s == "acct-healthy" || s == "acct-full"),
        "{served:?}"
    );
    assert!(from_full <= 1, "{served:?}");

    // Upstream saw each exhausted account at most once (counting model turns: background
    // catalog and usage reads reach upstream too).
    let seen = pool.turns();
    let hits = |id: &str| {
        seen.iter()
            .filter(|r| r.chatgpt_account_id.as_deref() == Some(id))
            .count()
    };
    assert!(
        hits("acct-full") <= 1,
        "full account hit {} times",
        hits("acct-full")
    );
    assert!(
        hits("acct-limited") <= 1,
        "limited account hit {} times",
        hits("acct-limited")
    );
    assert_eq!(
        hits("acct-healthy") + hits("acct-full") + hits("acct-limited"),
        seen.len()
    );

    // Upstream got the account's own token, never the Pool API key.
    for request in &seen {
        assert!(request.authorized, "upstream saw a wrong token");
        assert!(
            request
                .headers
                .iter()
                .all(|(_, v)| !v.contains(key.as_str())),
            "the Pool API key reached upstream"
        );
    }
    gateway.stop();
}

/// The client's session headers and body arrive upstream unchanged; `x-codex-turn-state`,
/// `openai-model` and the quota headers come back.
#[tokio::test(flavor = "multi_thread")]
async fn headers_and_body_pass_through() {
    let pool = TestPool::new(&["acct-1"], |_, _| {});
    let (fake, key) = (&pool.fake, &pool.key);
    let gateway = pool.gateway();

    let body = responses_body("gpt-5.1-codex", "pass me through");
    let auth = format!("Bearer {key}");
    let reply = send(
        "POST",
        &format!("{}/v1/responses", gateway.url()),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("session-id", "thread-123"),
            ("x-codex-window-id", "thread-123:0"),
            ("originator", "codex_exec"),
            ("cookie", "must-not-pass=1"),
        ],
        body.clone(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.headers.contains_key("x-codex-turn-state"));
    assert_eq!(reply.headers["openai-model"], "gpt-5.1-codex");
    assert!(reply.headers.contains_key("x-codex-primary-used-percent"));

    let seen = pool.turns();
    let upstream = seen.last().expect("upstream request");
    assert_eq!(upstream.path, "/backend-api/codex/responses");
    let header = |n: &str| {
        upstream
            .headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("session-id"), Some("thread-123"));
    assert_eq!(header("x-codex-window-id"), Some("thread-123:0"));
    assert_eq!(header("originator"), Some("codex_exec"));
    assert_eq!(header("chatgpt-account-id"), Some("acct-1"));
    assert_eq!(header("cookie"), None);
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(upstream.body.as_ref(), Some(&sent));

    // A zstd body (what the CLI's built-in provider sends) is decoded before forwarding.
    let compressed = ruzstd::encoding::compress_to_vec(
        body.as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let reply = send(
        "POST",
        &format!("{}/backend-api/codex/responses", gateway.url()),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("content-encoding", "zstd"),
        ],
        compressed,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let upstream = fake
        .seen()
        .into_iter()
        .rev()
        .find(|r| r.path == "/backend-api/codex/responses")
        .expect("upstream request");
    assert_eq!(upstream.body.as_ref(), Some(&sent));
    assert_eq!(upstream.header("content-encoding"), None);
    gateway.stop();
}
