//! How the fake ends a turn: `response.completed`, or, when the last user message asks for it,
//! `response.incomplete` or `response.failed` after the output.
//!
//! - `END_INCOMPLETE: <reason>` ends with `response.incomplete` and `incomplete_details:
//!   {reason}` (`max_output_tokens`, `content_filter`), as the backend does when a turn is cut
//!   short;
//! - `FAIL_TURN: <code>` ends with `response.failed` carrying `error: {code, message}`, as the
//!   backend does when a turn fails after it started streaming. The message names the account
//!   and quotes the prompt's marker, so tests can check that a gateway never passes it on.

use serde_json::{Value, json};

use super::turn::{Reply, user_text};

/// Asks for a `response.incomplete` ending with the reason after it.
pub(crate) const INCOMPLETE_MARKER: &str = "END_INCOMPLETE:";
/// Asks for a `response.failed` ending with the code after it.
pub(crate) const FAIL_MARKER: &str = "FAIL_TURN:";

/// How a turn ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TurnEnd {
    /// `response.completed`.
    Completed,
    /// `response.incomplete` with this reason.
    Incomplete(String),
    /// `response.failed` with this error code.
    Failed(String),
}

impl TurnEnd {
    /// The ending the last input item asks for (see the module docs).
    pub(crate) fn for_request(body: &Value) -> Self {
        let last = match body.get("input") {
            Some(Value::Array(items)) => items.last(),
            input @ Some(Value::String(_)) => input,
            _ => None,
        };
        let Some(text) = last.and_then(user_text) else {
            return Self::Completed;
        };
        if let Some(reason) = after(&text, INCOMPLETE_MARKER) {
            return Self::Incomplete(reason);
        }
        if let Some(code) = after(&text, FAIL_MARKER) {
            return Self::Failed(code);
        }
        Self::Completed
    }

    /// The terminal event's name and data for `reply`.
    pub(crate) fn terminal(&self, reply: &Reply) -> (&'static str, Value) {
        match self {
            Self::Completed => ("response.completed", json!({"response": reply.completed()})),
            Self::Incomplete(reason) => {
                let mut response = reply.completed();
                response["status"] = "incomplete".into();
                response["incomplete_details"] = json!({ "reason": reason });
                ("response.incomplete", json!({ "response": response }))
            }
            Self::Failed(code) => {
                let mut response = reply.in_progress();
                response["status"] = "failed".into();
                response["error"] = json!({"code": code,
                    "message": format!("fake failure of {}: {FAIL_MARKER} {code}", reply.model)});
                ("response.failed", json!({ "response": response }))
            }
        }
    }
}

/// The word after `marker` in `text`, if any.
fn after(text: &str, marker: &str) -> Option<String> {
    let (_, rest) = text.split_once(marker)?;
    let word = rest.split_whitespace().next()?;
    Some(word.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Value {
        json!({"input": [{"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]}]})
    }

    #[test]
    fn markers_choose_the_ending() {
        assert_eq!(TurnEnd::for_request(&user("hi")), TurnEnd::Completed);
        assert_eq!(
            TurnEnd::for_request(&user("END_INCOMPLETE: max_output_tokens please")),
            TurnEnd::Incomplete("max_output_tokens".into())
        );
        assert_eq!(
            TurnEnd::for_request(&user("FAIL_TURN: server_error")),
            TurnEnd::Failed("server_error".into())
        );
        assert_eq!(
            TurnEnd::for_request(&user("FAIL_TURN:")),
            TurnEnd::Completed
        );
    }
}
