//! The request log, the other routes, and running the server.

use bytes::Bytes;
use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, RESPONSES_PATH};
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use tokio::time::timeout;

use crate::support::*;

#[tokio::test]
async fn seen_records_headers_and_bodies() -> TestResult {
    let fake = start_default()?;
    let body = turn_body(&[user_message("hi")]);
    let metadata = r#"{"turn_id":"t1","request_kind":"turn"}"#;
    let extra = [
        ("session-id", "thread-1"),
        ("originator", "codex_exec"),
        ("x-codex-turn-metadata", metadata),
        (
            "user-agent",
            "codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)",
        ),
    ];
    read_body(post_turn_with(&fake, &alice(), &extra, &body).await?).await?;
    let wrong = FakeAccount {
        access_token: "nope".to_owned(),
        ..bob()
    };
    read_body(post_turn(&fake, &wrong, &body).await?).await?;
    read_body(
        send(
            &fake,
            Method::GET,
            "/backend-api/codex/models?client_version=0.169.0",
            &[],
            Bytes::new(),
        )
        .await?,
    )
    .await?;

    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    let first = &seen[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, RESPONSES_PATH);
    assert_eq!(first.chatgpt_account_id.as_deref(), Some("acc-alice"));
    assert!(first.authorized);
    assert_eq!(first.header("authorization"), Some("Bearer tok-alice"));
    assert_eq!(first.header("Session-Id"), Some("thread-1"));
    assert_eq!(first.header("x-codex-turn-metadata"), Some(metadata));
    assert_eq!(first.header("originator"), Some("codex_exec"));
    assert!(
        first
            .headers
            .iter()
            .any(|(n, v)| n == "user-agent" && v.starts_with("codex_exec/0.169.0"))
    );
    assert_eq!(first.body.as_ref(), Some(&body));
    assert_eq!(first.raw_body, Bytes::from(serde_json::to_vec(&body)?));
    assert_eq!(seen[1].chatgpt_account_id.as_deref(), Some("acc-bob"));
    assert!(!seen[1].authorized);
    assert_eq!(seen[2].method, "GET");
    assert_eq!(seen[2].query.as_deref(), Some("client_version=0.169.0"));
    assert_eq!(seen[2].body, None);

    fake.clear_seen();
    assert!(fake.seen().is_empty());
    Ok(())
}

#[tokio::test]
async fn models_usage_websocket_and_unknown_routes() -> TestResult {
    let fake = start(FakeConfig::with_accounts(vec![FakeAccount {
        primary_used_percent: 33.4,
        secondary_used_percent: 5.0,
        ..alice()
    }]))?;
    let auth = [
        ("authorization", "Bearer tok-alice"),
        ("chatgpt-account-id", "acc-alice"),
    ];

    let models = send(
        &fake,
        Method::GET,
        "/backend-api/codex/models?client_version=0.169.0",
        &auth,
        Bytes::new(),
    );
    let (status, headers, body) = read_json(models.await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key("etag"));
    let models = body["models"].as_array().ok_or("models")?;
    assert!(models.len() >= 2);
    // `ModelInfo` entries as the CLI decodes them: the fields without a serde default.
    for m in models {
        assert!(m["slug"].is_string() && m["display_name"].is_string());
        assert!(m["base_instructions"].is_string(), "{m}");
        assert_eq!(m["truncation_policy"]["mode"], "tokens");
        assert!(m["supported_reasoning_levels"].is_array());
        assert!(m["experimental_supported_tools"].is_array());
        assert!(m["shell_type"].is_string() && m["visibility"].is_string());
        assert!(m["priority"].is_i64() && m["supported_in_api"].is_boolean());
        assert!(m["support_verbosity"].is_boolean());
        assert!(m["supports_parallel_tool_calls"].is_boolean());
    }
    // The same catalog, byte for byte, under the same ETag every time.
    let again = send(
        &fake,
        Method::GET,
        "/backend-api/codex/models?client_version=0.169.0",
        &auth,
        Bytes::new(),
    );
    let (_, again_headers, again_body) = read_json(again.await?).await?;
    assert_eq!(again_headers.get("etag"), headers.get("etag"));
    assert_eq!(again_body, body);

    let usage = send(
        &fake,
        Method::GET,
        "/backend-api/wham/usage",
        &auth,
        Bytes::new(),
    );
    let (status, _, body) = read_json(usage.await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["plan_type"], "plus");
    let limit = &body["rate_limit"];
    assert_eq!(limit["allowed"], true);
    assert_eq!(limit["limit_reached"], false);
    assert_eq!(limit["primary_window"]["used_percent"], 33);
    assert_eq!(limit["primary_window"]["limit_window_seconds"], 18_000);
    assert_eq!(limit["primary_window"]["reset_after_seconds"], 3600);
    assert!(
        limit["primary_window"]["reset_at"]
            .as_u64()
            .is_some_and(|t| t > now())
    );
    assert_eq!(limit["secondary_window"]["used_percent"], 5);
    assert_eq!(limit["secondary_window"]["limit_window_seconds"], 604_800);

    let anonymous = send(
        &fake,
        Method::GET,
        "/backend-api/wham/usage",
        &[],
        Bytes::new(),
    )
    .await?;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let ws = [
        ("authorization", "Bearer tok-alice"),
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let upgrade = send(&fake, Method::GET, RESPONSES_PATH, &ws, Bytes::new()).await?;
    assert_eq!(upgrade.status(), StatusCode::UPGRADE_REQUIRED);

    let (status, _, body) =
        read_json(send(&fake, Method::GET, "/nope", &auth, Bytes::new()).await?).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"]["message"].is_string());
    Ok(())
}

#[tokio::test]
async fn shutdown_stops_the_server() -> TestResult {
    let fake = start_default()?;
    let addr = fake.local_addr();
    read_body(post_turn(&fake, &alice(), &turn_body(&[user_message("hi")])).await?).await?;
    timeout(PATIENCE, fake.stopped()).await??;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    Ok(())
}

#[tokio::test]
async fn serve_on_a_given_listener() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(codex_pooler_fake_upstream::serve(
        listener,
        FakeConfig::with_accounts(vec![alice()]),
    ));
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("http://{addr}/backend-api/wham/usage"))
        .header("authorization", "Bearer tok-alice")
        .header("chatgpt-account-id", "acc-alice")
        .body(Full::new(Bytes::new()))?;
    let response = timeout(PATIENCE, client().request(request)).await??;
    assert_eq!(response.status(), StatusCode::OK);
    server.abort();
    Ok(())
}
