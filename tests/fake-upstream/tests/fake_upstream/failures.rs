//! Error answers and changing an account at runtime.

use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, RESPONSES_PATH};
use http::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn exhausted_account_gets_usage_limit_429() -> TestResult {
    let account = FakeAccount {
        usage_limit_reached: true,
        ..alice()
    };
    let fake = start(FakeConfig::with_accounts(vec![account.clone()]))?;
    let before = now();
    let response = post_turn(&fake, &account, &turn_body(&[user_message("hi")])).await?;
    let (status, headers, body) = read_json(response).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&headers, "x-codex-primary-used-percent"), "100.0");
    assert_eq!(header(&headers, "content-type"), "application/json");
    let error = &body["error"];
    assert_eq!(error["type"], "usage_limit_reached");
    assert_eq!(error["message"], "The usage limit has been reached");
    assert_eq!(error["plan_type"], "plus");
    assert_eq!(error["resets_in_seconds"], 3600);
    let resets_at = error["resets_at"].as_u64().ok_or("resets_at")?;
    assert!((before + 3600..=now() + 3600).contains(&resets_at));
    Ok(())
}

#[tokio::test]
async fn bad_credentials_get_401() -> TestResult {
    let fake = start_default()?;
    let body = turn_body(&[user_message("hi")]);
    let wrong_token = FakeAccount {
        access_token: "tok-bob".to_owned(),
        ..alice()
    };
    let unknown = FakeAccount::new("acc-nobody", "tok-alice", "nobody");
    for account in [wrong_token, unknown] {
        let (status, headers, body) = read_json(post_turn(&fake, &account, &body).await?).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "invalid_api_key");
        assert!(body["error"]["message"].is_string());
        assert!(headers.get("x-codex-primary-used-percent").is_none());
    }
    let no_auth = send(
        &fake,
        Method::POST,
        RESPONSES_PATH,
        &[],
        serde_json::to_vec(&body)?,
    )
    .await?;
    assert_eq!(no_auth.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn malformed_bodies_get_400() -> TestResult {
    let fake = start_default()?;
    let bearer = "Bearer tok-alice";
    let auth = [
        ("authorization", bearer),
        ("chatgpt-account-id", "acc-alice"),
    ];
    for body in [
        &b"not json"[..],
        br#"{"stream":true,"store":false,"input":[]}"#,
    ] {
        let response = send(&fake, Method::POST, RESPONSES_PATH, &auth, body).await?;
        let (status, headers, body) = read_json(response).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(header(&headers, "x-codex-primary-window-minutes"), "300");
    }
    Ok(())
}

#[tokio::test]
async fn injected_failure_status() -> TestResult {
    let account = FakeAccount {
        fail_status: Some(503),
        ..alice()
    };
    let fake = start(FakeConfig::with_accounts(vec![account.clone()]))?;
    let response = post_turn(&fake, &account, &turn_body(&[user_message("hi")])).await?;
    let (status, headers, body) = read_json(response).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "server_is_overloaded");
    assert_eq!(header(&headers, "x-codex-primary-used-percent"), "0.0");
    Ok(())
}

#[tokio::test]
async fn set_account_changes_behaviour_at_runtime() -> TestResult {
    let fake = start_default()?;
    let body = turn_body(&[user_message("hi")]);
    assert_eq!(
        post_turn(&fake, &alice(), &body).await?.status(),
        StatusCode::OK
    );

    assert!(fake.set_account("acc-alice", |a| a.usage_limit_reached = true));
    assert_eq!(
        post_turn(&fake, &alice(), &body).await?.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Bob is untouched.
    assert_eq!(
        post_turn(&fake, &bob(), &body).await?.status(),
        StatusCode::OK
    );

    assert!(fake.set_account("acc-alice", |a| {
        a.usage_limit_reached = false;
        a.fail_status = Some(500);
    }));
    assert_eq!(
        post_turn(&fake, &alice(), &body).await?.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );

    assert!(fake.set_account("acc-alice", |a| {
        a.fail_status = None;
        a.primary_used_percent = 75.0;
        a.access_token = "tok-alice-2".to_owned();
    }));
    assert_eq!(
        post_turn(&fake, &alice(), &body).await?.status(),
        StatusCode::UNAUTHORIZED
    );
    let rotated = FakeAccount {
        access_token: "tok-alice-2".to_owned(),
        ..alice()
    };
    let response = post_turn(&fake, &rotated, &body).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(response.headers(), "x-codex-primary-used-percent"),
        "75.0"
    );

    assert!(!fake.set_account("acc-nobody", |_| {}));
    Ok(())
}

#[tokio::test]
async fn an_account_at_its_stream_cap_answers_a_codeless_429() -> TestResult {
    let account = FakeAccount {
        max_streams: Some(1),
        ..alice()
    };
    let fake = start(FakeConfig {
        chunk_delay: std::time::Duration::from_millis(50),
        ..FakeConfig::with_accounts(vec![account.clone(), bob()])
    })?;
    let body = turn_body(&[user_message("hi")]);
    // The first answer streams (its head is here, its body still coming).
    let streaming = post_turn(&fake, &account, &body).await?;
    assert_eq!(streaming.status(), StatusCode::OK);
    let (status, headers, refused) = read_json(post_turn(&fake, &account, &body).await?).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused["error"]["code"].is_null(), "{refused}");
    assert!(refused["error"]["type"].is_null(), "{refused}");
    // Quota headers come with it, as with every answer of the account.
    assert!(headers.get("x-codex-primary-used-percent").is_some());
    // Other accounts are not capped by it.
    assert_eq!(
        post_turn(&fake, &bob(), &body).await?.status(),
        StatusCode::OK
    );
    // Once the first answer has ended, the slot is free again.
    read_body(streaming).await?;
    assert_eq!(
        post_turn(&fake, &account, &body).await?.status(),
        StatusCode::OK
    );
    Ok(())
}
