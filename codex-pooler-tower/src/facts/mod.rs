//! The pooled request: routing facts read from the decoded body and headers, and the
//! [`PoolRequest`](codex_pooler_core::request::PoolRequest) the pipeline plans and dispatches.

mod layer;
mod service;

pub(crate) use layer::FactsLayer;
