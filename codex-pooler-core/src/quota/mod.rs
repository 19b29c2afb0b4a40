//! Quota evidence: what upstream told us about an account's remaining capacity.
//!
//! Evidence arrives from response headers (`x-codex-primary-*`, `x-codex-secondary-*`) and from
//! `usage_limit_reached` 429 bodies. It is kept per account in a [`QuotaBook`] (live, in memory)
//! and read by the eligibility checks: an account known to be exhausted is not chosen until its
//! window resets.

mod book;
mod event;
mod headers;
mod limit_body;
mod view;
mod window;

pub use book::{AccountQuota, QuotaBook, UNTIMED_LIMIT_COOLDOWN, UNTIMED_WINDOW_TTL};
pub use event::windows_from_rate_limits_event;
pub use headers::windows_from_headers;
pub use limit_body::{UsageLimit, parse_usage_limit};
pub use view::{QuotaView, WindowView};
pub use window::{QuotaWindow, WindowKind, WindowSlot};
