//! Tests of the fake Codex backend over real loopback HTTP.

use std::error::Error;
use std::time::Duration;

use bytes::Bytes;
use codex_pooler_server::fake_upstream::{
    FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle, RESPONSES_PATH,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};

type BoxError = Box<dyn Error + Send + Sync>;
type TestResult = Result<(), BoxError>;

/// Upper bound for anything that should happen promptly; only reached when a test fails.
const PATIENCE: Duration = Duration::from_secs(10);

fn alice() -> FakeAccount {
    FakeAccount::new("acc-alice", "tok-alice", "alice")
}

fn bob() -> FakeAccount {
    FakeAccount::new("acc-bob", "tok-bob", "bob")
}

fn start(config: FakeConfig) -> Result<FakeUpstreamHandle, BoxError> {
    Ok(FakeUpstream::start(config)?)
}

fn start_default() -> Result<FakeUpstreamHandle, BoxError> {
    start(FakeConfig::with_accounts(vec![alice(), bob()]))
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn send(
    fake: &FakeUpstreamHandle,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Response<Incoming>, BoxError> {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("{}{path}", fake.base_url()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into()))?;
    Ok(timeout(PATIENCE, client().request(request)).await??)
}

/// A `/responses` POST authenticated as `account`, with extra headers.
async fn post_turn_with(
    fake: &FakeUpstreamHandle,
    account: &FakeAccount,
    headers: &[(&str, &str)],
    body: &Value,
) -> Result<Response<Incoming>, BoxError> {
    let bearer = format!("Bearer {}", account.access_token);
    let mut all = vec![
        ("authorization", bearer.as_str()),
        ("chatgpt-account-id", account.chatgpt_account_id.as_str()),
        ("content-type", "application/json"),
    ];
    all.extend_from_slice(headers);
    send(
        fake,
        Method::POST,
        RESPONSES_PATH,
        &all,
        serde_json::to_vec(body)?,
    )
    .await
}

async fn post_turn(
    fake: &FakeUpstreamHandle,
    account: &FakeAccount,
    body: &Value,
) -> Result<Response<Incoming>, BoxError> {
    post_turn_with(fake, account, &[], body).await
}

async fn read_body(
    response: Response<Incoming>,
) -> Result<(StatusCode, HeaderMap, Bytes), BoxError> {
    let (parts, body) = response.into_parts();
    let bytes = timeout(PATIENCE, body.collect()).await??.to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

async fn read_json(
    response: Response<Incoming>,
) -> Result<(StatusCode, HeaderMap, Value), BoxError> {
    let (status, headers, bytes) = read_body(response).await?;
    Ok((status, headers, serde_json::from_slice(&bytes)?))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("<missing>")
}

/// Parses `event: X\ndata: {json}\n\n` frames; checks that `data.type` repeats the event name.
fn parse_sse(text: &str) -> Result<Vec<(String, Value)>, BoxError> {
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.is_empty()) {
        let mut lines = block.lines();
        let name = lines
            .next()
            .and_then(|l| l.strip_prefix("event: "))
            .ok_or("missing event line")?;
        let data = lines
            .next()
            .and_then(|l| l.strip_prefix("data: "))
            .ok_or("missing data line")?;
        let data: Value = serde_json::from_str(data)?;
        assert_eq!(data["type"], name, "data.type must repeat the event name");
        events.push((name.to_owned(), data));
    }
    Ok(events)
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

fn user_message(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

fn turn_body(input: &[Value]) -> Value {
    json!({
        "model": "gpt-5.1-codex", "stream": true, "store": false, "tool_choice": "auto",
        "parallel_tool_calls": true, "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "thread-1",
        "input": input,
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads frames until the text holds `events` complete SSE events.
async fn read_events(body: &mut Incoming, events: usize) -> Result<String, BoxError> {
    let mut text = String::new();
    while text.matches("\n\n").count() < events {
        let frame = timeout(PATIENCE, body.frame())
            .await?
            .ok_or("body ended early")??;
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data)?);
        }
    }
    Ok(text)
}

#[tokio::test]
async fn streams_the_codex_sse_sequence() -> TestResult {
    let fake = start_default()?;
    let body = turn_body(&[user_message("Say hi")]);
    let (status, headers, bytes) = read_body(post_turn(&fake, &alice(), &body).await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/event-stream");
    let events = parse_sse(std::str::from_utf8(&bytes)?)?;
    assert_eq!(
        names(&events),
        [
            "response.created",
            "response.output_item.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let created = &events[0].1["response"];
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["model"], "gpt-5.1-codex");
    let deltas: String = events
        .iter()
        .filter(|(name, _)| name == "response.output_text.delta")
        .filter_map(|(_, data)| data["delta"].as_str())
        .collect();
    assert_eq!(deltas, "Hello from alice");
    let item = &events[6].1["item"];
    assert_eq!(item["type"], "message");
    assert_eq!(item["role"], "assistant");
    assert_eq!(item["content"][0]["type"], "output_text");
    assert_eq!(item["content"][0]["text"], "Hello from alice");
    assert_eq!(events[2].1["item_id"], item["id"]);
    let completed = &events[7].1["response"];
    assert_eq!(completed["id"], created["id"]);
    assert_eq!(completed["status"], "completed");
    let usage = &completed["usage"];
    let input = usage["input_tokens"].as_u64().ok_or("input_tokens")?;
    let output = usage["output_tokens"].as_u64().ok_or("output_tokens")?;
    assert!(input > 10, "input tokens are estimated from the body size");
    assert!(output > 0);
    assert_eq!(usage["total_tokens"].as_u64(), Some(input + output));
    assert_eq!(usage["input_tokens_details"]["cached_tokens"], 0);
    assert_eq!(usage["output_tokens_details"]["reasoning_tokens"], 0);
    Ok(())
}

#[tokio::test]
async fn configured_text_and_usage_are_reported() -> TestResult {
    let fake = start(FakeConfig {
        text: Some("custom answer".to_owned()),
        text_deltas: 2,
        output_tokens: Some(50),
        cached_tokens: 7,
        reasoning_tokens: 20,
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let body = turn_body(&[user_message("Say hi")]);
    let (_, _, bytes) = read_body(post_turn(&fake, &alice(), &body).await?).await?;
    let events = parse_sse(std::str::from_utf8(&bytes)?)?;
    assert_eq!(events.len(), 6);
    assert_eq!(events[2].1["delta"], "custom");
    assert_eq!(events[3].1["delta"], " answer");
    let usage = &events[5].1["response"]["usage"];
    assert_eq!(usage["output_tokens"], 50);
    assert_eq!(usage["input_tokens_details"]["cached_tokens"], 7);
    assert_eq!(usage["output_tokens_details"]["reasoning_tokens"], 20);
    Ok(())
}

#[tokio::test]
async fn chunks_arrive_incrementally() -> TestResult {
    let delay = Duration::from_millis(20);
    let fake = start(FakeConfig {
        chunk_size: Some(64),
        chunk_delay: delay,
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let body = turn_body(&[user_message("Say hi")]);
    let response = post_turn(&fake, &alice(), &body).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = timeout(PATIENCE, body.frame()).await?.ok_or("no frame")??;
    let first_at = Instant::now();
    let first = first.into_data().map_err(|_| "not data")?;
    assert!(first.len() <= 64, "first write is one chunk");
    assert!(first.starts_with(b"event: response.created"));
    let mut text = String::from_utf8(first.to_vec())?;
    let mut frames = 1;
    while let Some(frame) = timeout(PATIENCE, body.frame()).await? {
        let data = frame?.into_data().map_err(|_| "not data")?;
        assert!(data.len() <= 64, "every write is at most one chunk");
        text.push_str(std::str::from_utf8(&data)?);
        frames += 1;
    }
    let last_at = Instant::now();
    assert!(
        frames >= 10,
        "a ~1.5 KB stream in 64-byte chunks, got {frames} frames"
    );
    // The first chunk was readable long before the last one was written.
    assert!(last_at - first_at >= delay * 5);
    assert_eq!(
        names(&parse_sse(&text)?).last(),
        Some(&"response.completed")
    );
    Ok(())
}

#[tokio::test]
async fn events_are_written_one_at_a_time() -> TestResult {
    let fake = start(FakeConfig {
        chunk_delay: Duration::from_millis(50),
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let body = turn_body(&[user_message("Say hi")]);
    let mut body = post_turn(&fake, &alice(), &body).await?.into_body();
    let first = read_events(&mut body, 1).await?;
    assert!(first.starts_with("event: response.created\n"));
    assert!(!first.contains("response.completed"));
    assert!(!body.is_end_stream());
    let rest = timeout(PATIENCE, body.collect()).await??.to_bytes();
    assert!(std::str::from_utf8(&rest)?.contains("event: response.completed\n"));
    Ok(())
}

#[tokio::test]
async fn first_byte_delay_holds_back_the_response_head() -> TestResult {
    let delay = Duration::from_millis(150);
    let fake = start(FakeConfig {
        first_byte_delay: delay,
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let started = Instant::now();
    let response = post_turn(&fake, &alice(), &turn_body(&[user_message("hi")])).await?;
    assert!(started.elapsed() >= delay);
    assert_eq!(response.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn quota_and_turn_headers() -> TestResult {
    let account = FakeAccount {
        primary_used_percent: 12.5,
        secondary_used_percent: 40.0,
        primary_reset_after_seconds: 1800,
        ..alice()
    };
    let fake = start(FakeConfig::with_accounts(vec![account.clone()]))?;
    let body = turn_body(&[user_message("hi")]);
    let before = now();
    let (status, headers, _) = read_body(post_turn(&fake, &account, &body).await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "x-codex-primary-used-percent"), "12.5");
    assert_eq!(header(&headers, "x-codex-primary-window-minutes"), "300");
    assert_eq!(header(&headers, "x-codex-secondary-used-percent"), "40.0");
    assert_eq!(
        header(&headers, "x-codex-secondary-window-minutes"),
        "10080"
    );
    let primary_reset: u64 = header(&headers, "x-codex-primary-reset-at").parse()?;
    assert!((before + 1800..=now() + 1800).contains(&primary_reset));
    let secondary_reset: u64 = header(&headers, "x-codex-secondary-reset-at").parse()?;
    assert!(secondary_reset > primary_reset);
    assert_eq!(header(&headers, "openai-model"), "gpt-5.1-codex");
    assert!(header(&headers, "x-request-id").starts_with("req_"));
    let turn_state = header(&headers, "x-codex-turn-state");
    assert!(!turn_state.is_empty() && turn_state != "<missing>");

    let echoed = post_turn_with(
        &fake,
        &account,
        &[("x-codex-turn-state", "ts-from-client")],
        &body,
    )
    .await?;
    assert_eq!(
        header(echoed.headers(), "x-codex-turn-state"),
        "ts-from-client"
    );
    Ok(())
}

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
    for body in [&b"not json"[..], br#"{"stream":true,"input":[]}"#] {
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
async fn tool_call_turn() -> TestResult {
    let fake = start_default()?;
    let prompt = user_message("Please run it.\nRUN_TOOL: echo hi-from-tool\nThanks");
    let response = post_turn(&fake, &alice(), &turn_body(std::slice::from_ref(&prompt))).await?;
    let turn_state = header(response.headers(), "x-codex-turn-state").to_owned();
    let (_, _, bytes) = read_body(response).await?;
    let events = parse_sse(std::str::from_utf8(&bytes)?)?;
    assert_eq!(events[0].0, "response.created");
    assert_eq!(events[1].0, "response.output_item.added");
    assert_eq!(events[1].1["item"]["type"], "function_call");
    let done = events
        .iter()
        .find(|(name, _)| name == "response.output_item.done")
        .ok_or("no output_item.done")?;
    let call = &done.1["item"];
    assert_eq!(call["type"], "function_call");
    assert_eq!(call["name"], "exec_command");
    assert_eq!(call["status"], "completed");
    let arguments: Value = serde_json::from_str(call["arguments"].as_str().ok_or("arguments")?)?;
    assert_eq!(arguments, json!({"cmd": "echo hi-from-tool"}));
    let call_id = call["call_id"].as_str().ok_or("call_id")?;
    assert!(!call_id.is_empty());
    let (last, completed) = events.last().ok_or("no events")?;
    assert_eq!(last, "response.completed");
    assert_eq!(&completed["response"]["output"][0], call);

    // The CLI's follow-up request (capture 12): full history, the call and its output last.
    let output = format!(
        "Process exited with code 0\nOutput:\nhi-from-tool\n{}",
        "x".repeat(300)
    );
    let follow_up = turn_body(&[
        prompt,
        call.clone(),
        json!({"type": "function_call_output", "call_id": call_id, "output": output}),
    ]);
    let response = post_turn_with(
        &fake,
        &alice(),
        &[("x-codex-turn-state", &turn_state)],
        &follow_up,
    )
    .await?;
    assert_eq!(header(response.headers(), "x-codex-turn-state"), turn_state);
    let (_, _, bytes) = read_body(response).await?;
    let events = parse_sse(std::str::from_utf8(&bytes)?)?;
    let done = events
        .iter()
        .find(|(name, _)| name == "response.output_item.done")
        .ok_or("no output_item.done")?;
    let expected: String = output.chars().take(200).collect();
    assert_eq!(done.1["item"]["type"], "message");
    assert_eq!(
        done.1["item"]["content"][0]["text"],
        format!("Tool said: {expected}")
    );
    Ok(())
}

#[tokio::test]
async fn json_mode_without_stream() -> TestResult {
    let fake = start_default()?;
    let body = json!({"model": "gpt-5.1-codex", "input": [user_message("hi")]});
    let (status, headers, body) = read_json(post_turn(&fake, &alice(), &body).await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "x-codex-primary-window-minutes"), "300");
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["model"], "gpt-5.1-codex");
    assert!(
        body["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("resp_"))
    );
    assert_eq!(body["output"][0]["type"], "message");
    assert_eq!(body["output"][0]["content"][0]["text"], "Hello from alice");
    let usage = &body["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["input_tokens"].as_u64().unwrap_or(0)
                + usage["output_tokens"].as_u64().unwrap_or(0)
        )
    );

    // Without `stream`, `accept: text/event-stream` asks for SSE.
    let body = json!({"model": "gpt-5.1-codex", "input": [user_message("hi")]});
    let response =
        post_turn_with(&fake, &alice(), &[("accept", "text/event-stream")], &body).await?;
    assert_eq!(
        header(response.headers(), "content-type"),
        "text/event-stream"
    );
    Ok(())
}

#[tokio::test]
async fn stall_keeps_the_connection_open_until_shutdown() -> TestResult {
    let fake = start(FakeConfig {
        stall_after_events: Some(2),
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let response = post_turn(&fake, &alice(), &turn_body(&[user_message("hi")])).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let text = read_events(&mut body, 2).await?;
    assert_eq!(
        names(&parse_sse(&text)?),
        ["response.created", "response.output_item.added"]
    );
    // Nothing more comes, and the body does not end.
    assert!(
        timeout(Duration::from_millis(300), body.frame())
            .await
            .is_err()
    );
    fake.shutdown();
    let after = timeout(PATIENCE, body.frame()).await?;
    assert!(
        matches!(after, Some(Err(_))),
        "shutdown aborts a stalled stream: {after:?}"
    );
    Ok(())
}

#[tokio::test]
async fn break_closes_the_stream_before_completion() -> TestResult {
    let fake = start_default()?;
    assert!(fake.set_account("acc-bob", |a| a.break_after_events = Some(3)));
    let response = post_turn(&fake, &bob(), &turn_body(&[user_message("hi")])).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut text = String::new();
    let mut failed = false;
    while let Some(frame) = timeout(PATIENCE, body.frame()).await? {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    text.push_str(std::str::from_utf8(&data)?);
                }
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body must end with an error, not cleanly");
    assert_eq!(parse_sse(&text)?.len(), 3);
    assert!(!text.contains("response.completed"));

    // Alice has no override and completes normally.
    let (_, _, bytes) =
        read_body(post_turn(&fake, &alice(), &turn_body(&[user_message("hi")])).await?).await?;
    assert!(std::str::from_utf8(&bytes)?.contains("event: response.completed"));
    Ok(())
}

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
    assert!(
        models
            .iter()
            .all(|m| m["slug"].is_string() && m["display_name"].is_string())
    );

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
    let server = tokio::spawn(codex_pooler_server::fake_upstream::serve(
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
