//! Test fixtures for codex-pooler's integration and end-to-end tests, and for authors of
//! third-party [`PoolStore`](codex_pooler_core::store::PoolStore)s:
//!
//! | Fixture | What it is |
//! |---|---|
//! | [`account`] | an [`UpstreamAccount`] with id and label, to refine with its `with_*` methods |
//! | [`fake_jwt`] | an unsigned JWT around some claims, as ChatGPT tokens look to the gateway |
//! | [`HookedStore`] | a `PoolStore` forwarding to a real one after asking a [`StoreHook`]: [`CountCalls`], [`FailNext`], a pair of both, or your own |
//! | [`CollectingSink`] | a [`RecordSink`](codex_pooler_tower::records::RecordSink) that keeps every record |
//! | [`store_conformance`] | the `PoolStore` conformance suite, with [`pool_store_conformance!`] to run it over a store |
//!
//! The doubles live in the crates whose traits they implement (behind their `testing`
//! features), so those crates' own unit tests use the same ones; this crate gathers them.
//! A crate's unit tests (inside its `src/`) cannot use this kit: it would link a second copy of
//! that crate. They use the `testing` modules and [`UpstreamAccount::new`] directly.
//!
//! ```
//! use codex_pooler_test_kit::{account, fake_jwt};
//!
//! let a = account(3).with_models(["gpt-5.1-codex"]);
//! assert_eq!(a.label, "a3");
//! assert!(fake_jwt(&serde_json::json!({"exp": 1})).ends_with(".fakesig"));
//! ```

pub mod store_conformance;

pub use codex_pooler_core::model::UpstreamAccount;
pub use codex_pooler_core::store::testing::{
    CountCalls, FailNext, HookedStore, StoreCall, StoreHook,
};
pub use codex_pooler_tower::testing::{CollectingSink, fake_jwt};

use codex_pooler_core::model::AccountId;

/// An active account `id` labelled `a<id>` (ChatGPT account `acc-<id>`, no models): the usual
/// test account. Refine it with [`UpstreamAccount`]'s `with_*` methods.
pub fn account(id: i64) -> UpstreamAccount {
    UpstreamAccount::new(AccountId(id), format!("a{id}"))
}
