//! The operator lifecycle commands through the real binary: removing and unassigning accounts,
//! rotating keys with a grace period, and archiving pools, picked up by a running gateway at
//! its next configuration reload.

use std::time::Duration;

use bytes::Bytes;
use codex_pooler_core::request::RouteClass;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::support::*;

const PATH: &str = "/backend-api/codex/responses";
const MODELS: &str = "/backend-api/codex/models";

/// The status and error code of a `GET /models` with `key`: answered by the gateway itself, so
/// probing with it sends nothing upstream.
async fn probe(url: &str, key: &str) -> (u16, String) {
    let auth = format!("Bearer {key}");
    let reply = send(
        "GET",
        &format!("{url}{MODELS}"),
        &[("authorization", &auth)],
        "",
    )
    .await;
    let code = if reply.status == 200 {
        String::new()
    } else {
        reply.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    (reply.status, code)
}

/// Pauses the key `marker` and waits until the gateway refuses it: the reload that did so also
/// holds every configuration change written before.
async fn await_reload(pool: &TestPool, url: &str, marker: &str) {
    cli_ok(&pool.data, &["keys", "pause", &marker[7..19]]);
    eventually_async("the reload that pauses the marker key", || async {
        probe(url, marker).await == (401, "api_key_paused".to_owned())
    })
    .await;
}

/// `codex-pooler ARGS` fails with exactly `message` on stderr and nothing on stdout.
fn cli_fails(pool: &TestPool, args: &[&str], message: &str) {
    let out = cli(&pool.data, args);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("error: {message}\n")
    );
    assert!(out.stdout.is_empty(), "{args:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn removed_and_unassigned_accounts_get_no_traffic_and_a_live_stream_finishes() {
    let pool = TestPool::new(&["acct-a", "acct-b", "acct-c"], |_, _| {});
    // Slow streams, so one is still running while its account is removed.
    pool.fake.update_config(|c| {
        c.chunk_delay = Duration::from_millis(100);
        c.text_deltas = 30;
    });
    cli_ok(&pool.data, &["pools", "create", "other"]);
    let marker = create_key(&pool.data, "team");
    let gateway = pool.gateway();
    let url = gateway.url();

    // A streaming turn starts; its account is the one to remove.
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let request = http::Request::post(format!("{url}{PATH}"))
        .header("authorization", format!("Bearer {}", pool.key))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(responses_body(
            "gpt-5.1-codex",
            "hi",
        ))))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let first = body.frame().await.expect("a first frame").unwrap();
    let mut streamed = first.into_data().unwrap().to_vec();
    let serving = pool.last_account_on(PATH);
    let index = pool
        .creds
        .iter()
        .position(|c| c.account_id == serving)
        .unwrap();
    let removed = (index + 1).to_string();
    let others: Vec<usize> = (0..3).filter(|i| *i != index).collect();
    let unassigned = (others[0] + 1).to_string();
    let kept = &pool.creds[others[1]].account_id;

    let out = cli_ok(&pool.data, &["upstreams", "remove", &removed]);
    assert_eq!(
        out,
        format!(
            "removed upstream {removed} ({serving}@example.com): its tokens are deleted and it \
             serves no pool\n"
        )
    );
    // The other account also serves `other`, then leaves `team`.
    let assigned = cli_ok(
        &pool.data,
        &[
            "upstreams",
            "assign",
            &unassigned,
            "--pool",
            "other",
            "--json",
        ],
    );
    let assigned: serde_json::Value = serde_json::from_str(&assigned).unwrap();
    assert_eq!(assigned["pools"], serde_json::json!(["team", "other"]));
    let out = cli_ok(
        &pool.data,
        &["upstreams", "unassign", &unassigned, "--pool", "team"],
    );
    assert!(out.ends_with("now serves pools other\n"), "{out}");
    await_reload(&pool, &url, &marker).await;

    // The turn that was streaming when its account was removed ends normally.
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            streamed.extend_from_slice(&data);
        }
    }
    let streamed = String::from_utf8(streamed).unwrap();
    assert!(streamed.contains("response.completed"), "{streamed}");

    // Every later turn goes to the one account left in the pool.
    pool.fake.update_config(|c| c.chunk_delay = Duration::ZERO);
    pool.fake.clear_seen();
    for i in 0..6 {
        let reply = post_responses(
            &url,
            PATH,
            &pool.key,
            &responses_body("gpt-5.1-codex", &format!("turn {i}")),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let served: Vec<String> = pool
        .turns()
        .into_iter()
        .filter_map(|r| r.chatgpt_account_id)
        .collect();
    assert_eq!(served, vec![kept.clone(); 6]);
    gateway.stop();

    // The removed account is a tombstone: listed only with --all.
    let listed = cli_ok(&pool.data, &["upstreams", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let ids: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert!(!ids.contains(&removed.parse().unwrap()), "{listed}");
    assert!(!cli_ok(&pool.data, &["upstreams", "list"]).contains("removed"));
    let all = cli_ok(&pool.data, &["upstreams", "list", "--all", "--json"]);
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    let tomb = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"].as_i64() == removed.parse().ok())
        .expect("listed with --all");
    assert_eq!(tomb["lifecycle"], "removed", "{tomb}");
    assert_eq!(tomb["pools"], serde_json::json!([]), "{tomb}");
    assert!(!all.to_string().contains("token"), "metadata only: {all}");

    // Records still name the removed account.
    let records = stored_records(&pool.data).await;
    assert!(
        records
            .iter()
            .any(|r| r.account.map(|a| a.0.to_string()) == Some(removed.clone())),
        "a record of the removed account's turn"
    );

    // The error paths, each with its message.
    cli_fails(
        &pool,
        &["upstreams", "remove", &removed],
        &format!("account {removed} was removed"),
    );
    cli_fails(
        &pool,
        &["upstreams", "assign", &removed, "--pool", "team"],
        &format!("account {removed} was removed"),
    );
    cli_fails(
        &pool,
        &["upstreams", "remove", "99"],
        "account 99 not found",
    );
    cli_fails(
        &pool,
        &["upstreams", "unassign", &unassigned, "--pool", "team"],
        &format!("upstream {unassigned} is not in pool team"),
    );
    cli_fails(
        &pool,
        &["upstreams", "unassign", "99", "--pool", "team"],
        "account 99 not found",
    );
    cli_fails(
        &pool,
        &["upstreams", "assign", &unassigned, "--pool", "nope"],
        "no pool named \"nope\"; create it with `codex-pooler pools create nope`",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_keys_old_secret_works_during_the_grace_then_gets_invalid_api_key() {
    let pool = TestPool::new(&["acct-rot"], |_, _| {});
    let instant = create_key(&pool.data, "team");
    let gateway = pool.gateway();
    let url = gateway.url();
    let prefix = pool.key[7..19].to_owned();

    let out = cli_ok(
        &pool.data,
        &["keys", "rotate", &prefix, "--grace-secs", "5"],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let id = cli_ok(&pool.data, &["keys", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&id).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["prefix"] == prefix.as_str())
        .expect("same prefix");
    assert_eq!(
        lines[0],
        format!(
            "rotated key {prefix} (id {}); the old secret works for 5 more seconds; the new one \
             is shown only once:",
            entry["id"]
        )
    );
    assert!(
        entry["previous_secret_until"].as_i64().is_some(),
        "the grace shows in keys list: {entry}"
    );
    let new = lines[1].to_owned();
    assert_eq!(&new[7..19], prefix, "the key keeps its prefix and id");
    assert_ne!(new, pool.key);
    assert!(!id.contains(&new), "keys list never shows a key");

    // Once reloaded both secrets work, the old one for the grace period only.
    eventually_async("the new secret", || async {
        probe(&url, &new).await.0 == 200
    })
    .await;
    let old = post_responses(
        &url,
        PATH,
        &pool.key,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(old.status, 200, "{}", old.body);
    let served = post_responses(&url, PATH, &new, &responses_body("gpt-5.1-codex", "hi")).await;
    assert_eq!(served.status, 200, "{}", served.body);
    // After it, the old secret is a wrong one, with no reload needed.
    eventually_async("the end of the grace", || async {
        probe(&url, &pool.key).await == (401, "invalid_api_key".to_owned())
    })
    .await;
    let refused = post_responses(
        &url,
        PATH,
        &pool.key,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.json(),
        serde_json::json!({"error": {
            "message": "missing or invalid Pool API key",
            "type": "authentication_error",
            "param": null,
            "code": "invalid_api_key",
        }})
    );
    assert_eq!(probe(&url, &new).await.0, 200);

    // Without grace the old secret is refused from the reload on.
    let out = cli_ok(&pool.data, &["keys", "rotate", &instant[7..19]]);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .contains("the old secret is refused from now on"),
        "{out}"
    );
    let newer = out.lines().last().unwrap().to_owned();
    eventually_async("the rotation without grace", || async {
        probe(&url, &instant).await == (401, "invalid_api_key".to_owned())
    })
    .await;
    assert_eq!(probe(&url, &newer).await.0, 200);
    gateway.stop();

    // Both keys' records stay under their ids.
    let records = stored_records(&pool.data).await;
    let key_id = entry["id"].as_i64().unwrap();
    assert_eq!(
        records
            .iter()
            .filter(|r| r.key.0 == key_id && r.route == RouteClass::Responses && r.status == 200)
            .count(),
        2,
        "the old and the new secret's turns are the same key's"
    );

    // A revoked key cannot be rotated; an unknown one is not found.
    cli_ok(&pool.data, &["keys", "revoke", &prefix]);
    cli_fails(
        &pool,
        &["keys", "rotate", &prefix],
        &format!("key {prefix} is revoked; create a new one"),
    );
    cli_fails(
        &pool,
        &["keys", "rotate", "000000000000"],
        "no key with prefix or id \"000000000000\"",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archived_pool_refuses_its_keys_and_is_never_enabled_again() {
    let pool = TestPool::new(&["acct-arch"], |_, _| {});
    cli_ok(&pool.data, &["pools", "create", "spare"]);
    let marker = create_key(&pool.data, "spare");
    let gateway = pool.gateway();
    let url = gateway.url();
    let body = responses_body("gpt-5.1-codex", "hi");
    let ok = post_responses(&url, PATH, &pool.key, &body).await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    let out = cli_ok(&pool.data, &["pools", "disable", "team"]);
    assert_eq!(
        out,
        "pool team is now disabled: its keys get pool_disabled until it is enabled\n"
    );
    let out = cli_ok(&pool.data, &["pools", "archive", "team", "--json"]);
    let archived: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(archived["status"], "archived", "{archived}");
    assert_eq!(archived["keys"], 1, "{archived}");
    await_reload(&pool, &url, &marker).await;

    let refused = post_responses(&url, PATH, &pool.key, &body).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        refused.json(),
        serde_json::json!({"error": {
            "message": "the pool behind this API key is disabled",
            "type": "invalid_request_error",
            "param": null,
            "code": "pool_disabled",
        }})
    );
    assert_eq!(pool.turns().len(), 1, "nothing more went upstream");
    gateway.stop();

    // Hidden from `pools list` unless --all.
    let listed = cli_ok(&pool.data, &["pools", "list"]);
    assert!(!listed.contains("team"), "{listed}");
    assert!(listed.contains("spare"), "{listed}");
    let all = cli_ok(&pool.data, &["pools", "list", "--all", "--json"]);
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    let slugs: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["team", "spare"]);

    let never = "pool team is archived for good and cannot be enabled again; create a new pool";
    cli_fails(&pool, &["pools", "enable", "team"], never);
    cli_fails(
        &pool,
        &["pools", "disable", "team"],
        "pool team is archived for good and cannot be disabled again; create a new pool",
    );
    cli_fails(
        &pool,
        &["pools", "archive", "nope"],
        "no pool named \"nope\"; create it with `codex-pooler pools create nope`",
    );
    // A disabled pool is enabled again.
    cli_ok(&pool.data, &["pools", "disable", "spare"]);
    assert_eq!(
        cli_ok(&pool.data, &["pools", "enable", "spare"]),
        "pool spare is now active: its keys are served again\n"
    );
}

#[test]
fn set_waits_changes_only_the_waits_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    cli_ok(&data, &["pools", "create", "p"]);
    let out = cli_ok(
        &data,
        &[
            "pools",
            "set-waits",
            "p",
            "--busy-wait-secs",
            "5",
            "--pin-wait-secs",
            "2",
        ],
    );
    assert_eq!(out, "pool p now waits busy 5s and pin 2s\n");
    let out = cli_ok(
        &data,
        &["pools", "set-waits", "p", "--pin-wait-secs", "default"],
    );
    assert_eq!(out, "pool p now waits busy 5s and pin default\n");
    let json = cli_ok(&data, &["pools", "list", "--json"]);
    let pools: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(pools[0]["busy_wait_secs"], 5, "{pools}");
    assert!(pools[0]["pin_wait_secs"].is_null(), "{pools}");

    let none = cli(&data, &["pools", "set-waits", "p"]);
    assert!(!none.status.success());
    assert_eq!(
        String::from_utf8_lossy(&none.stderr),
        "error: give --busy-wait-secs or --pin-wait-secs (a number of seconds or default)\n"
    );
    let bad = cli(
        &data,
        &["pools", "set-waits", "p", "--busy-wait-secs", "soon"],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("expected a number of seconds or default, not \"soon\""),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_on_a_rotated_keys_old_secret_closes_when_the_grace_ends() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    use crate::websocket::{
        RESPONSES, closed, connect, create, exchange, fake_for, kinds, pool_of,
    };

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let creds = [fake_credentials("acct-ws-rot", "ws-rot@example.com")];
    let fake = fake_for(&creds, |_| {});
    let key = pool_of(dir.path(), &data, &fake, &creds);
    let gateway = Gateway::start(&data, &[]);
    let base = gateway.url();
    let mut old = connect(&base, RESPONSES, Some(&key)).await.unwrap();
    let served = exchange(&mut old, create(serde_json::json!({}))).await;
    assert_eq!(kinds(&served).last(), Some(&"response.completed"));

    let out = cli_ok(&data, &["keys", "rotate", &key[7..19], "--grace-secs", "5"]);
    let new = out.lines().last().unwrap().to_owned();
    eventually_async("the new secret", || async {
        probe(&base, &new).await.0 == 200
    })
    .await;
    let mut fresh = connect(&base, RESPONSES, Some(&new)).await.unwrap();
    // The session on the old secret keeps serving during the grace, then is closed like a
    // revoked key's, without a reload.
    let during = exchange(&mut old, create(serde_json::json!({}))).await;
    assert_eq!(kinds(&during).last(), Some(&"response.completed"));
    let (code, reason) = closed(&mut old).await;
    assert_eq!(
        (code, reason.as_str()),
        (CloseCode::Policy, "invalid_api_key")
    );
    // The session on the new secret goes on.
    let after = exchange(&mut fresh, create(serde_json::json!({}))).await;
    assert_eq!(kinds(&after).last(), Some(&"response.completed"));
    assert!(
        connect(&base, RESPONSES, Some(&key)).await.is_err(),
        "the old secret opens nothing any more"
    );
    gateway.stop();
}
