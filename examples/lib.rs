//! Examples for codex-pooler. Each example is one runnable file:
//!
//! - `embed_axum.rs`: the pooler as tower middleware in front of your own axum routes.
