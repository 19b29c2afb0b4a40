//! Helpers shared by the tests: accounts, a loopback HTTP client, SSE parsing.

use std::error::Error;
use std::time::Duration;

use bytes::Bytes;
use codex_pooler_fake_upstream::{
    FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle, RESPONSES_PATH,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::time::timeout;

pub(crate) type BoxError = Box<dyn Error + Send + Sync>;
pub(crate) type TestResult = Result<(), BoxError>;

/// Upper bound for anything that should happen promptly; only reached when a test fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

pub(crate) fn alice() -> FakeAccount {
    FakeAccount::new("acc-alice", "tok-alice", "alice")
}

pub(crate) fn bob() -> FakeAccount {
    FakeAccount::new("acc-bob", "tok-bob", "bob")
}

pub(crate) fn start(config: FakeConfig) -> Result<FakeUpstreamHandle, BoxError> {
    Ok(FakeUpstream::start(config)?)
}

pub(crate) fn start_default() -> Result<FakeUpstreamHandle, BoxError> {
    start(FakeConfig::with_accounts(vec![alice(), bob()]))
}

pub(crate) fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

pub(crate) async fn send(
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
pub(crate) async fn post_turn_with(
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

pub(crate) async fn post_turn(
    fake: &FakeUpstreamHandle,
    account: &FakeAccount,
    body: &Value,
) -> Result<Response<Incoming>, BoxError> {
    post_turn_with(fake, account, &[], body).await
}

pub(crate) async fn read_body(
    response: Response<Incoming>,
) -> Result<(StatusCode, HeaderMap, Bytes), BoxError> {
    let (parts, body) = response.into_parts();
    let bytes = timeout(PATIENCE, body.collect()).await??.to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

pub(crate) async fn read_json(
    response: Response<Incoming>,
) -> Result<(StatusCode, HeaderMap, Value), BoxError> {
    let (status, headers, bytes) = read_body(response).await?;
    Ok((status, headers, serde_json::from_slice(&bytes)?))
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("<missing>")
}

/// Parses `event: X\ndata: {json}\n\n` frames; checks that `data.type` repeats the event name.
pub(crate) fn parse_sse(text: &str) -> Result<Vec<(String, Value)>, BoxError> {
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

pub(crate) fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

pub(crate) fn user_message(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

pub(crate) fn turn_body(input: &[Value]) -> Value {
    json!({
        "model": "gpt-5.1-codex", "stream": true, "store": false, "tool_choice": "auto",
        "parallel_tool_calls": true, "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "thread-1",
        "input": input,
    })
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads frames until the text holds `events` complete SSE events.
pub(crate) async fn read_events(body: &mut Incoming, events: usize) -> Result<String, BoxError> {
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
