//! [`PoolIndex`]: what the planner keeps about one pool and model between requests, so that a
//! request of a large pool does not rebuild the state of every account.
//!
//! Per account it keeps the checks that only configuration and the catalog decide (lifecycle,
//! model), its [`QuotaView`] with the instant the view stops holding
//! ([`AccountQuota::view_until`](crate::quota::AccountQuota::view_until)), and, for accounts
//! quota does not exclude, an upper bound of the strategy's rank over that time. Eligible
//! accounts are grouped by that bound, best first, so that a request looks only at the groups
//! that can reach the first places ([`super::indexed`]).
//!
//! It catches up at each request, before planning:
//! - a new snapshot, catalog generation or strategy rebuilds it;
//! - accounts in the [`QuotaBook`](crate::quota::QuotaBook)'s change journal since the last
//!   request, and accounts whose view expired by `now`, are reread;
//! - a `now` earlier than the start of some cached view (the last instant one of its reading
//!   rules flipped) is refused, and the planner plans the straightforward way. Views hold from
//!   that start, not from when they were read, so a request that read the clock just before a
//!   concurrent one refreshed the index is still answered from it.
//!
//! Health (circuits, load, demotion) changes with every attempt and is not kept: the planner reads
//! it per request, for the accounts the health book has seen.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::SOFT_PIN_MAX_USED_PERCENT;
use super::eligibility::{first_failing, fixed_checks, quota_check};
use crate::live::{AccountMap, LiveState};
use crate::model::{AccountId, UpstreamAccount};
use crate::plan::Exclusion;
use crate::quota::QuotaView;
use crate::strategy::{RankedStrategy, RoutingStrategy};

/// An instant no quota view outlives unnoticed: the rank bound of a view without an end.
const FAR: Duration = Duration::from_secs(1 << 34);

/// One eligible account in a rank group: what a request needs to key it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Member {
    /// `splitmix(id)`: the rendezvous weight is `splitmix(affinity ^ id_hash)`.
    pub(super) id_hash: u64,
    /// Its rank when it was read: exact while it equals the group's bound (ranks only grow).
    pub(super) rank: u32,
    /// Its position in the pool's account list.
    pub(super) position: u32,
}

/// One account of the pool.
#[derive(Debug)]
struct Slot {
    id: AccountId,
    /// A lifecycle or model exclusion: fixed for the snapshot and catalog generation.
    fixed: Option<Exclusion>,
    view: QuotaView,
    /// When `view` stops holding.
    until: Option<SystemTime>,
    /// Its rank bound and index in [`PoolIndex::ranked`], when it is eligible by quota.
    place: Option<(u32, usize)>,
}

/// The cached routing state of one pool for one model (see the module docs).
#[derive(Debug)]
pub(super) struct PoolIndex {
    strategy: Arc<dyn RoutingStrategy>,
    snapshot: u64,
    catalog: u64,
    /// The quota journal position read up to; `None` until the first full read.
    journal: Option<u64>,
    /// The latest start of a cached view: the index answers for `now` from there on.
    horizon: SystemTime,
    /// The latest `now` a view was read at: cached ranks are exact from there on.
    read_at: SystemTime,
    any_supported: bool,
    positions: AccountMap<u32>,
    slots: Vec<Slot>,
    /// When each view stops holding, soonest first.
    expiries: BTreeSet<(SystemTime, u32)>,
    /// Accounts neither fixed nor quota excludes, by rank bound, highest first.
    ranked: BTreeMap<Reverse<u32>, Vec<Member>>,
    /// Fixed and quota exclusions, by position.
    excluded: BTreeMap<u32, Exclusion>,
    /// How many of `ranked` have used less than the soft pin's limit.
    low_used: usize,
}

impl PoolIndex {
    /// An index for `accounts` (a pool of `snapshot`) and `model`, ordered for `strategy`; its
    /// quota part is read at the first [`sync`](Self::sync). `None` when an account appears twice.
    pub(super) fn build(
        strategy: &Arc<dyn RoutingStrategy>,
        snapshot: u64,
        accounts: &[Arc<UpstreamAccount>],
        model: Option<&str>,
        live: &LiveState,
    ) -> Option<Self> {
        let catalog = live.catalog.generation();
        let supported = model.map(|m| live.catalog.supports_each(accounts, m));
        let mut positions = AccountMap::default();
        let mut slots = Vec::with_capacity(accounts.len());
        for (i, account) in accounts.iter().enumerate() {
            let position = u32::try_from(i).ok()?;
            if positions.insert(account.id, position).is_some() {
                return None;
            }
            let serves = supported
                .as_ref()
                .is_none_or(|s| s.get(i).copied().unwrap_or(false));
            let fixed = first_failing(fixed_checks(account.lifecycle, serves));
            slots.push(Slot {
                id: account.id,
                fixed,
                view: QuotaView::unknown(),
                until: None,
                place: None,
            });
        }
        let excluded = slots
            .iter()
            .zip(0u32..)
            .filter_map(|(s, p)| Some((p, s.fixed?)))
            .collect();
        Some(Self {
            strategy: Arc::clone(strategy),
            snapshot,
            catalog,
            journal: None,
            horizon: SystemTime::UNIX_EPOCH,
            read_at: SystemTime::UNIX_EPOCH,
            any_supported: supported.is_none_or(|s| s.contains(&true)),
            positions,
            slots,
            expiries: BTreeSet::new(),
            ranked: BTreeMap::new(),
            excluded,
            low_used: 0,
        })
    }

    /// Whether the index was built for this strategy, snapshot and catalog generation.
    pub(super) fn is_for(
        &self,
        strategy: &Arc<dyn RoutingStrategy>,
        snapshot: u64,
        live: &LiveState,
    ) -> bool {
        Arc::ptr_eq(&self.strategy, strategy)
            && self.snapshot == snapshot
            && self.catalog == live.catalog.generation()
    }

    /// Catches up with the quota book and the time (see the module docs). `false` when `now` is
    /// earlier than a view already read: the index cannot answer for it.
    pub(super) fn sync(
        &mut self,
        ranked: &dyn RankedStrategy,
        live: &LiveState,
        now: SystemTime,
    ) -> bool {
        if now < self.horizon {
            return false;
        }
        let mut dirty: Vec<u32> = Vec::new();
        live.quota.read_with(|reader| {
            match self.journal.and_then(|from| reader.changed_since(from)) {
                Some(ids) => dirty.extend(ids.iter().filter_map(|id| self.positions.get(id))),
                None => dirty.extend(0..self.slots.len() as u32),
            }
            while let Some(&(at, position)) = self.expiries.first() {
                if at > now {
                    break;
                }
                self.expiries.pop_first();
                dirty.push(position);
            }
            for &position in &dirty {
                // Fixed exclusions do not depend on quota.
                if let Some(slot) = self.slots.get(position as usize)
                    && slot.fixed.is_none()
                {
                    let (from, view, until) = reader.view_span(slot.id, now);
                    self.horizon = self.horizon.max(from.unwrap_or(SystemTime::UNIX_EPOCH));
                    self.place(ranked, position, view, until, now);
                }
            }
            self.journal = Some(reader.journal_end());
        });
        if !dirty.is_empty() {
            self.read_at = self.read_at.max(now);
        }
        true
    }

    /// Files the account at `position` under its new view, read at `now`.
    fn place(
        &mut self,
        ranked: &dyn RankedStrategy,
        position: u32,
        view: QuotaView,
        until: Option<SystemTime>,
        now: SystemTime,
    ) {
        let Some(slot) = self.slots.get_mut(position as usize) else {
            return;
        };
        if slot.fixed.is_some() {
            return;
        }
        let (id, old_until, old_place) = (slot.id, slot.until.take(), slot.place.take());
        let was_low = is_low(&slot.view);
        if let Some(at) = old_until {
            self.expiries.remove(&(at, position));
        }
        match old_place {
            Some((bound, index)) => {
                self.low_used -= usize::from(was_low);
                self.unrank(bound, index);
            }
            None => {
                self.excluded.remove(&position);
            }
        }
        // `position` was found above; the slots never change length.
        let slot = &mut self.slots[position as usize];
        if let Some(at) = until {
            self.expiries.insert((at, position));
        }
        if let Some(exclusion) = quota_check(view.exhausted_until) {
            self.excluded.insert(position, exclusion);
        } else {
            // Ranks never fall while the view holds: the rank just before it ends bounds them all.
            let last = until
                .and_then(|at| at.checked_sub(Duration::from_nanos(1)))
                .unwrap_or(SystemTime::UNIX_EPOCH + FAR)
                .max(now);
            let bound = ranked.rank(&view, last);
            let group = self.ranked.entry(Reverse(bound)).or_default();
            slot.place = Some((bound, group.len()));
            group.push(Member {
                id_hash: crate::strategy::id_hash(id),
                rank: ranked.rank(&view, now),
                position,
            });
            self.low_used += usize::from(is_low(&view));
        }
        slot.view = view;
        slot.until = until;
    }

    /// Takes the member at `index` out of the group of `bound`.
    fn unrank(&mut self, bound: u32, index: usize) {
        let Some(group) = self.ranked.get_mut(&Reverse(bound)) else {
            return;
        };
        group.swap_remove(index);
        if let Some(moved) = group.get(index) {
            if let Some(slot) = self.slots.get_mut(moved.position as usize) {
                slot.place = Some((bound, index));
            }
        } else if group.is_empty() {
            self.ranked.remove(&Reverse(bound));
        }
    }

    /// The latest instant views were read at: from there on, a member whose cached rank equals
    /// its group's bound has that rank exactly (ranks only grow while a view holds).
    pub(super) fn read_at(&self) -> SystemTime {
        self.read_at
    }

    /// Whether some account of the pool serves the model (always, without a model).
    pub(super) fn any_supported(&self) -> bool {
        self.any_supported
    }

    /// The position of `account` in the pool.
    pub(super) fn position(&self, account: AccountId) -> Option<u32> {
        self.positions.get(&account).copied()
    }

    /// The eligible-by-quota accounts by rank bound, highest first.
    pub(super) fn ranked(&self) -> impl Iterator<Item = (u32, &[Member])> {
        self.ranked.iter().map(|(b, m)| (b.0, m.as_slice()))
    }

    /// How many accounts neither fixed checks nor quota exclude.
    pub(super) fn eligible(&self) -> usize {
        self.slots.len() - self.excluded.len()
    }

    /// How many of those have used less than the soft pin's limit.
    pub(super) fn low_used(&self) -> usize {
        self.low_used
    }

    /// Why the account at `position` is excluded before health is asked, if it is.
    pub(super) fn exclusion(&self, position: u32) -> Option<Exclusion> {
        self.excluded.get(&position).copied()
    }

    /// Fixed and quota exclusions, in pool order.
    pub(super) fn exclusions(&self) -> impl Iterator<Item = (u32, Exclusion)> + '_ {
        self.excluded.iter().map(|(p, e)| (*p, *e))
    }

    /// The quota view of the account at `position`, as of the last sync.
    pub(super) fn view(&self, position: u32) -> &QuotaView {
        &self.slots[position as usize].view
    }

    /// The account id at `position`.
    pub(super) fn id(&self, position: u32) -> AccountId {
        self.slots[position as usize].id
    }
}

/// Whether a soft pin may stay on an account with this view without looking for another.
pub(super) fn is_low(view: &QuotaView) -> bool {
    view.max_used_percent() < SOFT_PIN_MAX_USED_PERCENT
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::clock::from_unix_seconds;
    use crate::model::{Lifecycle, PoolStatus};
    use crate::plan::tests::{account, snapshot};
    use crate::quota::{EvidenceSource, QuotaWindow, WindowSlot};
    use crate::strategy::{HeadroomFirst, ResetAware};

    proptest! {
        /// What the index claims holds until each view's end: the cached view is the book's
        /// view at any later instant, every member's rank at that instant lies between its
        /// cached rank and its group's bound, and members are exactly the unexcluded accounts.
        #[test]
        fn cached_views_and_rank_bounds_hold_until_they_expire(
            windows in proptest::collection::vec(
                (0.0..110.0f64, proptest::option::of(1..120u64), 0.0..110.0f64,
                 proptest::option::of(1..20_000u64), 0..1_200u64),
                1..30,
            ),
            later in proptest::collection::vec(-4_000..4_000i64, 1..10),
            headroom in any::<bool>(),
        ) {
            let now = from_unix_seconds(1_700_000_000);
            let secs = Duration::from_secs;
            let live = LiveState::new();
            let accounts: Vec<_> = (1..=windows.len() as i64)
                .map(|i| account(i, Lifecycle::Active, &["m"]))
                .collect();
            for (i, (short, short_reset, weekly, weekly_reset, ago)) in windows.iter().enumerate() {
                let observed_at = now - secs(*ago);
                let window = |slot, used_percent, minutes, reset: &Option<u64>| QuotaWindow {
                    slot,
                    used_percent,
                    window_minutes: Some(minutes),
                    resets_at: reset.map(|m| observed_at + secs(m * 60)),
                    observed_at,
                };
                live.quota.observe(
                    AccountId(i as i64 + 1),
                    EvidenceSource::StreamEvent,
                    &[
                        window(WindowSlot::Primary, *short, 300, short_reset),
                        window(WindowSlot::Secondary, *weekly, 10_080, weekly_reset),
                    ],
                    now,
                );
            }
            let snap = snapshot(PoolStatus::Active, accounts);
            let strategy: Arc<dyn RoutingStrategy> =
                if headroom { Arc::new(HeadroomFirst) } else { Arc::new(ResetAware) };
            let ranked = strategy.ranked().expect("built-in strategies are ranked");
            let pool = snap.pool_accounts(crate::model::PoolId(1));
            let mut index = PoolIndex::build(&strategy, snap.id(), pool, Some("m"), &live)
                .expect("distinct accounts");
            prop_assert!(index.sync(ranked, &live, now));
            let members: usize = index.ranked().map(|(_, m)| m.len()).sum();
            prop_assert_eq!(members, index.eligible());
            for offset in &later {
                let t = if *offset >= 0 { now + secs(offset.unsigned_abs()) } else { now - secs(offset.unsigned_abs()) };
                // Before the index's horizon it refuses to answer (and the planner does not ask).
                if t < index.horizon {
                    continue;
                }
                for (bound, group) in index.ranked() {
                    for m in group {
                        let slot = &index.slots[m.position as usize];
                        if slot.until.is_some_and(|until| until <= t) {
                            continue;
                        }
                        prop_assert_eq!(&slot.view, &live.quota.view(slot.id, t));
                        let rank = ranked.rank(&slot.view, t);
                        prop_assert!(rank <= bound, "{} {}", rank, bound);
                        prop_assert!(t < index.read_at || m.rank <= rank, "{} {}", m.rank, rank);
                    }
                }
                for (position, exclusion) in index.exclusions() {
                    let slot = &index.slots[position as usize];
                    if slot.until.is_some_and(|until| until <= t) {
                        continue;
                    }
                    let until = live.quota.exhausted_until(slot.id, t);
                    prop_assert_eq!(Some(exclusion), until.map(|until| Exclusion::QuotaExhausted { until }));
                }
            }
        }
    }
}
