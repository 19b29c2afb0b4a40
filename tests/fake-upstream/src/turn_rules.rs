//! What `chatgpt.com` refuses in a model-turn body, before it looks at the conversation.
//!
//! The real backend answers `POST /backend-api/codex/responses` with
//! `400 {"detail": "..."}` when (checked in this order):
//!
//! 1. `store` is absent or anything but `false`: `Store must be set to false`;
//! 2. `stream` is absent or anything but `true`: `Stream must be set to true`. The backend never
//!    answers a turn without streaming, but no public report quotes its wording; this text is
//!    our assumption;
//! 3. one of [`UNSUPPORTED_PARAMETERS`] is present, whatever its value (`null` included):
//!    `Unsupported parameter: <name>`, naming the first in that list's order.
//!
//! The Codex CLI (0.169 and 0.171) always sends `"store": false, "stream": true` and none of the
//! sampling parameters, over HTTP and in websocket `response.create` frames alike, so the fake
//! applies the same rules to both transports. A gateway that rewrites bodies, or forwards
//! another client's body as is, gets the backend's refusal from the fake too.

use serde_json::Value;

/// Sampling and truncation parameters the Codex backend refuses when present.
pub const UNSUPPORTED_PARAMETERS: [&str; 8] = [
    "temperature",
    "top_p",
    "max_output_tokens",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "top_logprobs",
    "truncation",
];

/// The `detail` the Codex backend would refuse this turn body with, or `None` when it passes
/// every rule of this module. Only a JSON object can pass.
///
/// ```
/// use codex_pooler_fake_upstream::turn_refusal;
/// use serde_json::json;
///
/// assert_eq!(turn_refusal(&json!({"store": false, "stream": true})), None);
/// assert_eq!(
///     turn_refusal(&json!({"stream": true})).as_deref(),
///     Some("Store must be set to false"),
/// );
/// assert_eq!(
///     turn_refusal(&json!({"store": false, "stream": true, "seed": null})).as_deref(),
///     Some("Unsupported parameter: seed"),
/// );
/// ```
pub fn turn_refusal(body: &Value) -> Option<String> {
    if body.get("store") != Some(&Value::Bool(false)) {
        return Some("Store must be set to false".to_owned());
    }
    if body.get("stream") != Some(&Value::Bool(true)) {
        return Some("Stream must be set to true".to_owned());
    }
    UNSUPPORTED_PARAMETERS
        .iter()
        .find(|name| body.get(**name).is_some())
        .map(|name| format!("Unsupported parameter: {name}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn store_must_be_false_and_stream_true() {
        for store in [json!(true), json!(null), json!("false"), json!(0)] {
            assert_eq!(
                turn_refusal(&json!({"store": store, "stream": true})).as_deref(),
                Some("Store must be set to false")
            );
        }
        for stream in [json!(false), json!(null), json!("true")] {
            assert_eq!(
                turn_refusal(&json!({"store": false, "stream": stream})).as_deref(),
                Some("Stream must be set to true")
            );
        }
        assert_eq!(
            turn_refusal(&json!({"store": false})).as_deref(),
            Some("Stream must be set to true")
        );
        assert_eq!(
            turn_refusal(&json!([])).as_deref(),
            Some("Store must be set to false")
        );
    }

    #[test]
    fn the_first_unsupported_parameter_is_named() {
        let body = json!({"store": false, "stream": true, "truncation": "auto", "top_p": 1});
        assert_eq!(
            turn_refusal(&body).as_deref(),
            Some("Unsupported parameter: top_p")
        );
    }
}
