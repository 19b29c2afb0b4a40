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

use crate::model::Lifecycle;
#[cfg(test)]
use crate::{
    health::HealthExclusion, live::LiveState, model::UpstreamAccount, request::RouteClass,
};

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
    /// Its stable reason, for records and metrics.
    pub const fn reason(&self) -> ExclusionReason {
        match self {
            Self::NotRoutable(Lifecycle::Paused) => ExclusionReason::AccountPaused,
            Self::NotRoutable(Lifecycle::Disabled) => ExclusionReason::AccountDisabled,
            Self::NotRoutable(Lifecycle::ReauthRequired) => ExclusionReason::AccountReauthRequired,
            Self::NotRoutable(Lifecycle::RefreshFailed) => ExclusionReason::AccountRefreshFailed,
            Self::NotRoutable(_) => ExclusionReason::AccountNotRoutable,
            Self::ModelUnsupported => ExclusionReason::ModelUnsupported,
            Self::QuotaExhausted { .. } => ExclusionReason::QuotaExhausted,
            Self::CircuitOpen { .. } => ExclusionReason::CircuitOpen,
        }
    }

    /// Whether the account is out only for a little while at `now`: a circuit probe or quota
    /// reset within [`SOFT_OWNER_GRACE`](super::SOFT_OWNER_GRACE), or a token refresh under way.
    pub(crate) fn is_brief(&self, now: SystemTime) -> bool {
        match self {
            Self::CircuitOpen { until } | Self::QuotaExhausted { until } => {
                *until <= now + super::SOFT_OWNER_GRACE
            }
            Self::NotRoutable(lifecycle) => *lifecycle == Lifecycle::Refreshing,
            Self::ModelUnsupported => false,
        }
    }
}

/// The stable, low-cardinality reason an account was left out of a request (an [`Exclusion`]
/// or a [`HealthExclusion`](crate::health::HealthExclusion) without its times), as kept in request records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExclusionReason {
    /// `account_paused`: an operator paused the account.
    AccountPaused,
    /// `account_disabled`: the account is disabled.
    AccountDisabled,
    /// `account_reauth_required`: the account's login must be redone.
    AccountReauthRequired,
    /// `account_refresh_failed`: its token refresh failed.
    AccountRefreshFailed,
    /// `account_not_routable`: another lifecycle state that takes no traffic.
    AccountNotRoutable,
    /// `model_unsupported`: the account does not serve the model.
    ModelUnsupported,
    /// `quota_exhausted`: its quota is used up.
    QuotaExhausted,
    /// `circuit_open`: its circuit for the model and route class is open.
    CircuitOpen,
    /// `account_busy`: it is at its concurrency limit.
    AccountBusy,
}

impl ExclusionReason {
    /// The stable string, as stored and logged.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccountPaused => "account_paused",
            Self::AccountDisabled => "account_disabled",
            Self::AccountReauthRequired => "account_reauth_required",
            Self::AccountRefreshFailed => "account_refresh_failed",
            Self::AccountNotRoutable => "account_not_routable",
            Self::ModelUnsupported => "model_unsupported",
            Self::QuotaExhausted => "quota_exhausted",
            Self::CircuitOpen => "circuit_open",
            Self::AccountBusy => "account_busy",
        }
    }
}

impl std::fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ExclusionReason {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The checks that only configuration and the catalog decide (steps 1 and 2), in order: `None`
/// for a check that passes. `serves` says whether the account serves the request's model
/// (`true` when the request names none).
///
/// The planner (both its straightforward and its indexed path) and
/// [`explain_account`](super::explain_account) run these same checks; the planner keeps the
/// first failing one, the explanation all of them.
pub(crate) fn fixed_checks(lifecycle: Lifecycle, serves: bool) -> [Option<Exclusion>; 2] {
    [
        (!lifecycle.is_routable()).then_some(Exclusion::NotRoutable(lifecycle)),
        (!serves).then_some(Exclusion::ModelUnsupported),
    ]
}

/// The checks the live books decide (steps 3 and 4), in order: the account's quota exhaustion
/// (from its [`QuotaView`](crate::quota::QuotaView)) and its circuit's probe time (from its
/// routing health).
pub(crate) fn live_checks(
    exhausted_until: Option<SystemTime>,
    circuit_open_until: Option<SystemTime>,
) -> [Option<Exclusion>; 2] {
    [
        quota_check(exhausted_until),
        circuit_check(circuit_open_until),
    ]
}

/// Step 4 alone: the circuit exclusion, if the account's circuit is open until
/// `circuit_open_until`.
pub(crate) fn circuit_check(circuit_open_until: Option<SystemTime>) -> Option<Exclusion> {
    circuit_open_until.map(|until| Exclusion::CircuitOpen { until })
}

/// Step 3 alone: the quota exclusion, if the account is exhausted until `exhausted_until`.
pub(crate) fn quota_check(exhausted_until: Option<SystemTime>) -> Option<Exclusion> {
    exhausted_until.map(|until| Exclusion::QuotaExhausted { until })
}

/// The first failing check of `checks`: the reason the planner records.
pub(crate) fn first_failing<const N: usize>(checks: [Option<Exclusion>; N]) -> Option<Exclusion> {
    checks.into_iter().flatten().next()
}

/// Runs the account checks in order; the first failing one is the reason. The planner runs the
/// same checks batched over a pool; this one-account form is the tests' reference.
#[cfg(test)]
pub(crate) fn check_account(
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
                .reason(),
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
