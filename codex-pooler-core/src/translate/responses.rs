//! `POST /v1/responses` → the Codex backend's `/responses` request.
//!
//! The public Responses API and the Codex backend speak the same dialect, so the body is
//! passed on with only what the backend refuses taken out:
//!
//! 1. `model` must be a non-empty string and `input` a string or an array (400
//!    `invalid_request` otherwise). A string `input` becomes one user message.
//! 2. Parameters with no Codex meaning ([`REFUSED`]) answer 400 `unsupported_parameter` when
//!    they carry a value; sent with their default (`background: false`) they are dropped.
//!    `top_logprobs` is among them: `0` is dropped, anything else refused.
//! 3. Parameters clients send by habit that the backend answers with
//!    `Unsupported parameter: …` ([`DROPPED`]) are removed and listed in
//!    [`ResponsesCall::dropped`], so the gateway can log them (names only, never values).
//! 4. `store: true` is dropped and listed too: the backend refuses anything but `false`, and
//!    nothing is stored either way; refusing it would break SDK defaults for no gain.
//! 5. Upstream always gets `stream: true` and `store: false`; the client's `stream` is kept
//!    in [`ResponsesCall::client_stream`] so the gateway can collect a non-stream answer.
//! 6. `include` always gains `reasoning.encrypted_content`, as the reference and the Codex
//!    CLI do: with `store: false` the encrypted reasoning is the only way a client can replay
//!    reasoning items on the next turn, and a client that does not want it ignores it.
//!
//! Every other field (`previous_response_id`, `client_metadata`, `prompt_cache_key`, `tools`,
//! `text`, `reasoning`, …) passes through untouched, so new Codex fields keep working.

use serde_json::{Map, Value, json};

use super::fields::{self, invalid, is_default};
use crate::error::PoolerError;

/// Parameters with no Codex meaning, refused with 400 `unsupported_parameter` when set.
pub const REFUSED: [&str; 7] = [
    "background",
    "context_management",
    "conversation",
    "logprobs",
    "max_tool_calls",
    "prompt",
    "top_logprobs",
];

/// Parameters the backend refuses but clients send by habit: removed, and named in
/// [`ResponsesCall::dropped`].
///
/// `user` is here rather than in [`REFUSED`]: it is a harmless end-user tag many SDK
/// wrappers set, and `safety_identifier` (passed on) is its replacement.
pub const DROPPED: [&str; 9] = [
    "frequency_penalty",
    "max_output_tokens",
    "presence_penalty",
    "seed",
    "stream_options",
    "temperature",
    "top_p",
    "truncation",
    "user",
];

/// The `include` entry every upstream request carries.
pub const ENCRYPTED_REASONING: &str = "reasoning.encrypted_content";

/// A `/v1/responses` request made ready for the Codex backend.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponsesCall {
    /// The upstream body (`stream: true`, `store: false`).
    pub body: Map<String, Value>,
    /// Whether the client asked for a stream; `false` means the gateway collects the answer
    /// (see [`ResponseCollector`](super::collect::ResponseCollector)).
    pub client_stream: bool,
    /// The names of the parameters removed, in a stable order; for logs and records.
    pub dropped: Vec<&'static str>,
}

/// Turns a `/v1/responses` body into the Codex backend request, or the typed 400 to answer.
pub fn to_codex(mut body: Map<String, Value>) -> Result<ResponsesCall, PoolerError> {
    fields::model(&body)?;
    let mut dropped = Vec::new();
    for name in REFUSED {
        match body.remove(name) {
            Some(value) if !is_default(&value) => {
                return Err(PoolerError::unsupported_parameter(name));
            }
            Some(value) if !value.is_null() => dropped.push(name),
            _ => {}
        }
    }
    let client_stream = fields::optional_bool(body.remove("stream").as_ref(), "stream")?;
    if fields::optional_bool(body.remove("store").as_ref(), "store")? == Some(true) {
        dropped.push("store");
    }
    for name in DROPPED {
        if body.remove(name).is_some_and(|v| !v.is_null()) {
            dropped.push(name);
        }
    }
    let input = match body.remove("input") {
        Some(Value::String(text)) => json!([user_text(&text)]),
        Some(Value::Array(items)) => Value::Array(items),
        None | Some(Value::Null) => return Err(invalid("input", "`input` is required")),
        Some(_) => {
            return Err(invalid(
                "input",
                "`input` must be a string or an array of items",
            ));
        }
    };
    body.insert("input".into(), input);
    if fields::optional_str(body.get("instructions"), "instructions")?.is_none() {
        body.remove("instructions");
    }
    let include = include_with_reasoning(body.remove("include"))?;
    body.insert("include".into(), include);
    body.insert("stream".into(), Value::Bool(true));
    body.insert("store".into(), Value::Bool(false));
    Ok(ResponsesCall {
        body,
        client_stream: client_stream.unwrap_or(false),
        dropped,
    })
}

/// One user message holding `text`, the item form of a string `input`.
pub(crate) fn user_text(text: &str) -> Value {
    json!({
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    })
}

/// The client's `include` list (strings only) with [`ENCRYPTED_REASONING`] added once.
fn include_with_reasoning(include: Option<Value>) -> Result<Value, PoolerError> {
    let mut list = match include {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => list,
        Some(_) => return Err(invalid("include", "`include` must be an array of strings")),
    };
    if !list.iter().any(|v| v == ENCRYPTED_REASONING) {
        list.push(ENCRYPTED_REASONING.into());
    }
    Ok(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn call(body: Value) -> Result<ResponsesCall, PoolerError> {
        match body {
            Value::Object(map) => to_codex(map),
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn string_input_becomes_a_user_message_and_upstream_streams() {
        let out = call(json!({"model":"gpt-5","input":"hi","stream":false})).unwrap();
        assert!(!out.client_stream);
        assert_eq!(out.body["input"], json!([user_text("hi")]));
        assert_eq!(out.body["stream"], true);
        assert_eq!(out.body["store"], false);
        assert_eq!(out.body["include"], json!([ENCRYPTED_REASONING]));
        assert!(out.dropped.is_empty());
    }

    #[test]
    fn habits_are_dropped_and_listed() {
        let out = call(
            json!({"model":"m","input":[],"temperature":0.2,"top_p":null,
            "store":true,"max_output_tokens":100,"truncation":"auto","top_logprobs":0,
            "include":["reasoning.encrypted_content","message.output_text.logprobs"]}),
        )
        .unwrap();
        assert_eq!(
            out.dropped,
            vec![
                "top_logprobs",
                "store",
                "max_output_tokens",
                "temperature",
                "truncation"
            ]
        );
        for name in [
            "temperature",
            "top_p",
            "max_output_tokens",
            "truncation",
            "top_logprobs",
        ] {
            assert!(!out.body.contains_key(name), "{name}");
        }
        assert_eq!(out.body["include"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn refused_parameters_name_themselves() {
        let err = call(json!({"model":"m","input":"x","background":true})).unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnsupportedParameter);
        assert_eq!(err.body()["error"]["param"], "background");
        let err = call(json!({"model":"m","input":"x","top_logprobs":3})).unwrap_err();
        assert_eq!(err.body()["error"]["param"], "top_logprobs");
    }

    #[test]
    fn bad_shapes_are_typed_400s() {
        let err = call(json!({"input":"x"})).unwrap_err();
        assert_eq!(err.body()["error"]["param"], "model");
        let err = call(json!({"model":"m","input":7})).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        assert_eq!(err.body()["error"]["param"], "input");
        let err = call(json!({"model":"m","input":"x","stream":"yes"})).unwrap_err();
        assert_eq!(err.body()["error"]["param"], "stream");
    }

    #[test]
    fn continuity_fields_pass_through() {
        let out = call(
            json!({"model":"m","input":[],"previous_response_id":"resp_1",
            "client_metadata":{"a":"b"},"instructions":null}),
        )
        .unwrap();
        assert_eq!(out.body["previous_response_id"], "resp_1");
        assert_eq!(out.body["client_metadata"], json!({"a":"b"}));
        assert!(!out.body.contains_key("instructions"));
    }
}
