//! [`AccountQuota`]: the evidence held for one account, and the rules that merge new evidence in.
//!
//! Merge rules, applied per window kind (short, weekly, monthly; never per header slot):
//! 1. a window whose reset has passed is gone; a reading whose reset already passed is ignored;
//! 2. evidence that no longer counts (older than the freshness TTL and not a full window with a
//!    future reset) is replaced by anything new;
//! 3. of two readings further apart than [`SIMULTANEOUS`](super::SIMULTANEOUS), the newer wins,
//!    whatever the sources;
//! 4. of two simultaneous readings, the higher [`EvidenceSource::precedence`] wins (a window
//!    without a reset time counts 20 less); on a tie, the new one.
//!
//! Reading rules (at an instant `now`):
//! - a window counts while fresh, or, past freshness, while it is full with a future reset
//!   (exhaustion with a known reset holds until the reset);
//! - a full short window excludes the account; a full weekly or monthly window does too, unless
//!   fresh credits cover it (`has_credits` or `unlimited`);
//! - a `usage_limit_reached` answer excludes the account until its reset, or for
//!   [`UNTIMED_LIMIT_COOLDOWN`] without one; a newer usage-API snapshot saying `allowed` lifts it.

use std::time::{Duration, SystemTime};

use super::source::{SIMULTANEOUS, effective_precedence, supersedes};
use super::{
    AccountEvidence, Credits, Evidence, EvidenceSource, NamedLimit, QuotaView, QuotaWindow,
    UsageLimit, UsageSnapshot, WindowKind, WindowView, WindowViews,
};
use crate::model::AccountId;

/// How long a `usage_limit_reached` without a reset time keeps an account out.
pub(crate) const UNTIMED_LIMIT_COOLDOWN: Duration = Duration::from_secs(300);

/// How long evidence counts by default (15 minutes), unless it proves exhaustion until a known
/// reset.
pub(crate) const DEFAULT_FRESHNESS: Duration = Duration::from_secs(900);

/// The evidence held for one account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountQuota {
    windows: Vec<Evidence<QuotaWindow>>,
    limit: Option<Evidence<SystemTime>>,
    credits: Option<Evidence<Credits>>,
    allowed: Option<Evidence<bool>>,
    plan_type: Option<String>,
    named_limits: Vec<Evidence<NamedLimit>>,
    freshness: Duration,
}

impl Default for AccountQuota {
    fn default() -> Self {
        Self::new(DEFAULT_FRESHNESS)
    }
}

impl AccountQuota {
    /// No evidence yet; readings count for `freshness`.
    pub fn new(freshness: Duration) -> Self {
        Self {
            windows: Vec::new(),
            limit: None,
            credits: None,
            allowed: None,
            plan_type: None,
            named_limits: Vec::new(),
            freshness,
        }
    }

    /// How long readings count.
    pub fn freshness(&self) -> Duration {
        self.freshness
    }

    /// The durable part of this evidence, for `account` (see [`AccountEvidence`]).
    pub fn evidence(&self, account: AccountId) -> AccountEvidence {
        AccountEvidence {
            account,
            windows: self.windows.clone(),
            exhausted_until: self.limit,
            credits: self.credits.clone(),
        }
    }

    /// Evidence restored from a store, counting for `freshness`. Each reading keeps its source
    /// and observation time, so stale evidence stays stale and a proven exhaustion holds until
    /// its reset; two windows of one kind keep the later reading.
    pub fn restored(evidence: &AccountEvidence, freshness: Duration) -> Self {
        let mut windows: Vec<Evidence<QuotaWindow>> = evidence
            .windows
            .iter()
            .map(|w| {
                let mut w = *w;
                w.value.observed_at = w.observed_at;
                w
            })
            .collect();
        windows.sort_by_key(|w| (w.value.kind(), std::cmp::Reverse(w.observed_at)));
        windows.dedup_by_key(|w| w.value.kind());
        Self {
            windows,
            limit: evidence.exhausted_until,
            credits: evidence.credits.clone(),
            ..Self::new(freshness)
        }
    }

    /// The best reading per window kind, short first (including readings that no longer count;
    /// they are dropped at the next write).
    pub fn windows(&self) -> &[Evidence<QuotaWindow>] {
        &self.windows
    }

    /// The best reading of one window kind.
    pub fn window(&self, kind: WindowKind) -> Option<&Evidence<QuotaWindow>> {
        self.windows.iter().find(|w| w.value.kind() == kind)
    }

    /// The `usage_limit_reached` evidence: the account is out until its value.
    pub fn limit(&self) -> Option<&Evidence<SystemTime>> {
        self.limit.as_ref()
    }

    /// Until when a `usage_limit_reached` keeps the account out (possibly in the past).
    #[cfg(test)]
    pub(crate) fn limited_until(&self) -> Option<SystemTime> {
        self.limit.map(|l| l.value)
    }

    /// The latest credit status.
    pub fn credits(&self) -> Option<&Evidence<Credits>> {
        self.credits.as_ref()
    }

    /// The usage API's latest `allowed` flag.
    #[cfg(test)]
    pub(crate) fn provider_allowed(&self) -> Option<&Evidence<bool>> {
        self.allowed.as_ref()
    }

    /// The plan type the usage API last reported.
    pub fn plan_type(&self) -> Option<&str> {
        self.plan_type.as_deref()
    }

    /// Metered limit families other than the account's own, latest reading per id.
    #[cfg(test)]
    pub(crate) fn named_limits(&self) -> &[Evidence<NamedLimit>] {
        &self.named_limits
    }

    /// Merges windows read from `source` at `now` (see the module docs for the rules).
    ///
    /// Windows are keyed by [`WindowKind`]; two windows of one kind in one reading collapse to
    /// the fuller one.
    pub(crate) fn record_windows(
        &mut self,
        source: EvidenceSource,
        windows: &[QuotaWindow],
        now: SystemTime,
    ) {
        self.prune(now);
        let mut incoming: Vec<QuotaWindow> = Vec::with_capacity(windows.len());
        for w in windows {
            if w.resets_at.is_some_and(|at| at <= now) {
                continue;
            }
            match incoming.iter_mut().find(|i| i.kind() == w.kind()) {
                Some(i) if w.used_percent > i.used_percent => *i = *w,
                Some(_) => {}
                None => incoming.push(*w),
            }
        }
        for w in incoming {
            let new = Evidence::new(w, source, w.observed_at);
            match self
                .windows
                .iter_mut()
                .find(|old| old.value.kind() == w.kind())
            {
                Some(old) => {
                    if supersedes(
                        new.observed_at,
                        window_precedence(&new),
                        old.observed_at,
                        window_precedence(old),
                    ) {
                        *old = new;
                    }
                }
                None => self.windows.push(new),
            }
        }
        self.windows.sort_by_key(|w| w.value.kind());
    }

    /// Records a `usage_limit_reached` statement from `source` at `now`.
    ///
    /// While a previous limit is in force, the later of the two reset times holds.
    pub(crate) fn record_limit(
        &mut self,
        source: EvidenceSource,
        limit: UsageLimit,
        now: SystemTime,
    ) {
        self.prune(now);
        let until = limit.resets_at.unwrap_or(now + UNTIMED_LIMIT_COOLDOWN);
        if until <= now {
            return;
        }
        let until = self.limit.map_or(until, |old| old.value.max(until));
        self.limit = Some(Evidence::new(until, source, now));
    }

    /// Records a credit status from `source` at `now` (newer wins; simultaneous by precedence).
    pub(crate) fn record_credits(
        &mut self,
        source: EvidenceSource,
        credits: Credits,
        now: SystemTime,
    ) {
        let new = Evidence::new(credits, source, now);
        let replace = self.credits.as_ref().is_none_or(|old| {
            !old.is_fresh(now, self.freshness)
                || supersedes(
                    now,
                    source.precedence(),
                    old.observed_at,
                    old.source.precedence(),
                )
        });
        if replace {
            self.credits = Some(new);
        }
    }

    /// Records metered limit families read from `source` at `now`, replacing each id's previous
    /// reading.
    pub(crate) fn record_named_limits(
        &mut self,
        source: EvidenceSource,
        limits: &[NamedLimit],
        now: SystemTime,
    ) {
        for limit in limits {
            let new = Evidence::new(limit.clone(), source, now);
            match self
                .named_limits
                .iter_mut()
                .find(|l| l.value.id == limit.id)
            {
                Some(old) => *old = new,
                None => self.named_limits.push(new),
            }
        }
    }

    /// Records a usage-API snapshot: its windows, credits, plan, `allowed` flag and limit.
    ///
    /// A snapshot saying `allowed` without `limit_reached`, taken after a recorded limit (not
    /// simultaneously), lifts that limit: upstream's own accounting says the account works.
    pub(crate) fn record_usage(&mut self, snapshot: &UsageSnapshot) {
        let now = snapshot.observed_at;
        let source = EvidenceSource::UsageApi;
        self.record_windows(source, &snapshot.windows, now);
        if let Some(credits) = &snapshot.credits {
            self.record_credits(source, credits.clone(), now);
        }
        if let Some(plan) = &snapshot.plan_type {
            self.plan_type = Some(plan.clone());
        }
        self.record_named_limits(source, &snapshot.named_limits, now);
        if let Some(allowed) = snapshot.allowed {
            self.allowed = Some(Evidence::new(allowed, source, now));
        }
        if let Some(limit) = snapshot.limit() {
            self.record_limit(source, limit, now);
        } else if snapshot.allowed == Some(true)
            && snapshot.limit_reached != Some(true)
            && self
                .limit
                .is_some_and(|l| l.observed_at + SIMULTANEOUS <= now)
        {
            self.limit = None;
        }
    }

    /// When the account becomes usable again, if it is known to be exhausted at `now`.
    pub fn exhausted_until(&self, now: SystemTime) -> Option<SystemTime> {
        let covered = self.credits_cover(now);
        let from_limit = self.limit.map(|l| l.value).filter(|at| *at > now);
        let from_windows = self
            .counting_windows(now)
            .filter(|w| w.value.used_percent >= 100.0)
            .filter(|w| !(covered && w.value.kind() != WindowKind::Short))
            .map(|w| w.value.resets_at.unwrap_or(w.observed_at + self.freshness))
            .filter(|at| *at > now)
            .max();
        from_limit.into_iter().chain(from_windows).max()
    }

    /// What routing may know at `now`: the windows that count, and any exhaustion.
    ///
    /// One walk over the windows (the planner reads a view per account): freshness is compared
    /// with `now - freshness` once instead of an age per reading, and exhaustion is gathered on
    /// the way, as [`exhausted_until`](Self::exhausted_until) would find it.
    pub fn view(&self, now: SystemTime) -> QuotaView {
        let covered = self.credits_cover(now);
        // `is_fresh` (age at most the freshness) is `observed_at >= oldest`; with no such
        // instant (freshness reaching before the clock's range) everything is fresh.
        let oldest = now.checked_sub(self.freshness);
        let fresh = |observed: SystemTime| oldest.is_none_or(|oldest| observed >= oldest);
        let mut windows = WindowViews::new();
        let mut full_until: Option<SystemTime> = None;
        let mut credit_backed = false;
        for w in &self.windows {
            let value = &w.value;
            let full = value.used_percent >= 100.0;
            if value.resets_at.is_some_and(|at| at <= now)
                || !(fresh(w.observed_at) || (full && value.resets_at.is_some()))
            {
                continue;
            }
            let kind = value.kind();
            // At most one reading per kind is kept, so the three slots suffice.
            let _ = windows.push(WindowView {
                kind,
                used_percent: value.used_percent,
                resets_at: value.resets_at,
            });
            if !full {
                continue;
            }
            if covered && kind != WindowKind::Short {
                credit_backed = true;
            } else {
                let at = value.resets_at.unwrap_or(w.observed_at + self.freshness);
                if at > now {
                    full_until = full_until.max(Some(at));
                }
            }
        }
        let from_limit = self.limit.map(|l| l.value).filter(|at| *at > now);
        let exhausted_until = from_limit.max(full_until);
        let known = !windows.is_empty() || exhausted_until.is_some();
        let allowed = self
            .allowed
            .is_some_and(|a| a.value && fresh(a.observed_at));
        QuotaView {
            credit_backed,
            allowed_without_windows: !known && allowed,
            windows,
            exhausted_until,
            known,
        }
    }

    /// [`view`](Self::view) at `now`, and the first instant after `now` at which the view may
    /// differ (`None`: never, unless new evidence arrives).
    ///
    /// The view is the same at every instant of `[now, until)`: every reading rule flips only at
    /// a reset time, at a reading's observation time plus the freshness, or just after it. The
    /// planner caches views this way instead of recomputing one per account and request.
    pub(crate) fn view_until(&self, now: SystemTime) -> (QuotaView, Option<SystemTime>) {
        (self.view(now), self.next_change(now))
    }

    /// The last instant at or before `now` at which a reading rule may have flipped (`None`:
    /// none ever did): the view at `now` also holds from there on.
    pub(crate) fn previous_change(&self, now: SystemTime) -> Option<SystemTime> {
        self.rule_flips().filter(|at| *at <= now).max()
    }

    /// The first instant after `now` at which a reading rule may flip.
    fn next_change(&self, now: SystemTime) -> Option<SystemTime> {
        self.rule_flips().filter(|at| *at > now).min()
    }

    /// Every instant at which a reading rule may flip (conservative: some change nothing).
    fn rule_flips(&self) -> impl Iterator<Item = SystemTime> + '_ {
        // `is_fresh` holds while `age <= freshness`: it flips one tick after `observed + freshness`.
        let stale = |observed: SystemTime| {
            let last = observed + self.freshness;
            [Some(last), last.checked_add(Duration::from_nanos(1))]
        };
        let windows = self
            .windows
            .iter()
            .flat_map(move |w| std::iter::once(w.value.resets_at).chain(stale(w.observed_at)));
        let others = [
            self.credits.as_ref().map(|c| c.observed_at),
            self.allowed.map(|a| a.observed_at),
        ]
        .into_iter()
        .flatten()
        .flat_map(stale);
        windows
            .chain(others)
            .chain(std::iter::once(self.limit.map(|l| l.value)))
            .flatten()
    }

    /// The highest used percent over the windows that count (0 when nothing is known).
    pub fn used_percent(&self, now: SystemTime) -> f64 {
        self.counting_windows(now)
            .map(|w| w.value.used_percent)
            .fold(0.0, f64::max)
    }

    /// Whether one window reading still counts at `now`.
    pub fn counts(&self, window: &Evidence<QuotaWindow>, now: SystemTime) -> bool {
        window_counts(window, now, self.freshness)
    }

    /// Whether fresh credits cover full long windows at `now`.
    fn credits_cover(&self, now: SystemTime) -> bool {
        self.credits
            .as_ref()
            .is_some_and(|c| c.is_fresh(now, self.freshness) && c.value.cover_long_windows())
    }

    fn counting_windows(&self, now: SystemTime) -> impl Iterator<Item = &Evidence<QuotaWindow>> {
        self.windows.iter().filter(move |w| self.counts(w, now))
    }

    /// Drops what no longer counts, so it cannot block newer readings and memory stays bounded.
    fn prune(&mut self, now: SystemTime) {
        let freshness = self.freshness;
        self.windows.retain(|w| window_counts(w, now, freshness));
        if self.limit.is_some_and(|l| l.value <= now) {
            self.limit = None;
        }
        self.named_limits.retain(|l| l.is_fresh(now, freshness));
    }
}

/// Whether a window reading counts at `now`: its reset has not passed, and it is fresh or full
/// with a known reset.
fn window_counts(w: &Evidence<QuotaWindow>, now: SystemTime, freshness: Duration) -> bool {
    if w.value.resets_at.is_some_and(|at| at <= now) {
        return false;
    }
    w.is_fresh(now, freshness) || (w.value.used_percent >= 100.0 && w.value.resets_at.is_some())
}

/// A window reading's precedence: its source's, less a penalty without a reset time.
fn window_precedence(w: &Evidence<QuotaWindow>) -> u8 {
    effective_precedence(w.source, w.value.resets_at.is_some())
}

#[cfg(test)]
mod tests;
