//! The pure routing core of codex-pooler.
//!
//! This crate holds the domain (pools, upstream accounts, assignments, Pool API keys), the
//! evidence the router reasons about (quota windows), the ordered eligibility checks, the
//! [`RoutingStrategy`](strategy::RoutingStrategy) trait with its built-in strategies, and the two
//! tower services that turn a classified request into an upstream attempt:
//! [`Plan`](plan::Plan) (choose the ordered candidates) and [`Dispatch`](dispatch::Dispatch)
//! (try them, failing over only before anything reached the client).
//!
//! It opens no socket, touches no database and never reads the system clock directly: a
//! [`Clock`](clock::Clock) is passed in, so every decision is reproducible in tests.
//!
//! ```
//! use codex_pooler_core::model::{Lifecycle, PoolStatus};
//! assert!(Lifecycle::Active.is_routable());
//! assert!(!Lifecycle::ReauthRequired.is_routable());
//! assert_eq!(PoolStatus::Active.as_str(), "active");
//! ```

pub mod body;
mod catalog;
pub mod clock;
pub mod continuity;
pub mod dispatch;
pub mod eligibility;
pub mod error;
pub mod facts;
mod file_id;
pub mod health;
pub mod live;
pub mod model;
pub mod plan;
pub mod quota;
pub mod record;
pub mod request;
pub mod route;
pub mod snapshot;
pub mod store;
pub mod strategy;

/// A boxed, type-erased error, as used by tower middleware.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
