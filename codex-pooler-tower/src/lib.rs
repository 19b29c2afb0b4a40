//! HTTP glue for codex-pooler: Pool API key auth, the upstream client, upstream credentials and
//! streaming, as tower middleware that embeds in any hyper or axum service.

pub mod credentials;
pub mod keys;
