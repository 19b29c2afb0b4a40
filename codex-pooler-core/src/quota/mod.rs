//! Quota evidence: what upstream told us about an account's remaining capacity.
//!
//! Evidence arrives from four sources, strongest first ([`EvidenceSource`]):
//! `codex.rate_limits` stream events, `x-codex-*` response headers, `usage_limit_reached` 429
//! bodies and the `wham/usage` probe. Windows are classified by length ([`WindowKind`]), not by
//! the header slot they came in. The live quota book (in [`LiveState`](crate::live::LiveState)) keeps the best reading per
//! account and window kind: newer evidence replaces older, simultaneous readings are ordered by
//! source precedence, and evidence stops counting after a freshness TTL unless it proves
//! exhaustion until a known reset. Eligibility reads
//! [`LiveState::exhausted_until`](crate::live::LiveState::exhausted_until); strategies read a
//! [`QuotaView`].
//!
//! ```
//! use codex_pooler_core::clock::from_unix_seconds;
//! use codex_pooler_core::model::AccountId;
//! use codex_pooler_core::live::LiveState;
//! use codex_pooler_core::quota::{EvidenceSource, parse_usage_payload};
//!
//! let now = from_unix_seconds(1_800_000_000);
//! let body = br#"{"rate_limit":{"allowed":true,"limit_reached":false,
//!     "primary_window":{"used_percent":100,"limit_window_seconds":604800,"reset_at":1800086400}}}"#;
//! let snapshot = parse_usage_payload(body, now).expect("valid payload");
//! let live = LiveState::new();
//! live.observe_usage(AccountId(1), &snapshot);
//! // A full weekly window (reported in the primary slot) keeps the account out until it resets.
//! assert_eq!(live.exhausted_until(AccountId(1), now), Some(from_unix_seconds(1_800_086_400)));
//! # let _ = EvidenceSource::StreamEvent;
//! ```

mod account;
mod book;
mod credits;
mod event;
mod headers;
mod history;
mod journal;
mod limit_body;
mod named;
mod runway;
mod source;
mod usage_payload;
mod view;
mod window;

pub use account::AccountQuota;
pub(crate) use account::DEFAULT_FRESHNESS;
pub(crate) use book::QuotaBook;
pub use credits::Credits;
pub(crate) use credits::credits_from_headers;
pub use event::windows_from_rate_limits_event;
pub use headers::{is_quota_header, windows_from_headers};
pub use history::SPEND_LOOKBACK;
pub use limit_body::{UsageLimit, parse_usage_limit};
pub use named::NamedLimit;
pub(crate) use named::named_limits_from_headers;
pub use runway::{Outlook, PoolRunway, Projection, RunwayAccount, WindowRunway, project};
pub use source::{Evidence, EvidenceSource, SIMULTANEOUS};
pub use usage_payload::{UsagePayloadError, UsageSnapshot, parse_usage_payload};
pub use view::{QuotaView, WindowView, WindowViews};
pub use window::{QuotaWindow, WindowKind, WindowSlot};
