//! Collecting a Codex stream into one `/v1/responses` answer.
//!
//! Upstream always streams. For a client that asked for `stream: false`,
//! [`ResponseCollector`] is fed every event and [`finish`](ResponseCollector::finish) gives the
//! final `response` object: the terminal `response.completed` / `response.incomplete` object
//! with `output` rebuilt from the `response.output_item.done` items (in `output_index` order),
//! or the terminal's own `output` when no item event came. A failed turn becomes a typed
//! [`PoolerError`] (502 `upstream_error`, sanitized).

use serde_json::Value;

use super::event::{ItemLog, Terminal};
use super::sanitize;
use crate::error::PoolerError;

/// Builds the final `response` object of a turn from its SSE events.
#[derive(Debug, Clone, Default)]
pub struct ResponseCollector {
    items: ItemLog,
    terminal: Option<(Terminal, Value)>,
}

impl ResponseCollector {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one event. Events after the terminal one are ignored.
    pub fn on_event(&mut self, event: &Value) {
        if self.terminal.is_some() {
            return;
        }
        self.items.observe(event);
        if let Some(kind) = Terminal::of(event) {
            self.terminal = Some((kind, event.clone()));
        }
    }

    /// Whether a terminal event was seen.
    pub fn is_terminated(&self) -> bool {
        self.terminal.is_some()
    }

    /// The final `response` object, or the error to answer: a failed turn gives
    /// [`PoolerError::upstream_error`] with the sanitized upstream code; a stream that ended
    /// without a terminal event gives the same error with no code.
    pub fn finish(self) -> Result<Value, PoolerError> {
        let Some((kind, event)) = self.terminal else {
            return Err(PoolerError::upstream_error(None));
        };
        if kind == Terminal::Failed {
            return Err(PoolerError::upstream_error(Some(sanitize::event_code(
                &event,
            ))));
        }
        let mut response = match event.get("response") {
            Some(Value::Object(map)) => map.clone(),
            _ => serde_json::Map::new(),
        };
        let output = self.items.output(event.get("response"));
        response.insert("output".into(), Value::Array(output));
        response
            .entry("object")
            .or_insert_with(|| "response".into());
        Ok(Value::Object(response))
    }
}

/// Watches a streamed `/v1/responses` turn on its way to the client.
///
/// [`on_event`](Self::on_event) returns the event to forward: the legacy `response.done`
/// renamed `response.completed`, a terminal `output` left empty by the backend filled from
/// the `response.output_item.done` items, and `response.failed` rebuilt from a whitelist (see
/// [`sanitize::failed_response`]). At the end of the upstream stream,
/// [`finish`](Self::finish) says whether a synthetic `error` event must be appended.
#[derive(Debug, Clone, Default)]
pub struct ResponsesStreamGuard {
    items: ItemLog,
    terminal: Option<Terminal>,
    visible: bool,
}

impl ResponsesStreamGuard {
    /// A guard for one turn.
    pub fn new() -> Self {
        Self::default()
    }

    /// The event to forward in place of `event`; `None` after the terminal event (nothing
    /// more is forwarded once the turn ended).
    pub fn on_event(&mut self, mut event: Value) -> Option<Value> {
        if self.terminal.is_some() {
            return None;
        }
        self.items.observe(&event);
        let kind = Terminal::of(&event);
        match kind {
            Some(Terminal::Failed) if super::event::event_type(&event) == "error" => {
                let error = sanitize::error_object(&event);
                event = serde_json::json!({
                    "type": "error",
                    "code": error["code"],
                    "message": error["message"],
                    "param": null,
                    "error": error,
                });
            }
            Some(Terminal::Failed) => {
                event = serde_json::json!({
                    "type": "response.failed",
                    "response": sanitize::failed_response(&event),
                });
            }
            Some(_) => {
                if let Some(obj) = event.as_object_mut() {
                    obj.insert("type".into(), self.terminal_name(kind).into());
                    self.fill_output(obj);
                }
            }
            None => {}
        }
        self.visible = true;
        self.terminal = kind;
        Some(event)
    }

    /// Whether anything was forwarded; before that, the caller may still fail over.
    pub fn saw_output(&self) -> bool {
        self.visible
    }

    /// Called when the upstream stream ends: `None` when the turn reached its terminal
    /// event, else the synthetic `error` event to send last (it carries the error both flat
    /// and nested, as the OpenAI SDKs read either).
    pub fn finish(&self) -> Option<Value> {
        if self.terminal.is_some() {
            return None;
        }
        let error = sanitize::ended_early_object();
        Some(serde_json::json!({
            "type": "error",
            "code": error["code"],
            "message": error["message"],
            "param": null,
            "error": error,
        }))
    }

    fn terminal_name(&self, kind: Option<Terminal>) -> &'static str {
        match kind {
            Some(Terminal::Incomplete) => "response.incomplete",
            _ => "response.completed",
        }
    }

    fn fill_output(&self, event: &mut serde_json::Map<String, Value>) {
        let Some(Value::Object(response)) = event.get_mut("response") else {
            return;
        };
        let empty = response
            .get("output")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if empty && !self.items.is_empty() {
            response.insert("output".into(), Value::Array(self.items.output(None)));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorCode;

    fn item_done(index: u64, text: &str) -> Value {
        json!({"type":"response.output_item.done","output_index":index,"item":{
            "type":"message","role":"assistant","content":[{"type":"output_text","text":text}]}})
    }

    #[test]
    fn items_come_from_done_events_when_completed_output_is_empty() {
        let mut c = ResponseCollector::new();
        c.on_event(&json!({"type":"response.created","response":{"id":"resp_1"}}));
        c.on_event(&item_done(1, "second"));
        c.on_event(&item_done(0, "first"));
        c.on_event(
            &json!({"type":"response.completed","response":{"id":"resp_1",
            "status":"completed","output":[]}}),
        );
        let response = c.finish().unwrap();
        assert_eq!(response["output"][0]["content"][0]["text"], "first");
        assert_eq!(response["output"][1]["content"][0]["text"], "second");
        assert_eq!(response["object"], "response");
    }

    #[test]
    fn failure_and_early_end_are_typed_errors() {
        let mut c = ResponseCollector::new();
        c.on_event(&json!({"type":"response.failed","response":{"error":{
            "code":"context_length_exceeded","message":"secret"}}}));
        let err = c.finish().unwrap_err();
        assert_eq!(err.code(), ErrorCode::UpstreamError);
        assert_eq!(
            err.body()["error"]["upstream_code"],
            "context_length_exceeded"
        );
        assert!(!err.body().to_string().contains("secret"));
        let err = ResponseCollector::new().finish().unwrap_err();
        assert_eq!(err.code(), ErrorCode::UpstreamError);
    }

    #[test]
    fn guard_renames_done_and_fills_output() {
        let mut g = ResponsesStreamGuard::new();
        assert!(g.on_event(item_done(0, "hi")).is_some());
        let last = g
            .on_event(json!({"type":"response.done","response":{"id":"resp_1","output":[]}}))
            .unwrap();
        assert_eq!(last["type"], "response.completed");
        assert_eq!(last["response"]["output"][0]["content"][0]["text"], "hi");
        assert!(
            g.on_event(json!({"type":"response.output_text.delta"}))
                .is_none()
        );
        assert_eq!(g.finish(), None);
    }

    #[test]
    fn guard_asks_for_a_synthetic_error_after_an_early_end() {
        let mut g = ResponsesStreamGuard::new();
        assert!(!g.saw_output());
        g.on_event(json!({"type":"response.output_text.delta","delta":"par"}));
        assert!(g.saw_output());
        let error = g.finish().unwrap();
        assert_eq!(error["type"], "error");
        assert_eq!(error["error"]["code"], "server_error");
        assert_eq!(error["message"], sanitize::ENDED_EARLY_MESSAGE);
    }

    #[test]
    fn guard_sanitizes_failures() {
        let mut g = ResponsesStreamGuard::new();
        let out = g
            .on_event(json!({"type":"response.failed","response":{"id":"resp_9",
                "instructions":"secret","error":{"code":"bad code","message":"secret"}}}))
            .unwrap();
        assert!(!out.to_string().contains("secret"));
        assert_eq!(out["response"]["error"]["code"], sanitize::FALLBACK_CODE);
        assert_eq!(g.finish(), None);
    }
}
