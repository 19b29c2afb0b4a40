//! Chat `messages` → Responses `input` items and `instructions`.
//!
//! - The `system` and `developer` messages before the first other message are lifted into
//!   `instructions` (joined by a blank line); later ones stay where they are, as `developer`
//!   messages, so their order in the conversation is kept.
//! - `user` content → input parts (text, images, files), mapped by `user_content`.
//! - `assistant` content → `output_text` (and `refusal`) parts; its `tool_calls` →
//!   `function_call` / `custom_tool_call` items.
//! - `tool` messages → `function_call_output`, or `custom_tool_call_output` when they answer
//!   a custom tool call made earlier in the conversation.
//! - A message's `name` (a participant name) has no Responses form and is ignored.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::user_content::{part_type, user_content};
use crate::error::PoolerError;
use crate::translate::fields::invalid;

/// The conversation in the Responses shape.
#[derive(Debug, Default)]
pub(super) struct Input {
    /// The lifted system and developer text, if any.
    pub(super) instructions: Option<String>,
    /// The input items.
    pub(super) input: Vec<Value>,
}

/// Maps the chat `messages` array.
pub(super) fn to_input(messages: Option<Value>) -> Result<Input, PoolerError> {
    let messages = match messages {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => return Err(invalid("messages", "`messages` must not be empty")),
        None | Some(Value::Null) => return Err(invalid("messages", "`messages` is required")),
        Some(_) => {
            return Err(invalid(
                "messages",
                "`messages` must be an array of messages",
            ));
        }
    };
    let mut lifted = Vec::new();
    let mut input = Vec::new();
    let mut custom_calls = HashSet::new();
    for (i, message) in messages.into_iter().enumerate() {
        let Value::Object(message) = message else {
            return Err(invalid(
                format!("messages[{i}]"),
                "expected a message object",
            ));
        };
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        match role {
            "system" | "developer" => {
                let text = text_of(message.get("content"), i)?;
                if input.is_empty() {
                    lifted.push(text);
                } else {
                    input.push(json!({"type": "message", "role": "developer",
                        "content": [{"type": "input_text", "text": text}]}));
                }
            }
            "user" => input.push(json!({"type": "message", "role": "user",
                "content": user_content(message.get("content"), i)?})),
            "assistant" => assistant(&message, i, &mut input, &mut custom_calls)?,
            "tool" => input.push(tool_output(&message, i, &custom_calls)?),
            "function" => {
                return Err(invalid(
                    format!("messages[{i}].role"),
                    "`function` messages are deprecated; use `tool` messages",
                ));
            }
            _ => {
                return Err(invalid(
                    format!("messages[{i}].role"),
                    "`role` must be `system`, `developer`, `user`, `assistant` or `tool`",
                ));
            }
        }
    }
    Ok(Input {
        instructions: (!lifted.is_empty()).then(|| lifted.join("\n\n")),
        input,
    })
}

/// The text of a content that may only hold text: a string, or `text` parts joined.
fn text_of(content: Option<&Value>, i: usize) -> Result<String, PoolerError> {
    match content {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                match (part_type(part), part.get("text").and_then(Value::as_str)) {
                    ("text", Some(text)) => texts.push(text),
                    _ => {
                        return Err(invalid(
                            format!("messages[{i}].content[{j}]"),
                            "this message may only hold `text` parts",
                        ));
                    }
                }
            }
            Ok(texts.join("\n"))
        }
        None | Some(Value::Null) => Ok(String::new()),
        Some(_) => Err(invalid(
            format!("messages[{i}].content"),
            "`content` must be a string or an array of parts",
        )),
    }
}

/// An assistant message: its text (if any) as a message item, then its tool calls.
fn assistant(
    message: &Map<String, Value>,
    i: usize,
    input: &mut Vec<Value>,
    custom_calls: &mut HashSet<String>,
) -> Result<(), PoolerError> {
    let mut content = Vec::new();
    match message.get("content") {
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                let text = |key| part.get(key).and_then(Value::as_str);
                match (part_type(part), text("text"), text("refusal")) {
                    ("text", Some(text), _) => {
                        content.push(json!({"type": "output_text", "text": text}));
                    }
                    ("refusal", _, Some(refusal)) => {
                        content.push(json!({"type": "refusal", "refusal": refusal}));
                    }
                    _ => {
                        return Err(invalid(
                            format!("messages[{i}].content[{j}]"),
                            "an assistant part must be `text` or `refusal`",
                        ));
                    }
                }
            }
        }
        other => {
            let text = text_of(other, i)?;
            if !text.is_empty() {
                content.push(json!({"type": "output_text", "text": text}));
            }
        }
    }
    if let Some(refusal) = message.get("refusal").and_then(Value::as_str) {
        content.push(json!({"type": "refusal", "refusal": refusal}));
    }
    if !content.is_empty() {
        input.push(json!({"type": "message", "role": "assistant", "content": content}));
    }
    let calls = match message.get("tool_calls") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(calls)) => calls,
        Some(_) => {
            return Err(invalid(
                format!("messages[{i}].tool_calls"),
                "`tool_calls` must be an array",
            ));
        }
    };
    for (j, call) in calls.iter().enumerate() {
        let item = tool_call(call).ok_or_else(|| {
            invalid(
                format!("messages[{i}].tool_calls[{j}]"),
                "a tool call needs an `id` and a `function` (`name`, `arguments`) or `custom` \
                 (`name`, `input`)",
            )
        })?;
        if item["type"] == "custom_tool_call"
            && let Some(id) = item["call_id"].as_str()
        {
            custom_calls.insert(id.to_owned());
        }
        input.push(item);
    }
    Ok(())
}

/// One assistant tool call as a `function_call` or `custom_tool_call` item.
fn tool_call(call: &Value) -> Option<Value> {
    let id = call.get("id")?.as_str()?;
    if let Some(custom) = call.get("custom").filter(|_| part_type(call) == "custom") {
        let name = custom.get("name")?.as_str()?;
        let input = custom.get("input")?.as_str()?;
        return Some(
            json!({"type": "custom_tool_call", "call_id": id, "name": name,
            "input": input}),
        );
    }
    let function = call.get("function")?;
    let name = function.get("name")?.as_str()?;
    let arguments = match function.get("arguments") {
        Some(Value::String(arguments)) => arguments.clone(),
        None | Some(Value::Null) => String::new(),
        // Some clients send the arguments as an object; the wire form is its JSON text.
        Some(other) => other.to_string(),
    };
    Some(json!({"type": "function_call", "call_id": id, "name": name,
        "arguments": arguments}))
}

/// A `tool` message as the output item of the call it answers.
fn tool_output(
    message: &Map<String, Value>,
    i: usize,
    custom_calls: &HashSet<String>,
) -> Result<Value, PoolerError> {
    let Some(call_id) = message.get("tool_call_id").and_then(Value::as_str) else {
        return Err(invalid(
            format!("messages[{i}].tool_call_id"),
            "a `tool` message needs the `tool_call_id` it answers",
        ));
    };
    let output = text_of(message.get("content"), i)?;
    let kind = if custom_calls.contains(call_id) {
        "custom_tool_call_output"
    } else {
        "function_call_output"
    };
    Ok(json!({"type": kind, "call_id": call_id, "output": output}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(messages: Value) -> Result<Input, PoolerError> {
        to_input(Some(messages))
    }

    #[test]
    fn leading_system_text_is_lifted_and_later_stays_in_place() {
        let out = map(json!([
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "use tools"}]},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "now be long"},
        ]))
        .unwrap();
        assert_eq!(out.instructions.as_deref(), Some("be brief\n\nuse tools"));
        assert_eq!(out.input.len(), 2);
        assert_eq!(out.input[1]["role"], "developer");
        assert_eq!(out.input[1]["content"][0]["text"], "now be long");
    }

    #[test]
    fn a_tool_round_trip_becomes_call_and_output_items() {
        let out = map(json!([
            {"role": "user", "content": "run ls"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function",
                    "function": {"name": "exec", "arguments": "{\"cmd\":\"ls\"}"}},
                {"id": "call_2", "type": "custom", "custom": {"name": "patch", "input": "*** x"}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "ok"}]},
        ]))
        .unwrap();
        assert_eq!(
            out.input[1..],
            [
                json!({"type": "function_call", "call_id": "call_1", "name": "exec",
                    "arguments": "{\"cmd\":\"ls\"}"}),
                json!({"type": "custom_tool_call", "call_id": "call_2", "name": "patch",
                    "input": "*** x"}),
                json!({"type": "function_call_output", "call_id": "call_1", "output": "a.txt"}),
                json!({"type": "custom_tool_call_output", "call_id": "call_2", "output": "ok"}),
            ]
        );
    }

    #[test]
    fn assistant_text_and_refusal_are_output_parts() {
        let out = map(json!([{"role": "assistant", "content": "sure", "refusal": "no"}])).unwrap();
        assert_eq!(
            out.input[0]["content"],
            json!([{"type": "output_text", "text": "sure"},
                {"type": "refusal", "refusal": "no"}])
        );
    }

    #[test]
    fn bad_messages_name_where_they_are() {
        let cases = [
            (json!([]), "messages"),
            (json!("hi"), "messages"),
            (json!([1]), "messages[0]"),
            (
                json!([{"role": "robot", "content": "x"}]),
                "messages[0].role",
            ),
            (
                json!([{"role": "function", "content": "x"}]),
                "messages[0].role",
            ),
            (
                json!([{"role": "user", "content": [{"type": "input_audio"}]}]),
                "messages[0].content[0]",
            ),
            (
                json!([{"role": "user", "content": [{"type": "image_url"}]}]),
                "messages[0].content[0]",
            ),
            (
                json!([{"role": "tool", "content": "x"}]),
                "messages[0].tool_call_id",
            ),
            (
                json!([{"role": "assistant", "tool_calls": [{"type": "function"}]}]),
                "messages[0].tool_calls[0]",
            ),
            (
                json!([{"role": "system", "content": [{"type": "image_url"}]}]),
                "messages[0].content[0]",
            ),
        ];
        for (messages, param) in cases {
            let err = map(messages).unwrap_err();
            assert_eq!(err.body()["error"]["param"], param);
            assert_eq!(err.body()["error"]["code"], "invalid_request");
        }
        assert_eq!(
            to_input(None).unwrap_err().body()["error"]["message"],
            "`messages` is required"
        );
    }
}
