//! Quota evidence survives a restart: an account that answered `429 usage_limit_reached` is
//! shown exhausted by `upstreams quota`, and after the gateway restarts on the same data
//! directory no request tries it before its reset.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::*;

/// One turn on a new session (so no pin holds it anywhere).
async fn turn(gateway: &Gateway, pool: &TestPool, session: &str) -> Reply {
    send(
        "POST",
        &format!("{}/backend-api/codex/responses", gateway.url()),
        &[
            ("authorization", &format!("Bearer {}", pool.key)),
            ("content-type", "application/json"),
            ("accept", "text/event-stream"),
            ("session-id", session),
        ],
        responses_body("gpt-5.1-codex", "hi"),
    )
    .await
}

fn turns_on(pool: &TestPool, account: &str) -> usize {
    pool.turns()
        .iter()
        .filter(|r| r.chatgpt_account_id.as_deref() == Some(account))
        .count()
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_usage_limit_is_shown_and_still_avoided_after_a_restart() {
    let pool = TestPool::new(&["acct-limited", "acct-open"], |i, a| {
        a.usage_limit_reached = i == 0;
    });
    let no_probe = ["--usage-probe-interval-secs", "0"];

    // Before any traffic: no evidence at all.
    let empty: Value =
        serde_json::from_str(&cli_ok(&pool.data, &["upstreams", "quota", "--json"])).expect("JSON");
    assert_eq!(empty.as_array().map(Vec::len), Some(2), "{empty}");
    assert!(
        empty
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["has_evidence"] == false),
        "{empty}"
    );
    let table = cli_ok(&pool.data, &["upstreams", "quota"]);
    assert_eq!(table.matches("no evidence").count(), 2, "{table}");

    // The first run learns the limit: with `acct-open` paused, the one turn reaches
    // `acct-limited` and is refused.
    cli_ok(&pool.data, &["upstreams", "pause", "2"]);
    let gateway = Gateway::start(&pool.data, &no_probe);
    let refused = turn(&gateway, &pool, "first").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(turns_on(&pool, "acct-limited"), 1);
    let learnt_at = unix_now();
    // SIGTERM: the shutdown writes the evidence changed since the last flush.
    gateway.stop();

    let report: Value = serde_json::from_str(&cli_ok(
        &pool.data,
        &["upstreams", "quota", "--pool", "team", "--json"],
    ))
    .expect("JSON");
    let limited = &report[0];
    assert_eq!(limited["label"], "acct-limited@example.com", "{report}");
    assert_eq!(limited["has_evidence"], true, "{report}");
    let until = limited["exhausted_until"].as_i64().expect("exhausted");
    // The fake resets the primary window an hour after its answer.
    assert!(
        (learnt_at + 3_500..=learnt_at + 3_700).contains(&until),
        "{until} vs {learnt_at}: {report}"
    );
    assert_eq!(limited["usage_limit"]["until"], until, "{report}");
    assert_eq!(limited["usage_limit"]["source"], "error_body", "{report}");
    assert!(limited["usage_limit"]["age_seconds"].as_u64().unwrap() < 120);
    let short = limited["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "short")
        .expect("a short window");
    assert_eq!(short["used_percent"], 100.0, "{report}");
    assert_eq!(short["stale"], false, "{report}");
    // The paused account was never asked.
    assert_eq!(report[1]["label"], "acct-open@example.com", "{report}");
    assert_eq!(report[1]["lifecycle"], "paused", "{report}");
    assert_eq!(report[1]["has_evidence"], false, "{report}");
    let table = cli_ok(&pool.data, &["upstreams", "quota"]);
    assert_eq!(table.matches("no evidence").count(), 1, "{table}");
    // One account; the table says the same.
    let one: Value =
        serde_json::from_str(&cli_ok(&pool.data, &["upstreams", "quota", "1", "--json"]))
            .expect("JSON");
    assert_eq!(one.as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(one[0]["exhausted_until"], until);
    let table = cli_ok(&pool.data, &["upstreams", "quota", "1"]);
    assert!(table.contains("EXHAUSTED"), "{table}");
    assert!(table.contains("usage limit reached"), "{table}");
    assert!(table.contains("error_body"), "{table}");

    // After a restart on the same data directory no session tries the limited account...
    cli_ok(&pool.data, &["upstreams", "resume", "2"]);
    pool.fake.clear_seen();
    let gateway = Gateway::start(&pool.data, &no_probe);
    for i in 0..24 {
        let answer = turn(&gateway, &pool, &format!("second-{i}")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert_eq!(turns_on(&pool, "acct-open"), 24);
    // ...not even when it is the only account left: with `acct-open` paused again (the
    // gateway reloads its configuration every 100 ms), turns are refused by the gateway itself, upstream never asked.
    cli_ok(&pool.data, &["upstreams", "pause", "2"]);
    let mut tries = 0;
    loop {
        let answer = turn(&gateway, &pool, &format!("third-{tries}")).await;
        if answer.status != 200 {
            assert_eq!(answer.status, 503, "{}", answer.body);
            assert_eq!(answer.json()["error"]["code"], "no_eligible_account");
            break;
        }
        tries += 1;
        assert!(tries < 400, "the pause never reached the gateway");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        turns_on(&pool, "acct-limited"),
        0,
        "tried after the restart"
    );
    gateway.stop();
}
#[tokio::test(flavor = "multi_thread")]
async fn quota_names_an_unknown_pool_or_account() {
    let pool = TestPool::new(&["acct-1"], |_, _| {});
    let out = cli(&pool.data, &["upstreams", "quota", "7"]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: no upstream account 7; see `codex-pooler upstreams list`"
    );
    let out = cli(&pool.data, &["upstreams", "quota", "--pool", "nope"]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: no pool named \"nope\"; create it with `codex-pooler pools create nope`"
    );
}
