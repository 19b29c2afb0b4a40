//! The Codex SSE events the translators read, and the output items a turn produced.
//!
//! Each SSE `data:` line is one JSON object whose `type` names the event. The translators
//! look only at the handful below; every other event (`codex.*`, reasoning deltas,
//! `response.metadata`, …) is skipped by the `/v1` paths.

use std::collections::BTreeMap;

use serde_json::Value;

/// How a turn ended, read from its terminal event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// `response.completed` (or the legacy `response.done`).
    Completed,
    /// `response.incomplete`: the turn stopped early (token limit, content filter).
    Incomplete,
    /// `response.failed` or an `error` event.
    Failed,
}

impl Terminal {
    /// The terminal kind of `event`, if it is a terminal event.
    pub fn of(event: &Value) -> Option<Self> {
        match event_type(event) {
            "response.completed" | "response.done" => Some(Self::Completed),
            "response.incomplete" => Some(Self::Incomplete),
            "response.failed" | "error" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The `type` of an event, or `""`.
pub(crate) fn event_type(event: &Value) -> &str {
    event.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The `output_index` of an event, if it has one.
pub(crate) fn output_index(event: &Value) -> Option<u64> {
    event.get("output_index").and_then(Value::as_u64)
}

/// The output items of a turn, taken from `response.output_item.done` events.
///
/// The ChatGPT backend may send its items only there and leave `response.completed.output`
/// empty, so the done events are the source of truth; the terminal `output` is used only
/// when no item event came.
#[derive(Debug, Clone, Default)]
pub(crate) struct ItemLog {
    // Keyed by output_index; items without one go after, in arrival order.
    items: BTreeMap<(u64, u64), Value>,
    unindexed: u64,
}

impl ItemLog {
    /// Records the item of a `response.output_item.done` event; other events are ignored.
    pub(crate) fn observe(&mut self, event: &Value) {
        if event_type(event) != "response.output_item.done" {
            return;
        }
        let Some(item) = event.get("item").filter(|i| i.is_object()) else {
            return;
        };
        let key = match output_index(event) {
            Some(index) => (index, 0),
            None => {
                self.unindexed += 1;
                (u64::MAX, self.unindexed)
            }
        };
        self.items.insert(key, item.clone());
    }

    /// Whether no item was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The turn's items: the recorded ones in `output_index` order, else the `output` array of
    /// the terminal `response` object.
    pub(crate) fn output(&self, response: Option<&Value>) -> Vec<Value> {
        if !self.items.is_empty() {
            return self.items.values().cloned().collect();
        }
        response
            .and_then(|r| r.get("output"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn done_items_win_in_output_index_order() {
        let mut log = ItemLog::default();
        log.observe(
            &json!({"type":"response.output_item.done","output_index":1,"item":{"id":"b"}}),
        );
        log.observe(
            &json!({"type":"response.output_item.added","output_index":2,"item":{"id":"x"}}),
        );
        log.observe(
            &json!({"type":"response.output_item.done","output_index":0,"item":{"id":"a"}}),
        );
        let completed = json!({"output":[{"id":"ignored"}]});
        assert_eq!(
            log.output(Some(&completed)),
            vec![json!({"id":"a"}), json!({"id":"b"})]
        );
    }

    #[test]
    fn terminal_output_is_the_fallback() {
        let log = ItemLog::default();
        let completed = json!({"output":[{"id":"a"}]});
        assert_eq!(log.output(Some(&completed)), vec![json!({"id":"a"})]);
        assert!(log.output(None).is_empty());
    }

    #[test]
    fn terminal_kinds() {
        assert_eq!(
            Terminal::of(&json!({"type":"response.done"})),
            Some(Terminal::Completed)
        );
        assert_eq!(
            Terminal::of(&json!({"type":"error"})),
            Some(Terminal::Failed)
        );
        assert_eq!(
            Terminal::of(&json!({"type":"response.output_text.delta"})),
            None
        );
    }
}
