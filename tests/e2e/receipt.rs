//! The routing receipt's account handle is keyed per deployment: `upstreams list` shows the
//! handle the receipt names, two deployments give the same store id different handles, and a
//! secret-key rotation keeps every handle.

use crate::support::*;

/// The handle the receipt of one routed turn names.
async fn receipt_handle(pool: &TestPool) -> String {
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let reply = post_responses(
        &gateway.url(),
        "/backend-api/codex/responses",
        &pool.key,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    gateway.stop();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let receipt = reply.headers["x-codex-pooler-route"].to_str().unwrap();
    receipt
        .split("; ")
        .find_map(|part| part.strip_prefix("account="))
        .unwrap_or_else(|| panic!("no account in {receipt}"))
        .to_owned()
}

/// The handle `upstreams list` shows for store id 1.
fn listed_handle(pool: &TestPool) -> String {
    let table = cli_ok(&pool.data, &["upstreams", "list"]);
    let row = table
        .lines()
        .find(|line| line.split_whitespace().next() == Some("1"))
        .unwrap_or_else(|| panic!("no account 1 in\n{table}"));
    row.split_whitespace().nth(1).expect("handle").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn handles_are_keyed_per_deployment_and_outlive_rotation() {
    let first = TestPool::new(&["acct-r"], |_, _| {});
    let second = TestPool::new(&["acct-r"], |_, _| {});
    let handle = receipt_handle(&first).await;
    assert!(handle.starts_with("acct_"), "{handle}");
    assert_eq!(listed_handle(&first), handle);
    let other = receipt_handle(&second).await;
    assert_eq!(listed_handle(&second), other);
    assert_ne!(
        handle, other,
        "two deployments share the handle of store id 1"
    );

    cli_ok(&first.data, &["secrets", "rotate"]);
    assert_eq!(listed_handle(&first), handle, "rotation changed the handle");
    assert_eq!(receipt_handle(&first).await, handle);
}
