//! The ordered hard checks that decide whether an account may take a request.
//!
//! Request-level checks (key valid, pool active, model named and served by the pool) reject the
//! whole request with an OpenAI-shaped error. Account-level checks exclude single accounts; each
//! exclusion carries a reason code that goes into the request record, never to the client.
//!
//! Order of the account checks:
//! 1. lifecycle routable (`active`, `refresh_due`, `refreshing`),
//! 2. model listed by the account,
//! 3. not known to be exhausted (quota evidence),
//! 4. its circuit for this model and route class not open (health).
//!
//! An account at its concurrency limit is not excluded: it ranks after accounts with room.

use std::time::SystemTime;

use crate::health::HealthExclusion;
use crate::live::LiveState;
use crate::model::{Lifecycle, UpstreamAccount};
use crate::route::RouteClass;

/// Why one account was not a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exclusion {
    /// Its lifecycle state does not allow traffic.
    NotRoutable(Lifecycle),
    /// It does not serve the requested model.
    ModelUnsupported,
    /// Its quota is used up until the given time.
    QuotaExhausted {
        /// When the quota resets.
        until: SystemTime,
    },
    /// Its circuit is open (repeated 5xx, transport errors or 401s) until the given time.
    CircuitOpen {
        /// When a probe may go again.
        until: SystemTime,
    },
}

impl Exclusion {
    /// Stable reason code for records and metrics.
    pub const fn reason_code(&self) -> &'static str {
        match self {
            Self::NotRoutable(Lifecycle::Paused) => "account_paused",
            Self::NotRoutable(Lifecycle::Disabled) => "account_disabled",
            Self::NotRoutable(Lifecycle::ReauthRequired) => "account_reauth_required",
            Self::NotRoutable(Lifecycle::RefreshFailed) => "account_refresh_failed",
            Self::NotRoutable(_) => "account_not_routable",
            Self::ModelUnsupported => "model_unsupported",
            Self::QuotaExhausted { .. } => "quota_exhausted",
            Self::CircuitOpen { .. } => "circuit_open",
        }
    }
}

/// Runs the account checks in order; the first failing one is the reason.
pub fn check_account(
    account: &UpstreamAccount,
    model: Option<&str>,
    class: RouteClass,
    live: &LiveState,
    now: SystemTime,
) -> Result<(), Exclusion> {
    if !account.lifecycle.is_routable() {
        return Err(Exclusion::NotRoutable(account.lifecycle));
    }
    if model.is_some_and(|m| !live.catalog.supports(account, m)) {
        return Err(Exclusion::ModelUnsupported);
    }
    if let Some(until) = live.quota.exhausted_until(account.id, now) {
        return Err(Exclusion::QuotaExhausted { until });
    }
    match live
        .health
        .check(account.id, model.unwrap_or_default(), class, now)
    {
        Err(HealthExclusion::CircuitOpen { until }) => Err(Exclusion::CircuitOpen { until }),
        // Busy accounts stay eligible; the planner ranks them last.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;
    use crate::model::AccountId;
    use crate::quota::UsageLimit;

    fn account(lifecycle: Lifecycle) -> UpstreamAccount {
        UpstreamAccount::new(AccountId(1), "a")
            .with_chatgpt_account_id("acc")
            .with_lifecycle(lifecycle)
            .with_models(["m"])
    }

    #[test]
    fn order_of_checks() {
        let live = LiveState::new();
        let now = from_unix_seconds(100);
        live.quota.observe_limit(
            AccountId(1),
            UsageLimit {
                resets_at: Some(from_unix_seconds(200)),
            },
            now,
        );
        // Lifecycle is checked before model and quota.
        let paused = account(Lifecycle::Paused);
        assert_eq!(
            check_account(&paused, Some("other"), RouteClass::Responses, &live, now)
                .unwrap_err()
                .reason_code(),
            "account_paused"
        );
        let active = account(Lifecycle::Active);
        assert_eq!(
            check_account(&active, Some("other"), RouteClass::Responses, &live, now),
            Err(Exclusion::ModelUnsupported)
        );
        assert_eq!(
            check_account(&active, Some("m"), RouteClass::Responses, &live, now),
            Err(Exclusion::QuotaExhausted {
                until: from_unix_seconds(200)
            })
        );
        assert_eq!(
            check_account(
                &active,
                Some("m"),
                RouteClass::Responses,
                &live,
                from_unix_seconds(200)
            ),
            Ok(())
        );
    }
}
