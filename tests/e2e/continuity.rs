//! Continuity end to end: a Codex CLI turn stays on the account holding its turn state, the next
//! turn moves when that account is paused, and hard pins fail with a recovery contract.

use std::time::{Duration, Instant};

use codex_pooler_fake_upstream::FakeUpstreamHandle;

use crate::codex::{codex_binaries, run_codex, write_config};
use crate::support::*;

/// Sends plain requests until the routing receipt shows `eligible` accounts (a reload happened).
pub(crate) async fn wait_for_eligible(gateway: &Gateway, key: &str, eligible: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let want = format!("eligible={eligible};");
    loop {
        let body = responses_body("gpt-5.1-codex", "probe");
        let reply =
            post_responses(&gateway.url(), "/backend-api/codex/responses", key, &body).await;
        let receipt = reply
            .headers
            .get("x-codex-pooler-route")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        if receipt.contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {want}: {receipt}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn turns(fake: &FakeUpstreamHandle) -> Vec<codex_pooler_fake_upstream::SeenRequest> {
    fake.seen()
        .into_iter()
        .filter(|r| {
            r.path == "/backend-api/codex/responses" && r.header("originator") == Some("codex_exec")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_tool_turn_stays_on_its_account_and_the_next_turn_moves() {
    for codex in codex_binaries() {
        let pool = TestPool::new(&["acct-a", "acct-b", "acct-c"], |i, a| {
            a.primary_used_percent = if i == 0 { 80.0 } else { 5.0 };
        });
        let (fake, key, data, dir) = (&pool.fake, &pool.key, &pool.data, &pool.dir);
        let gateway = pool.gateway();

        // Let the gateway see every account's quota once, so B and C look healthier than A.
        for i in 0..60 {
            let body = responses_body("gpt-5.1-codex", &format!("warm {i}"));
            post_responses(&gateway.url(), "/backend-api/codex/responses", key, &body).await;
            let seen: Vec<_> = fake
                .seen()
                .into_iter()
                .filter(|r| r.path == "/backend-api/codex/responses")
                .collect();
            if ["acct-a", "acct-b", "acct-c"].iter().all(|id| {
                seen.iter()
                    .any(|r| r.chatgpt_account_id.as_deref() == Some(*id))
            }) {
                break;
            }
        }

        // Start the turn on A: B and C are paused. The tool the model calls resumes them, so the
        // turn's second request finds two healthier accounts eligible; its turn state keeps it on A.
        cli_ok(data, &["upstreams", "pause", "2"]);
        cli_ok(data, &["upstreams", "pause", "3"]);
        wait_for_eligible(&gateway, key, 1).await;
        fake.clear_seen();
        let bin = binary().display();
        let d = data.display();
        let tool = format!(
            "{bin} --data-dir {d} upstreams resume 2 >/dev/null 2>&1 && {bin} --data-dir {d} upstreams resume 3 >/dev/null 2>&1 && sleep 1 && echo resumed"
        );
        let home = dir.path().join("codex-home");
        write_config(&home, &format!("{}/backend-api/codex", gateway.url()));
        let out = run_codex(
            &codex,
            &home,
            key,
            &[
                "exec",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                &format!("Please run this. RUN_TOOL: {tool}"),
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("Tool said:"), "{stdout}");
        assert!(stdout.contains("resumed"), "the tool did not run: {stdout}");
        let turn = turns(fake);
        assert_eq!(turn.len(), 2, "one tool round trip");
        assert!(
            turn.iter()
                .all(|r| r.chatgpt_account_id.as_deref() == Some("acct-a"))
        );
        assert!(
            turn[1].header("x-codex-turn-state").is_some(),
            "the CLI echoes the turn state"
        );
        let session = turn[0].header("session-id").unwrap().to_owned();

        // Between turns A is paused: the next turn of the same session moves (a soft pin).
        cli_ok(data, &["upstreams", "pause", "1"]);
        wait_for_eligible(&gateway, key, 2).await;
        fake.clear_seen();
        let out = run_codex(
            &codex,
            &home,
            key,
            &[
                "exec",
                "--skip-git-repo-check",
                "-s",
                "read-only",
                "resume",
                "--last",
                "And now?",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let next = turns(fake);
        assert!(!next.is_empty());
        assert_eq!(next[0].header("session-id"), Some(session.as_str()));
        assert!(
            next.iter()
                .all(|r| r.chatgpt_account_id.as_deref() != Some("acct-a"))
        );
        gateway.stop();
    }
}

/// The last model turn upstream saw (background catalog and usage reads are skipped).
fn last_turn(fake: &FakeUpstreamHandle) -> codex_pooler_fake_upstream::SeenRequest {
    fake.seen()
        .into_iter()
        .rev()
        .find(|r| r.path == "/backend-api/codex/responses")
        .expect("a model turn")
}

/// The `data:` JSON of the first SSE event of type `kind`.
fn sse_event(body: &str, kind: &str) -> serde_json::Value {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .find(|v| v["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn hard_pins_fail_with_recovery_and_soft_pins_move() {
    let pool = TestPool::new(&["acct-x", "acct-y"], |_, _| {});
    let (fake, key, data) = (&pool.fake, &pool.key, &pool.data);
    let gateway = pool.gateway();
    let url = format!("{}/backend-api/codex/responses", gateway.url());
    let auth = format!("Bearer {key}");
    let body = responses_body("gpt-5.1-codex", "first");

    let first = send(
        "POST",
        &url,
        &[("authorization", &auth), ("session-id", "thread-1")],
        body.clone(),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let turn_state = first.headers["x-codex-turn-state"]
        .to_str()
        .unwrap()
        .to_owned();
    let response_id = sse_event(&first.body, "response.created")["response"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner = last_turn(fake).chatgpt_account_id.unwrap();
    let owner_id = if owner == "acct-x" { "1" } else { "2" };

    // While the owner serves, every pinned request goes there.
    for _ in 0..5 {
        let again = send(
            "POST",
            &url,
            &[
                ("authorization", &auth),
                ("x-codex-turn-state", &turn_state),
            ],
            body.clone(),
        )
        .await;
        assert_eq!(again.status, 200);
        assert_eq!(
            last_turn(fake).chatgpt_account_id.as_deref(),
            Some(owner.as_str())
        );
        assert!(
            again.headers["x-codex-pooler-route"]
                .to_str()
                .unwrap()
                .contains("pin=turn_state")
        );
    }

    cli_ok(data, &["upstreams", "pause", owner_id]);
    wait_for_eligible(&gateway, key, 1).await;

    let pinned = send(
        "POST",
        &url,
        &[
            ("authorization", &auth),
            ("x-codex-turn-state", &turn_state),
        ],
        body.clone(),
    )
    .await;
    assert_eq!(pinned.status, 503, "{}", pinned.body);
    let error = &pinned.json()["error"];
    assert_eq!(error["code"], "pinned_account_unavailable");
    assert_eq!(error["param"], "turn_state");
    assert_eq!(error["reason"], "account_paused");
    assert_eq!(error["recovery_kind"], "restart_with_full_context");

    let follow_up = serde_json::json!({
        "model": "gpt-5.1-codex", "stream": true, "store": false, "previous_response_id": response_id,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "more"}]}],
    });
    let by_id = post_responses(
        &gateway.url(),
        "/backend-api/codex/responses",
        key,
        &follow_up.to_string(),
    )
    .await;
    assert_eq!(by_id.status, 503, "{}", by_id.body);
    assert_eq!(by_id.json()["error"]["param"], "previous_response_id");

    // The session alone is a soft pin: it moves to the other account, and says why.
    let moved = send(
        "POST",
        &url,
        &[("authorization", &auth), ("session-id", "thread-1")],
        body.clone(),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_ne!(
        last_turn(fake).chatgpt_account_id.as_deref(),
        Some(owner.as_str())
    );
    let receipt = moved.headers["x-codex-pooler-route"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(receipt.contains("skipped=account_paused"), "{receipt}");
    assert!(!receipt.contains("acct-x") && !receipt.contains("x@example.com"));
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn exhausted_pool_shows_the_codex_usage_limit_message() {
    for codex in codex_binaries() {
        let pool = TestPool::new(&["acct-p", "acct-q"], |_, a| a.usage_limit_reached = true);
        let (key, dir) = (&pool.key, &pool.dir);
        let gateway = pool.gateway();

        // Through the gateway directly: a pool-level 429 with the reset and Retry-After.
        let reply = post_responses(
            &gateway.url(),
            "/backend-api/codex/responses",
            key,
            &responses_body("gpt-5.1-codex", "hi"),
        )
        .await;
        assert_eq!(reply.status, 429, "{}", reply.body);
        let error = &reply.json()["error"];
        assert_eq!(error["type"], "usage_limit_reached");
        assert!(error["resets_at"].as_i64().unwrap() > 0);
        assert!(error["resets_in_seconds"].as_u64().unwrap() > 0);
        assert!(reply.headers.contains_key("retry-after"));

        // The Codex CLI shows its own usage-limit message.
        let home = dir.path().join("codex-home");
        write_config(&home, &format!("{}/backend-api/codex", gateway.url()));
        let out = run_codex(
            &codex,
            &home,
            key,
            &["exec", "--skip-git-repo-check", "-s", "read-only", "hi"],
        );
        assert!(!out.status.success());
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains("usage limit"), "{all}");
        gateway.stop();
    }
}
