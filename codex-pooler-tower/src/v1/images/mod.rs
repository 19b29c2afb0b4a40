//! `/v1/images/generations` and `/v1/images/edits`: a Codex turn with the `image_generation`
//! tool ([`translate::images`](codex_pooler_core::translate::images)), answered as the OpenAI
//! images object.
//!
//! Two layers, like `/v1/responses`:
//!
//! - `V1ImagesRequest` (below `V1Request`): the JSON or multipart body becomes the Codex turn,
//!   run on the first model of the pool's catalog the key may use; the request then goes on
//!   as a `/v1` responses turn (key policy, limits, routing and the record treat it as one).
//! - `V1ImagesAnswer` (above `Record`): the turn's events, once the record has read them,
//!   become `{"created", "data": [{"b64_json"}], "usage"}`, or 502 `image_generation_failed`.

mod answer;
mod request;

pub(crate) use answer::V1ImagesAnswerLayer;
pub(crate) use request::V1ImagesRequestLayer;

/// The tag `V1ImagesRequest` puts on the answer of a translated images request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ImagesAnswer;
