//! The chat `finish_reason` of a turn.
//!
//! Better than the reference, which never says `tool_calls`: a completed turn that called a
//! tool finishes with `tool_calls`, as OpenAI's own chat API does, so agent loops know to run
//! the tools.

use serde_json::Value;

use crate::translate::event::Terminal;

/// The `finish_reason` for a turn that ended with `terminal` (its event `event`):
/// `length` for an incomplete turn cut by its token limit, `content_filter` for one stopped
/// by the content filter, `tool_calls` for a turn that called a tool, `stop` otherwise.
pub fn finish_reason(terminal: Terminal, event: &Value, called_tools: bool) -> &'static str {
    match terminal {
        Terminal::Incomplete => {
            let reason = event
                .pointer("/response/incomplete_details/reason")
                .and_then(Value::as_str);
            if reason == Some("content_filter") {
                "content_filter"
            } else {
                "length"
            }
        }
        _ if called_tools => "tool_calls",
        _ => "stop",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reasons() {
        let done = json!({"type": "response.completed"});
        assert_eq!(finish_reason(Terminal::Completed, &done, false), "stop");
        assert_eq!(
            finish_reason(Terminal::Completed, &done, true),
            "tool_calls"
        );
        let cut = json!({"response": {"incomplete_details": {"reason": "max_output_tokens"}}});
        assert_eq!(finish_reason(Terminal::Incomplete, &cut, true), "length");
        let filtered = json!({"response": {"incomplete_details": {"reason": "content_filter"}}});
        assert_eq!(
            finish_reason(Terminal::Incomplete, &filtered, false),
            "content_filter"
        );
    }
}
