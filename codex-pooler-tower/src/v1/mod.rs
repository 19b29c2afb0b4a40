//! The OpenAI-compatible `/v1` surface, translated onto the Codex backend.
//!
//! `V1Gate` (right below `Authenticate`) answers 403 `v1_compatibility_disabled` for every
//! `/v1` request of a pool with the surface switched off. Then two layers, one job each,
//! around the stack's middle:
//!
//! - `V1Request` (below `ReadBody`): a `POST /v1/responses` body becomes the Codex request
//!   ([`translate::responses`](codex_pooler_core::translate::responses)), and a `POST
//!   /v1/chat/completions` body becomes a Responses turn
//!   ([`translate::chat`](codex_pooler_core::translate::chat): messages to input items,
//!   system text to `instructions`, tools flattened). Both go upstream with `stream: true` and
//!   `store: false`; parameters the backend refuses are dropped or answered with a typed 400.
//!   The answer is tagged ([`V1Answer`](answer::V1Answer)) with the dialect and what the
//!   client asked for. Key policy sits below, so it rules on the Codex-shaped body of both.
//! - `V1Response` (above `Record`): a tagged answer is translated for the client, after the
//!   record layer has read the upstream events for quota, continuity and usage
//!   (`responses_answer`, `chat_answer`, over the shared event reader in `relay`). A
//!   `/v1/responses` client gets the events in order with a terminal event guaranteed, or one
//!   collected `response`; a chat client gets `chat.completion.chunk`s ending in `[DONE]` (or
//!   in one error chunk when the turn failed), or one `chat.completion`. An error answered
//!   before streaming (the backend's `{"detail": …}`) gets the OpenAI error shape
//!   (`error_answer`).
//!
//! Chat completions is a [`RouteClass::Responses`](codex_pooler_core::request::RouteClass)
//! route: its health and limits are the responses route's. `/v1/images/*` has its own pair of
//! layers (`images/`), beside these two, and `/v1/audio/transcriptions` one layer below
//! `V1Request` (`transcription.rs`). `POST /v1/files` runs the backend file flow in a layer
//! below `V1Request` (`files/`), whose metadata routes `LocalRoutes` answers.

mod answer;
mod chat_answer;
mod error_answer;
mod files;
mod gate;
mod images;
mod relay;
mod request;
mod response;
mod responses_answer;
mod sse_blocks;
mod transcription;

pub(crate) use files::{FileCatalog, FileUploads, V1FileUploadLayer, metadata_answer};
pub(crate) use gate::V1GateLayer;
pub(crate) use images::{V1ImagesAnswerLayer, V1ImagesRequestLayer};
pub(crate) use request::V1RequestLayer;
pub(crate) use response::V1ResponseLayer;
pub(crate) use transcription::V1TranscriptionLayer;
