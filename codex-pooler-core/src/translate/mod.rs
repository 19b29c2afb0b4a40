//! Pure translation between the OpenAI `/v1` API and the Codex backend.
//!
//! No I/O and no clock: callers pass bodies as `serde_json` maps and feed upstream SSE events
//! one at a time. What is here:
//!
//! - [`chat`]: `/v1/chat/completions` onto a Responses turn and back: the request
//!   ([`chat::to_codex`]), streamed chunks ([`chat::ChatStream`]) and the non-stream
//!   `chat.completion` ([`chat::ChatCollector`]), with the parameter table.
//! - [`responses`]: a `/v1/responses` body → the Codex `/responses` request (always
//!   `stream: true`, `store: false`), refusing or dropping what the backend refuses.
//! - [`collect`]: a whole upstream stream → one `response` object for non-stream clients
//!   ([`ResponseCollector`](collect::ResponseCollector)), and a guard for streamed turns
//!   ([`ResponsesStreamGuard`](collect::ResponsesStreamGuard)).
//! - [`files`]: `/v1/files` uploads onto the backend file flow, and the `file` object.
//! - [`sanitize`]: upstream failures as a client may see them.
//! - [`usage`]: Responses usage in the Chat Completions shape.
//!
//! # Example
//!
//! ```
//! use codex_pooler_core::translate::{collect::ResponseCollector, responses};
//! use serde_json::json;
//!
//! let body = json!({"model": "gpt-5", "input": "hi", "temperature": 0.3});
//! let serde_json::Value::Object(body) = body else { unreachable!() };
//! let call = responses::to_codex(body)?;
//! assert_eq!(call.body["stream"], true);
//! assert_eq!(call.dropped, vec!["temperature"]);
//!
//! let mut collector = ResponseCollector::new();
//! collector.on_event(&json!({"type": "response.output_item.done", "output_index": 0,
//!     "item": {"type": "message", "content": [{"type": "output_text", "text": "hello"}]}}));
//! collector.on_event(&json!({"type": "response.completed",
//!     "response": {"id": "resp_1", "output": []}}));
//! let response = collector.finish()?;
//! assert_eq!(response["output"][0]["content"][0]["text"], "hello");
//! # Ok::<(), codex_pooler_core::error::PoolerError>(())
//! ```

pub mod chat;
pub mod collect;
pub mod event;
mod fields;
pub mod files;
pub mod images;
pub mod multipart;
pub mod responses;
pub mod sanitize;
pub mod transcription;
pub mod usage;
