//! Dispatch with failover: try the planned accounts in order until one answers.
//!
//! The same [`Dispatch`] serves HTTP requests and websocket opens: its inner service answers
//! an [`UpstreamCall`](crate::request::UpstreamCall) with an HTTP head and body, or with a
//! `101` whose upstream socket rides in the response's extensions. Inside, the request's
//! rounds, waits and fresh plans (`run.rs`) call a classifier that learns from every answer
//! (`classify.rs`) and a failover policy that decides whether to move on and which failure
//! reaches the client (`policy.rs`).
//!
//! [`Dispatch`] calls the inner upstream service once per candidate. It moves to the next
//! candidate on a connect or transport error, a 429 or a 5xx, and only then: the decision is
//! taken on the response head, before any byte of the body is handed on, so nothing has reached
//! the client when it fails over. Every answer's quota headers, and the body of a
//! `usage_limit_reached` 429, are recorded as quota evidence on the way.
//!
//! Accounts at their learned concurrency limit are passed over for accounts with room, and sent
//! to over the limit when none has room. Accounts upstream refused for concurrency are waited
//! for, briefly ([`DispatchConfig`]): once only such candidates are left, the request waits for
//! one of their streams to end instead of failing, and a request following a soft pin first
//! waits a little for its own account before it moves.

mod answer;
mod classify;
mod config;
mod handle;
mod layer;
mod outcome;
mod policy;
mod receipt;
mod run;
mod service;

pub use config::DispatchConfig;
pub use handle::AccountHandles;
pub use layer::DispatchLayer;
pub use outcome::{Attempt, AttemptResult, Outcome};
pub use receipt::{ROUTE_RECEIPT_HEADER, RouteReceipt};
pub use service::Dispatch;

/// The most of an error body read to learn from it (a `usage_limit_reached` 429 is tiny).
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

#[cfg(test)]
mod busy_tests;
#[cfg(test)]
mod soft_owner_tests;
#[cfg(test)]
mod tests;
