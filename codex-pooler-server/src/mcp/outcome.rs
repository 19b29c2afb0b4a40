//! A tool's answer: its JSON as structured content (and as text), or the REST API's error body
//! as a tool error.
//!
//! MCP structured content is a JSON object, so a list answers `{"data": [...]}`.

use rmcp::model::CallToolResult;
use serde::Serialize;

use crate::admin::{ApiError, ErrorBody, ErrorDetail};

/// The tool result of `result`: the value on success; on failure `{"error": {"code",
/// "message"}}` marked as an error, exactly as the REST API would answer.
pub(crate) fn answer<T: Serialize>(result: Result<T, ApiError>) -> CallToolResult {
    match result.and_then(|value| {
        serde_json::to_value(value).map_err(|err| {
            tracing::error!(error = %err, "mcp: cannot serialize a tool answer");
            ApiError::Internal
        })
    }) {
        Ok(value @ serde_json::Value::Object(_)) => CallToolResult::structured(value),
        Ok(other) => CallToolResult::structured(serde_json::json!({ "data": other })),
        Err(err) => CallToolResult::structured_error(error_json(&err)),
    }
}

/// The error body of `err`.
pub(crate) fn error_json(err: &ApiError) -> serde_json::Value {
    let body = ErrorBody {
        error: ErrorDetail {
            code: err.code().to_owned(),
            message: err.to_string(),
        },
    };
    serde_json::to_value(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_the_rest_body_marked_as_errors() {
        let result = answer::<()>(Err(ApiError::NotFound("pool x".to_owned())));
        assert_eq!(result.is_error, Some(true));
        assert_eq!(
            result.structured_content,
            Some(
                serde_json::json!({"error": {"code": "not_found", "message": "pool x not found"}})
            )
        );
        let ok = answer(Ok(serde_json::json!({"a": 1})));
        assert_eq!(ok.is_error, Some(false));
        assert_eq!(ok.structured_content, Some(serde_json::json!({"a": 1})));
        let list = answer(Ok(vec![1, 2]));
        assert_eq!(
            list.structured_content,
            Some(serde_json::json!({"data": [1, 2]}))
        );
    }
}
