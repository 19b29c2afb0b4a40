//! [`Transcript`]: what a session needs to send a turn again on a fresh upstream socket.
//!
//! With `store: false` a `previous_response_id` resolves only on the socket that produced it, so a
//! turn moved to a new socket (the old one reached upstream's lifetime limit) must carry its whole
//! context instead, as the Codex CLI sends it over HTTP: the input of the chain's first request,
//! then each response's output items (from `response.output_item.done`, since
//! `response.completed.output` may be empty) and each follow-up's new input, in order.
//!
//! The transcript holds that context in memory for the session's life (never in logs or records),
//! only for the chain the client is on: a `response.create` without `previous_response_id` starts
//! a new chain.

use serde_json::{Map, Value};

/// The context of the session's current response chain.
#[derive(Debug, Default)]
pub(crate) struct Transcript {
    /// The full input of the last completed response's request, then its output items.
    context: Option<Vec<Value>>,
    /// The id of the last completed response.
    last_response: Option<String>,
    /// The turn in flight: its full input (when known), its response id and output items.
    pending: Option<Pending>,
}

#[derive(Debug)]
struct Pending {
    input: Option<Vec<Value>>,
    id: Option<String>,
    output: Vec<Value>,
}

impl Transcript {
    /// A `response.create` went upstream (`frame` as sent).
    pub(crate) fn started(&mut self, frame: &str) {
        let input = serde_json::from_str::<Value>(frame)
            .ok()
            .and_then(|frame| self.full_input(&frame));
        self.pending = Some(Pending {
            input,
            id: None,
            output: Vec::new(),
        });
    }

    /// Learns from an upstream text frame of the turn in flight.
    pub(crate) fn observe(&mut self, text: &str) {
        let Some(pending) = self.pending.as_mut() else {
            return;
        };
        if !(text.contains("response.output_item.done") || text.contains("response.created")) {
            return;
        }
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return;
        };
        match value.get("type").and_then(Value::as_str) {
            Some("response.created") => {
                pending.id = value
                    .pointer("/response/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            Some("response.output_item.done") => {
                if let Some(item) = value.get("item") {
                    pending.output.push(item.clone());
                }
            }
            _ => {}
        }
    }

    /// The turn in flight completed: its context becomes the chain's.
    pub(crate) fn completed(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        match (pending.input, pending.id) {
            (Some(mut input), Some(id)) => {
                input.extend(pending.output);
                self.context = Some(input);
                self.last_response = Some(id);
            }
            _ => {
                self.context = None;
                self.last_response = None;
            }
        }
    }

    /// The turn in flight ended without completing; the chain stays where it was.
    pub(crate) fn abandoned(&mut self) {
        self.pending = None;
    }

    /// `frame` as a fresh socket takes it: a frame naming the chain's last response by
    /// `previous_response_id` gets the chain's whole context as its `input` and loses the id.
    /// `None`: send it as it is (no previous response, or one this transcript cannot rebuild).
    pub(crate) fn standalone(&self, frame: &str) -> Option<String> {
        let mut value: Value = serde_json::from_str(frame).ok()?;
        value.get("previous_response_id")?;
        let input = self.full_input(&value)?;
        let fields = value.as_object_mut()?;
        fields.remove("previous_response_id");
        fields.insert("input".to_owned(), Value::Array(input));
        Some(value.to_string())
    }

    /// The whole input of a `response.create`: its own, after the chain's context when it
    /// continues the chain's last response. `None` when it names a response not known here.
    fn full_input(&self, frame: &Value) -> Option<Vec<Value>> {
        let own = input_items(frame.get("input"));
        match frame.get("previous_response_id").and_then(Value::as_str) {
            None => Some(own),
            Some(previous) if self.last_response.as_deref() == Some(previous) => {
                let mut input = self.context.clone()?;
                input.extend(own);
                Some(input)
            }
            Some(_) => None,
        }
    }
}

/// A request's `input` as items: a string is one user message.
fn input_items(input: Option<&Value>) -> Vec<Value> {
    match input {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::String(text)) => {
            let mut message = Map::new();
            message.insert("type".to_owned(), Value::from("message"));
            message.insert("role".to_owned(), Value::from("user"));
            message.insert("content".to_owned(), Value::from(text.as_str()));
            vec![Value::Object(message)]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(text: &str) -> Value {
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    }

    fn run_turn(transcript: &mut Transcript, frame: &Value, id: &str, items: &[Value]) {
        transcript.started(&frame.to_string());
        transcript
            .observe(&json!({"type": "response.created", "response": {"id": id}}).to_string());
        for item in items {
            transcript
                .observe(&json!({"type": "response.output_item.done", "item": item}).to_string());
        }
        transcript.observe(
            &json!({"type": "response.completed", "response": {"id": id, "output": []}})
                .to_string(),
        );
        transcript.completed();
    }

    #[test]
    fn a_follow_up_becomes_the_whole_chain() {
        let mut transcript = Transcript::default();
        let call =
            json!({"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"});
        let first = json!({"type": "response.create", "model": "m", "input": [user("one")]});
        run_turn(
            &mut transcript,
            &first,
            "resp_1",
            std::slice::from_ref(&call),
        );
        let output = json!({"type": "function_call_output", "call_id": "c1", "output": "ok"});
        let second = json!({"type": "response.create", "model": "m", "previous_response_id": "resp_1", "input": [output.clone()]});
        let answer = json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]});
        run_turn(
            &mut transcript,
            &second,
            "resp_2",
            std::slice::from_ref(&answer),
        );

        let third = json!({"type": "response.create", "model": "m", "store": false, "previous_response_id": "resp_2", "input": [user("three")]});
        let rebuilt: Value =
            serde_json::from_str(&transcript.standalone(&third.to_string()).unwrap()).unwrap();
        assert_eq!(
            rebuilt,
            json!({"type": "response.create", "model": "m", "store": false,
                "input": [user("one"), call, output, answer, user("three")]})
        );
        // A frame without a previous response, or naming one not of this chain, goes as it is.
        assert_eq!(transcript.standalone(&first.to_string()), None);
        let foreign =
            json!({"type": "response.create", "previous_response_id": "resp_1", "input": []});
        assert_eq!(transcript.standalone(&foreign.to_string()), None);
    }

    #[test]
    fn a_new_chain_and_a_failed_turn() {
        let mut transcript = Transcript::default();
        let first = json!({"type": "response.create", "input": "hello"});
        run_turn(&mut transcript, &first, "resp_1", &[]);
        // A failed follow-up leaves the chain at resp_1.
        transcript.started(&json!({"type": "response.create", "previous_response_id": "resp_1", "input": [user("x")]}).to_string());
        transcript.abandoned();
        let retry = json!({"type": "response.create", "previous_response_id": "resp_1", "input": [user("y")]});
        let rebuilt: Value =
            serde_json::from_str(&transcript.standalone(&retry.to_string()).unwrap()).unwrap();
        assert_eq!(
            rebuilt["input"],
            json!([{"type": "message", "role": "user", "content": "hello"}, user("y")])
        );
        // A turn continuing an unknown response forgets the chain.
        let unknown =
            json!({"type": "response.create", "previous_response_id": "resp_x", "input": []});
        run_turn(&mut transcript, &unknown, "resp_3", &[]);
        let next =
            json!({"type": "response.create", "previous_response_id": "resp_3", "input": []});
        assert_eq!(transcript.standalone(&next.to_string()), None);
    }
}
