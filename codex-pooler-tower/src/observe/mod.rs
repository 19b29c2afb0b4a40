//! Observing responses on their way to the client, without buffering them.
//!
//! [`SseScanner`] reads a Codex SSE stream incrementally and keeps only the few events routing
//! learns from (`response.completed` usage, `codex.rate_limits`). [`ObservedBody`] wraps the
//! response body, forwards every frame untouched, feeds the scanner and, when the body ends or
//! the client goes away, emits the request record.

mod body;
mod sse_scan;

pub use body::{ObservedBody, RecordDraft};
pub use sse_scan::{SseScanner, SseSignal};
