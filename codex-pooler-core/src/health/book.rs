//! The live health book: circuits, demotions and concurrency of every account in the process.
//!
//! # Contention
//!
//! One `Mutex` guards the whole book. Every operation is a few hash lookups and integer updates,
//! allocates nothing on the hot path (a model's entry is created on its first failure or 429
//! only) and never holds the lock across I/O, so the critical section is well under a
//! microsecond. A single lock also lets [`HealthBook::begin`] test the circuit, test the account's
//! in-flight count against its limit and claim both slots atomically, which per-shard locks would
//! have to coordinate. If profiling ever shows contention, shard the map by [`AccountId`]: all of
//! an attempt's state lives under one account.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
#[cfg(test)]
use std::time::Duration;
use std::time::SystemTime;

use super::circuit::CircuitPhase;
use super::circuit::{Admission, CircuitBreaker, after};
use super::guard::AttemptGuard;
use super::limit::AdaptiveLimit;
use super::outcome::CircuitSignal;
use super::slot_wait::SlotWait;
use super::{AttemptOutcome, HealthConfig, HealthExclusion};
use crate::live::AccountMap;
use crate::model::AccountId;
use crate::request::RouteClass;

/// Per-account health, shared by all requests of a process; cheap to clone (one `Arc`).
#[derive(Debug, Clone)]
pub(crate) struct HealthBook {
    shared: Arc<Shared>,
}

/// One circuit as operators see it.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CircuitStatus {
    /// The upstream account.
    pub(crate) account: AccountId,
    /// The model.
    pub(crate) model: String,
    /// The route class.
    pub(crate) class: RouteClass,
    /// The phase at the time of the snapshot.
    pub(crate) phase: CircuitPhase,
    /// Consecutive failures since the last success.
    pub(crate) consecutive_failures: u32,
    /// Until when requests are refused, if they are.
    pub(crate) refused_until: Option<SystemTime>,
    /// The current open duration (doubles with each failed probe).
    pub(crate) open_for: Duration,
}

/// One account's concurrency as operators see it.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AccountLoad {
    /// The upstream account.
    pub(crate) account: AccountId,
    /// Attempts holding a slot.
    pub(crate) in_flight: u32,
    /// The learned concurrency limit.
    pub(crate) limit: u32,
}

/// What the planner needs to know about one account's health for one request, read for all the
/// pool's accounts under one lock by [`HealthBook::routing_health`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoutingHealth {
    /// Until when its circuit for the model and route class refuses requests, if it does.
    pub(crate) circuit_open_until: Option<SystemTime>,
    /// Attempts holding a slot.
    pub(crate) in_flight: u32,
    /// The learned concurrency limit.
    pub(crate) limit: u32,
    /// Whether a recent 429 demoted it for the model.
    pub(crate) demoted: bool,
}

impl RoutingHealth {
    /// At its concurrency limit: still eligible, ranked after accounts with room.
    pub(crate) fn is_busy(&self) -> bool {
        self.in_flight >= self.limit
    }
}

#[derive(Debug)]
pub(super) struct Shared {
    config: HealthConfig,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    accounts: AccountMap<AccountHealth>,
    /// Accounts that may matter to routing: every account that claimed a slot since it was last
    /// found quiet (nothing in flight, no demotion in force, every circuit closed). Planning
    /// reads these instead of every account the book has ever seen.
    active: Vec<AccountId>,
}

#[derive(Debug)]
struct AccountHealth {
    in_flight: u32,
    limit: AdaptiveLimit,
    models: HashMap<String, ModelHealth>,
    /// Whether it is in [`State::active`].
    listed: bool,
    /// Tasks waiting for a slot on this account ([`SlotWait`]), woken at each release.
    waiters: Vec<Waker>,
}

#[derive(Debug, Default)]
struct ModelHealth {
    demoted_until: Option<SystemTime>,
    circuits: HashMap<RouteClass, CircuitBreaker>,
}

impl AccountHealth {
    fn new(config: &HealthConfig) -> Self {
        Self {
            in_flight: 0,
            limit: AdaptiveLimit::new(config),
            models: HashMap::new(),
            listed: false,
            waiters: Vec::new(),
        }
    }

    fn breaker(&self, model: &str, class: RouteClass) -> Option<&CircuitBreaker> {
        self.models.get(model)?.circuits.get(&class)
    }

    /// Circuit first, then concurrency, so an open circuit is reported even on a busy account.
    fn admissible(
        &self,
        model: &str,
        class: RouteClass,
        now: SystemTime,
        enforce_limit: bool,
    ) -> Result<(), HealthExclusion> {
        if let Some(breaker) = self.breaker(model, class) {
            breaker
                .permits(now)
                .map_err(|until| HealthExclusion::CircuitOpen { until })?;
        }
        let limit = self.limit.current();
        if enforce_limit && self.in_flight >= limit {
            return Err(HealthExclusion::Busy { limit });
        }
        Ok(())
    }
}

impl HealthBook {
    /// An empty book judging by `config` (normalized, see [`HealthConfig::normalized`]).
    pub(crate) fn new(config: HealthConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config: config.normalized(),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The configuration in force.
    #[cfg(test)]
    pub(crate) fn config(&self) -> &HealthConfig {
        &self.shared.config
    }

    /// Whether `account` may take a request for `model` on `class` at `now`, without claiming
    /// anything. Demotion does not exclude; see [`is_demoted`](Self::is_demoted).
    #[cfg(test)]
    pub(crate) fn check(
        &self,
        account: AccountId,
        model: &str,
        class: RouteClass,
        now: SystemTime,
    ) -> Result<(), HealthExclusion> {
        let state = self.shared.lock();
        match state.accounts.get(&account) {
            Some(health) => health.admissible(model, class, now, true),
            None => Ok(()),
        }
    }

    /// Claims a concurrency slot on `account` (and the half-open probe, if the circuit is due
    /// one) for an attempt starting at `now`. The slot is held until the guard is dropped.
    pub(crate) fn begin(
        &self,
        account: AccountId,
        model: &str,
        class: RouteClass,
        now: SystemTime,
    ) -> Result<AttemptGuard, HealthExclusion> {
        self.claim(account, model, class, now, true)
    }

    /// Like [`begin`](Self::begin) but ignores the concurrency limit (the circuit still
    /// applies): for when every candidate is busy and the caller chose to overflow rather than
    /// refuse.
    pub(crate) fn begin_over_limit(
        &self,
        account: AccountId,
        model: &str,
        class: RouteClass,
        now: SystemTime,
    ) -> Result<AttemptGuard, HealthExclusion> {
        self.claim(account, model, class, now, false)
    }

    /// A future that completes once one of `accounts` has a free concurrency slot (fewer
    /// attempts in flight than its limit): at once if one has now, else at the next release
    /// that frees one. It claims nothing; race for the slot with [`begin`](Self::begin), and
    /// bound the wait with a timer.
    #[cfg(test)]
    pub(crate) fn slot_wait(&self, accounts: Vec<AccountId>) -> SlotWait {
        self.slot_wait_below(accounts.into_iter().map(|id| (id, u32::MAX)).collect())
    }

    /// Like [`slot_wait`](Self::slot_wait), with a bound per account that replaces its learned
    /// limit: it completes once one account has fewer attempts in flight than its bound
    /// (`u32::MAX`: than its limit). After upstream refused an attempt for concurrency with `n`
    /// other attempts in flight, a bound of `n` waits for one of those to end, whatever the
    /// learned limit says.
    pub(crate) fn slot_wait_below(&self, accounts: Vec<(AccountId, u32)>) -> SlotWait {
        SlotWait::new(Arc::clone(&self.shared), accounts)
    }

    /// Attempts of `account` currently holding a slot.
    pub(crate) fn in_flight(&self, account: AccountId) -> u32 {
        self.shared
            .lock()
            .accounts
            .get(&account)
            .map_or(0, |h| h.in_flight)
    }

    /// The learned concurrency limit of `account`.
    #[cfg(test)]
    pub(crate) fn limit(&self, account: AccountId) -> u32 {
        self.shared
            .lock()
            .accounts
            .get(&account)
            .map_or(self.shared.config.initial_limit, |h| h.limit.current())
    }

    /// Whether a recent 429 demoted `account` for `model`: still eligible, but ranked last.
    #[cfg(test)]
    pub(crate) fn is_demoted(&self, account: AccountId, model: &str, now: SystemTime) -> bool {
        let state = self.shared.lock();
        state
            .accounts
            .get(&account)
            .is_some_and(|h| self.demoted(h, model, now))
    }

    /// For each of `accounts`, in the same order and under one lock: what [`check`](Self::check)
    /// says about its circuit, [`in_flight`](Self::in_flight), [`limit`](Self::limit) and
    /// [`is_demoted`](Self::is_demoted).
    pub(crate) fn routing_health(
        &self,
        accounts: &[AccountId],
        model: &str,
        class: RouteClass,
        now: SystemTime,
    ) -> Vec<RoutingHealth> {
        let untouched = RoutingHealth {
            circuit_open_until: None,
            in_flight: 0,
            limit: self.shared.config.initial_limit,
            demoted: false,
        };
        let state = self.shared.lock();
        if state.accounts.is_empty() {
            return vec![untouched; accounts.len()];
        }
        accounts
            .iter()
            .map(|id| match state.accounts.get(id) {
                Some(health) => RoutingHealth {
                    circuit_open_until: match health.admissible(model, class, now, false) {
                        Err(HealthExclusion::CircuitOpen { until }) => Some(until),
                        _ => None,
                    },
                    in_flight: health.in_flight,
                    limit: health.limit.current(),
                    demoted: self.demoted(health, model, now),
                },
                None => untouched,
            })
            .collect()
    }

    /// What [`routing_health`](Self::routing_health) says about each account the book has seen
    /// that is not quiet for `model` and `class` at `now` (something in flight, an open circuit
    /// or a demotion), visited under one lock in no particular order. A quiet account looks to
    /// planning like one the book has never seen: no open circuit, nothing in flight (so not at
    /// its limit, which is at least 1) and no demotion.
    ///
    /// It walks only the book's active list (accounts that claimed a slot since they were last
    /// found quiet), not every account it has seen, and drops from that list the accounts it
    /// finds quiet for good (nothing in flight, no demotion left, every circuit closed; their
    /// run-out demotions are forgotten, so a clock stepping back cannot revive them): in a
    /// steady state with thousands of accounts, the cost follows the accounts with something in
    /// flight or wrong. What it reports never changes by that pruning. `f` runs under the lock:
    /// it must be short and not touch the book.
    pub(crate) fn for_each_routing_health(
        &self,
        model: &str,
        class: RouteClass,
        now: SystemTime,
        mut f: impl FnMut(AccountId, RoutingHealth),
    ) {
        let mut state = self.shared.lock();
        let State { accounts, active } = &mut *state;
        active.retain(|id| {
            let Some(health) = accounts.get_mut(id) else {
                return false;
            };
            if health.in_flight == 0 && self.is_quiet(health, now) {
                // Demotions that ran out are forgotten, so a clock stepping back cannot revive
                // one on an account no longer listed (every reader sees the same book).
                for m in health.models.values_mut() {
                    m.demoted_until = None;
                }
                health.listed = false;
                return false;
            }
            // An account has few models: comparing names is cheaper than hashing one.
            let entry = health
                .models
                .iter()
                .find_map(|(name, entry)| (name == model).then_some(entry));
            let circuit_open_until = entry
                .and_then(|e| e.circuits.get(&class))
                .and_then(|breaker| breaker.permits(now).err());
            let demoted = entry.is_some_and(|e| self.demotion_holds(e.demoted_until, now));
            if health.in_flight > 0 || circuit_open_until.is_some() || demoted {
                f(
                    *id,
                    RoutingHealth {
                        circuit_open_until,
                        in_flight: health.in_flight,
                        limit: health.limit.current(),
                        demoted,
                    },
                );
            }
            true
        });
    }

    /// Whether nothing about `health` can matter to routing from `now` on, unless it claims a
    /// slot again: no demotion left to run and every circuit closed (a closed circuit refuses
    /// nothing at any time). The in-flight count is the caller's to check.
    fn is_quiet(&self, health: &AccountHealth, now: SystemTime) -> bool {
        health.models.values().all(|m| {
            m.demoted_until.is_none_or(|until| until <= now)
                && m.circuits.values().all(CircuitBreaker::is_closed)
        })
    }

    /// How many accounts the active list holds (for tests).
    #[cfg(test)]
    pub(crate) fn shared_active_len(&self) -> usize {
        self.shared.lock().active.len()
    }

    fn demoted(&self, health: &AccountHealth, model: &str, now: SystemTime) -> bool {
        let until = health.models.get(model).and_then(|m| m.demoted_until);
        self.demotion_holds(until, now)
    }

    /// Whether a demotion until `until` still holds at `now`.
    fn demotion_holds(&self, until: Option<SystemTime>, now: SystemTime) -> bool {
        // A deadline further than `demote_for` away means the clock stepped back: not demoted.
        until.is_some_and(|until| {
            until
                .duration_since(now)
                .is_ok_and(|left| !left.is_zero() && left <= self.shared.config.demote_for)
        })
    }

    /// The worst phase of each (account, route class) circuit the book has seen, over every
    /// model, as of `now`, ordered by account and class: what a metrics scrape reads.
    pub(crate) fn circuit_phases(
        &self,
        now: SystemTime,
    ) -> Vec<(AccountId, RouteClass, CircuitPhase)> {
        let mut worst: HashMap<(AccountId, RouteClass), CircuitPhase> = HashMap::new();
        let state = self.shared.lock();
        for (account, health) in &state.accounts {
            for m in health.models.values() {
                for (class, breaker) in &m.circuits {
                    let phase = breaker.phase(now);
                    worst
                        .entry((*account, *class))
                        .and_modify(|p| {
                            if phase.severity() > p.severity() {
                                *p = phase;
                            }
                        })
                        .or_insert(phase);
                }
            }
        }
        drop(state);
        let mut out: Vec<_> = worst.into_iter().map(|((a, c), p)| (a, c, p)).collect();
        out.sort_by(|a, b| (a.0, a.1.as_str()).cmp(&(b.0, b.1.as_str())));
        out
    }

    /// Every circuit the book has seen, as of `now`, ordered by account, model and class.
    #[cfg(test)]
    pub(crate) fn circuits(&self, now: SystemTime) -> Vec<CircuitStatus> {
        let state = self.shared.lock();
        let mut out: Vec<CircuitStatus> = state
            .accounts
            .iter()
            .flat_map(|(account, health)| {
                health.models.iter().flat_map(move |(model, m)| {
                    m.circuits.iter().map(move |(class, b)| CircuitStatus {
                        account: *account,
                        model: model.clone(),
                        class: *class,
                        phase: b.phase(now),
                        consecutive_failures: b.consecutive_failures(),
                        refused_until: b.refused_until(now),
                        open_for: b.open_for(),
                    })
                })
            })
            .collect();
        drop(state);
        out.sort_by(|a, b| {
            (a.account, &a.model, a.class.as_str()).cmp(&(b.account, &b.model, b.class.as_str()))
        });
        out
    }

    /// In-flight count and limit of every account the book has seen, ordered by account.
    #[cfg(test)]
    pub(crate) fn accounts(&self) -> Vec<AccountLoad> {
        let state = self.shared.lock();
        let mut out: Vec<AccountLoad> = state
            .accounts
            .iter()
            .map(|(account, h)| AccountLoad {
                account: *account,
                in_flight: h.in_flight,
                limit: h.limit.current(),
            })
            .collect();
        drop(state);
        out.sort_by_key(|l| l.account);
        out
    }

    fn claim(
        &self,
        account: AccountId,
        model: &str,
        class: RouteClass,
        now: SystemTime,
        enforce_limit: bool,
    ) -> Result<AttemptGuard, HealthExclusion> {
        // Allocated before taking the lock; the guard needs its own copy anyway.
        let owned_model = model.to_owned();
        let mut state = self.shared.lock();
        let health = state
            .accounts
            .entry(account)
            .or_insert_with(|| AccountHealth::new(&self.shared.config));
        health.admissible(model, class, now, enforce_limit)?;
        let breaker = health
            .models
            .get_mut(model)
            .and_then(|m| m.circuits.get_mut(&class));
        // No breaker yet means closed with no failures: an ordinary attempt.
        let admission = match breaker {
            Some(b) => b
                .admit(now)
                .map_err(|until| HealthExclusion::CircuitOpen { until })?,
            None => Admission::Normal,
        };
        health.in_flight = health.in_flight.saturating_add(1);
        if !health.listed {
            health.listed = true;
            state.active.push(account);
        }
        drop(state);
        Ok(AttemptGuard::new(
            Arc::clone(&self.shared),
            account,
            owned_model,
            class,
            admission,
        ))
    }
}

impl Shared {
    /// Whether one of `accounts` has a free slot (below its bound, or its limit without one); if
    /// none has, `waker` is woken at the next release of any of them. Check and registration
    /// happen under one lock, so no release is missed in between.
    pub(super) fn room_or_register(&self, accounts: &[(AccountId, u32)], waker: &Waker) -> bool {
        let mut state = self.lock();
        let room = accounts
            .iter()
            .any(|(id, below)| match state.accounts.get(id) {
                Some(h) if *below == u32::MAX => h.in_flight < h.limit.current(),
                Some(h) => h.in_flight < *below,
                None => *below > 0,
            });
        if room {
            return true;
        }
        for (id, _) in accounts {
            if let Some(health) = state.accounts.get_mut(id)
                && !health.waiters.iter().any(|w| w.will_wake(waker))
            {
                health.waiters.push(waker.clone());
            }
        }
        false
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies the outcome of an attempt that still holds its slot.
    pub(super) fn record(
        &self,
        account: AccountId,
        model: &str,
        class: RouteClass,
        admission: Admission,
        outcome: AttemptOutcome,
        now: SystemTime,
    ) {
        let config = &self.config;
        let mut state = self.lock();
        let Some(health) = state.accounts.get_mut(&account) else {
            return;
        };
        match outcome {
            AttemptOutcome::Success => health.limit.on_success(config, health.in_flight),
            AttemptOutcome::RateLimited => {
                health.limit.on_rate_limited(config, now);
            }
            _ => {}
        }
        // A model's entry is created only when there is something to remember about it: a
        // demotion or a failure. A success or neutral outcome on a never-failing model has no
        // circuit to update (it would be closed with no count).
        let fails = outcome.circuit_signal() == CircuitSignal::Failure;
        if (fails || outcome.demotes()) && !health.models.contains_key(model) {
            health
                .models
                .insert(model.to_owned(), ModelHealth::default());
        }
        let Some(entry) = health.models.get_mut(model) else {
            return;
        };
        if outcome.demotes() {
            let until = after(now, config.demote_for);
            entry.demoted_until = Some(entry.demoted_until.map_or(until, |u| u.max(until)));
        }
        if fails {
            entry
                .circuits
                .entry(class)
                .or_insert_with(|| CircuitBreaker::new(config));
        }
        if let Some(breaker) = entry.circuits.get_mut(&class) {
            breaker.record(config, admission, outcome, now);
        }
    }

    /// Frees the slot of an ending attempt; an unrecorded probe gives its probe slot back.
    pub(super) fn release(
        &self,
        account: AccountId,
        model: &str,
        class: RouteClass,
        admission: Admission,
        recorded: bool,
    ) {
        let mut state = self.lock();
        let Some(health) = state.accounts.get_mut(&account) else {
            return;
        };
        health.in_flight = health.in_flight.saturating_sub(1);
        let waiters = std::mem::take(&mut health.waiters);
        if !recorded
            && let Some(b) = health
                .models
                .get_mut(model)
                .and_then(|m| m.circuits.get_mut(&class))
        {
            b.abandon(admission);
        }
        drop(state);
        // Woken outside the lock: a waiter re-checks for room as soon as it runs.
        waiters.into_iter().for_each(Waker::wake);
    }
}
