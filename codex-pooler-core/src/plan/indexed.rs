//! Planning from a [`PoolIndex`]: the same plan as the straightforward path, looking only at
//! the accounts that can reach the first places.
//!
//! 1. Health is read for the accounts the health book has seen only; every other account has no
//!    open circuit, nothing in flight and no demotion.
//! 2. The eligible count, the exclusions (in pool order) and the soft pin's checks come from the
//!    index's counts plus those few health entries.
//! 3. When the accounts with room (group 0) can fill the attempt budget alone, only group 0 is
//!    ordered: rank groups are visited from the highest bound down, keying each member by its
//!    exact rank and rendezvous weight, until no later group can beat the `k`-th best key. With
//!    p2c, the whole group tied on the best rank is kept too (its members all have a bound at
//!    least that rank, so they were visited). The kept keys then go through the strategies' own
//!    key arrangement, which gives the same first `k` as ordering the whole group.
//!
//! Anything else (a hard pin whose account is out, nothing eligible, too few accounts with room)
//! returns `None`, and the planner plans the straightforward way.

use std::sync::Arc;
use std::time::SystemTime;

use super::eligibility::circuit_check;
use super::index::{PoolIndex, is_low};
use super::{PinSkip, Rejection, RoutePlan};
use crate::continuity::Pin;
use crate::live::LiveState;
use crate::model::{AccountId, UpstreamAccount};
use crate::plan::Exclusion;
use crate::request::RouteClass;
use crate::strategy::{
    RankedStrategy, StrategyInput, arrange_keys, index_of, pack, rank_of, weight_of,
    weight_of_packed,
};

/// What one request needs to know, besides the index.
pub(super) struct Request<'a> {
    pub(super) accounts: &'a [Arc<UpstreamAccount>],
    pub(super) model: Option<&'a str>,
    pub(super) class: RouteClass,
    pub(super) pin: Option<Pin>,
    pub(super) input: StrategyInput<'a>,
    pub(super) budget: usize,
    pub(super) strategy: &'static str,
}

/// The health of an account the health book has seen, as far as planning cares.
#[derive(Debug, Clone, Copy)]
struct Load {
    circuit_open_until: Option<SystemTime>,
    in_flight: u32,
    /// 0 room, 1 demoted, 2 busy, 3 busy and demoted.
    group: usize,
}

/// Health for the pool's accounts that have any, by position.
struct Loads {
    /// Sorted by position.
    entries: Vec<(u32, Load)>,
    /// One bit per position: whether it is in `entries`.
    present: Vec<u64>,
}

impl Loads {
    fn read(
        index: &PoolIndex,
        live: &LiveState,
        model: &str,
        class: RouteClass,
        now: SystemTime,
    ) -> Self {
        let mut entries = Vec::new();
        live.health
            .for_each_routing_health(model, class, now, |id, health| {
                let busy = health.in_flight >= health.limit;
                let quiet = health.circuit_open_until.is_none()
                    && health.in_flight == 0
                    && !busy
                    && !health.demoted;
                if quiet {
                    return;
                }
                if let Some(position) = index.position(id) {
                    let load = Load {
                        circuit_open_until: health.circuit_open_until,
                        in_flight: health.in_flight,
                        group: usize::from(busy) * 2 + usize::from(health.demoted),
                    };
                    entries.push((position, load));
                }
            });
        entries.sort_unstable_by_key(|(p, _)| *p);
        let mut present = Vec::new();
        if let Some(&(last, _)) = entries.last() {
            present = vec![0u64; last as usize / 64 + 1];
            for (p, _) in &entries {
                present[*p as usize / 64] |= 1 << (p % 64);
            }
        }
        Self { entries, present }
    }

    fn get(&self, position: u32) -> Option<&Load> {
        let word = self.present.get(position as usize / 64)?;
        if word & (1 << (position % 64)) == 0 {
            return None;
        }
        let at = self
            .entries
            .binary_search_by_key(&position, |(p, _)| *p)
            .ok()?;
        self.entries.get(at).map(|(_, l)| l)
    }

    fn in_flight(&self, position: u32) -> u32 {
        self.get(position).map_or(0, |l| l.in_flight)
    }
}

/// Plans from the index (see the module docs), or `None` to plan the straightforward way.
pub(super) fn plan(
    index: &PoolIndex,
    ranked: &dyn RankedStrategy,
    live: &LiveState,
    request: &Request<'_>,
) -> Option<Result<RoutePlan, Box<Rejection>>> {
    let now = request.input.now;
    let loads = Loads::read(
        index,
        live,
        request.model.unwrap_or_default(),
        request.class,
        now,
    );
    // Health applies to accounts fixed checks and quota left in.
    let checked = |(p, load): &(u32, Load)| (index.exclusion(*p).is_none()).then_some((*p, *load));
    let health: Vec<(u32, Load)> = loads.entries.iter().filter_map(checked).collect();
    let open = health
        .iter()
        .filter(|(_, l)| l.circuit_open_until.is_some())
        .count();
    let eligible = index.eligible() - open;
    let elsewhere = health
        .iter()
        .filter(|(_, l)| l.circuit_open_until.is_none() && l.group > 0)
        .count();
    let room = eligible - elsewhere;
    let budget = request.budget;
    // The first failing check of an account: fixed, quota, then circuit; `Ok(group)` if none.
    let status = |position: u32| -> Result<usize, Exclusion> {
        if let Some(e) = index.exclusion(position) {
            return Err(e);
        }
        match loads.get(position) {
            Some(load) => circuit_check(load.circuit_open_until).map_or(Ok(load.group), Err),
            None => Ok(0),
        }
    };

    let mut chosen: Vec<Arc<UpstreamAccount>> = Vec::with_capacity(budget);
    let mut pin_skipped = None;
    let mut followed = None;
    let mut soft_owner = None;
    if let Some(pin) = request.pin {
        let found = index
            .position(pin.account)
            .and_then(|p| Some((p, status(p), request.accounts.get(p as usize)?)));
        match found {
            Some((_, Ok(_), owner)) if pin.is_hard() => {
                return Some(Ok(RoutePlan {
                    candidates: vec![Arc::clone(owner)],
                    exclusions: exclusions(index, &health),
                    strategy: request.strategy,
                    eligible,
                    pin: Some(pin),
                    pin_skipped: None,
                    soft_owner: None,
                }));
            }
            // A hard pin whose account is out is an error: planned the straightforward way.
            _ if pin.is_hard() => return None,
            Some((p, Ok(group), owner)) => {
                // Near its limit the thread moves, but only to an account with real headroom.
                let open_low = health
                    .iter()
                    .filter(|(q, l)| l.circuit_open_until.is_some() && is_low(index.view(*q)))
                    .count();
                if is_low(index.view(p)) || index.low_used() == open_low {
                    followed = Some((pin, (group == 0).then_some(p)));
                    chosen.push(Arc::clone(owner));
                } else {
                    pin_skipped = Some(PinSkip::NearLimit);
                }
            }
            Some((_, Err(e), _)) => {
                pin_skipped = Some(PinSkip::Excluded(e.reason()));
                soft_owner = e.is_brief(request.input.now).then_some(pin.account);
            }
            None => pin_skipped = Some(PinSkip::LeftPool),
        }
    }
    // Only group 0 is ordered: it must fill the budget alone.
    if room <= budget {
        return None;
    }

    let pin_here = followed.and_then(|(_, p)| p);
    let k = budget - chosen.len() + usize::from(pin_here.is_some());
    let affinity = request.input.affinity();
    let p2c = ranked.p2c(&request.input);
    let mut keys = if k == 0 {
        Vec::new()
    } else {
        top_keys(index, ranked, &loads, k, affinity, p2c, now)
    };
    arrange_keys(&mut keys, k, p2c.then_some(affinity), |p| {
        loads.in_flight(p as u32)
    });
    for key in keys.iter().take(k) {
        if chosen.len() >= budget {
            break;
        }
        let position = index_of(*key) as u32;
        if Some(position) != pin_here {
            chosen.push(Arc::clone(request.accounts.get(position as usize)?));
        }
    }
    Some(Ok(RoutePlan {
        candidates: chosen,
        exclusions: exclusions(index, &health),
        strategy: request.strategy,
        eligible,
        pin: followed.map(|(pin, _)| pin),
        pin_skipped,
        soft_owner,
    }))
}

/// The keys of group 0 that decide its first `k`: the best `k`, plus, with p2c, every key tied
/// on the best rank.
fn top_keys(
    index: &PoolIndex,
    ranked: &dyn RankedStrategy,
    loads: &Loads,
    k: usize,
    affinity: u64,
    p2c: bool,
    now: SystemTime,
) -> Vec<u128> {
    // Ascending: `top[k - 1]` is the `k`-th best so far.
    let mut top: Vec<u128> = Vec::with_capacity(k + 1);
    let mut tied: Vec<u128> = Vec::new();
    let mut best: Option<u32> = None;
    let any_load = !loads.entries.is_empty();
    // Before the latest read (a request that read the clock first), cached ranks are only
    // bounds: compute each one.
    let exact = now >= index.read_at();
    // The `k`-th best (rank, weight) once `top` is full: most accounts of a large pool fall
    // below it, and comparing two integers is cheaper than packing a key.
    let mut kth: Option<(u32, u64)> = None;
    for (bound, members) in index.ranked() {
        if kth.is_some_and(|(rank, _)| bound < rank) {
            break;
        }
        for m in members {
            if any_load
                && loads
                    .get(m.position)
                    .is_some_and(|l| l.circuit_open_until.is_some() || l.group > 0)
            {
                continue;
            }
            let rank = if exact && m.rank == bound {
                m.rank
            } else {
                ranked.rank(index.view(m.position), now)
            };
            let weight = weight_of(affinity, m.id_hash);
            let below = kth.is_some_and(|(r, w)| rank < r || (rank == r && weight < w));
            if below && !p2c {
                continue;
            }
            let key = pack(rank, weight, m.position);
            if !below && (top.len() < k || top.last().is_some_and(|last| key < *last)) {
                let at = top.partition_point(|t| *t < key);
                top.insert(at, key);
                top.truncate(k);
                if top.len() == k {
                    kth = top
                        .last()
                        .map(|last| (rank_of(*last), weight_of_packed(*last)));
                }
            }
            if p2c {
                match best {
                    Some(b) if rank < b => {}
                    Some(b) if rank == b => tied.push(key),
                    _ => {
                        best = Some(rank);
                        tied.clear();
                        tied.push(key);
                    }
                }
            }
        }
    }
    if p2c {
        tied.extend(top.iter().filter(|t| Some(rank_of(**t)) != best));
        tied
    } else {
        top
    }
}

/// Every exclusion in pool order: the index's (fixed, quota) merged with open circuits.
fn exclusions(index: &PoolIndex, health: &[(u32, Load)]) -> Vec<(AccountId, Exclusion)> {
    let mut fixed = index.exclusions().peekable();
    let mut open = health
        .iter()
        .filter_map(|(p, l)| Some((*p, circuit_check(l.circuit_open_until)?)))
        .peekable();
    let mut out = Vec::new();
    loop {
        // The two never share a position: health is kept only for accounts the index left in.
        let next = match (fixed.peek(), open.peek()) {
            (Some(a), Some(b)) if b.0 < a.0 => open.next(),
            (Some(_), _) => fixed.next(),
            (None, _) => open.next(),
        };
        let Some((position, exclusion)) = next else {
            break;
        };
        out.push((index.id(position), exclusion));
    }
    out
}
