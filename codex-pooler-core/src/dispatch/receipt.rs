//! The routing receipt: one response header telling a client how its request was routed.
//!
//! `x-codex-pooler-route: strategy=reset_aware; eligible=3; pin=session; account=acct_5e1f0c9a7b2d;
//! skipped=pinned_account_near_limit; failover=429; waited=1250ms`
//!
//! It names the strategy, how many accounts were eligible, the continuity pin followed, an opaque
//! handle of the serving account, why the pinned account was not used first, the status of
//! each attempt that was failed over, and how long the request waited for busy accounts. Nothing in it identifies an upstream email, id or secret;
//! operators map handles to accounts with `codex-pooler upstreams list`, and without the
//! deployment's key ([`AccountHandles`]) a handle tells nothing about the account.

use std::fmt::Write;
use std::time::Duration;

use super::{AccountHandles, Attempt, AttemptResult};
use crate::continuity::PinKind;
use crate::model::AccountId;
use crate::plan::PinSkip;

/// The response header carrying the receipt.
pub const ROUTE_RECEIPT_HEADER: &str = "x-codex-pooler-route";

/// How one request was routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteReceipt {
    /// The strategy that ordered the candidates.
    pub strategy: &'static str,
    /// Accounts that passed every check.
    pub eligible: usize,
    /// The continuity pin followed.
    pub pin: Option<PinKind>,
    /// Why the pinned account was not used first.
    pub pin_skipped: Option<PinSkip>,
    /// The account whose answer was sent.
    pub served_by: Option<AccountId>,
    /// The attempts failed over before the answer (their status, or `transport`).
    pub failovers: Vec<String>,
    /// How long the request waited for accounts upstream refused for concurrency.
    pub waited: Duration,
}

impl RouteReceipt {
    /// The [`failovers`](Self::failovers) of `attempts`: each attempt not answered, by status
    /// or `transport`.
    pub(crate) fn failovers(attempts: &[Attempt]) -> Vec<String> {
        attempts
            .iter()
            .filter_map(|a| match a.result {
                AttemptResult::Answered(_) => None,
                AttemptResult::Retried(code) => Some(code.to_string()),
                AttemptResult::TransportError => Some("transport".to_owned()),
            })
            .collect()
    }

    /// The header value, naming the serving account by its handle under `handles`.
    pub fn header_value(&self, handles: &AccountHandles) -> String {
        let mut out = format!("strategy={}; eligible={}", self.strategy, self.eligible);
        if let Some(pin) = self.pin {
            let _ = write!(out, "; pin={}", pin.as_str());
        }
        if let Some(account) = self.served_by {
            let _ = write!(out, "; account={}", handles.handle(account));
        }
        if let Some(skipped) = self.pin_skipped {
            let _ = write!(out, "; skipped={skipped}");
        }
        if !self.failovers.is_empty() {
            let _ = write!(out, "; failover={}", self.failovers.join(","));
        }
        if !self.waited.is_zero() {
            let _ = write!(out, "; waited={}ms", self.waited.as_millis());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn header_lists_what_happened() {
        let attempts = [
            Attempt {
                account: AccountId(1),
                result: AttemptResult::Retried(429),
                latency: Duration::ZERO,
            },
            Attempt {
                account: AccountId(2),
                result: AttemptResult::TransportError,
                latency: Duration::ZERO,
            },
            Attempt {
                account: AccountId(3),
                result: AttemptResult::Answered(200),
                latency: Duration::ZERO,
            },
        ];
        let receipt = RouteReceipt {
            strategy: "reset_aware",
            eligible: 4,
            pin: Some(PinKind::Session),
            pin_skipped: None,
            served_by: Some(AccountId(3)),
            failovers: RouteReceipt::failovers(&attempts),
            waited: Duration::from_millis(1250),
        };
        let handles = AccountHandles::new([3; 32]);
        let value = receipt.header_value(&handles);
        assert_eq!(
            value,
            format!(
                "strategy=reset_aware; eligible=4; pin=session; account={}; failover=429,transport; waited=1250ms",
                handles.handle(AccountId(3))
            )
        );
        assert!(http::HeaderValue::from_str(&value).is_ok());
    }
}
