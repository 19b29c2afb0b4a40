//! An account at upstream's concurrency cap: the gateway waits for one of its streams to end
//! instead of handing the client a code-less 429.

use std::time::{Duration, Instant};

use crate::support::{Gateway, TestPool, post_responses, responses_body};

const PATH: &str = "/backend-api/codex/responses";

/// One account that streams one answer at a time, slowly enough to overlap a second request.
fn capped_pool() -> TestPool {
    let pool = TestPool::new(&["acct-capped"], |_, account| {
        account.max_streams = Some(1);
    });
    pool.fake.update_config(|config| {
        config.chunk_delay = Duration::from_millis(150);
    });
    pool
}

/// Sends a first, slow turn and, once upstream streams it, a second one; returns the second's
/// reply and the first's status.
async fn overlapping_turns(pool: &TestPool, gateway: &Gateway) -> (crate::support::Reply, u16) {
    let url = gateway.url();
    let key = pool.key.clone();
    let first = tokio::spawn(async move {
        post_responses(&url, PATH, &key, &responses_body("gpt-5.1-codex", "first")).await
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while pool.turns().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the first turn never reached upstream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = post_responses(
        &gateway.url(),
        PATH,
        &pool.key,
        &responses_body("gpt-5.1-codex", "second"),
    )
    .await;
    let first = first.await.unwrap();
    (second, first.status)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_turn_refused_for_concurrency_waits_for_the_accounts_stream_to_end() {
    let pool = capped_pool();
    let gateway = pool.gateway();
    let (second, first) = overlapping_turns(&pool, &gateway).await;
    assert_eq!(first, 200);
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(
        second.body.contains("Hello from acct-capped"),
        "{}",
        second.body
    );
    // Upstream refused the second turn once, then served it after the first ended.
    assert_eq!(pool.turns().len(), 3);
    let receipt = second.headers["x-codex-pooler-route"].to_str().unwrap();
    assert!(receipt.contains("failover=429; waited="), "{receipt}");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_wait_the_refusal_reaches_the_client() {
    let pool = capped_pool();
    let gateway = Gateway::start(&pool.data, &["--busy-wait-secs", "0"]);
    let (second, first) = overlapping_turns(&pool, &gateway).await;
    assert_eq!(first, 200);
    assert_eq!(second.status, 429, "{}", second.body);
    // Upstream's code-less refusal, handed on as it came: not a usage limit.
    assert!(second.json()["error"]["code"].is_null(), "{}", second.body);
    assert_eq!(pool.turns().len(), 2);
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pools_own_busy_wait_replaces_the_gateways() {
    // The gateway never waits, the pool does: the second turn waits and is served.
    let pool = capped_pool();
    crate::support::cli_ok(
        &pool.data,
        &["pools", "set-waits", "team", "--busy-wait-secs", "60"],
    );
    let gateway = Gateway::start(&pool.data, &["--busy-wait-secs", "0"]);
    let (second, first) = overlapping_turns(&pool, &gateway).await;
    assert_eq!(first, 200);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(pool.turns().len(), 3);
    gateway.stop();

    // The gateway waits, the pool does not: the refusal reaches the client.
    let pool = capped_pool();
    crate::support::cli_ok(
        &pool.data,
        &["pools", "set-waits", "team", "--busy-wait-secs", "0"],
    );
    let gateway = pool.gateway();
    let (second, first) = overlapping_turns(&pool, &gateway).await;
    assert_eq!(first, 200);
    assert_eq!(second.status, 429, "{}", second.body);
    assert_eq!(pool.turns().len(), 2);
    gateway.stop();
}
