//! The `id`, `created` and `model` a chat answer carries, read from the upstream turn.
//!
//! No clock and no randomness in core: the id is derived from the upstream response id
//! (`resp_abc` → `chatcmpl-abc`), `created` is the upstream `created_at`, and `model` is the
//! model upstream says it ran (the one the client asked for when upstream names none, or
//! names one with unexpected characters).

use serde_json::Value;

use crate::translate::sanitize;

/// The id used when the upstream turn carries no usable response id.
pub const FALLBACK_ID: &str = "chatcmpl-pooler";

/// A chat answer's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `chatcmpl-…`, stable for the turn.
    pub id: String,
    /// Epoch seconds, from the upstream `created_at` (`0` when upstream sent none).
    pub created: i64,
    /// The model to echo.
    pub model: String,
}

/// Reads an [`Identity`] from the upstream `response` objects as they come; the first
/// values seen win, so the identity never changes within a turn.
#[derive(Debug, Clone, Default)]
pub(super) struct IdentityReader {
    id: Option<String>,
    created: Option<i64>,
    model: Option<String>,
}

/// `value` when it is a plain token a client may see.
fn plain(value: Option<&Value>) -> Option<&str> {
    let value = value?.as_str()?;
    (sanitize::error_code(Some(value)) == value).then_some(value)
}

impl IdentityReader {
    /// Notes what the `response` object of an event says, if the event has one.
    pub(super) fn observe(&mut self, event: &Value) {
        let Some(response) = event.get("response").filter(|r| r.is_object()) else {
            return;
        };
        if self.id.is_none() {
            self.id = plain(response.get("id"))
                .map(|id| format!("chatcmpl-{}", id.strip_prefix("resp_").unwrap_or(id)));
        }
        if self.created.is_none() {
            self.created = response.get("created_at").and_then(Value::as_i64);
        }
        if self.model.is_none() {
            self.model = plain(response.get("model")).map(str::to_owned);
        }
    }

    /// The identity known so far, with `requested` as the model when upstream named none.
    pub(super) fn identity(&self, requested: &str) -> Identity {
        Identity {
            id: self.id.clone().unwrap_or_else(|| FALLBACK_ID.to_owned()),
            created: self.created.unwrap_or(0),
            model: self.model.clone().unwrap_or_else(|| requested.to_owned()),
        }
    }
}

impl Identity {
    /// The common head of a chat object: `{id, object, created, model}`.
    pub(super) fn head(&self, object: &str) -> serde_json::Map<String, Value> {
        let mut head = serde_json::Map::new();
        head.insert("id".into(), self.id.clone().into());
        head.insert("object".into(), object.into());
        head.insert("created".into(), self.created.into());
        head.insert("model".into(), self.model.clone().into());
        head
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn first_values_win_and_odd_ones_fall_back() {
        let mut reader = IdentityReader::default();
        reader.observe(&json!({"type": "response.created", "response": {
            "id": "resp_abc", "created_at": 7, "model": "gpt-5.4"}}));
        reader.observe(&json!({"type": "response.completed", "response": {
            "id": "resp_other", "created_at": 9, "model": "x"}}));
        assert_eq!(
            reader.identity("asked"),
            Identity {
                id: "chatcmpl-abc".into(),
                created: 7,
                model: "gpt-5.4".into()
            }
        );
        let mut odd = IdentityReader::default();
        odd.observe(&json!({"response": {"id": "has space", "model": "<b>"}}));
        assert_eq!(
            odd.identity("asked"),
            Identity {
                id: FALLBACK_ID.into(),
                created: 0,
                model: "asked".into()
            }
        );
    }
}
