//! A scripted call of a tool the client named itself: a user message line
//! `CALL_TOOL: <name> <arguments JSON>` asks for a `function_call` to `<name>` with those
//! arguments, as a model would call a tool it was offered.
//!
//! Agent tools each name their tools differently (`bash`, `read`, `write_file`, ...), so the test
//! picks the tool and its arguments in the prompt. Like a real model, the fake only calls a
//! function tool the request's `tools` offers; a name it does not offer gets a plain answer
//! saying so, and so do arguments that are not a JSON object.

use serde_json::Value;

/// A user message containing this marker asks for a call of the named tool.
pub(crate) const NAMED_TOOL_MARKER: &str = "CALL_TOOL:";

/// What a `CALL_TOOL:` line asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NamedTool {
    /// Call the offered function tool `name` with these arguments (a JSON object, compact).
    Call {
        /// The tool name, as offered in `tools`.
        name: String,
        /// The arguments document.
        arguments: String,
    },
    /// The line cannot be honoured; answer this text instead.
    Refused(String),
}

/// The call the first `CALL_TOOL:` line of `text` asks for, checked against the request `body`'s
/// `tools`; `None` when the text has no such line with a name.
pub(crate) fn named_tool_call(text: &str, body: &Value) -> Option<NamedTool> {
    let (_, rest) = text.split_once(NAMED_TOOL_MARKER)?;
    let line = rest.lines().next().unwrap_or_default().trim();
    let (name, arguments) = line.split_once(char::is_whitespace).unwrap_or((line, "{}"));
    if name.is_empty() {
        return None;
    }
    if !offers_function(body, name) {
        return Some(NamedTool::Refused(format!(
            "No tool named {name} was offered"
        )));
    }
    match serde_json::from_str::<Value>(arguments.trim()) {
        Ok(arguments @ Value::Object(_)) => Some(NamedTool::Call {
            name: name.to_owned(),
            arguments: arguments.to_string(),
        }),
        _ => Some(NamedTool::Refused(format!(
            "The arguments for {name} are not a JSON object"
        ))),
    }
}

/// Whether `tools` holds a `{"type": "function", "name": name}` tool.
fn offers_function(body: &Value, name: &str) -> bool {
    body.get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| {
            tools.iter().any(|tool| {
                tool.get("type").and_then(Value::as_str) == Some("function")
                    && tool.get("name").and_then(Value::as_str) == Some(name)
            })
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body() -> Value {
        json!({"tools": [
            {"type": "function", "name": "read", "parameters": {}},
            {"type": "custom", "name": "apply_patch"},
        ]})
    }

    #[test]
    fn calls_an_offered_function_tool_with_the_arguments() {
        let text = "Please.\nCALL_TOOL: read {\"path\": \"a.txt\"}  \nThanks";
        assert_eq!(
            named_tool_call(text, &body()),
            Some(NamedTool::Call {
                name: "read".to_owned(),
                arguments: r#"{"path":"a.txt"}"#.to_owned(),
            })
        );
        assert_eq!(
            named_tool_call("CALL_TOOL: read", &body()),
            Some(NamedTool::Call {
                name: "read".to_owned(),
                arguments: "{}".to_owned(),
            })
        );
    }

    #[test]
    fn refuses_tools_not_offered_as_functions() {
        for name in ["write", "apply_patch"] {
            assert_eq!(
                named_tool_call(&format!("CALL_TOOL: {name} {{}}"), &body()),
                Some(NamedTool::Refused(format!(
                    "No tool named {name} was offered"
                )))
            );
        }
        assert_eq!(
            named_tool_call("CALL_TOOL: read {}", &json!({})),
            Some(NamedTool::Refused(
                "No tool named read was offered".to_owned()
            ))
        );
    }

    #[test]
    fn refuses_arguments_that_are_not_an_object() {
        assert_eq!(
            named_tool_call("CALL_TOOL: read [1]", &body()),
            Some(NamedTool::Refused(
                "The arguments for read are not a JSON object".to_owned()
            ))
        );
    }

    #[test]
    fn ignores_text_without_a_named_call() {
        assert_eq!(named_tool_call("Say hi", &body()), None);
        assert_eq!(named_tool_call("CALL_TOOL:   ", &body()), None);
    }
}
