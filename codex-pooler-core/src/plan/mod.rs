//! Planning: from a request and the current state to an ordered list of candidate accounts.
//!
//! [`Planner::plan`] is a pure function of the snapshot, the live state, the request and the
//! time. It runs the request-level checks, then the account checks from
//! [eligibility checks](crate::plan::Exclusion), then the pool's [`RoutingStrategy`], and keeps the first
//! `max_attempts` candidates. The [`Plan`] service wraps it as a tower middleware.

mod budget;
mod cache;
mod dry_run;
mod eligibility;
mod explain;
mod index;
mod indexed;
mod inspect_error;
mod layer;
mod planned;
mod replan;
mod service;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::unix_seconds;
use crate::continuity::Pin;
use crate::error::PoolerError;
use crate::live::LiveState;
use crate::model::{AccountId, PoolId, PoolStatus, Snapshot, UpstreamAccount};
use crate::request::PoolRequest;
use crate::strategy::{Candidate, RankedStrategy, RoutingStrategy, StrategyInput, StrategyKind};
use cache::IndexCache;
use index::PoolIndex;

pub use budget::AttemptBudget;
pub use dry_run::{DryRun, DryRunRejection, ExcludedAccount};
pub use eligibility::{Exclusion, ExclusionReason};
pub use explain::{
    AccountExplanation, ExplainReason, ReasonReport, RouteQuery, WindowReport, explain_account,
};
pub use inspect_error::InspectError;
pub use layer::PlanLayer;
pub use planned::PlannedRequest;
pub use replan::Replanner;
pub use service::Plan;

/// How many accounts one request may try by default (the first plus two failovers).
pub const DEFAULT_MAX_ATTEMPTS: usize = 3;

/// A soft pin is not followed once its account has used this much of a window and another
/// eligible account has used less: the thread moves rather than drain the account to its limit.
pub const SOFT_PIN_MAX_USED_PERCENT: f64 = 98.0;

/// A soft pin's account excluded for at most this long (an open circuit whose probe time, or a
/// quota cooldown whose reset, is this close) is only briefly unavailable: another account
/// stands in for the request, and the thread stays the pinned account's (see
/// [`RoutePlan::soft_owner`]).
pub const SOFT_OWNER_GRACE: Duration = Duration::from_secs(15 * 60);

/// The ordered accounts to try for one request.
#[derive(Debug, Clone)]
pub struct RoutePlan {
    /// Candidates, best first; at least one.
    pub candidates: Vec<Arc<UpstreamAccount>>,
    /// Accounts of the pool left out, with the reason.
    pub exclusions: Vec<(AccountId, Exclusion)>,
    /// The strategy that ordered the candidates.
    pub strategy: &'static str,
    /// How many accounts passed the checks (before truncation to the attempt budget).
    pub eligible: usize,
    /// The continuity pin that was followed, if any.
    pub pin: Option<Pin>,
    /// Why the pinned account was not put first, when a soft pin was not followed.
    pub pin_skipped: Option<PinSkip>,
    /// The account that keeps the thread although another one serves this request: a soft
    /// pin's account that is only briefly unavailable (excluded for at most
    /// [`SOFT_OWNER_GRACE`], or refreshing its token). The account serving the request stands
    /// in without taking the thread, so the next turn goes back to the owner once it is
    /// eligible again. `None` otherwise: no soft pin, a followed one (the thread moves with a
    /// failover, as it did), or one that moved for good (its account near its limit, out for
    /// longer, or gone from the pool).
    pub soft_owner: Option<AccountId>,
}

/// Why a continuity pin's account was not put first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinSkip {
    /// `pinned_account_near_limit`: a soft pin's account is near its limit and another has
    /// headroom, so the thread moved.
    NearLimit,
    /// `pinned_account_left_pool`: the pinned account is no longer in the pool.
    LeftPool,
    /// The pinned account was excluded for this reason (its string is the reason's).
    Excluded(ExclusionReason),
}

impl PinSkip {
    /// The stable string, as sent in the routing receipt and error bodies.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NearLimit => "pinned_account_near_limit",
            Self::LeftPool => "pinned_account_left_pool",
            Self::Excluded(reason) => reason.as_str(),
        }
    }

    /// The reason the pin of account `pinned` was skipped, given what was excluded: its
    /// exclusion, or that it left the pool.
    pub(crate) fn of(pinned: AccountId, exclusions: &[(AccountId, Exclusion)]) -> Self {
        exclusions
            .iter()
            .find(|(id, _)| *id == pinned)
            .map_or(Self::LeftPool, |(_, e)| Self::Excluded(e.reason()))
    }
}

impl std::fmt::Display for PinSkip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for PinSkip {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A request that cannot be planned: the client error plus what was excluded and why.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// What the client is told.
    pub error: PoolerError,
    /// Accounts left out, with the reason (for the request record only).
    pub exclusions: Vec<(AccountId, Exclusion)>,
}

impl From<PoolerError> for Rejection {
    fn from(error: PoolerError) -> Self {
        Self {
            error,
            exclusions: Vec::new(),
        }
    }
}

/// Builds route plans with a strategy per pool.
#[derive(Debug, Clone)]
pub struct Planner {
    strategy: Arc<dyn RoutingStrategy>,
    named: Arc<HashMap<String, Arc<dyn RoutingStrategy>>>,
    max_attempts: usize,
    /// Per pool and model, for [ranked](RoutingStrategy::ranked) strategies: see
    /// [`PoolIndex`].
    indexes: Arc<IndexCache>,
}

impl Planner {
    /// A planner using `strategy` for pools that name none, with every built-in strategy
    /// available by name, and at most [`DEFAULT_MAX_ATTEMPTS`] attempts per request.
    pub fn new(strategy: Arc<dyn RoutingStrategy>) -> Self {
        let named = StrategyKind::ALL
            .iter()
            .map(|kind| (kind.as_str().to_owned(), kind.build()))
            .collect();
        Self {
            strategy,
            named: Arc::new(named),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            indexes: Arc::default(),
        }
    }

    /// Makes a strategy available to pools under `name` (replacing a built-in of that name).
    #[must_use]
    pub fn with_strategy(mut self, name: &str, strategy: Arc<dyn RoutingStrategy>) -> Self {
        Arc::make_mut(&mut self.named).insert(name.to_owned(), strategy);
        self
    }

    /// The strategy a pool uses: the one it names, or the default when it names none or an
    /// unknown one.
    pub(crate) fn strategy_for(&self, pool: &crate::model::Pool) -> &Arc<dyn RoutingStrategy> {
        pool.strategy
            .as_deref()
            .and_then(|name| self.named.get(name))
            .unwrap_or(&self.strategy)
    }

    /// Sets how many accounts one request may try (at least one).
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: usize) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// How many accounts one request may try.
    pub(crate) fn max_attempts(&self) -> usize {
        self.max_attempts
    }

    /// The default strategy.
    pub fn strategy(&self) -> &Arc<dyn RoutingStrategy> {
        &self.strategy
    }

    /// Plans `request` against `snapshot` and `live` at time `now`.
    ///
    /// With a [ranked](RoutingStrategy::ranked) strategy, the planner keeps an index per pool
    /// and model between requests and looks only at the accounts that can come first; the plan
    /// is the same as the straightforward one, which every other case takes (see
    /// `docs/routing.md`, "Plan benchmark").
    pub fn plan(
        &self,
        snapshot: &Snapshot,
        live: &LiveState,
        request: &PoolRequest,
        now: SystemTime,
    ) -> Result<RoutePlan, Box<Rejection>> {
        let pool = snapshot
            .pool(request.ctx.pool)
            .ok_or_else(|| Box::new(PoolerError::invalid_api_key().into()))?;
        let strategy = self.strategy_for(pool);
        if pool.status != PoolStatus::Active {
            return Err(Box::new(PoolerError::pool_disabled().into()));
        }
        let accounts = snapshot.pool_accounts(pool.id);
        // Model turns name a model some account of the pool serves; other routes (files,
        // images, transcription) go to any routable account.
        let model = if request.route.class.is_model_turn() {
            let model = request
                .facts
                .model
                .as_deref()
                .ok_or_else(|| Box::new(PoolerError::model_required().into()))?;
            Some(model)
        } else {
            None
        };
        if let Some(ranked) = strategy.ranked() {
            let at = Site {
                snapshot,
                pool: pool.id,
                accounts,
                model,
            };
            if let Some(plan) = self.plan_indexed(strategy, ranked, &at, live, request, now) {
                return plan;
            }
        }
        let supported = match model {
            Some(model) => {
                let supported = live.catalog.supports_each(accounts, model);
                if !supported.contains(&true) {
                    return Err(Box::new(PoolerError::model_not_found(model).into()));
                }
                supported
            }
            None => Vec::new(),
        };

        let Checked {
            groups,
            exclusions,
            eligible,
        } = check_accounts(accounts, &supported, model, request, live, now);
        let pin = live
            .continuity
            .resolve(pool.id, &request.facts.continuity, now);
        let find = |id: AccountId| {
            groups.iter().enumerate().find_map(|(g, group)| {
                let i = group.iter().position(|c| c.account.id == id)?;
                Some((g, &group[i]))
            })
        };
        if let Some(pin) = pin.filter(Pin::is_hard) {
            let owner = find(pin.account).map(|(_, c)| Arc::clone(&c.account));
            return hard_pinned(pin, owner, eligible, exclusions, strategy.name(), now);
        }
        if eligible == 0 {
            return Err(Box::new(Rejection {
                error: nothing_eligible(&exclusions, now),
                exclusions,
            }));
        }

        let budget = self.budget(request);
        // A soft pin is looked for among all eligible accounts; when followed, its account goes
        // first and the others keep their order.
        let mut pin_skipped = None;
        let mut followed = None;
        let mut chosen: Vec<Arc<UpstreamAccount>> = Vec::with_capacity(budget);
        if let Some(pin) = pin {
            match find(pin.account) {
                // Near its limit the thread moves, but only to an account with real headroom:
                // when every account is as full, moving would only lose the warm prompt cache.
                Some((group, c))
                    if c.quota.max_used_percent() < SOFT_PIN_MAX_USED_PERCENT
                        || !groups.iter().flatten().any(|other| {
                            other.account.id != pin.account
                                && other.quota.max_used_percent() < SOFT_PIN_MAX_USED_PERCENT
                        }) =>
                {
                    followed = Some((pin, group));
                    chosen.push(Arc::clone(&c.account));
                }
                Some(_) => pin_skipped = Some(PinSkip::NearLimit),
                None => pin_skipped = Some(PinSkip::of(pin.account, &exclusions)),
            }
        }
        let input = StrategyInput {
            facts: &request.facts,
            pool: pool.id,
            key: request.ctx.key,
            seed: request.seed,
            now,
        };
        let pinned = followed.map(|(pin, group)| (pin.account, group));
        // Groups in order (room, then demoted, then busy, then busy and demoted); the strategy
        // orders within each, and only as deep as the attempt budget reaches.
        for (g, mut group) in groups.into_iter().enumerate() {
            if chosen.len() >= budget {
                break;
            }
            if group.is_empty() {
                continue;
            }
            let pin_here = pinned.and_then(|(id, pg)| (pg == g).then_some(id));
            let k = (budget - chosen.len() + usize::from(pin_here.is_some())).min(group.len());
            strategy.order_top(&input, &mut group, k);
            for c in group.into_iter().take(k) {
                if chosen.len() >= budget {
                    break;
                }
                if Some(c.account.id) != pin_here {
                    chosen.push(c.account);
                }
            }
        }
        // A soft pin skipped only because its account is briefly out keeps the thread there.
        let soft_owner = pin.filter(|pin| {
            followed.is_none()
                && exclusions
                    .iter()
                    .any(|(id, e)| *id == pin.account && e.is_brief(now))
        });
        Ok(RoutePlan {
            candidates: chosen,
            exclusions,
            strategy: strategy.name(),
            eligible,
            pin: followed.map(|(pin, _)| pin),
            pin_skipped,
            soft_owner: soft_owner.map(|pin| pin.account),
        })
    }
}

/// Where a request is planned: the snapshot, the pool and its accounts, the model.
struct Site<'a> {
    snapshot: &'a Snapshot,
    pool: PoolId,
    accounts: &'a [Arc<UpstreamAccount>],
    model: Option<&'a str>,
}

impl Planner {
    /// How many accounts `request` may try.
    fn budget(&self, request: &PoolRequest) -> usize {
        AttemptBudget::of(request, self.max_attempts).accounts()
    }

    /// Plans from the pool's [`PoolIndex`], brought up to date first; `None` when the index
    /// cannot answer and the straightforward path must.
    fn plan_indexed(
        &self,
        strategy: &Arc<dyn RoutingStrategy>,
        ranked: &dyn RankedStrategy,
        at: &Site<'_>,
        live: &LiveState,
        request: &PoolRequest,
        now: SystemTime,
    ) -> Option<Result<RoutePlan, Box<Rejection>>> {
        let slot = self.indexes.slot(at.pool, at.model);
        let mut guard = cache::lock(&slot);
        if !guard
            .as_ref()
            .is_some_and(|index| index.is_for(strategy, at.snapshot.id(), live))
        {
            *guard = PoolIndex::build(strategy, at.snapshot.id(), at.accounts, at.model, live);
        }
        let index = guard.as_mut()?;
        if !index.any_supported() {
            drop(guard);
            self.indexes.forget(at.pool, at.model);
            return None;
        }
        if !index.sync(ranked, live, now) {
            return None;
        }
        let request = indexed::Request {
            accounts: at.accounts,
            model: at.model,
            class: request.route.class,
            pin: live
                .continuity
                .resolve(at.pool, &request.facts.continuity, now),
            input: StrategyInput {
                facts: &request.facts,
                pool: at.pool,
                key: request.ctx.key,
                seed: request.seed,
                now,
            },
            budget: self.budget(request),
            strategy: strategy.name(),
        };
        indexed::plan(index, ranked, live, &request)
    }
}

/// How many rank groups the planner keeps: room, demoted, busy, busy and demoted.
const GROUPS: usize = 4;

/// The account checks' result: the eligible accounts split into rank groups, the rest with the
/// reason.
struct Checked {
    /// Eligible accounts by group, each in pool order.
    groups: [Vec<Candidate>; GROUPS],
    /// Excluded accounts with the first failing check, in pool order.
    exclusions: Vec<(AccountId, Exclusion)>,
    /// How many accounts passed.
    eligible: usize,
}

/// Runs the account checks of [eligibility checks](crate::plan::Exclusion) (lifecycle, model, quota,
/// circuit; the first failing one is the reason) for all `accounts`, reading each live book
/// once, and builds the candidates with what strategies weigh.
///
/// `supported` says, per account, whether it serves `model` (empty when there is no model).
fn check_accounts(
    accounts: &[Arc<UpstreamAccount>],
    supported: &[bool],
    model: Option<&str>,
    request: &PoolRequest,
    live: &LiveState,
    now: SystemTime,
) -> Checked {
    let mut excluded: Vec<(usize, Exclusion)> = Vec::new();
    let mut kept: Vec<usize> = Vec::with_capacity(accounts.len());
    let mut ids: Vec<AccountId> = Vec::with_capacity(accounts.len());
    for (i, account) in accounts.iter().enumerate() {
        let serves = model.is_none() || supported.get(i).copied().unwrap_or(false);
        match eligibility::first_failing(eligibility::fixed_checks(account.lifecycle, serves)) {
            Some(exclusion) => excluded.push((i, exclusion)),
            None => {
                kept.push(i);
                ids.push(account.id);
            }
        }
    }
    let health =
        live.health
            .routing_health(&ids, model.unwrap_or_default(), request.route.class, now);
    let successes = live.last_successes(&ids);

    let mut groups: [Vec<Candidate>; GROUPS] = Default::default();
    groups[0].reserve(kept.len());
    live.quota.for_each_view(&ids, now, |at, quota| {
        let (Some(&i), Some(health)) = (kept.get(at), health.get(at)) else {
            return;
        };
        let Some(account) = accounts.get(i) else {
            return;
        };
        let checks = eligibility::live_checks(quota.exhausted_until, health.circuit_open_until);
        if let Some(exclusion) = eligibility::first_failing(checks) {
            excluded.push((i, exclusion));
        } else {
            let group = usize::from(health.is_busy()) * 2 + usize::from(health.demoted);
            groups[group].push(Candidate {
                account: Arc::clone(account),
                quota,
                in_flight: health.in_flight,
                last_success: successes.get(at).copied().flatten(),
            });
        }
    });
    // Each pass above excluded in pool order; merge them back into one pool order.
    excluded.sort_unstable_by_key(|(i, _)| *i);
    let exclusions = excluded
        .into_iter()
        .filter_map(|(i, e)| Some((accounts.get(i)?.id, e)))
        .collect();
    Checked {
        eligible: groups.iter().map(Vec::len).sum(),
        groups,
        exclusions,
    }
}

/// A hard pin: the owner alone, or a typed error saying how to recover.
fn hard_pinned(
    pin: Pin,
    owner: Option<Arc<UpstreamAccount>>,
    eligible: usize,
    exclusions: Vec<(AccountId, Exclusion)>,
    strategy: &'static str,
    now: SystemTime,
) -> Result<RoutePlan, Box<Rejection>> {
    if let Some(owner) = owner {
        return Ok(RoutePlan {
            candidates: vec![owner],
            exclusions,
            strategy,
            eligible,
            pin: Some(pin),
            pin_skipped: None,
            soft_owner: None,
        });
    }
    let excluded = exclusions.iter().find(|(id, _)| *id == pin.account);
    let reason = PinSkip::of(pin.account, &exclusions);
    let retry_after = excluded.and_then(|(_, e)| match e {
        Exclusion::QuotaExhausted { until } => Some(until.duration_since(now).unwrap_or_default()),
        _ => None,
    });
    Err(Box::new(Rejection {
        error: PoolerError::pinned_account_unavailable(pin.kind.as_str(), reason, retry_after),
        exclusions,
    }))
}

/// The client error when every account serving the model was excluded.
///
/// If quota is the only reason, the pool is exhausted: answer `usage_limit_reached` with the
/// earliest reset. Otherwise `no_eligible_account`, with a retry time when a quota reset or a
/// circuit probe time is known.
fn nothing_eligible(exclusions: &[(AccountId, Exclusion)], now: SystemTime) -> PoolerError {
    let relevant: Vec<&Exclusion> = exclusions
        .iter()
        .map(|(_, e)| e)
        .filter(|e| !matches!(e, Exclusion::ModelUnsupported))
        .collect();
    let earliest = |quota_only: bool| {
        relevant
            .iter()
            .filter_map(|e| match e {
                Exclusion::QuotaExhausted { until } => Some(*until),
                Exclusion::CircuitOpen { until } if !quota_only => Some(*until),
                _ => None,
            })
            .min()
    };
    let all_quota = relevant
        .iter()
        .all(|e| matches!(e, Exclusion::QuotaExhausted { .. }));
    match earliest(true) {
        Some(at) if all_quota => PoolerError::usage_limit_reached(
            unix_seconds(at),
            at.duration_since(now).unwrap_or(Duration::ZERO),
        ),
        _ => PoolerError::no_eligible_account(
            earliest(false).map(|at| at.duration_since(now).unwrap_or_default()),
        )
        .with_field("reason", dominant_reason(&relevant).into()),
    }
}

/// The reason most excluded accounts share: a pool-level summary, naming no account.
fn dominant_reason(exclusions: &[&Exclusion]) -> &'static str {
    let mut counts: Vec<(ExclusionReason, usize)> = Vec::new();
    for e in exclusions {
        let code = e.reason();
        match counts.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => counts.push((code, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map_or("no_accounts", |(code, _)| code.as_str())
}

#[cfg(test)]
mod dry_run_props;
#[cfg(test)]
mod index_props;
#[cfg(test)]
pub(crate) mod tests;
