//! Client text that would become metadata is bounded: a model name of no model shape and a
//! session id of no id shape are refused, and a user agent of no identity shape is replaced by
//! the gateway's default identity, before any of them reaches a log line, a request record or
//! (for the refused ones) upstream.

use crate::support::*;

/// Ten kilobytes of client text behind a marker the searches look for.
fn long_text(marker: &str) -> String {
    format!("{marker}{}", "x".repeat(10 * 1024))
}

/// Asserts that `marker` is in no line of the gateway's log and no byte of its database files,
/// and that the log was written at all (an empty log would prove nothing).
fn assert_kept_nowhere(pool: &TestPool, marker: &str) {
    let log = std::fs::read_to_string(pool.data.with_extension("server.log")).unwrap();
    assert!(
        log.contains("DEBUG"),
        "the log is empty: nothing was searched"
    );
    assert!(!log.contains(marker), "{marker} reached the log");
    let db = std::fs::read(pool.data.join("codex-pooler.db")).unwrap();
    let wal = std::fs::read(pool.data.join("codex-pooler.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} reached the database files"
        );
    }
}

/// The request records the gateway wrote, read back after it stopped.
async fn records(pool: &TestPool) -> Vec<codex_pooler_core::record::RequestRecord> {
    stored_records(&pool.data).await
}

fn no_turn_went_upstream(pool: &TestPool) -> bool {
    pool.fake
        .seen()
        .iter()
        .all(|r| r.path != "/backend-api/codex/responses")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ten_kilobyte_model_is_refused_and_kept_nowhere() {
    let pool = TestPool::new(&["acct-a"], |_, _| {});
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let body = responses_body(&long_text("MODELTEXT"), "hi");
    let reply = post_responses(
        &gateway.url(),
        "/backend-api/codex/responses",
        &pool.key,
        &body,
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.json()["error"]["param"], "model");
    assert!(
        !reply.body.contains("MODELTEXT"),
        "the answer echoes the model"
    );
    gateway.stop();

    assert!(
        no_turn_went_upstream(&pool),
        "the refused turn went upstream"
    );
    let records = records(&pool).await;
    assert!(records.iter().any(|r| r.status == 400), "{records:?}");
    assert!(records.iter().all(|r| r.model.is_none()), "{records:?}");
    assert_kept_nowhere(&pool, "MODELTEXT");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ten_kilobyte_session_id_is_refused_and_kept_nowhere() {
    let pool = TestPool::new(&["acct-s"], |_, _| {});
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let auth = format!("Bearer {}", pool.key);
    let session = long_text("SESSIONTEXT");
    let url = format!("{}/backend-api/codex/responses", gateway.url());
    let body = responses_body("gpt-5.1-codex", "hi");
    for header in ["session-id", "x-codex-turn-state"] {
        let reply = send(
            "POST",
            &url,
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                (header, session.as_str()),
            ],
            body.clone(),
        )
        .await;
        assert_eq!(reply.status, 400, "{header}: {}", reply.body);
        assert_eq!(reply.json()["error"]["param"], header);
        assert!(
            !reply.body.contains("SESSIONTEXT"),
            "the answer echoes the id"
        );
    }
    // A session id of ordinary shape still routes.
    let reply = send(
        "POST",
        &url,
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("session-id", "019a4e2b-7c1d-7f00-8a00-0123456789ab"),
        ],
        body,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    gateway.stop();

    let turns: Vec<_> = pool
        .fake
        .seen()
        .into_iter()
        .filter(|r| r.path == "/backend-api/codex/responses")
        .collect();
    assert_eq!(turns.len(), 1, "a refused turn went upstream");
    let records = records(&pool).await;
    assert_eq!(
        records.iter().filter(|r| r.status == 400).count(),
        2,
        "{records:?}"
    );
    assert_kept_nowhere(&pool, "SESSIONTEXT");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ten_kilobyte_user_agent_is_replaced_and_kept_nowhere() {
    let pool = TestPool::new(&["acct-u"], |_, _| {});
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let auth = format!("Bearer {}", pool.key);
    let agent = long_text("AGENTTEXT");
    let reply = send(
        "POST",
        &format!("{}/backend-api/codex/responses", gateway.url()),
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("user-agent", agent.as_str()),
        ],
        responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    gateway.stop();

    let seen = pool.fake.seen();
    let turn = seen
        .iter()
        .find(|r| r.path == "/backend-api/codex/responses")
        .expect("the turn went upstream");
    let forwarded = turn.header("user-agent").unwrap_or_default();
    assert!(
        forwarded.starts_with("codex_cli_rs/"),
        "upstream saw {} bytes of user agent",
        forwarded.len()
    );
    assert_kept_nowhere(&pool, "AGENTTEXT");
}
