//! Key policy: each Pool API key's model and effort rules applied to its Codex-shaped request
//! body, and its request and token limits metered, before anything goes upstream.
//!
//! The layer sits below the body reading and any `/v1` translation, so it sees the body the
//! backend will get, whichever surface the client spoke; websocket turns follow the same rules
//! in the session (`websocket/`).

mod govern;
mod layer;
mod service;

pub(crate) use govern::{govern_body, rules_for};
pub(crate) use layer::KeyPolicyLayer;
