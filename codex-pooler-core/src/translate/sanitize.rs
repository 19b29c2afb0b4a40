//! Upstream failures as a `/v1` client may see them (reference §6.5).
//!
//! An upstream failure keeps its `code` only when the code is short and plain (at most
//! [`MAX_CODE_BYTES`] bytes of `[A-Za-z0-9_.-]`); anything else becomes `upstream_error`. The
//! upstream message never reaches the client: it may quote the prompt or name the account. The
//! one exception is `misalignment_policy_violation`, whose message is meant for the user.

use serde_json::{Map, Value, json};

/// The longest upstream error code passed on unchanged.
pub const MAX_CODE_BYTES: usize = 80;

/// The code used when the upstream code is missing or not plain.
pub const FALLBACK_CODE: &str = "upstream_error";

/// The message every sanitized upstream failure carries.
pub const FAILED_MESSAGE: &str = "upstream request failed";

/// The message of the error sent when the upstream stream stopped before its terminal event.
pub const ENDED_EARLY_MESSAGE: &str = "upstream stream ended early";

/// The one code whose upstream message is passed on.
const PASS_THROUGH_CODE: &str = "misalignment_policy_violation";

/// Bound on a passed-through message, in characters.
const MAX_MESSAGE_CHARS: usize = 2_000;

/// `raw` when it is a plain code a client may see, else [`FALLBACK_CODE`].
pub fn error_code(raw: Option<&str>) -> &str {
    match raw {
        Some(code)
            if !code.is_empty()
                && code.len() <= MAX_CODE_BYTES
                && code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) =>
        {
            code
        }
        _ => FALLBACK_CODE,
    }
}

/// The upstream `error` object of a failure event: `response.error` of `response.failed`, or
/// `error` (nested or flat) of an `error` event.
pub(crate) fn upstream_error(event: &Value) -> &Value {
    let nested = event
        .get("response")
        .and_then(|r| r.get("error"))
        .filter(|e| e.is_object())
        .or_else(|| event.get("error").filter(|e| e.is_object()));
    nested.unwrap_or(event)
}

/// The sanitized code of a failure event.
pub fn event_code(event: &Value) -> &str {
    error_code(upstream_error(event).get("code").and_then(Value::as_str))
}

/// The OpenAI-shaped `error` object for a failure event:
/// `{"message","type":"server_error","code","param":null}`, sanitized.
pub fn error_object(event: &Value) -> Value {
    let code = event_code(event);
    let message = if code == PASS_THROUGH_CODE {
        upstream_error(event)
            .get("message")
            .and_then(Value::as_str)
            .map_or(FAILED_MESSAGE.to_owned(), |m| {
                m.chars().take(MAX_MESSAGE_CHARS).collect()
            })
    } else {
        FAILED_MESSAGE.to_owned()
    };
    json!({"message": message, "type": "server_error", "code": code, "param": null})
}

/// The `error` object sent when the stream stopped before its terminal event.
pub fn ended_early_object() -> Value {
    json!({
        "message": ENDED_EARLY_MESSAGE,
        "type": "server_error",
        "code": "server_error",
        "param": null,
    })
}

/// A `response.failed` response object rebuilt from a whitelist: the id only when it looks
/// like `resp_…`, no output, tools, instructions or metadata, a sanitized error and bounded
/// usage.
pub fn failed_response(event: &Value) -> Value {
    let response = event.get("response").unwrap_or(&Value::Null);
    let id = response
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| id.starts_with("resp_") && error_code(Some(id)) == *id)
        .unwrap_or("resp_failed");
    let error = error_object(event);
    let mut out = Map::new();
    out.insert("id".into(), id.into());
    out.insert("object".into(), "response".into());
    if let Some(created) = response.get("created_at").and_then(Value::as_i64) {
        out.insert("created_at".into(), created.into());
    }
    out.insert("status".into(), "failed".into());
    if let Some(model) = response
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| error_code(Some(m)) == *m)
    {
        out.insert("model".into(), model.into());
    }
    out.insert(
        "error".into(),
        json!({"code": error["code"], "message": error["message"]}),
    );
    out.insert("incomplete_details".into(), Value::Null);
    out.insert("output".into(), json!([]));
    out.insert("tools".into(), json!([]));
    for name in ["instructions", "metadata", "temperature", "top_p"] {
        out.insert(name.into(), Value::Null);
    }
    if let Some(usage) = response.get("usage").map(bounded_usage) {
        out.insert("usage".into(), usage);
    }
    Value::Object(out)
}

/// Only the token counters of a usage object, as unsigned integers.
fn bounded_usage(usage: &Value) -> Value {
    let count = |v: Option<&Value>| v.and_then(Value::as_u64).map_or(Value::Null, Value::from);
    json!({
        "input_tokens": count(usage.get("input_tokens")),
        "input_tokens_details": {
            "cached_tokens": count(usage.pointer("/input_tokens_details/cached_tokens")),
        },
        "output_tokens": count(usage.get("output_tokens")),
        "output_tokens_details": {
            "reasoning_tokens": count(usage.pointer("/output_tokens_details/reasoning_tokens")),
        },
        "total_tokens": count(usage.get("total_tokens")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_codes_pass_and_others_fall_back() {
        assert_eq!(
            error_code(Some("rate_limit_exceeded")),
            "rate_limit_exceeded"
        );
        assert_eq!(error_code(Some("a.b-c_9")), "a.b-c_9");
        assert_eq!(error_code(Some("has space")), FALLBACK_CODE);
        assert_eq!(error_code(Some("")), FALLBACK_CODE);
        assert_eq!(error_code(Some(&"x".repeat(81))), FALLBACK_CODE);
        assert_eq!(error_code(Some(&"x".repeat(80))).len(), 80);
        assert_eq!(error_code(None), FALLBACK_CODE);
    }

    #[test]
    fn messages_are_replaced_except_misalignment() {
        let failed = json!({"type":"response.failed","response":{"error":{
            "code":"server_error","message":"account acct_123 said no: <prompt text>"}}});
        assert_eq!(error_object(&failed)["message"], FAILED_MESSAGE);
        let flat = json!({"type":"error","code":"bad code!","message":"x"});
        assert_eq!(error_object(&flat)["code"], FALLBACK_CODE);
        let policy = json!({"type":"error","error":{
            "code":"misalignment_policy_violation","message":"This request was refused."}});
        assert_eq!(
            error_object(&policy)["message"],
            "This request was refused."
        );
    }

    #[test]
    fn failed_response_keeps_only_whitelisted_fields() {
        let event = json!({"type":"response.failed","response":{
            "id":"resp_abc","status":"failed","instructions":"secret","metadata":{"k":"v"},
            "output":[{"type":"message"}],"error":{"code":"oops","message":"secret"},
            "usage":{"input_tokens":3,"output_tokens":"many","secret":1}}});
        let out = failed_response(&event);
        assert_eq!(out["id"], "resp_abc");
        assert_eq!(out["instructions"], Value::Null);
        assert_eq!(out["output"], json!([]));
        assert_eq!(
            out["error"],
            json!({"code":"oops","message":FAILED_MESSAGE})
        );
        assert_eq!(out["usage"]["input_tokens"], 3);
        assert_eq!(out["usage"]["output_tokens"], Value::Null);
        assert!(out["usage"].get("secret").is_none());
        let odd = failed_response(&json!({"response":{"id":"not-a-response"}}));
        assert_eq!(odd["id"], "resp_failed");
    }
}
