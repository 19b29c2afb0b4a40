//! The SSE events of one answer, in the order the Codex backend sends them, and their framing.

use bytes::Bytes;
use serde_json::{Value, json};

use super::turn::{OutputItem, Reply};

/// One server-sent event: `event: <name>\ndata: <json>\n\n`, where `data.type` repeats the name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SseEvent {
    name: &'static str,
    data: Value,
}

impl SseEvent {
    fn new(name: &'static str, mut data: Value, sequence_number: usize) -> Self {
        if let Value::Object(fields) = &mut data {
            fields.insert("type".to_owned(), Value::from(name));
            fields.insert("sequence_number".to_owned(), Value::from(sequence_number));
        }
        Self { name, data }
    }

    /// The event's type, e.g. `response.completed`.
    #[cfg(test)]
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The event framed for the wire.
    pub(crate) fn encode(&self) -> Bytes {
        Bytes::from(format!("event: {}\ndata: {}\n\n", self.name, self.data))
    }
}

/// The events answering with `reply`, the text (if any) split into `text_deltas` deltas:
/// `response.created`, `response.output_item.added`, then for a message
/// `response.content_part.added`, the `response.output_text.delta`s, `response.output_text.done`
/// and `response.content_part.done` (for a function call `response.function_call_arguments.delta`
/// and `.done`), then `response.output_item.done` and the terminal event
/// [`TurnEnd`](super::turn::TurnEnd) picks (`response.completed` unless the prompt asked for
/// another ending). With `items_only_in_done`, the terminal response carries `"output": []` and
/// the item is only in `response.output_item.done`, as the ChatGPT backend answers at times
/// ([`FakeConfig::items_only_in_done`](crate::FakeConfig::items_only_in_done)).
///
/// The content-part lifecycle is the backend's (public proxy reports quote it upstream of the
/// Codex CLI, e.g. icebear0828/codex-proxy#137); the OpenAI SDKs' stream helpers
/// (`responses.stream()`) need `response.content_part.added` before the first text delta.
pub(crate) fn events(reply: &Reply, text_deltas: usize, items_only_in_done: bool) -> Vec<SseEvent> {
    let mut raw: Vec<(&'static str, Value)> = vec![
        ("response.created", json!({"response": reply.in_progress()})),
        (
            "response.output_item.added",
            json!({"output_index": 0, "item": reply.item.started()}),
        ),
    ];
    match &reply.item {
        OutputItem::Message { id, text } => {
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
            let at = json!({"item_id": id, "output_index": 0, "content_index": 0});
            let with = |key: &str, value: Value| {
                let mut event = at.clone();
                event[key] = value;
                event
            };
            raw.push(("response.content_part.added", with("part", part(""))));
            raw.extend(
                split_text(text, text_deltas)
                    .into_iter()
                    .map(|delta| ("response.output_text.delta", with("delta", delta.into()))),
            );
            raw.push((
                "response.output_text.done",
                with("text", text.as_str().into()),
            ));
            raw.push(("response.content_part.done", with("part", part(text))));
        }
        OutputItem::FunctionCall { id, arguments, .. } => {
            raw.push((
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": 0, "delta": arguments}),
            ));
            raw.push((
                "response.function_call_arguments.done",
                json!({"item_id": id, "output_index": 0, "arguments": arguments}),
            ));
        }
        OutputItem::ImageGeneration { id, .. } => raw.extend(
            [
                "response.image_generation_call.in_progress",
                "response.image_generation_call.generating",
                "response.image_generation_call.completed",
            ]
            .map(|name| (name, json!({"item_id": id, "output_index": 0}))),
        ),
        OutputItem::Compaction { .. } => {}
    }
    raw.push((
        "response.output_item.done",
        json!({"output_index": 0, "item": reply.item.done()}),
    ));
    let (name, mut data) = reply.end.terminal(reply);
    if items_only_in_done && data["response"].get("output").is_some() {
        data["response"]["output"] = json!([]);
    }
    raw.push((name, data));
    raw.into_iter()
        .enumerate()
        .map(|(sequence_number, (name, data))| SseEvent::new(name, data, sequence_number))
        .collect()
}

/// `text` cut at character boundaries into at most `parts` pieces of near-equal length (always at
/// least one piece, so an empty text still gets one empty delta).
fn split_text(text: &str, parts: usize) -> Vec<&str> {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let chars = boundaries.len() - 1;
    let parts = parts.clamp(1, chars.max(1));
    (0..parts)
        .map(|k| {
            let start = boundaries[k * chars / parts];
            let end = boundaries[(k + 1) * chars / parts];
            &text[start..end]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::Usage;

    #[test]
    fn splits_text_into_near_equal_pieces() {
        assert_eq!(split_text("Hello world!", 4), ["Hel", "lo ", "wor", "ld!"]);
        assert_eq!(split_text("héé", 5), ["h", "é", "é"]);
        assert_eq!(split_text("", 4), [""]);
        assert_eq!(split_text("abc", 0), ["abc"]);
    }

    #[test]
    fn text_answer_event_sequence() {
        let reply = Reply {
            id: "resp_1".to_owned(),
            created_at: 1,
            model: "m".to_owned(),
            item: OutputItem::Message {
                id: "msg_1".to_owned(),
                text: "Hello".to_owned(),
            },
            usage: Usage {
                input_tokens: 3,
                cached_tokens: 0,
                output_tokens: 2,
                reasoning_tokens: 0,
            },
            end: crate::turn::TurnEnd::Completed,
        };
        let events = events(&reply, 2, false);
        let names: Vec<_> = events.iter().map(SseEvent::name).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        let frame = String::from_utf8(events[3].encode().to_vec()).unwrap_or_default();
        assert!(frame.starts_with("event: response.output_text.delta\ndata: {"));
        assert!(frame.ends_with("}\n\n"));
        assert!(frame.contains(r#""type":"response.output_text.delta""#));
        assert_eq!(events[8].data["response"]["output"][0]["id"], "msg_1");
        let bare = super::events(&reply, 2, true);
        assert_eq!(bare[8].data["response"]["output"], json!([]));
        assert_eq!(bare[7].data["item"]["id"], "msg_1");
    }
}
