//! A `/v1/chat/completions` body → the Codex backend's `/responses` request.
//!
//! The parameter table is in the [module docs](super); messages are mapped by
//! `messages`, tools and `tool_choice` by `tools`.

use serde_json::{Map, Value, json};

use super::{messages, tools};
use crate::error::PoolerError;
use crate::translate::fields::{self, invalid, is_default, unsupported};
use crate::translate::responses::ENCRYPTED_REASONING;

/// Parameters refused with 400 `unsupported_parameter` when they carry a value (dropped when
/// sent with their default): the client would get an answer of another shape than it asked
/// for (log probabilities, stop sequences, audio, predicted output, web search).
pub const REFUSED: [&str; 7] = [
    "audio",
    "logit_bias",
    "logprobs",
    "prediction",
    "stop",
    "top_logprobs",
    "web_search_options",
];

/// Parameters removed and named in [`ChatCall::dropped`]: the backend refuses them, and
/// without them only sampling (or the length cap) follows the backend's defaults.
pub const DROPPED: [&str; 8] = [
    "frequency_penalty",
    "max_completion_tokens",
    "max_tokens",
    "presence_penalty",
    "seed",
    "temperature",
    "top_p",
    "user",
];

/// The deprecated function-calling parameters, refused with 400 `invalid_request`.
pub const LEGACY: [&str; 2] = ["functions", "function_call"];

/// Parameters passed upstream as they are.
const PASSED: [&str; 5] = [
    "metadata",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
];

/// A `/v1/chat/completions` request made ready for the Codex backend.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatCall {
    /// The upstream Responses body (`stream: true`, `store: false`).
    pub body: Map<String, Value>,
    /// Whether the client asked for a stream of chunks; `false` means one `chat.completion`.
    pub client_stream: bool,
    /// Whether a streaming client asked for the usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
    /// The names of the parameters removed, in a stable order; for logs and records.
    pub dropped: Vec<&'static str>,
    /// The model the client asked for, echoed when the upstream answer names none.
    pub model: String,
}

/// Turns a `/v1/chat/completions` body into the Codex backend request, or the typed 400.
pub fn to_codex(mut body: Map<String, Value>) -> Result<ChatCall, PoolerError> {
    let model = fields::model(&body)?;
    body.remove("model");
    for name in LEGACY {
        if body.remove(name).is_some_and(|v| !v.is_null()) {
            return Err(invalid(
                name,
                "`functions` and `function_call` are deprecated; use `tools` and `tool_choice`",
            ));
        }
    }
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
    match body.remove("n") {
        Some(n) if !is_default(&n) && n != json!(1) => {
            return Err(PoolerError::unsupported_parameter("n"));
        }
        Some(n) if !n.is_null() => dropped.push("n"),
        _ => {}
    }
    if let Some(modalities) = body.remove("modalities").filter(|v| !v.is_null()) {
        let text_only = modalities
            .as_array()
            .is_some_and(|list| list.iter().all(|m| m == "text"));
        if !text_only {
            return Err(PoolerError::unsupported_parameter("modalities"));
        }
        dropped.push("modalities");
    }
    for name in DROPPED {
        if body.remove(name).is_some_and(|v| !v.is_null()) {
            dropped.push(name);
        }
    }
    if fields::optional_bool(body.remove("store").as_ref(), "store")? == Some(true) {
        dropped.push("store");
    }
    let client_stream =
        fields::optional_bool(body.remove("stream").as_ref(), "stream")?.unwrap_or(false);
    let include_usage = include_usage(body.remove("stream_options"))?;

    let mut out = Map::new();
    out.insert("model".into(), model.clone().into());
    let messages = messages::to_input(body.remove("messages"))?;
    if let Some(instructions) = messages.instructions {
        out.insert("instructions".into(), instructions.into());
    }
    out.insert("input".into(), Value::Array(messages.input));
    if let Some(list) = body.remove("tools").filter(|v| !v.is_null()) {
        out.insert("tools".into(), tools::tools(list)?);
    }
    if let Some(choice) = body.remove("tool_choice").filter(|v| !v.is_null()) {
        out.insert("tool_choice".into(), tools::tool_choice(choice)?);
    }
    let parallel = body.remove("parallel_tool_calls");
    if let Some(parallel) = fields::optional_bool(parallel.as_ref(), "parallel_tool_calls")? {
        out.insert("parallel_tool_calls".into(), parallel.into());
    }
    if let Some(text) = text(&mut body)? {
        out.insert("text".into(), text);
    }
    let effort = body.remove("reasoning_effort");
    if let Some(effort) = fields::optional_str(effort.as_ref(), "reasoning_effort")? {
        out.insert("reasoning".into(), json!({ "effort": effort }));
    }
    for name in PASSED {
        if let Some(value) = body.remove(name).filter(|v| !v.is_null()) {
            out.insert(name.into(), value);
        }
    }
    if let Some(unknown) = body.keys().next() {
        return Err(unsupported(unknown));
    }
    out.insert("stream".into(), Value::Bool(true));
    out.insert("store".into(), Value::Bool(false));
    out.insert("include".into(), json!([ENCRYPTED_REASONING]));
    Ok(ChatCall {
        body: out,
        client_stream,
        include_usage,
        dropped,
        model,
    })
}

/// `stream_options.include_usage`; other stream options have no effect here.
fn include_usage(options: Option<Value>) -> Result<bool, PoolerError> {
    match options {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Object(options)) => Ok(fields::optional_bool(
            options.get("include_usage"),
            "stream_options.include_usage",
        )?
        .unwrap_or(false)),
        Some(_) => Err(invalid("stream_options", "expected an object")),
    }
}

/// The Responses `text` object from `response_format` and `verbosity`, if either is set.
fn text(body: &mut Map<String, Value>) -> Result<Option<Value>, PoolerError> {
    let mut text = Map::new();
    if let Some(format) = body.remove("response_format").filter(|v| !v.is_null()) {
        text.insert("format".into(), response_format(format)?);
    }
    let verbosity = body.remove("verbosity");
    if let Some(verbosity) = fields::optional_str(verbosity.as_ref(), "verbosity")? {
        text.insert("verbosity".into(), verbosity.into());
    }
    Ok((!text.is_empty()).then_some(Value::Object(text)))
}

/// A chat `response_format` as a Responses `text.format`: `text` and `json_object` as they
/// are, `json_schema` with its `json_schema` object flattened into the format.
fn response_format(format: Value) -> Result<Value, PoolerError> {
    const PARAM: &str = "response_format";
    let Value::Object(mut format) = format else {
        return Err(invalid(PARAM, "expected an object"));
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(json!({"type": "text"})),
        Some("json_object") => Ok(json!({"type": "json_object"})),
        Some("json_schema") => {
            let Some(Value::Object(schema)) = format.remove("json_schema") else {
                return Err(invalid(
                    "response_format.json_schema",
                    "a `json_schema` response format needs a `json_schema` object",
                ));
            };
            if !schema.get("name").is_some_and(Value::is_string) {
                return Err(invalid(
                    "response_format.json_schema.name",
                    "a `json_schema` response format needs a `name`",
                ));
            }
            let mut out = Map::new();
            out.insert("type".into(), "json_schema".into());
            for name in ["name", "schema", "strict", "description"] {
                if let Some(value) = schema.get(name).filter(|v| !v.is_null()) {
                    out.insert(name.into(), value.clone());
                }
            }
            Ok(Value::Object(out))
        }
        _ => Err(invalid(
            "response_format.type",
            "`response_format.type` must be `text`, `json_object` or `json_schema`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn call(body: Value) -> Result<ChatCall, PoolerError> {
        match body {
            Value::Object(map) => to_codex(map),
            _ => unreachable!("tests pass objects"),
        }
    }

    fn hi() -> Value {
        json!([{"role": "user", "content": "hi"}])
    }

    #[test]
    fn a_plain_call_streams_upstream_and_stores_nothing() {
        let out = call(json!({"model": "gpt-5", "messages": hi()})).unwrap();
        assert!(!out.client_stream);
        assert!(!out.include_usage);
        assert_eq!(out.model, "gpt-5");
        assert_eq!(
            Value::Object(out.body),
            json!({"model": "gpt-5", "stream": true, "store": false,
                "include": [ENCRYPTED_REASONING],
                "input": [{"type": "message", "role": "user",
                    "content": [{"type": "input_text", "text": "hi"}]}]})
        );
    }

    #[test]
    fn sampling_and_length_caps_are_dropped_and_listed() {
        let out = call(json!({"model": "m", "messages": hi(), "temperature": 0.2,
            "top_p": 1, "max_tokens": 10, "max_completion_tokens": 10, "n": 1,
            "logprobs": false, "stop": null, "store": true, "seed": 7, "user": "u",
            "modalities": ["text"]}))
        .unwrap();
        assert_eq!(
            out.dropped,
            [
                "logprobs",
                "n",
                "modalities",
                "max_completion_tokens",
                "max_tokens",
                "seed",
                "temperature",
                "top_p",
                "user",
                "store"
            ]
        );
        for name in DROPPED {
            assert!(!out.body.contains_key(name), "{name}");
        }
    }

    #[test]
    fn refused_parameters_name_themselves() {
        for (name, value) in [
            ("n", json!(2)),
            ("logprobs", json!(true)),
            ("stop", json!(["\n"])),
            ("logit_bias", json!({"1": 5})),
            ("audio", json!({"voice": "alloy"})),
            ("modalities", json!(["text", "audio"])),
            ("prediction", json!({"type": "content", "content": "x"})),
            ("web_search_options", json!({"search_context_size": "low"})),
            ("top_logprobs", json!(2)),
        ] {
            let mut body = json!({"model": "m", "messages": hi()});
            body[name] = value;
            let err = call(body).unwrap_err();
            assert_eq!(
                err.body(),
                json!({"error": {"message": format!("Unsupported parameter: {name}"),
                    "type": "invalid_request_error", "code": "unsupported_parameter",
                    "param": name}})
            );
        }
        let err = call(json!({"model": "m", "messages": hi(), "frobnicate": 1})).unwrap_err();
        assert_eq!(err.body()["error"]["param"], "frobnicate");
        assert_eq!(err.code(), ErrorCode::UnsupportedParameter);
    }

    #[test]
    fn legacy_functions_are_refused() {
        let err = call(json!({"model": "m", "messages": hi(), "functions": []})).unwrap_err();
        assert_eq!(
            err.body(),
            json!({"error": {"message":
                "`functions` and `function_call` are deprecated; use `tools` and `tool_choice`",
                "type": "invalid_request_error", "code": "invalid_request",
                "param": "functions"}})
        );
    }

    #[test]
    fn format_verbosity_effort_and_stream_options() {
        let out = call(json!({"model": "m", "messages": hi(), "stream": true,
            "stream_options": {"include_usage": true}, "verbosity": "low",
            "reasoning_effort": "high", "parallel_tool_calls": false,
            "prompt_cache_key": "k",
            "response_format": {"type": "json_schema", "json_schema": {"name": "x",
                "schema": {"type": "object"}, "strict": true}}}))
        .unwrap();
        assert!(out.client_stream);
        assert!(out.include_usage);
        assert_eq!(
            out.body["text"],
            json!({"verbosity": "low", "format": {"type": "json_schema", "name": "x",
                "schema": {"type": "object"}, "strict": true}})
        );
        assert_eq!(out.body["reasoning"], json!({"effort": "high"}));
        assert_eq!(out.body["parallel_tool_calls"], false);
        assert_eq!(out.body["prompt_cache_key"], "k");
        let json_object = call(json!({"model": "m", "messages": hi(),
            "response_format": {"type": "json_object"}}))
        .unwrap();
        assert_eq!(
            json_object.body["text"]["format"],
            json!({"type": "json_object"})
        );
    }

    #[test]
    fn bad_shapes_are_typed_400s() {
        let cases = [
            (json!({"messages": hi()}), "model"),
            (json!({"model": "m"}), "messages"),
            (
                json!({"model": "m", "messages": hi(), "stream": "yes"}),
                "stream",
            ),
            (
                json!({"model": "m", "messages": hi(), "stream_options": 1}),
                "stream_options",
            ),
            (
                json!({"model": "m", "messages": hi(), "response_format": {"type": "yaml"}}),
                "response_format.type",
            ),
            (
                json!({"model": "m", "messages": hi(),
                    "response_format": {"type": "json_schema"}}),
                "response_format.json_schema",
            ),
        ];
        for (body, param) in cases {
            let err = call(body).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest, "{param}");
            assert_eq!(err.body()["error"]["param"], param);
        }
    }
}
