//! `/mcp` through the real binary with the official MCP Python SDK (PyPI `mcp`, pinned in
//! `.ci/run`): every tool called over Streamable HTTP with an owner's and an admin's MCP token,
//! scoping, the bearer checks, `/mcp` off without `--mcp`, the Host allow-list, and a canary:
//! no key, token or prompt in any answer.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

const PROMPT: &str = "mcp-canary-prompt-3f9a";

/// Calls every tool once, feeding ids from the lists to the reads; prints one JSON line.
const CLIENT: &str = r#"
import asyncio, json, os
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

hidden = json.loads(os.environ["MCP_HIDDEN"])

async def main():
    headers = {"Authorization": "Bearer " + os.environ["MCP_TOKEN"]}
    out = {}
    async with create_mcp_http_client(headers=headers) as http:
        async with streamable_http_client(os.environ["MCP_URL"], http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                out["tools"] = sorted(t.name for t in tools.tools)
                out["schemas"] = {t.name: t.input_schema for t in tools.tools}
                async def call(label, name, args):
                    r = await session.call_tool("codex_pooler_" + name, args)
                    text = "".join(c.text for c in r.content if getattr(c, "type", "") == "text")
                    out[label] = {"error": bool(r.is_error), "value": r.structured_content, "text": text}
                    return r.structured_content
                await call("status", "get_service_status", {})
                await call("pools", "list_pools", {})
                await call("pool", "get_pool", {"pool": "team"})
                await call("pool_other", "get_pool", {"pool": "other"})
                ups = await call("upstreams", "list_upstreams", {})
                await call("upstream", "get_upstream", {"upstream": ups["data"][0]["id"]})
                await call("upstream_hidden", "get_upstream", {"upstream": hidden["upstream"]})
                await call("explain", "explain_routing", {"pool": "team", "model": "gpt-5.1-codex"})
                await call("explain_other", "explain_routing", {"pool": "other", "model": "gpt-5.1-codex"})
                await call("runway", "get_quota_runway", {})
                await call("runway_team", "get_quota_runway", {"pool": "team"})
                keys = await call("keys", "list_pool_api_keys", {})
                await call("key", "get_pool_api_key", {"key": keys["data"][0]["id"]})
                await call("key_hidden", "get_pool_api_key", {"key": hidden["key"]})
                recs = await call("records", "list_request_records", {"limit": 10})
                await call("record", "get_request_record", {"record": recs["data"][0]["handle"]})
                await call("records_bad_limit", "list_request_records", {"limit": 0})
                events = await call("audit", "list_audit_events", {"limit": 500})
                await call("event", "get_audit_event", {"event": events["data"][0]["id"]})
                await call("event_hidden", "get_audit_event", {"event": hidden["event"]})
                ops = await call("operators", "list_operators", {})
                await call("operator", "get_operator", {"operator": ops["data"][0]["id"]})
                await call("operator_hidden", "get_operator", {"operator": hidden["operator"]})
    print(json.dumps(out))

asyncio.run(main())
"#;

/// Runs [`CLIENT`] with `token`; `hidden` names ids the caller must not see.
fn run_client(python: &std::path::Path, gateway: &Gateway, token: &str, hidden: &Value) -> Value {
    let output = Command::new(python)
        .args(["-c", CLIENT])
        .env("MCP_URL", format!("{}/mcp", gateway.url()))
        .env("MCP_TOKEN", token)
        .env("MCP_HIDDEN", hidden.to_string())
        .output()
        .expect("run the MCP client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the MCP client failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().expect("a result line");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"))
}

fn last_line(out: &str) -> String {
    out.lines().last().expect("output").trim().to_owned()
}

fn token(data: &std::path::Path, operator: &str, kind: &str) -> String {
    last_line(&cli_ok(
        data,
        &[
            "operators",
            "tokens",
            "create",
            "--operator",
            operator,
            "--kind",
            kind,
        ],
    ))
}

fn ok<'a>(result: &'a Value, label: &str) -> &'a Value {
    let answer = &result[label];
    assert_eq!(answer["error"], false, "{label}: {answer}");
    assert_eq!(
        serde_json::from_str::<Value>(answer["text"].as_str().unwrap()).unwrap(),
        answer["value"],
        "{label}: the text content is the structured content"
    );
    &answer["value"]
}

fn not_found(result: &Value, label: &str) -> String {
    let answer = &result[label];
    assert_eq!(answer["error"], true, "{label}: {answer}");
    assert_eq!(answer["value"]["error"]["code"], "not_found", "{label}");
    answer["value"]["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn slugs(list: &Value, field: &str) -> Vec<String> {
    let mut all: Vec<String> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect();
    all.sort();
    all.dedup();
    all
}

async fn post_mcp(gw: &str, token: &str, host: Option<&str>) -> Reply {
    let auth = format!("Bearer {token}");
    let mut headers = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    if !token.is_empty() {
        headers.push(("authorization", auth.as_str()));
    }
    if let Some(host) = host {
        headers.push(("host", host));
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "0"}}});
    send("POST", &format!("{gw}/mcp"), &headers, body.to_string()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_tools_scoping_auth_and_no_secrets() {
    let python = installed_client(
        "CODEX_POOLER_PYTHON",
        "venv/bin/python",
        "CODEX_POOLER_SKIP_MCP_TESTS",
        "the MCP Python SDK's venv",
    );
    let Some(python) = python else { return };
    let has_sdk = Command::new(&python)
        .args(["-c", "import mcp.client.streamable_http"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_sdk {
        assert!(
            std::env::var("CODEX_POOLER_SKIP_MCP_TESTS").as_deref() == Ok("1"),
            "the MCP Python SDK (PyPI `mcp`) is missing from {}: run `bash .ci/run` (it installs \
             it), or set CODEX_POOLER_SKIP_MCP_TESTS=1 to skip this test",
            python.display()
        );
        eprintln!("SKIPPED: the MCP Python SDK is not installed (CODEX_POOLER_SKIP_MCP_TESTS=1)");
        return;
    }

    let pool = TestPool::new(&["acct-mcp-a", "acct-mcp-b"], |_, _| {});
    // A second pool, with an account and a key of its own, that the admin must not see.
    cli_ok(&pool.data, &["pools", "create", "other"]);
    let other_creds = fake_credentials("acct-mcp-other", "other@example.com");
    let auth = write_file(pool.dir.path(), "other.json", &other_creds.auth_json);
    cli_ok(
        &pool.data,
        &[
            "upstreams",
            "import",
            "--pool",
            "other",
            "--auth-json",
            auth.to_str().unwrap(),
            "--base-url",
            &pool.fake.base_url(),
        ],
    );
    let other_key = create_key(&pool.data, "other");
    let owner_api = last_line(&cli_ok(
        &pool.data,
        &["operators", "create-owner", "--name", "root"],
    ));
    let owner = token(&pool.data, "root", "mcp");
    let alice_api = last_line(&cli_ok(
        &pool.data,
        &[
            "operators",
            "create-admin",
            "--name",
            "alice",
            "--pool",
            "team",
        ],
    ));
    let alice = token(&pool.data, "alice", "mcp");
    assert!(owner.starts_with("cxp-mcp-") && alice.starts_with("cxp-mcp-"));

    // Traffic first, on a gateway without --mcp: there /mcp is an unknown path.
    let plain = pool.gateway();
    let off = post_mcp(&plain.url(), &owner, None).await;
    assert_eq!(off.status, 404, "{}", off.body);
    let reply = post_responses(
        &plain.url(),
        "/backend-api/codex/responses",
        &pool.key,
        &responses_body("gpt-5.1-codex", PROMPT),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Stopping flushes the request records.
    plain.stop();

    let gateway = Gateway::start(&pool.data, &["--mcp"]);
    let gw = gateway.url();
    // An audit event of `team`, for the admin to see.
    let patched = send(
        "PATCH",
        &format!("{gw}/admin/api/v1/pools/team"),
        &[
            ("authorization", &format!("Bearer {owner_api}")),
            ("content-type", "application/json"),
        ],
        r#"{"v1_enabled":true}"#,
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);

    // The owner sees everything; its answers name what the admin must not see.
    let all = run_client(
        &python,
        &gateway,
        &owner,
        &json!({"upstream": 0, "key": 0, "event": 0, "operator": 0}),
    );
    let tools = all["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 15, "{tools:?}");
    assert!(
        tools
            .iter()
            .all(|t| t.as_str().unwrap().starts_with("codex_pooler_"))
    );
    assert_eq!(
        all["schemas"]["codex_pooler_get_pool"]["required"],
        json!(["pool"])
    );
    let status = ok(&all, "status");
    assert_eq!(
        (
            &status["store"],
            &status["role"],
            &status["pools"],
            &status["accounts"],
            &status["keys"]
        ),
        (
            &json!("ok"),
            &json!("owner"),
            &json!(2),
            &json!(3),
            &json!(2)
        ),
        "{status}"
    );
    assert_eq!(slugs(ok(&all, "pools"), "slug"), ["other", "team"]);
    assert_eq!(ok(&all, "pool_other")["slug"], "other");
    let upstreams = ok(&all, "upstreams");
    assert_eq!(
        slugs(upstreams, "label"),
        ["upstream-1", "upstream-2", "upstream-3"],
        "labels that are emails (the import's default) are not shown"
    );
    let other_upstream = upstreams["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["label"] == "upstream-3")
        .unwrap()["id"]
        .clone();
    let upstream = ok(&all, "upstream");
    assert_eq!(upstream["lifecycle"], "active", "{upstream}");
    assert_eq!(upstream["routing"][0]["routable"], true, "{upstream}");
    let explain = ok(&all, "explain");
    assert_eq!(explain["eligible"], 2, "{explain}");
    assert!(explain["chosen"].is_i64(), "{explain}");
    assert_eq!(ok(&all, "explain_other")["eligible"], 1);
    let runway_slugs: Vec<_> = ok(&all, "runway")["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].clone())
        .collect();
    assert_eq!(runway_slugs, [json!("team"), json!("other")]);
    assert_eq!(ok(&all, "runway_team")["data"][0]["slug"], "team");
    let keys = ok(&all, "keys");
    assert_eq!(slugs(keys, "pool"), ["other", "team"]);
    let other_key_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["pool"] == "other")
        .unwrap()["id"]
        .clone();
    let key = ok(&all, "key");
    assert!(
        key["prefix"].is_string() && key.get("hash").is_none(),
        "{key}"
    );
    let records = ok(&all, "records");
    assert_eq!(records["data"].as_array().unwrap().len(), 1, "{records}");
    let record = ok(&all, "record");
    assert_eq!(
        (&record["pool"], &record["status"], &record["end"]),
        (&json!("team"), &json!(200), &json!("completed")),
        "{record}"
    );
    assert_eq!(
        all["records_bad_limit"],
        json!({"error": true,
            "value": {"error": {"code": "invalid_request", "message": "page size 0 is out of range: use 1 to 500"}},
            "text": r#"{"error":{"code":"invalid_request","message":"page size 0 is out of range: use 1 to 500"}}"#}),
        "a refused call is a tool error with the REST API's body"
    );
    let events = ok(&all, "audit")["data"].as_array().unwrap().clone();
    let other_event = events
        .iter()
        .find(|e| e["pool_id"] != ok(&all, "pool")["id"])
        .expect("an event outside team")["id"]
        .clone();
    assert_eq!(ok(&all, "operators")["data"].as_array().unwrap().len(), 2);
    let alice_id = ok(&all, "operators")["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "alice")
        .unwrap()["id"]
        .clone();
    let root_id = ok(&all, "operator")["id"].clone();
    assert_ne!(alice_id, root_id);

    // The admin of `team` sees only that pool; everything else answers "not found".
    let hidden = json!({
        "upstream": other_upstream, "key": other_key_id, "event": other_event,
        "operator": root_id,
    });
    let scoped = run_client(&python, &gateway, &alice, &hidden);
    let status = ok(&scoped, "status");
    assert_eq!(
        (
            &status["role"],
            &status["pools"],
            &status["accounts"],
            &status["keys"]
        ),
        (&json!("admin"), &json!(1), &json!(2), &json!(1)),
        "{status}"
    );
    assert_eq!(slugs(ok(&scoped, "pools"), "slug"), ["team"]);
    assert_eq!(not_found(&scoped, "pool_other"), "pool other not found");
    assert_eq!(
        slugs(ok(&scoped, "upstreams"), "label"),
        ["upstream-1", "upstream-2"]
    );
    assert_eq!(
        not_found(&scoped, "upstream_hidden"),
        format!("upstream account {other_upstream} not found")
    );
    assert_eq!(not_found(&scoped, "explain_other"), "pool other not found");
    assert_eq!(ok(&scoped, "runway")["data"].as_array().unwrap().len(), 1);
    assert_eq!(slugs(ok(&scoped, "keys"), "pool"), ["team"]);
    assert_eq!(
        not_found(&scoped, "key_hidden"),
        format!("pool api key {other_key_id} not found")
    );
    assert_eq!(ok(&scoped, "records")["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        scoped["records_bad_limit"]["value"],
        json!({"error": {"code": "invalid_request", "message": "page size 0 is out of range: use 1 to 500"}})
    );
    for e in ok(&scoped, "audit")["data"].as_array().unwrap() {
        assert_eq!(e["pool_id"], ok(&scoped, "pool")["id"], "{e}");
    }
    assert_eq!(
        not_found(&scoped, "event_hidden"),
        format!("audit event {other_event} not found")
    );
    let operators = ok(&scoped, "operators")["data"].as_array().unwrap().clone();
    assert_eq!(operators.len(), 1);
    assert_eq!(operators[0]["name"], "alice");
    assert_eq!(
        not_found(&scoped, "operator_hidden"),
        format!("operator {root_id} not found")
    );

    // Canary: no key, token, credential, email or prompt in any answer.
    let mut secrets = vec![
        pool.key.clone(),
        other_key.clone(),
        owner.clone(),
        alice.clone(),
        owner_api.clone(),
        alice_api.clone(),
        PROMPT.to_owned(),
        other_creds.access_token.clone(),
        other_creds.refresh_token.clone(),
        "@example.com".to_owned(),
    ];
    for c in &pool.creds {
        secrets.extend([c.access_token.clone(), c.refresh_token.clone()]);
    }
    for answer in [all.to_string(), scoped.to_string()] {
        for secret in &secrets {
            assert!(
                !answer.contains(secret.as_str()),
                "{secret} leaked: {answer}"
            );
        }
    }

    // Bearer checks on every request: the REST API's 401 body.
    let invalid = json!({"error": {"code": "invalid_token",
        "message": "the bearer credential is not a valid operator mcp token"}});
    for wrong in [&owner_api, &pool.key] {
        let refused = post_mcp(&gw, wrong, None).await;
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert_eq!(refused.json(), invalid);
    }
    let missing = post_mcp(&gw, "", None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.json(),
        json!({"error": {"code": "missing_token",
            "message": "send an operator token as `Authorization: Bearer <token>`"}})
    );
    let me = send(
        "GET",
        &format!("{gw}/admin/api/v1/me"),
        &[("authorization", &format!("Bearer {owner}"))],
        "",
    )
    .await;
    assert_eq!(me.status, 401, "an MCP token opens no REST route");
    assert_eq!(me.json()["error"]["code"], "invalid_token");
    let accepted = post_mcp(&gw, &alice, None).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    // The Host allow-list: loopback only, without --mcp-allowed-host.
    let foreign = post_mcp(&gw, &alice, Some("evil.example")).await;
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    // Revocation stops the very next request.
    let listed: Value = serde_json::from_str(&cli_ok(
        &pool.data,
        &[
            "operators",
            "tokens",
            "list",
            "--operator",
            "alice",
            "--json",
        ],
    ))
    .unwrap();
    let mcp_token = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "mcp")
        .unwrap()["id"]
        .to_string();
    cli_ok(
        &pool.data,
        &[
            "operators",
            "tokens",
            "revoke",
            "--operator",
            "alice",
            &mcp_token,
        ],
    );
    let revoked = post_mcp(&gw, &alice, None).await;
    assert_eq!(revoked.status, 401, "{}", revoked.body);
    assert_eq!(
        revoked.json(),
        json!({"error": {"code": "token_revoked", "message": "this operator token was revoked"}})
    );
    gateway.stop();

    // An extra allowed host is accepted.
    let gateway = Gateway::start(
        &pool.data,
        &["--mcp", "--mcp-allowed-host", "pooler.internal"],
    );
    let allowed = post_mcp(&gateway.url(), &owner, Some("pooler.internal")).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    gateway.stop();
}
