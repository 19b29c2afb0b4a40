//! The operator REST API through the real binary: an owner made with the CLI, a pool-scoped
//! admin made through the API, scoping that answers 404, tokens kept apart from Pool API keys,
//! revocation, and audit events for API and CLI changes.

use crate::support::*;

const API: &str = "/admin/api/v1";

async fn call(gw: &str, method: &str, path: &str, token: &str, body: &str) -> Reply {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("content-type", "application/json")];
    if !token.is_empty() {
        headers.push(("authorization", auth.as_str()));
    }
    send(
        method,
        &format!("{gw}{API}{path}"),
        &headers,
        body.to_owned(),
    )
    .await
}

fn last_line(out: &str) -> String {
    out.lines().last().expect("output").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_admin_scoping_tokens_and_audit() {
    let pool = TestPool::new(&["acct-op"], |_, _| {});
    cli_ok(&pool.data, &["pools", "create", "other"]);
    let owner = last_line(&cli_ok(
        &pool.data,
        &["operators", "create-owner", "--name", "root"],
    ));
    assert!(owner.starts_with("cxp-op-"), "{owner}");
    let mcp = last_line(&cli_ok(
        &pool.data,
        &[
            "operators",
            "tokens",
            "create",
            "--operator",
            "root",
            "--kind",
            "mcp",
        ],
    ));
    assert!(mcp.starts_with("cxp-mcp-"), "{mcp}");
    let gateway = pool.gateway();
    let gw = gateway.url();

    let me = call(&gw, "GET", "/me", &owner, "").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["operator"]["role"], "owner");
    assert_eq!(me.json()["token"]["kind"], "api");

    // Pools: create, a taken slug, a bad slug, a body with an unknown field.
    let created = call(&gw, "POST", "/pools", &owner, r#"{"slug":"gamma"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["slug"], "gamma");
    assert_eq!(created.json()["v1_enabled"], true);
    let taken = call(&gw, "POST", "/pools", &owner, r#"{"slug":"gamma"}"#).await;
    assert_eq!(taken.status, 409);
    assert_eq!(
        taken.json(),
        serde_json::json!({"error": {"code": "conflict", "message": "pool gamma already exists"}})
    );
    let bad = call(&gw, "POST", "/pools", &owner, r#"{"slug":"Not OK"}"#).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json()["error"]["code"], "invalid_request");
    let unknown_field = call(&gw, "POST", "/pools", &owner, r#"{"slug":"x","colour":1}"#).await;
    assert_eq!(unknown_field.status, 400, "{}", unknown_field.body);
    let patched = call(
        &gw,
        "PATCH",
        "/pools/gamma",
        &owner,
        r#"{"strategy":"rendezvous","v1_enabled":false,"status":"disabled"}"#,
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.json()["strategy"], "rendezvous");
    assert_eq!(patched.json()["status"], "disabled");
    let bad_strategy = call(&gw, "PATCH", "/pools/gamma", &owner, r#"{"strategy":"x"}"#).await;
    assert_eq!(bad_strategy.status, 400, "{}", bad_strategy.body);

    // An admin scoped to `team`, with a token issued by the owner.
    let admin = call(
        &gw,
        "POST",
        "/operators",
        &owner,
        r#"{"name":"alice","role":"admin","pools":["team"]}"#,
    )
    .await;
    assert_eq!(admin.status, 201, "{}", admin.body);
    assert_eq!(admin.json()["pools"], serde_json::json!(["team"]));
    let admin_id = admin.json()["id"].as_i64().unwrap();
    let issued = call(
        &gw,
        "POST",
        &format!("/operators/{admin_id}/tokens"),
        &owner,
        r#"{"kind":"api","label":"laptop","expires_in_days":30}"#,
    )
    .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let alice = issued.json()["secret"].as_str().unwrap().to_owned();
    let alice_token_id = issued.json()["token"]["id"].as_i64().unwrap();

    let seen = call(&gw, "GET", "/pools", &alice, "").await;
    let slugs: Vec<_> = seen
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].clone())
        .collect();
    assert_eq!(slugs, vec![serde_json::json!("team")]);
    for (method, path, body) in [
        ("GET", "/pools/other", ""),
        ("PATCH", "/pools/other", r#"{"v1_enabled":false}"#),
        ("GET", "/pools/nonexistent", ""),
    ] {
        let hidden = call(&gw, method, path, &alice, body).await;
        assert_eq!(hidden.status, 404, "{method} {path}: {}", hidden.body);
        assert_eq!(hidden.json()["error"]["code"], "not_found");
    }
    let other = call(&gw, "GET", "/pools/other", &alice, "").await;
    let missing = call(&gw, "GET", "/pools/nonexistent", &alice, "").await;
    assert_eq!(
        other.json()["error"]["message"]
            .as_str()
            .map(|m| m.replace("other", "X")),
        missing.json()["error"]["message"]
            .as_str()
            .map(|m| m.replace("nonexistent", "X")),
        "a hidden pool answers like a missing one"
    );
    let owners_only = call(&gw, "GET", "/operators", &alice, "").await;
    assert_eq!(owners_only.status, 403);
    assert_eq!(
        owners_only.json(),
        serde_json::json!({"error": {"code": "owner_required", "message": "only an owner may do this"}})
    );
    let own_pool = call(
        &gw,
        "PATCH",
        "/pools/team",
        &alice,
        r#"{"v1_enabled":true}"#,
    )
    .await;
    assert_eq!(own_pool.status, 200, "{}", own_pool.body);

    // Credentials stay on their own surfaces.
    let none = call(&gw, "GET", "/me", "", "").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error"]["code"], "missing_token");
    for wrong in [&pool.key, &mcp] {
        let refused = call(&gw, "GET", "/me", wrong, "").await;
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert_eq!(refused.json()["error"]["code"], "invalid_token");
    }
    let pooled = post_responses(
        &gw,
        "/backend-api/codex/responses",
        &owner,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(
        pooled.status, 401,
        "an operator token opens no pooled route"
    );
    assert!(!pooled.body.contains("cxp-op-"), "{}", pooled.body);

    // Revocation is immediate.
    let revoked = call(
        &gw,
        "DELETE",
        &format!("/operators/{admin_id}/tokens/{alice_token_id}"),
        &owner,
        "",
    )
    .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let after = call(&gw, "GET", "/me", &alice, "").await;
    assert_eq!(after.status, 401);
    assert_eq!(
        after.json(),
        serde_json::json!({"error": {"code": "token_revoked", "message": "this operator token was revoked"}})
    );

    // Unknown routes under the prefix answer the API's 404; the spec and docs are served.
    let nowhere = call(&gw, "GET", "/nowhere", &owner, "").await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.json()["error"]["code"], "not_found");
    let spec = send("GET", &format!("{gw}/openapi.json"), &[], "").await;
    assert_eq!(spec.status, 200);
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(spec.json(), committed);
    let docs = send("GET", &format!("{gw}/admin/api/docs/"), &[], "").await;
    assert_eq!(docs.status, 200);
    assert!(docs.body.contains("swagger"), "{}", docs.body);

    // Audit: API and CLI changes, successes and refusals, and never a secret.
    let audit = call(&gw, "GET", "/audit-events?limit=500", &owner, "").await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let events = audit.json()["data"].as_array().unwrap().clone();
    let has = |action: &str, outcome: &str| {
        events
            .iter()
            .any(|e| e["action"] == action && e["outcome"] == outcome)
    };
    for action in [
        "pool.create",
        "pool.update",
        "operator.create",
        "token.create",
        "token.revoke",
    ] {
        assert!(has(action, "success"), "{action} missing from {events:?}");
    }
    assert!(
        has("pool.create", "failure"),
        "refused changes are audited too"
    );
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "operator.create_owner" && e["actor_kind"] == "cli"),
        "{events:?}"
    );
    for secret in [&owner, &alice, &mcp, &pool.key] {
        assert!(
            !audit.body.contains(secret.as_str()),
            "a secret leaked into audit"
        );
    }
    // A scoped admin sees only its pools' events.
    let alice2 = last_line(&cli_ok(
        &pool.data,
        &["operators", "tokens", "create", "--operator", "alice"],
    ));
    let scoped = call(&gw, "GET", "/audit-events", &alice2, "").await;
    assert_eq!(scoped.status, 200, "{}", scoped.body);
    let team_id = seen.json()[0]["id"].clone();
    for e in scoped.json()["data"].as_array().unwrap() {
        assert_eq!(e["pool_id"], team_id, "{e}");
    }
    let bad_cursor = call(&gw, "GET", "/audit-events?cursor=zzz", &owner, "").await;
    assert_eq!(bad_cursor.status, 400);
    assert_eq!(
        bad_cursor.json(),
        serde_json::json!({"error": {"code": "invalid_request", "message": "cursor is not one this API gave out"}})
    );
    let listed = cli_ok(&pool.data, &["operators", "list", "--json"]);
    assert!(
        listed.contains("\"alice\"") && !listed.contains(&alice2),
        "{listed}"
    );
}
