//! The OpenAI-compatible `/v1` surface, translated onto the Codex backend.
//!
//! `V1Gate` (right below `Authenticate`) answers 403 `v1_compatibility_disabled` for every
//! `/v1` request of a pool with the surface switched off. Then two layers, one job each,
//! around the stack's middle:
//!
//! - `V1Request` (below `ReadBody`): a `POST /v1/responses` body becomes the Codex request
//!   ([`translate::responses`](codex_pooler_core::translate::responses): always `stream: true`
//!   and `store: false`, parameters the backend refuses dropped or answered with 400
//!   `unsupported_parameter`). Its answer is tagged with what the client asked for.
//! - `V1Response` (above `Record`): a tagged answer is translated for the client, after the
//!   record layer has read the upstream events for quota, continuity and usage. A streaming
//!   client gets the events in order with a terminal event guaranteed; a non-stream client gets
//!   the stream collected into one `response` object.
//!
//! `/v1/images/*` has its own pair of layers (`images/`), beside these two, and
//! `/v1/audio/transcriptions` one layer below `V1Request` (`transcription.rs`).

mod answer;
mod gate;
mod images;
mod request;
mod response;
mod sse_blocks;
mod transcription;

pub(crate) use gate::V1GateLayer;
pub(crate) use images::{V1ImagesAnswerLayer, V1ImagesRequestLayer};
pub(crate) use request::V1RequestLayer;
pub(crate) use response::V1ResponseLayer;
pub(crate) use transcription::V1TranscriptionLayer;
