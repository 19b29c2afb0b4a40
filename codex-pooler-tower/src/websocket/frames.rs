//! Reading the few websocket text frames the pooler learns from.
//!
//! Every frame is relayed as it is; these functions only look. A frame is parsed only when it
//! may be interesting (a cheap substring test first), so the stream of deltas costs a scan, not
//! a parse. Nothing read here is kept but ids, counts and quota numbers.

use std::time::SystemTime;

use codex_pooler_core::quota::windows_from_rate_limits_event;
use codex_pooler_core::quota::{QuotaWindow, UsageLimit, parse_usage_limit};
use codex_pooler_core::record::TokenUsage;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::Value;

use crate::upstream::is_relayed_response_header;

/// A client `response.create` frame: the start of one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TurnStart {
    /// The model it asks for.
    pub(crate) model: Option<String>,
    /// Its `stream` flag (the Codex CLI always sends `true`).
    pub(crate) stream: bool,
}

#[derive(Deserialize)]
struct CreateHead<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a str>,
    model: Option<String>,
    stream: Option<bool>,
}

/// Reads a client text frame; `Some` for `response.create`.
pub(crate) fn turn_start(text: &str) -> Option<TurnStart> {
    if !text.contains("response.create") {
        return None;
    }
    let head: CreateHead<'_> = serde_json::from_str(text).ok()?;
    (head.kind == Some("response.create")).then(|| TurnStart {
        // Text of no model shape is passed on (upstream answers it) but never recorded.
        model: head
            .model
            .filter(|m| !m.is_empty() && codex_pooler_core::request::is_model_name(m)),
        stream: head.stream.unwrap_or(true),
    })
}

/// What an upstream frame said.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Signal {
    /// `response.created`: the id of the response being produced.
    Created(String),
    /// `response.completed`, with its token usage when present.
    Completed(Option<TokenUsage>),
    /// `response.failed`.
    Failed,
    /// `response.incomplete`.
    Incomplete,
    /// `codex.rate_limits` account windows.
    RateLimits(Vec<QuotaWindow>),
    /// An `error` frame: `{"type":"error","status_code":429,"error":{...},"headers":{...}}`.
    Error {
        /// Its `status_code` (500 when absent).
        status: u16,
        /// A `usage_limit_reached` error's limit.
        limit: Option<UsageLimit>,
        /// The quota headers it carries.
        headers: HeaderMap,
    },
}

/// Types worth parsing a frame for; any other frame is passed over after a substring test.
const INTERESTING: &[&str] = &[
    "response.created",
    "response.completed",
    "response.failed",
    "response.incomplete",
    "codex.rate_limits",
    "\"error\"",
];

/// Reads an upstream text frame.
pub(crate) fn signal(text: &str, now: SystemTime) -> Option<Signal> {
    if !INTERESTING.iter().any(|needle| text.contains(needle)) {
        return None;
    }
    let value: Value = serde_json::from_str(text).ok()?;
    match value.get("type")?.as_str()? {
        "response.created" => value
            .pointer("/response/id")
            .and_then(Value::as_str)
            .map(|id| Signal::Created(id.to_owned())),
        "response.completed" => Some(Signal::Completed(
            value
                .pointer("/response/usage")
                .and_then(TokenUsage::from_response_usage),
        )),
        "response.failed" => Some(Signal::Failed),
        "response.incomplete" => Some(Signal::Incomplete),
        "codex.rate_limits" => Some(Signal::RateLimits(windows_from_rate_limits_event(
            &value, now,
        ))),
        "error" => Some(error_signal(&value, text, now)),
        _ => None,
    }
}

/// An upstream text frame with the names its `headers` object may not pass to the client
/// removed (see [`is_relayed_response_header`]), or `None` when the frame has nothing to
/// remove and goes on as it is.
///
/// `error` frames carry upstream's response headers (`{"type":"error",...,"headers":{...}}`),
/// as `response.metadata` frames do; they reach the client under the same allowlist as HTTP
/// answers. Only frames containing a `"headers"` key are parsed.
pub(crate) fn scrub_headers(text: &str) -> Option<String> {
    if !text.contains("\"headers\"") {
        return None;
    }
    let mut value: Value = serde_json::from_str(text).ok()?;
    let Some(Value::Object(headers)) = value.get_mut("headers") else {
        return None;
    };
    let before = headers.len();
    headers.retain(|name, _| is_relayed_response_header(&name.to_ascii_lowercase()));
    (headers.len() != before).then(|| value.to_string())
}

fn error_signal(value: &Value, text: &str, now: SystemTime) -> Signal {
    let status = value
        .get("status_code")
        .or_else(|| value.get("status"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))
        .unwrap_or(500);
    let limit = (status == 429)
        .then(|| parse_usage_limit(text.as_bytes(), now))
        .flatten();
    let mut headers = HeaderMap::new();
    if let Some(Value::Object(fields)) = value.get("headers") {
        for (name, v) in fields {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            if let (Ok(name), Ok(v)) = (
                HeaderName::try_from(name.to_ascii_lowercase()),
                HeaderValue::try_from(text),
            ) {
                headers.append(name, v);
            }
        }
    }
    Signal::Error {
        status,
        limit,
        headers,
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::clock::{from_unix_seconds, unix_seconds};

    use super::*;

    #[test]
    fn reads_turn_starts() {
        let create = r#"{"type":"response.create","model":"gpt-5.1-codex","stream":true,"input":[{"type":"message","role":"user","content":"response.create"}],"generate":false}"#;
        assert_eq!(
            turn_start(create),
            Some(TurnStart {
                model: Some("gpt-5.1-codex".to_owned()),
                stream: true
            })
        );
        assert_eq!(
            turn_start(r#"{"type":"session.update","note":"response.create"}"#),
            None
        );
        assert_eq!(turn_start("not json response.create"), None);
    }

    #[test]
    fn reads_upstream_signals() {
        let now = from_unix_seconds(1_000);
        assert_eq!(
            signal(
                r#"{"type":"response.created","response":{"id":"resp_1"}}"#,
                now
            ),
            Some(Signal::Created("resp_1".to_owned()))
        );
        assert_eq!(
            signal(
                r#"{"type":"response.output_text.delta","delta":"say response.completed"}"#,
                now
            ),
            None
        );
        let completed = r#"{"type":"response.completed","response":{"id":"r","usage":{"input_tokens":3,"output_tokens":2,"total_tokens":5}}}"#;
        assert!(matches!(
            signal(completed, now),
            Some(Signal::Completed(Some(u))) if u.output_tokens == 2
        ));
        let limits = r#"{"type":"codex.rate_limits","rate_limits":{"primary":{"used_percent":50.0,"window_minutes":300,"reset_at":9000}}}"#;
        assert!(matches!(signal(limits, now), Some(Signal::RateLimits(w)) if w.len() == 1));
    }

    #[test]
    fn error_frames_reach_the_client_with_allowlisted_headers_only() {
        let frame = r#"{"type":"error","status_code":429,"error":{"type":"usage_limit_reached"},"headers":{"x-codex-primary-used-percent":"100.0","X-Codex-Active-Limit":"codex","x-openai-account-id":"acct-upstream","chatgpt-account-id":"acct-upstream","x-codex-account-email":"owner@example.com"}}"#;
        let scrubbed: Value = serde_json::from_str(&scrub_headers(frame).unwrap()).unwrap();
        assert_eq!(
            scrubbed["headers"],
            serde_json::json!({"x-codex-primary-used-percent":"100.0","X-Codex-Active-Limit":"codex"})
        );
        assert_eq!(scrubbed["status_code"], 429);
        assert_eq!(scrubbed["error"]["type"], "usage_limit_reached");
        // Nothing to remove, or no headers object: the frame goes on byte for byte.
        let clean = r#"{"type":"error","headers":{"x-codex-primary-used-percent":"1"}}"#;
        assert_eq!(scrub_headers(clean), None);
        let metadata = r#"{"type":"response.metadata","headers":{"x-codex-turn-state":"t","openai-model":"m"}}"#;
        assert_eq!(scrub_headers(metadata), None);
        let delta = r#"{"type":"response.output_text.delta","delta":"say "headers""}"#;
        assert_eq!(scrub_headers(delta), None);
        let nested = r#"{"type":"x","item":{"headers":{"x-openai-account-id":"a"}}}"#;
        assert_eq!(scrub_headers(nested), None);
    }

    #[test]
    fn reads_usage_limit_error_frames() {
        let now = from_unix_seconds(1_000);
        let frame = r#"{"type":"error","status_code":429,"error":{"type":"usage_limit_reached","message":"limit","plan_type":"plus","resets_at":5000},"headers":{"x-codex-primary-used-percent":"100.0","x-codex-primary-window-minutes":300}}"#;
        let Some(Signal::Error {
            status,
            limit,
            headers,
        }) = signal(frame, now)
        else {
            panic!("not an error signal");
        };
        assert_eq!(status, 429);
        assert_eq!(unix_seconds(limit.unwrap().resets_at.unwrap()), 5_000);
        assert_eq!(headers["x-codex-primary-used-percent"], "100.0");
        assert_eq!(headers["x-codex-primary-window-minutes"], "300");
        let other = signal(r#"{"type":"error","error":{"message":"boom"}}"#, now);
        assert!(matches!(
            other,
            Some(Signal::Error {
                status: 500,
                limit: None,
                ..
            })
        ));
    }
}
