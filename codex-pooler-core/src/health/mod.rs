//! Account health: circuit breakers, 429 demotion and adaptive per-account concurrency.
//!
//! Quota evidence ([`crate::quota`]) says whether an account *may* serve; health says whether it
//! *currently does*. The live state ([`LiveState`](crate::live::LiveState)) keeps, per process:
//!
//! - a circuit breaker per (account, model, route class), opened by consecutive 5xx, transport
//!   errors and 401s, recovered through a single half-open probe with doubling backoff;
//! - a short demotion per (account, model) after any 429: the account stays eligible but should
//!   be ranked last;
//! - an adaptive concurrency limit per account (AIMD), halved by code-less 429s (upstream's per-account
//!   cap) and grown by successes; an account at its limit is busy.
//!
//! A 429 never opens a circuit: `usage_limit_reached` is quota evidence for the quota book, and a
//! code-less 429 is a concurrency signal, so neither says the account is broken.
//!
//! The planner checks each candidate's health; the dispatcher calls
//! [`LiveState::begin_attempt`](crate::live::LiveState::begin_attempt) before sending, records the outcome on the returned [`AttemptGuard`],
//! and drops the guard when the response body ends. Every time-dependent call takes `now` from
//! the injected [`Clock`](crate::clock::Clock).
//!
//! ```
//! use codex_pooler_core::health::{AttemptOutcome, HealthExclusion};
//! use codex_pooler_core::live::LiveState;
//! use codex_pooler_core::model::AccountId;
//! use codex_pooler_core::request::RouteClass;
//! use codex_pooler_core::clock::from_unix_seconds;
//!
//! let live = LiveState::new();
//! let (account, class, now) = (AccountId(1), RouteClass::Responses, from_unix_seconds(1_000));
//!
//! for _ in 0..3 {
//!     let mut attempt = live.begin_attempt(account, "gpt-5-codex", class, now).unwrap();
//!     attempt.record(AttemptOutcome::ServerError, now);
//! } // each guard is dropped here, freeing its slot
//!
//! let refused = live.begin_attempt(account, "gpt-5-codex", class, now).unwrap_err();
//! assert_eq!(refused.reason(), "circuit_open");
//! assert!(matches!(refused, HealthExclusion::CircuitOpen { .. }));
//! // Other models on the same account are unaffected.
//! assert!(live.begin_attempt(account, "gpt-5", class, now).is_ok());
//! ```

mod book;
mod circuit;
mod config;
mod exclusion;
mod guard;
mod limit;
mod outcome;
mod slot_wait;

#[cfg(test)]
mod tests;

pub(crate) use book::HealthBook;
pub use circuit::CircuitPhase;
pub(crate) use config::HealthConfig;
pub use exclusion::HealthExclusion;
pub use guard::AttemptGuard;
pub use outcome::AttemptOutcome;
