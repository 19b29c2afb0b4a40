//! Every refusal a client or an operator can meet, and its exact shape.

use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream};

use crate::support::*;

fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/json")
    );
    let body = reply.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string());
    assert!(body["error"]["type"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_errors_are_openai_shaped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = fake_credentials("acct-err", "err@example.com");
    let fake = FakeUpstream::start(FakeConfig::with_accounts(vec![FakeAccount::new(
        &c.account_id,
        &c.access_token,
        "err",
    )]))
    .unwrap();
    cli_ok(&data, &["pools", "create", "p"]);
    let path = write_file(dir.path(), "auth.json", &c.auth_json);
    let imported = cli_ok(
        &data,
        &[
            "upstreams",
            "import",
            "--pool",
            "p",
            "--auth-json",
            path.to_str().unwrap(),
            "--base-url",
            &fake.base_url(),
        ],
    );
    assert!(imported.contains("imported upstream"), "{imported}");
    let key = create_key(&data, "p");
    let paused = create_key(&data, "p");
    let revoked = create_key(&data, "p");
    let expired = cli_ok(
        &data,
        &["keys", "create", "--pool", "p", "--expires-in-days", "0"],
    )
    .lines()
    .last()
    .unwrap()
    .to_owned();
    let prefix = |k: &str| k[7..19].to_owned();
    cli_ok(&data, &["keys", "pause", &prefix(&paused)]);
    cli_ok(&data, &["keys", "revoke", &prefix(&revoked)]);

    let gateway = Gateway::start(&data, &[]);
    let url = gateway.url();
    let body = responses_body("gpt-5.1-codex", "hello");
    let path = "/backend-api/codex/responses";

    // Credentials.
    let none = send("POST", &format!("{url}{path}"), &[], body.clone()).await;
    assert_error(&none, 401, "invalid_api_key");
    for bad in [
        "garbage",
        "sk-cxp-000000000000-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert_error(
            &post_responses(&url, path, bad, &body).await,
            401,
            "invalid_api_key",
        );
    }
    let mut forged = key.clone();
    forged.replace_range(forged.len() - 5..forged.len() - 1, "AAAA");
    assert_error(
        &post_responses(&url, path, &forged, &body).await,
        401,
        "invalid_api_key",
    );
    assert_error(
        &post_responses(&url, path, &paused, &body).await,
        401,
        "api_key_paused",
    );
    assert_error(
        &post_responses(&url, path, &revoked, &body).await,
        401,
        "api_key_revoked",
    );
    assert_error(
        &post_responses(&url, path, &expired, &body).await,
        401,
        "api_key_expired",
    );

    // Bodies and models.
    assert_error(
        &post_responses(&url, path, &key, "not json").await,
        400,
        "invalid_request",
    );
    assert_error(
        &post_responses(&url, path, &key, r#"{"stream":true}"#).await,
        400,
        "invalid_request",
    );
    assert_error(
        &post_responses(&url, path, &key, &responses_body("no-such-model", "x")).await,
        404,
        "model_not_found",
    );
    let auth = format!("Bearer {key}");
    let brotli = send(
        "POST",
        &format!("{url}{path}"),
        &[("authorization", &auth), ("content-encoding", "br")],
        body.clone(),
    )
    .await;
    assert_error(&brotli, 415, "unsupported_content_encoding");
    let bad_zstd = send(
        "POST",
        &format!("{url}{path}"),
        &[("authorization", &auth), ("content-encoding", "zstd")],
        "not zstd at all",
    )
    .await;
    assert_error(&bad_zstd, 400, "invalid_request");

    // Routes.
    let unsupported = post_responses(&url, "/v1/embeddings", &key, "{}").await;
    assert_eq!(unsupported.status, 404);
    assert_eq!(
        unsupported.json(),
        serde_json::json!({"error":{"message":"Unsupported OpenAI /v1 endpoint","type":"invalid_request_error","code":"unsupported_endpoint","param":null}})
    );
    let unauthenticated_v1 = send("POST", &format!("{url}/v1/embeddings"), &[], "{}").await;
    assert_error(&unauthenticated_v1, 401, "invalid_api_key");
    let ws = send(
        "GET",
        &format!("{url}{path}"),
        &[
            ("authorization", &auth),
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
        ],
        "",
    )
    .await;
    assert_error(&ws, 426, "websocket_unsupported");

    // No eligible account: the only account is paused (picked up by the running server).
    cli_ok(&data, &["upstreams", "pause", "1"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let last = loop {
        let reply = post_responses(&url, path, &key, &body).await;
        if reply.status == 503 || std::time::Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_error(&last, 503, "no_eligible_account");

    // The health endpoints answer without a key.
    assert_eq!(
        send("GET", &format!("{url}/healthz"), &[], "").await.status,
        200
    );
    assert_eq!(
        send("GET", &format!("{url}/readyz"), &[], "").await.status,
        200
    );
    gateway.stop();
}

#[test]
fn malformed_auth_json_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    cli_ok(&data, &["pools", "create", "p"]);
    let good = fake_credentials("acct-x", "x@example.com");
    let mut expired: serde_json::Value = serde_json::from_str(&good.auth_json).unwrap();
    expired["tokens"]["access_token"] = serde_json::Value::String(fake_jwt(
        &serde_json::json!({"exp": 1_000_000_000, "https://api.openai.com/auth": {"chatgpt_account_id": "acct-x"}}),
    ));
    let mut no_refresh: serde_json::Value = serde_json::from_str(&good.auth_json).unwrap();
    no_refresh["tokens"]
        .as_object_mut()
        .unwrap()
        .remove("refresh_token");
    let cases = [
        (
            "api-key",
            r#"{"OPENAI_API_KEY":"sk-abc","auth_mode":"apikey"}"#.to_owned(),
            "API key",
        ),
        ("not-json", "this is not json".to_owned(), "JSON"),
        ("expired", expired.to_string(), "expired"),
        ("no-refresh", no_refresh.to_string(), "refresh_token"),
        (
            "huge",
            format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000)),
            "large",
        ),
    ];
    for (name, contents, expect) in cases {
        let path = write_file(dir.path(), &format!("{name}.json"), &contents);
        let out = cli(
            &data,
            &[
                "upstreams",
                "import",
                "--pool",
                "p",
                "--auth-json",
                path.to_str().unwrap(),
            ],
        );
        assert!(!out.status.success(), "{name} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.to_lowercase().contains(&expect.to_lowercase()),
            "{name}: unclear message: {stderr}"
        );
        assert!(!stderr.contains("rt_FAKE"), "{name}: message leaks a token");
    }
    let missing = cli(
        &data,
        &[
            "upstreams",
            "import",
            "--pool",
            "p",
            "--auth-json",
            "/nonexistent/auth.json",
        ],
    );
    assert!(!missing.status.success());
    let wrong_pool = write_file(dir.path(), "ok.json", &good.auth_json);
    let out = cli(
        &data,
        &[
            "upstreams",
            "import",
            "--pool",
            "nope",
            "--auth-json",
            wrong_pool.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no pool named"));

    let listing = cli_ok(&data, &["upstreams", "list"]);
    assert_eq!(
        listing.lines().count(),
        1,
        "an account was written: {listing}"
    );

    // The same file imports fine, once.
    cli_ok(
        &data,
        &[
            "upstreams",
            "import",
            "--pool",
            "p",
            "--auth-json",
            wrong_pool.to_str().unwrap(),
        ],
    );
    let again = cli(
        &data,
        &[
            "upstreams",
            "import",
            "--pool",
            "p",
            "--auth-json",
            wrong_pool.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already imported"));
}

#[test]
fn operator_cli_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bad = cli(&data, &["pools", "create", "Not A Slug"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid pool slug"));
    cli_ok(&data, &["pools", "create", "p"]);
    let dup = cli(&data, &["pools", "create", "p"]);
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let nokey = cli(&data, &["keys", "create", "--pool", "missing"]);
    assert!(String::from_utf8_lossy(&nokey.stderr).contains("no pool named"));
    let unknown = cli(&data, &["keys", "pause", "000000000000"]);
    assert!(!unknown.status.success());
    let bad_strategy = cli(&data, &["pools", "create", "q", "--strategy", "fastest"]);
    assert!(String::from_utf8_lossy(&bad_strategy.stderr).contains("unknown strategy"));
    cli_ok(&data, &["pools", "set-strategy", "p", "rotation"]);
    assert!(cli_ok(&data, &["pools", "list"]).contains("rotation"));
    cli_ok(&data, &["pools", "set-strategy", "p", "default"]);
    assert!(!cli_ok(&data, &["pools", "list"]).contains("rotation"));
}
