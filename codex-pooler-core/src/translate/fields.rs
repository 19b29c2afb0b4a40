//! How request fields are read: what counts as "not sent", and the typed 400s for bad shapes.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{ErrorCode, ErrorType, PoolerError};

/// Whether a field's value is what the OpenAI SDKs send when the caller set nothing: `null`,
/// `false`, `0`, `""`, `[]` or `{}`.
///
/// Such a value of a refused parameter is dropped instead of refused, because many clients
/// serialize every parameter with its default (`presence_penalty: 0`, `logprobs: false`).
pub(crate) fn is_default(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// A `400 invalid_request` naming `param`.
pub(crate) fn invalid(param: impl Into<Cow<'static, str>>, message: &str) -> PoolerError {
    PoolerError::invalid_request(message).with_param(param)
}

/// A `400 unsupported_parameter` naming a parameter known only at run time (an unknown field
/// of the client's body); the message has the same wording as
/// [`PoolerError::unsupported_parameter`].
pub(crate) fn unsupported(name: &str) -> PoolerError {
    // Bounded: the name is client input and is echoed back.
    let name: String = name.chars().take(64).collect();
    PoolerError::new(
        http::StatusCode::BAD_REQUEST,
        ErrorType::InvalidRequestError,
        ErrorCode::UnsupportedParameter,
        format!("Unsupported parameter: {name}"),
    )
    .with_param(name)
}

/// The request's non-empty string `model`, or the typed 400.
pub(crate) fn model(body: &Map<String, Value>) -> Result<String, PoolerError> {
    match body.get("model") {
        Some(Value::String(model)) if !model.is_empty() => Ok(model.clone()),
        _ => Err(PoolerError::model_required()),
    }
}

/// A boolean field; absent or `null` is `None`.
pub(crate) fn optional_bool(
    value: Option<&Value>,
    param: &'static str,
) -> Result<Option<bool>, PoolerError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(param, "expected a boolean")),
    }
}

/// A string field; absent or `null` is `None`.
pub(crate) fn optional_str<'a>(
    value: Option<&'a Value>,
    param: &'static str,
) -> Result<Option<&'a str>, PoolerError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(param, "expected a string")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults() {
        for value in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(is_default(&value), "{value}");
        }
        for value in [
            json!(true),
            json!(1),
            json!(-0.5),
            json!("x"),
            json!([0]),
            json!({"a":1}),
        ] {
            assert!(!is_default(&value), "{value}");
        }
    }
}
