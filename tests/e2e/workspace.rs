//! Workspace routing end to end: the gateway asks each account's `/wham/accounts/check`, and
//! sends that account's model traffic (HTTP, compaction, websocket) to the origin it names, with
//! the routing override it names; an account without constraints stays where it was configured.

use std::path::Path;
use std::time::{Duration, Instant};

use codex_pooler_fake_upstream::{
    FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle, SeenRequest,
};

use crate::support::*;
use crate::ws_client;

const TURNS: &str = "/backend-api/codex/responses";
const COMPACT: &str = "/backend-api/codex/responses/compact";
const CHECK: &str = "/backend-api/wham/accounts/check";

/// Model traffic `fake` saw for `account`: (method, path, routing override).
fn traffic(fake: &FakeUpstreamHandle, account: &str) -> Vec<(String, String, Option<String>)> {
    fake.seen()
        .into_iter()
        .filter(|r| r.path == TURNS || r.path == COMPACT)
        .filter(|r| r.chatgpt_account_id.as_deref() == Some(account))
        .map(|r: SeenRequest| (r.method, r.path, r.routing_override))
        .collect()
}

/// Waits (up to 20 s) until the gateway logged `count` discovered routes.
async fn discovered(log: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches("workspace route discovered").count() >= count {
            return;
        }
        assert!(Instant::now() < deadline, "no discovery logged:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn discovered_origin_and_override_apply_to_model_traffic() {
    let a = fake_credentials("acct-routed", "routed@example.com");
    let b = fake_credentials("acct-plain", "plain@example.com");
    // Fake 2 is the workspace backend account A is routed to; it knows A's token too.
    let fake2 = FakeUpstream::start(FakeConfig::with_accounts(vec![FakeAccount::new(
        &a.account_id,
        &a.access_token,
        "routed-on-2",
    )]))
    .unwrap();
    let fake1 = FakeUpstream::start(FakeConfig::with_accounts(vec![
        FakeAccount {
            workspace_backend_origin: Some(fake2.base_url()),
            account_routing_override: Some("us".to_owned()),
            ..FakeAccount::new(&a.account_id, &a.access_token, "routed-on-1")
        },
        FakeAccount::new(&b.account_id, &b.access_token, "plain-on-1"),
    ]))
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut keys = Vec::new();
    for (pool, creds) in [("a", &a), ("b", &b)] {
        cli_ok(&data, &["pools", "create", pool]);
        let path = write_file(dir.path(), &format!("{pool}.json"), &creds.auth_json);
        cli_ok(
            &data,
            &[
                "upstreams",
                "import",
                "--pool",
                pool,
                "--auth-json",
                path.to_str().unwrap(),
                "--base-url",
                &fake1.base_url(),
            ],
        );
        keys.push(create_key(&data, pool));
    }
    let (key_a, key_b) = (&keys[0], &keys[1]);
    let gateway = Gateway::start(&data, &["--usage-probe-interval-secs", "0"]);
    discovered(&data.with_extension("server.log"), 2).await;

    // Discovery went to the configured base, with each account's own credentials.
    let checks: Vec<SeenRequest> = fake1
        .seen()
        .into_iter()
        .filter(|r| r.path == CHECK)
        .collect();
    assert!(checks.len() >= 2, "{checks:?}");
    assert!(
        checks
            .iter()
            .all(|r| r.authorized && r.routing_override.is_none())
    );

    // A over HTTP: a turn and a compaction, both on fake 2 with the override.
    let body = responses_body("gpt-5.1-codex", "hi");
    let reply = post_responses(&gateway.url(), TURNS, key_a, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("Hello from routed-on-2"),
        "{}",
        reply.body
    );
    let compact = serde_json::json!({"model": "gpt-5.1-codex", "instructions": "x",
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": "hi"}]}]});
    let reply = post_responses(&gateway.url(), COMPACT, key_a, &compact.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // A over websocket: fake 2 as well.
    let mut socket = ws_client::open(&gateway.url(), key_a).await.unwrap();
    assert_eq!(
        ws_client::one_turn(&mut socket).await,
        "Hello from routed-on-2"
    );
    drop(socket);

    let us = Some("us".to_owned());
    let on_2 = traffic(&fake2, &a.account_id);
    let expected = [
        ("POST".to_owned(), TURNS.to_owned(), us.clone()),
        ("POST".to_owned(), COMPACT.to_owned(), us.clone()),
        ("GET".to_owned(), TURNS.to_owned(), us.clone()),
    ];
    for want in &expected {
        assert!(on_2.contains(want), "{want:?} not in {on_2:?}");
    }
    assert!(on_2.iter().all(|(_, _, o)| *o == us), "{on_2:?}");
    assert!(traffic(&fake1, &a.account_id).is_empty());

    // B has no constraint: fake 1, no override header, over HTTP and websocket.
    let reply = post_responses(&gateway.url(), TURNS, key_b, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("Hello from plain-on-1"),
        "{}",
        reply.body
    );
    let mut socket = ws_client::open(&gateway.url(), key_b).await.unwrap();
    assert_eq!(
        ws_client::one_turn(&mut socket).await,
        "Hello from plain-on-1"
    );
    drop(socket);
    let on_1 = traffic(&fake1, &b.account_id);
    assert!(
        on_1.contains(&("POST".to_owned(), TURNS.to_owned(), None))
            && on_1.contains(&("GET".to_owned(), TURNS.to_owned(), None)),
        "{on_1:?}"
    );
    assert!(on_1.iter().all(|(_, _, o)| o.is_none()), "{on_1:?}");
    assert!(traffic(&fake2, &b.account_id).is_empty());
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_discovery_answer_keeps_the_configured_base() {
    let pool = TestPool::new(&["acct-odd"], |_, account| {
        // An origin with a path is not an origin: the answer is refused.
        account.workspace_backend_origin = Some("https://elsewhere.example/backend-api".to_owned());
        account.account_routing_override = Some("us".to_owned());
    });
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let log = pool.data.with_extension("server.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("workspace routing discovery failed")
    {
        assert!(Instant::now() < deadline, "no discovery failure logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("origin_has_path"), "{logged}");
    assert!(
        !logged.contains(&pool.creds[0].access_token),
        "a token was logged"
    );

    // Still routable, on the configured base, without the override.
    let body = responses_body("gpt-5.1-codex", "hi");
    let reply = post_responses(&gateway.url(), TURNS, &pool.key, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        traffic(&pool.fake, "acct-odd"),
        [("POST".to_owned(), TURNS.to_owned(), None)]
    );
    gateway.stop();
}
