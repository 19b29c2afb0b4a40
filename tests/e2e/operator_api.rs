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
    // serde would read a struct from an array; a body must be an object.
    let array = call(&gw, "PATCH", "/pools/gamma", &owner, "[null, null]").await;
    assert_eq!(array.status, 400, "{}", array.body);
    assert_eq!(
        array.json(),
        serde_json::json!({"error": {"code": "invalid_request", "message": "the request body must be a JSON object"}})
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn accounts_keys_and_routing_questions() {
    let pool = TestPool::new(&["acct-a", "acct-b"], |_, _| {});
    let owner = last_line(&cli_ok(
        &pool.data,
        &["operators", "create-owner", "--name", "root"],
    ));
    let gateway = pool.gateway();
    let gw = gateway.url();

    // Import a third account through the API; the fake does not know it, which is fine for
    // metadata.
    let creds = fake_credentials("acct-c", "c@example.com");
    let body = serde_json::json!({
        "auth_json": serde_json::from_str::<serde_json::Value>(&creds.auth_json).unwrap(),
        "label": "third",
        "base_url": pool.fake.base_url(),
    });
    let imported = call(
        &gw,
        "POST",
        "/pools/team/accounts",
        &owner,
        &body.to_string(),
    )
    .await;
    assert_eq!(imported.status, 201, "{}", imported.body);
    assert_eq!(imported.json()["label"], "third");
    assert_eq!(imported.json()["pools"], serde_json::json!(["team"]));
    assert!(
        !imported.body.contains(&creds.access_token),
        "no token in answers"
    );
    let again = call(
        &gw,
        "POST",
        "/pools/team/accounts",
        &owner,
        &body.to_string(),
    )
    .await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(
        again.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already imported")
    );
    let garbage = call(
        &gw,
        "POST",
        "/pools/team/accounts",
        &owner,
        r#"{"auth_json":{"tokens":{}}}"#,
    )
    .await;
    assert_eq!(garbage.status, 400, "{}", garbage.body);

    let listed = call(&gw, "GET", "/accounts?pool=team", &owner, "").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let accounts = listed.json().as_array().unwrap().clone();
    assert_eq!(accounts.len(), 3);
    let first = accounts[0]["id"].as_i64().unwrap();
    assert!(accounts[0]["handle"].as_str().unwrap().starts_with("acct_"));

    // Pause: the explanation and the dry run both say so, once the gateway has reloaded.
    let paused = call(&gw, "POST", &format!("/accounts/{first}/pause"), &owner, "").await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.json()["lifecycle"], "paused");
    // The imported account is one the fake does not serve: pause it too, so one account is
    // left and the dry run's choice does not depend on its seed.
    let third = imported.json()["id"].as_i64().unwrap();
    let paused = call(&gw, "POST", &format!("/accounts/{third}/pause"), &owner, "").await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    let path = format!("/pools/team/accounts/{first}/routability?model=gpt-5.1-codex");
    let mut explained = call(&gw, "GET", &path, &owner, "").await;
    for _ in 0..200 {
        let dry = call(
            &gw,
            "GET",
            "/pools/team/dry-run?model=gpt-5.1-codex",
            &owner,
            "",
        )
        .await;
        let settled =
            dry.status == 200 && dry.json()["candidates"].as_array().map(Vec::len) == Some(1);
        if settled && explained.status == 200 && explained.json()["routable"] == false {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        explained = call(&gw, "GET", &path, &owner, "").await;
    }
    assert_eq!(explained.status, 200, "{}", explained.body);
    assert_eq!(explained.json()["routable"], false, "{}", explained.body);
    assert_eq!(explained.json()["reasons"][0]["reason"], "account_paused");
    let dry = call(
        &gw,
        "GET",
        "/pools/team/dry-run?model=gpt-5.1-codex",
        &owner,
        "",
    )
    .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    let chosen = dry.json()["chosen"].as_i64().expect("an account is chosen");
    assert_ne!(chosen, first);
    // The next real request goes where the dry run said.
    let turn = post_responses(
        &gw,
        "/backend-api/codex/responses",
        &pool.key,
        &responses_body("gpt-5.1-codex", "hello"),
    )
    .await;
    assert_eq!(turn.status, 200, "{}", turn.body);
    let served = pool.last_account_on("/backend-api/codex/responses");
    let chosen_label = accounts
        .iter()
        .find(|a| a["id"] == chosen)
        .map(|a| {
            a["email"]
                .as_str()
                .unwrap()
                .trim_end_matches("@example.com")
                .to_owned()
        })
        .unwrap();
    assert_eq!(served, chosen_label);
    let bad_class = call(
        &gw,
        "GET",
        "/pools/team/dry-run?route_class=teleport",
        &owner,
        "",
    )
    .await;
    assert_eq!(bad_class.status, 400);
    assert_eq!(
        bad_class.json(),
        serde_json::json!({"error": {"code": "invalid_request", "message": "unknown route_class \"teleport\""}})
    );
    let resumed = call(
        &gw,
        "POST",
        &format!("/accounts/{first}/resume"),
        &owner,
        "",
    )
    .await;
    assert_eq!(resumed.json()["lifecycle"], "active");
    let not_paused = call(
        &gw,
        "POST",
        &format!("/accounts/{first}/resume"),
        &owner,
        "",
    )
    .await;
    assert_eq!(not_paused.status, 400, "{}", not_paused.body);
    let runway = call(&gw, "GET", "/pools/team/runway", &owner, "").await;
    assert_eq!(runway.status, 200, "{}", runway.body);
    assert_eq!(runway.json()["slug"], "team");

    // Keys: create (secret once), it works, pause, policy, revoke.
    let created = call(
        &gw,
        "POST",
        "/pools/team/keys",
        &owner,
        r#"{"name":"ci","policy":{"allowed_models":["gpt-5.1-codex"]}}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.json()["secret"].as_str().unwrap().to_owned();
    let key_id = created.json()["key"]["id"].as_i64().unwrap();
    assert!(secret.starts_with("sk-cxp-"));
    let listed = call(&gw, "GET", "/pools/team/keys", &owner, "").await;
    assert!(!listed.body.contains(&secret), "lists never show a key");
    let bad_policy = call(
        &gw,
        "PATCH",
        &format!("/keys/{key_id}"),
        &owner,
        r#"{"policy":{"nonsense":true}}"#,
    )
    .await;
    assert_eq!(bad_policy.status, 400, "{}", bad_policy.body);
    let paused_key = call(
        &gw,
        "PATCH",
        &format!("/keys/{key_id}"),
        &owner,
        r#"{"status":"paused"}"#,
    )
    .await;
    assert_eq!(paused_key.json()["status"], "paused", "{}", paused_key.body);
    let revoked = call(&gw, "POST", &format!("/keys/{key_id}/revoke"), &owner, "").await;
    assert_eq!(revoked.json()["status"], "revoked");
    let back = call(
        &gw,
        "PATCH",
        &format!("/keys/{key_id}"),
        &owner,
        r#"{"status":"active"}"#,
    )
    .await;
    assert_eq!(back.status, 400, "{}", back.body);
    let missing = call(&gw, "GET", "/keys/999999", &owner, "").await;
    assert_eq!(missing.status, 404);

    // The turn above is recorded (records are written in batches) and counted in the key's
    // daily usage; the account's quota view answers.
    let keys = call(&gw, "GET", "/pools/team/keys", &owner, "")
        .await
        .json();
    let team_key = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| pool.key.contains(k["prefix"].as_str().unwrap()))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let mut records = call(&gw, "GET", "/records?pool=team&status=2xx", &owner, "").await;
    for _ in 0..300 {
        if records.json()["data"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        records = call(&gw, "GET", "/records?pool=team&status=2xx", &owner, "").await;
    }
    let rows = records.json()["data"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{}", records.body);
    assert_eq!(rows[0]["key_id"], team_key);
    let one = call(
        &gw,
        "GET",
        &format!("/records/{}", rows[0]["id"]),
        &owner,
        "",
    )
    .await;
    assert_eq!(one.status, 200, "{}", one.body);
    let usage = call(
        &gw,
        "GET",
        &format!("/keys/{team_key}/usage?days=2"),
        &owner,
        "",
    )
    .await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(
        usage.json()["usage"]["total"]["requests"],
        1,
        "{}",
        usage.body
    );
    let bad_days = call(
        &gw,
        "GET",
        &format!("/keys/{team_key}/usage?days=0"),
        &owner,
        "",
    )
    .await;
    assert_eq!(bad_days.status, 400);
    let bad_status = call(&gw, "GET", "/records?status=7xx", &owner, "").await;
    assert_eq!(bad_status.status, 400, "{}", bad_status.body);
    let quota = call(&gw, "GET", &format!("/accounts/{chosen}/quota"), &owner, "").await;
    assert_eq!(quota.status, 200, "{}", quota.body);
    assert_eq!(quota.json()["accounts"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn device_code_login_through_the_api() {
    let pool = TestPool::new(&["acct-dev"], |_, _| {});
    let owner = last_line(&cli_ok(
        &pool.data,
        &["operators", "create-owner", "--name", "root"],
    ));
    pool.fake
        .update_config(|config| config.oauth.device_account = Some("acct-dev".to_owned()));
    let issuer = pool.fake.base_url();
    let gateway = Gateway::start(&pool.data, &["--login-issuer", &issuer]);
    let gw = gateway.url();

    let started = call(&gw, "POST", "/pools/team/device-logins", &owner, "{}").await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.json()["status"], "pending");
    assert!(started.json()["user_code"].is_string());
    let id = started.json()["id"].as_i64().unwrap();
    let mut login = call(&gw, "GET", &format!("/device-logins/{id}"), &owner, "").await;
    for _ in 0..500 {
        if login.json()["status"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        login = call(&gw, "GET", &format!("/device-logins/{id}"), &owner, "").await;
    }
    assert_eq!(login.json()["status"], "completed", "{}", login.body);
    let accounts = call(&gw, "GET", "/accounts", &owner, "").await.json();
    assert_eq!(
        login.json()["account_id"],
        accounts[0]["id"],
        "the stored account got new tokens"
    );
    let missing = call(&gw, "GET", "/device-logins/999", &owner, "").await;
    assert_eq!(missing.status, 404);
    let bad_origin = call(
        &gw,
        "POST",
        "/pools/team/device-logins",
        &owner,
        r#"{"base_url":"not a url"}"#,
    )
    .await;
    assert_eq!(bad_origin.status, 400, "{}", bad_origin.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn archive_waits_membership_removal_and_rotation() {
    let pool = TestPool::new(&["acct-x", "acct-y"], |_, _| {});
    cli_ok(&pool.data, &["pools", "create", "spare"]);
    let owner = last_line(&cli_ok(
        &pool.data,
        &["operators", "create-owner", "--name", "root"],
    ));
    let gateway = pool.gateway();
    let gw = gateway.url();
    let accounts = call(&gw, "GET", "/accounts", &owner, "").await.json();
    let x = accounts[0]["id"].as_i64().unwrap();
    let y = accounts[1]["id"].as_i64().unwrap();

    let waits = call(
        &gw,
        "PUT",
        "/pools/team/waits",
        &owner,
        r#"{"busy_wait_secs":5,"pin_wait_secs":2}"#,
    )
    .await;
    assert_eq!(waits.status, 200, "{}", waits.body);
    assert_eq!(waits.json()["busy_wait_secs"], 5);
    let bad = call(
        &gw,
        "PUT",
        "/pools/team/waits",
        &owner,
        r#"{"busy_wait_secs":1,"pin_wait_secs":2}"#,
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    let assigned = call(
        &gw,
        "PUT",
        &format!("/pools/spare/accounts/{x}"),
        &owner,
        "",
    )
    .await;
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    assert_eq!(
        assigned.json()["pools"],
        serde_json::json!(["team", "spare"])
    );
    let out = call(
        &gw,
        "DELETE",
        &format!("/pools/spare/accounts/{x}"),
        &owner,
        "",
    )
    .await;
    assert_eq!(
        out.json()["pools"],
        serde_json::json!(["team"]),
        "{}",
        out.body
    );
    let not_in = call(
        &gw,
        "DELETE",
        &format!("/pools/spare/accounts/{x}"),
        &owner,
        "",
    )
    .await;
    assert_eq!(not_in.status, 404, "{}", not_in.body);

    let removed = call(&gw, "DELETE", &format!("/accounts/{y}"), &owner, "").await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    let again = call(&gw, "DELETE", &format!("/accounts/{y}"), &owner, "").await;
    assert_eq!(again.status, 400, "{}", again.body);

    let keys = call(&gw, "GET", "/pools/team/keys", &owner, "")
        .await
        .json();
    let key_id = keys[0]["id"].as_i64().unwrap();
    let rotated = call(
        &gw,
        "POST",
        &format!("/keys/{key_id}/rotate"),
        &owner,
        r#"{"grace_secs":600}"#,
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let secret = rotated.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, pool.key);
    assert_eq!(rotated.json()["key"]["id"], key_id);
    let too_long = call(
        &gw,
        "POST",
        &format!("/keys/{key_id}/rotate"),
        &owner,
        r#"{"grace_secs":9999999}"#,
    )
    .await;
    assert_eq!(too_long.status, 400, "{}", too_long.body);

    let archived = call(&gw, "POST", "/pools/spare/archive", &owner, "").await;
    assert_eq!(archived.json()["status"], "archived", "{}", archived.body);
    let revive = call(
        &gw,
        "PATCH",
        "/pools/spare",
        &owner,
        r#"{"status":"active"}"#,
    )
    .await;
    assert_eq!(revive.status, 400, "{}", revive.body);

    let audit = call(&gw, "GET", "/audit-events?limit=100", &owner, "").await;
    for action in [
        "pool.set_waits",
        "account.assign",
        "account.unassign",
        "account.remove",
        "key.rotate",
        "pool.archive",
    ] {
        assert!(audit.body.contains(action), "{action} not audited");
    }
    assert!(!audit.body.contains(&secret));
}
