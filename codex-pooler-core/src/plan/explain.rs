//! [`explain_account`]: why one account is or is not routable now, with every reason.
//!
//! It runs the planner's own account checks ([`fixed_checks`](super::eligibility) and
//! `live_checks`, the ones [`Planner::plan`](super::Planner::plan) keeps the first failing of)
//! on one account, reading the same books the same way, and keeps every failing one. Before
//! them come the request-level facts that refuse every account of the pool: the pool disabled,
//! a model turn naming no model. An account of the snapshot outside the pool is reported
//! `account_not_in_pool`, its other checks still run.
//!
//! An account is [`routable`](AccountExplanation::routable) exactly when it has no reason, and
//! then the planner counts it eligible for the same query at the same instant (the property
//! tests of [`super::dry_run`] check this).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::eligibility::{fixed_checks, live_checks};
use super::{Exclusion, ExclusionReason, InspectError};
use crate::clock::unix_millis;
use crate::live::LiveState;
use crate::model::{AccountId, Lifecycle, PoolId, PoolStatus, Snapshot};
use crate::quota::{QuotaView, WindowView};
use crate::request::RouteClass;

/// What an operator asks about: a pool, a route class and (for model turns) a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteQuery {
    /// The pool.
    pub pool: PoolId,
    /// The route class (`responses`, `compact`, `file_create`, ...).
    pub route_class: RouteClass,
    /// The model; read only for model turns, as the planner does.
    #[serde(default)]
    pub model: Option<String>,
}

impl RouteQuery {
    /// A query for `route_class` in `pool`, naming `model`.
    pub fn new(pool: PoolId, route_class: RouteClass, model: Option<&str>) -> Self {
        Self {
            pool,
            route_class,
            model: model.map(str::to_owned),
        }
    }

    /// The model the planner reads: the query's for model turns, none otherwise.
    pub(crate) fn planned_model(&self) -> Option<&str> {
        if self.route_class.is_model_turn() {
            self.model.as_deref()
        } else {
            None
        }
    }
}

/// Why an account cannot take the query's request: an account check, or a request-level fact
/// that refuses every account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExplainReason {
    /// `pool_disabled`: the pool answers every request with an error.
    PoolDisabled,
    /// `model_required`: a model turn that names no model.
    ModelRequired,
    /// `account_not_in_pool`: the account is not assigned to the pool.
    NotInPool,
    /// One of the planner's account checks failed (its string is the exclusion's).
    Excluded(ExclusionReason),
}

impl ExplainReason {
    /// The stable string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PoolDisabled => "pool_disabled",
            Self::ModelRequired => "model_required",
            Self::NotInPool => "account_not_in_pool",
            Self::Excluded(reason) => reason.as_str(),
        }
    }
}

impl std::fmt::Display for ExplainReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One quota window as an operator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowReport {
    /// `short` (the 5-hour window), `weekly` or `monthly`.
    pub window: &'static str,
    /// Percent used (may exceed 100).
    pub used_percent: f64,
    /// When it resets, in Unix milliseconds, when known.
    pub resets_at_ms: Option<i64>,
}

impl From<&WindowView> for WindowReport {
    fn from(w: &WindowView) -> Self {
        Self {
            window: w.kind.as_str(),
            used_percent: w.used_percent,
            resets_at_ms: w.resets_at.map(unix_millis),
        }
    }
}

/// One reason, with the details that belong to it (absent fields are left out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonReport {
    /// The stable reason string (`account_paused`, `quota_exhausted`, `circuit_open`, ...).
    pub reason: &'static str,
    /// For lifecycle reasons: the account's lifecycle state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// For `pool_disabled`: the pool's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_status: Option<PoolStatus>,
    /// For `model_unsupported`: the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// For `quota_exhausted`: when the quota resets (Unix milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    /// For `quota_exhausted`: the full windows (empty when a `usage_limit_reached` answer alone
    /// keeps the account out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowReport>,
    /// For `circuit_open`: when a probe may go again (Unix milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_at_ms: Option<i64>,
}

impl ReasonReport {
    /// A reason without details.
    fn bare(reason: ExplainReason) -> Self {
        Self {
            reason: reason.as_str(),
            lifecycle: None,
            pool_status: None,
            model: None,
            until_ms: None,
            windows: Vec::new(),
            probe_at_ms: None,
        }
    }

    /// The report of an account check's `exclusion`, for `model`, with the account's `quota`.
    pub(crate) fn of(exclusion: &Exclusion, model: Option<&str>, quota: &QuotaView) -> Self {
        let mut report = Self::bare(ExplainReason::Excluded(exclusion.reason()));
        match *exclusion {
            Exclusion::NotRoutable(lifecycle) => report.lifecycle = Some(lifecycle),
            Exclusion::ModelUnsupported => report.model = model.map(str::to_owned),
            Exclusion::QuotaExhausted { until } => {
                report.until_ms = Some(unix_millis(until));
                report.windows = quota
                    .windows
                    .iter()
                    .filter(|w| w.used_percent >= 100.0)
                    .map(WindowReport::from)
                    .collect();
            }
            Exclusion::CircuitOpen { until } => report.probe_at_ms = Some(unix_millis(until)),
        }
        report
    }
}

/// Whether one account is routable now for a [`RouteQuery`], and every reason it is not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountExplanation {
    /// The pool asked about.
    pub pool: PoolId,
    /// The account asked about.
    pub account: AccountId,
    /// The route class asked about.
    pub route_class: RouteClass,
    /// The model the checks used (none for routes that are not model turns).
    pub model: Option<String>,
    /// Whether the planner would count the account eligible now: no reason below.
    pub routable: bool,
    /// Every failing check, request-level facts first, then the account checks in the
    /// planner's order (lifecycle, model, quota, circuit).
    pub reasons: Vec<ReasonReport>,
    /// The account's lifecycle state.
    pub lifecycle: Lifecycle,
    /// Its quota windows that count now.
    pub quota: Vec<WindowReport>,
    /// Requests in flight on it (in this process).
    pub in_flight: u32,
    /// Its learned concurrency limit: at it, the account still counts but ranks last.
    pub concurrency_limit: u32,
    /// Whether a recent 429 demoted it for the model (it ranks after the others).
    pub demoted: bool,
    /// When this was evaluated (Unix milliseconds).
    pub evaluated_at_ms: i64,
}

/// Explains whether `account` may take a request of `query` at `now` (see the module docs).
///
/// # Errors
///
/// [`InspectError::UnknownPool`] or [`InspectError::UnknownAccount`] when the snapshot holds no
/// such pool or account.
pub fn explain_account(
    snapshot: &Snapshot,
    live: &LiveState,
    query: &RouteQuery,
    account: AccountId,
    now: SystemTime,
) -> Result<AccountExplanation, InspectError> {
    let pool = snapshot
        .pool(query.pool)
        .ok_or(InspectError::UnknownPool(query.pool))?;
    let upstream = snapshot
        .account(account)
        .ok_or(InspectError::UnknownAccount(account))?;
    let model = query.planned_model();
    let mut reasons = Vec::new();
    if pool.status != PoolStatus::Active {
        let mut report = ReasonReport::bare(ExplainReason::PoolDisabled);
        report.pool_status = Some(pool.status);
        reasons.push(report);
    }
    if query.route_class.is_model_turn() && model.is_none() {
        reasons.push(ReasonReport::bare(ExplainReason::ModelRequired));
    }
    if !snapshot
        .pool_accounts(pool.id)
        .iter()
        .any(|a| a.id == account)
    {
        reasons.push(ReasonReport::bare(ExplainReason::NotInPool));
    }
    // The planner's checks, read from the same books the same way.
    let serves = model.is_none_or(|m| {
        live.catalog
            .supports_each(std::slice::from_ref(upstream), m)
            .contains(&true)
    });
    let quota = live.quota.view(account, now);
    let health = live
        .health
        .routing_health(
            &[account],
            model.unwrap_or_default(),
            query.route_class,
            now,
        )
        .pop();
    let circuit = health.as_ref().and_then(|h| h.circuit_open_until);
    let checks = fixed_checks(upstream.lifecycle, serves)
        .into_iter()
        .chain(live_checks(quota.exhausted_until, circuit))
        .flatten();
    reasons.extend(checks.map(|e| ReasonReport::of(&e, model, &quota)));
    Ok(AccountExplanation {
        pool: pool.id,
        account,
        route_class: query.route_class,
        model: model.map(str::to_owned),
        routable: reasons.is_empty(),
        reasons,
        lifecycle: upstream.lifecycle,
        quota: quota.windows.iter().map(WindowReport::from).collect(),
        in_flight: health.as_ref().map_or(0, |h| h.in_flight),
        concurrency_limit: health.as_ref().map_or(0, |h| h.limit),
        demoted: health.is_some_and(|h| h.demoted),
        evaluated_at_ms: unix_millis(now),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::clock::from_unix_seconds;
    use crate::health::AttemptOutcome;
    use crate::plan::tests::{account, snapshot};
    use crate::quota::{EvidenceSource, QuotaWindow, UsageLimit, WindowSlot};

    #[test]
    fn every_failing_check_is_listed_with_its_details() {
        let now = from_unix_seconds(1_000);
        let live = LiveState::new();
        let class = RouteClass::Responses;
        live.observe_windows(
            AccountId(1),
            EvidenceSource::StreamEvent,
            &[QuotaWindow {
                slot: WindowSlot::Primary,
                used_percent: 100.0,
                window_minutes: Some(300),
                resets_at: Some(from_unix_seconds(4_000)),
                observed_at: now,
            }],
            now,
        );
        for _ in 0..live.health.config().failure_threshold {
            let mut g = live.begin_attempt(AccountId(1), "m", class, now).unwrap();
            g.record(AttemptOutcome::ServerError, now);
        }
        let snap = snapshot(
            PoolStatus::Disabled,
            vec![
                account(1, Lifecycle::Paused, &["other"]),
                account(2, Lifecycle::Active, &["m"]),
            ],
        );
        let query = RouteQuery::new(PoolId(1), class, Some("m"));
        let explained = explain_account(&snap, &live, &query, AccountId(1), now).unwrap();
        let value = serde_json::to_value(&explained).unwrap();
        let probe = value["reasons"][4]["probe_at_ms"].as_i64().unwrap();
        assert!(probe > 1_000_000, "{probe}");
        assert_eq!(
            value,
            json!({
                "pool": 1, "account": 1, "route_class": "responses", "model": "m",
                "routable": false,
                "reasons": [
                    {"reason": "pool_disabled", "pool_status": "disabled"},
                    {"reason": "account_paused", "lifecycle": "paused"},
                    {"reason": "model_unsupported", "model": "m"},
                    {"reason": "quota_exhausted", "until_ms": 4_000_000,
                     "windows": [{"window": "short", "used_percent": 100.0,
                                  "resets_at_ms": 4_000_000}]},
                    {"reason": "circuit_open", "probe_at_ms": probe},
                ],
                "lifecycle": "paused",
                "quota": [{"window": "short", "used_percent": 100.0, "resets_at_ms": 4_000_000}],
                "in_flight": 0, "concurrency_limit": explained.concurrency_limit,
                "demoted": false, "evaluated_at_ms": 1_000_000,
            })
        );
    }

    #[test]
    fn request_level_reasons_and_a_routable_account() {
        let now = from_unix_seconds(1_000);
        let live = LiveState::new();
        let snap = snapshot(
            PoolStatus::Active,
            vec![account(1, Lifecycle::Active, &["m"])],
        );
        let state = crate::store::StoreState {
            version: 2,
            pools: snap.pools().cloned().collect(),
            accounts: vec![
                account(1, Lifecycle::Active, &["m"]),
                account(2, Lifecycle::Active, &["m"]),
            ],
            assignments: vec![crate::model::Assignment {
                pool: PoolId(1),
                account: AccountId(1),
            }],
            keys: vec![],
        };
        let snap = Snapshot::build(state);
        let query = RouteQuery::new(PoolId(1), RouteClass::Responses, Some("m"));
        let ok = explain_account(&snap, &live, &query, AccountId(1), now).unwrap();
        assert!(ok.routable && ok.reasons.is_empty());
        let outside = explain_account(&snap, &live, &query, AccountId(2), now).unwrap();
        let reasons: Vec<_> = outside.reasons.iter().map(|r| r.reason).collect();
        assert_eq!(reasons, ["account_not_in_pool"]);
        let no_model = RouteQuery::new(PoolId(1), RouteClass::Compact, None);
        let explained = explain_account(&snap, &live, &no_model, AccountId(1), now).unwrap();
        assert_eq!(explained.reasons[0].reason, "model_required");
        // Routes that are not model turns ignore the model, as the planner does.
        let files = RouteQuery::new(PoolId(1), RouteClass::FileCreate, Some("other"));
        let explained = explain_account(&snap, &live, &files, AccountId(1), now).unwrap();
        assert!(explained.routable && explained.model.is_none());
        // A usage_limit_reached alone: exhausted, no full window.
        live.observe_usage_limit(
            AccountId(1),
            UsageLimit {
                resets_at: Some(now + Duration::from_secs(60)),
            },
            now,
        );
        let limited = explain_account(&snap, &live, &query, AccountId(1), now).unwrap();
        assert_eq!(
            serde_json::to_value(&limited.reasons).unwrap(),
            json!([{"reason": "quota_exhausted", "until_ms": 1_060_000}])
        );
    }

    #[test]
    fn unknown_pool_and_account_are_typed_errors() {
        let now = from_unix_seconds(1_000);
        let live = LiveState::new();
        let snap = snapshot(
            PoolStatus::Active,
            vec![account(1, Lifecycle::Active, &["m"])],
        );
        let query = RouteQuery::new(PoolId(9), RouteClass::Responses, Some("m"));
        assert_eq!(
            explain_account(&snap, &live, &query, AccountId(1), now),
            Err(InspectError::UnknownPool(PoolId(9)))
        );
        let query = RouteQuery::new(PoolId(1), RouteClass::Responses, Some("m"));
        let err = explain_account(&snap, &live, &query, AccountId(8), now).unwrap_err();
        assert_eq!(err, InspectError::UnknownAccount(AccountId(8)));
        assert_eq!(err.to_string(), "no upstream account with id 8");
    }

    #[test]
    fn queries_read_from_json() {
        let query: RouteQuery =
            serde_json::from_value(json!({"pool": 1, "route_class": "compact"})).unwrap();
        assert_eq!(query, RouteQuery::new(PoolId(1), RouteClass::Compact, None));
        assert_eq!(ExplainReason::NotInPool.to_string(), "account_not_in_pool");
    }
}
