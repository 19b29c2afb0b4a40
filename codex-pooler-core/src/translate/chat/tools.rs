//! Chat `tools` and `tool_choice` in the Responses shape.
//!
//! A chat tool wraps its definition (`{type: "function", function: {name, …}}`,
//! `{type: "custom", custom: {name, …}}`); a Responses tool is flat (`{type: "function", name,
//! …}`). Two defaults differ and are written out so the meaning is kept: a chat function tool
//! is not strict unless it says so (Responses defaults to strict), and one without
//! `parameters` takes no arguments. A custom tool's `grammar` format is flattened the same
//! way.

use serde_json::{Map, Value, json};

use crate::error::PoolerError;
use crate::translate::fields::invalid;

/// The chat `tools` array, flattened.
pub(super) fn tools(tools: Value) -> Result<Value, PoolerError> {
    let Value::Array(tools) = tools else {
        return Err(invalid("tools", "`tools` must be an array"));
    };
    tools
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            tool_of(tool).ok_or_else(|| {
                invalid(
                    format!("tools[{i}]"),
                    "a tool must be `{type: function, function: {name, …}}` or \
                     `{type: custom, custom: {name, …}}`",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn tool_of(tool: &Value) -> Option<Value> {
    let kind = tool.get("type")?.as_str()?;
    let inner = tool.get(kind)?.as_object()?;
    let name = inner.get("name")?.as_str()?;
    let mut out = Map::new();
    out.insert("type".into(), kind.into());
    out.insert("name".into(), name.into());
    if let Some(description) = inner.get("description").filter(|d| d.is_string()) {
        out.insert("description".into(), description.clone());
    }
    match kind {
        "function" => {
            let parameters = inner
                .get("parameters")
                .filter(|p| p.is_object())
                .cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            out.insert("parameters".into(), parameters);
            let strict = inner.get("strict").and_then(Value::as_bool);
            out.insert("strict".into(), strict.unwrap_or(false).into());
        }
        "custom" => {
            if let Some(format) = inner.get("format").filter(|f| !f.is_null()) {
                out.insert("format".into(), custom_format(format)?);
            }
        }
        _ => return None,
    }
    Some(Value::Object(out))
}

/// A custom tool's `format`: `{type: text}`, or `{type: grammar, grammar: {definition,
/// syntax}}` flattened to `{type: grammar, definition, syntax}`.
fn custom_format(format: &Value) -> Option<Value> {
    match format.get("type")?.as_str()? {
        "text" => Some(json!({"type": "text"})),
        "grammar" => {
            let grammar = format.get("grammar")?;
            Some(json!({
                "type": "grammar",
                "definition": grammar.get("definition")?.as_str()?,
                "syntax": grammar.get("syntax")?.as_str()?,
            }))
        }
        _ => None,
    }
}

/// The chat `tool_choice`: `none`, `auto` and `required` as they are; a named function or
/// custom tool flattened; `allowed_tools` with its tool list flattened.
pub(super) fn tool_choice(choice: Value) -> Result<Value, PoolerError> {
    let refused = || {
        invalid(
            "tool_choice",
            "`tool_choice` must be `none`, `auto`, `required`, a named tool or `allowed_tools`",
        )
    };
    match &choice {
        Value::String(mode) if matches!(mode.as_str(), "none" | "auto" | "required") => Ok(choice),
        Value::Object(_) => named(&choice)
            .or_else(|| allowed_tools(&choice))
            .ok_or_else(refused),
        _ => Err(refused()),
    }
}

/// `{type: function|custom, <type>: {name}}` → `{type, name}`.
fn named(choice: &Value) -> Option<Value> {
    let kind = choice.get("type")?.as_str()?;
    if !matches!(kind, "function" | "custom") {
        return None;
    }
    let name = choice.get(kind)?.get("name")?.as_str()?;
    Some(json!({"type": kind, "name": name}))
}

/// `{type: allowed_tools, allowed_tools: {mode, tools: [chat tool refs]}}` → `{type:
/// allowed_tools, mode, tools: [{type, name}]}`.
fn allowed_tools(choice: &Value) -> Option<Value> {
    if choice.get("type")?.as_str()? != "allowed_tools" {
        return None;
    }
    let allowed = choice.get("allowed_tools")?;
    let mode = allowed.get("mode")?.as_str()?;
    let tools = allowed
        .get("tools")?
        .as_array()?
        .iter()
        .map(named)
        .collect::<Option<Vec<_>>>()?;
    Some(json!({"type": "allowed_tools", "mode": mode, "tools": tools}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_and_custom_tools_are_flattened() {
        let out = tools(json!([
            {"type": "function", "function": {"name": "exec", "description": "run",
                "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}},
            {"type": "function", "function": {"name": "now", "strict": true}},
            {"type": "custom", "custom": {"name": "patch", "format": {"type": "grammar",
                "grammar": {"definition": "start: x", "syntax": "lark"}}}},
        ]))
        .unwrap();
        assert_eq!(
            out,
            json!([
                {"type": "function", "name": "exec", "description": "run", "strict": false,
                    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
                {"type": "function", "name": "now", "strict": true,
                    "parameters": {"type": "object", "properties": {}}},
                {"type": "custom", "name": "patch",
                    "format": {"type": "grammar", "definition": "start: x", "syntax": "lark"}},
            ])
        );
    }

    #[test]
    fn other_tools_are_refused_by_index() {
        for bad in [
            json!([{"type": "web_search"}]),
            json!([{"type": "function", "function": {}}]),
            json!([{"type": "custom", "custom": {"name": "x", "format": {"type": "regex"}}}]),
        ] {
            let err = tools(bad).unwrap_err();
            assert_eq!(err.body()["error"]["param"], "tools[0]");
        }
        assert_eq!(
            tools(json!({})).unwrap_err().body()["error"]["param"],
            "tools"
        );
    }

    #[test]
    fn tool_choice_forms() {
        assert_eq!(tool_choice(json!("required")).unwrap(), json!("required"));
        assert_eq!(
            tool_choice(json!({"type": "function", "function": {"name": "exec"}})).unwrap(),
            json!({"type": "function", "name": "exec"})
        );
        assert_eq!(
            tool_choice(json!({"type": "custom", "custom": {"name": "patch"}})).unwrap(),
            json!({"type": "custom", "name": "patch"})
        );
        assert_eq!(
            tool_choice(
                json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto",
                "tools": [{"type": "function", "function": {"name": "exec"}}]}})
            )
            .unwrap(),
            json!({"type": "allowed_tools", "mode": "auto",
                "tools": [{"type": "function", "name": "exec"}]})
        );
        for bad in [json!("sometimes"), json!({"type": "function"}), json!(3)] {
            let err = tool_choice(bad).unwrap_err();
            assert_eq!(err.body()["error"]["param"], "tool_choice");
        }
    }
}
