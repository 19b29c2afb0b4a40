//! Continuity: keeping a conversation on the account that holds its state.
//!
//! Upstream conversation state is per account: a `previous_response_id` only resolves on the
//! account that produced it, a turn's `x-codex-turn-state` belongs to one account, an uploaded
//! file lives on one account, and the prompt cache is warm on the account that served the last
//! turn. The live continuity book remembers, per pool, which account answered which keys; the
//! planner turns that into a [`Pin`]:
//!
//! - **hard** pins (`previous_response_id`, turn state, file ids) go to their owner or fail with
//!   a typed error saying how to recover;
//! - **soft** pins (session headers, `prompt_cache_key`, a hash of the first input items)
//!   prefer their owner and move only when it is ineligible or nearly out of quota;
//! - a request whose client sends no session id gets one derived for upstream
//!   ([`SessionIds`]), scoped to pool and key, which is also its first soft key.
//! - the **context owner** of a root session (the first account that served it) is a hard pin
//!   for the Codex history, notes and search tools and never moves. The tools are pinned there
//!   rather than fanned out to every account that served the thread, because their answers are
//!   opaque per account (encrypted outputs, window and item ids only the issuing account
//!   resolves), so merged answers would not be usable on the next call; notes must never fork.
//!   A thread that moved off an unavailable owner gets `pinned_account_unavailable` for its
//!   tool calls until the owner is back (`docs/routing.md`, "History and notes tools").

mod book;
mod keys;
mod pin;
mod session;

pub(crate) use book::ContinuityBook;
pub use book::ContinuityConfig;
pub use keys::ContinuityKeys;
pub use pin::{Pin, PinKind};
pub use session::SessionIds;

#[cfg(test)]
mod pin_props;
