//! The live quota book: the best evidence per account, shared by all requests of a process.

use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use super::history::SpendHistory;
use super::journal::Journal;
use super::runway::{RunwayAccount, nominal_minutes};
use super::{
    AccountQuota, DEFAULT_FRESHNESS, EvidenceSource, QuotaView, QuotaWindow, UsageLimit,
    UsageSnapshot, WindowKind, credits_from_headers, named_limits_from_headers,
    windows_from_headers,
};
#[cfg(test)]
use super::{Credits, NamedLimit};
use crate::live::AccountMap;
use crate::model::AccountId;

/// Per-account quota evidence, updated from upstream answers and the usage probe, read by
/// eligibility and strategies.
///
/// Merge and freshness rules are those of [`AccountQuota`].
#[derive(Debug)]
pub(crate) struct QuotaBook {
    accounts: RwLock<Accounts>,
    freshness: Duration,
}

/// The evidence per account and the journal of changes, under one lock so that a reader sees
/// both at the same point.
#[derive(Debug, Default)]
struct Accounts {
    map: AccountMap<AccountQuota>,
    journal: Journal,
    /// Recent readings per account, for spend rates.
    history: AccountMap<SpendHistory>,
}

/// A read-locked book, for a cache that catches up with it: what changed since a journal
/// position, and the evidence of any account, all as of one instant.
pub(crate) struct QuotaReader<'a> {
    accounts: &'a Accounts,
}

impl QuotaReader<'_> {
    /// The position the next change will get.
    pub(crate) fn journal_end(&self) -> u64 {
        self.accounts.journal.end()
    }

    /// The accounts changed from journal position `from` on (with repeats), or `None` when the
    /// reader fell too far behind and must reread everything.
    pub(crate) fn changed_since(&self, from: u64) -> Option<&[AccountId]> {
        self.accounts.journal.since(from)
    }

    /// [`AccountQuota::view_until`] for `account`, with the instant the view holds from
    /// ([`AccountQuota::previous_change`]): it holds over `[from, until)`, `None` meaning
    /// unbounded. Without evidence: unknown, always.
    pub(crate) fn view_span(
        &self,
        account: AccountId,
        now: SystemTime,
    ) -> (Option<SystemTime>, QuotaView, Option<SystemTime>) {
        match self.accounts.map.get(&account) {
            Some(q) => {
                let (view, until) = q.view_until(now);
                (q.previous_change(now), view, until)
            }
            None => (None, QuotaView::unknown(), None),
        }
    }
}

impl Default for QuotaBook {
    fn default() -> Self {
        Self::with_freshness(DEFAULT_FRESHNESS)
    }
}

impl QuotaBook {
    /// An empty book with the default freshness ([`DEFAULT_FRESHNESS`], 15 minutes).
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// An empty book whose evidence counts for `freshness` (unless it proves exhaustion until a
    /// known reset).
    pub(crate) fn with_freshness(freshness: Duration) -> Self {
        Self {
            accounts: RwLock::new(Accounts::default()),
            freshness,
        }
    }

    /// How long evidence counts.
    #[cfg(test)]
    pub(crate) fn freshness(&self) -> Duration {
        self.freshness
    }

    /// Merges windows read from `source` at `now`.
    pub(crate) fn observe(
        &self,
        account: AccountId,
        source: EvidenceSource,
        windows: &[QuotaWindow],
        now: SystemTime,
    ) {
        if windows.is_empty() {
            return;
        }
        self.update(account, |q| q.record_windows(source, windows, now));
    }

    /// Merges windows read from response headers (the windows' own observation time is `now`).
    ///
    /// Kept for callers that predate [`QuotaBook::observe`]; prefer [`QuotaBook::observe_headers`],
    /// which also reads credits and named limits.
    #[cfg(test)]
    pub(crate) fn observe_windows(&self, account: AccountId, windows: &[QuotaWindow]) {
        let Some(now) = windows.iter().map(|w| w.observed_at).max() else {
            return;
        };
        self.observe(account, EvidenceSource::ResponseHeaders, windows, now);
    }

    /// Reads and merges everything response headers carry: the account windows, credits and
    /// named limit families.
    pub(crate) fn observe_headers(&self, account: AccountId, headers: &HeaderMap, now: SystemTime) {
        let windows = windows_from_headers(headers, now);
        let credits = credits_from_headers(headers);
        let named = named_limits_from_headers(headers, now);
        if windows.is_empty() && credits.is_none() && named.is_empty() {
            return;
        }
        let source = EvidenceSource::ResponseHeaders;
        self.update(account, |q| {
            q.record_windows(source, &windows, now);
            if let Some(credits) = credits {
                q.record_credits(source, credits, now);
            }
            q.record_named_limits(source, &named, now);
        });
    }

    /// Records a `usage_limit_reached` error body observed at `now`.
    pub(crate) fn observe_limit(&self, account: AccountId, limit: UsageLimit, now: SystemTime) {
        self.update(account, |q| {
            q.record_limit(EvidenceSource::ErrorBody, limit, now)
        });
    }

    /// Records a credit status from `source` at `now`.
    #[cfg(test)]
    pub(crate) fn observe_credits(
        &self,
        account: AccountId,
        source: EvidenceSource,
        credits: Credits,
        now: SystemTime,
    ) {
        self.update(account, |q| q.record_credits(source, credits, now));
    }

    /// Records metered limit families other than the account's own.
    #[cfg(test)]
    pub(crate) fn observe_named_limits(
        &self,
        account: AccountId,
        source: EvidenceSource,
        limits: &[NamedLimit],
        now: SystemTime,
    ) {
        if limits.is_empty() {
            return;
        }
        self.update(account, |q| q.record_named_limits(source, limits, now));
    }

    /// Records a usage-API snapshot (see [`AccountQuota::record_usage`]).
    pub(crate) fn observe_usage(&self, account: AccountId, snapshot: &UsageSnapshot) {
        self.update(account, |q| q.record_usage(snapshot));
    }

    /// The evidence for one account.
    pub(crate) fn get(&self, account: AccountId) -> Option<AccountQuota> {
        self.read().map.get(&account).cloned()
    }

    /// What routing may know about `account` at `now`.
    pub(crate) fn view(&self, account: AccountId, now: SystemTime) -> QuotaView {
        self.read()
            .map
            .get(&account)
            .map_or_else(QuotaView::unknown, |q| q.view(now))
    }

    /// What routing may know about each of `accounts` at `now`, in the same order, read under
    /// one lock (the batch form of [`view`](Self::view)).
    pub(crate) fn views_for(&self, accounts: &[AccountId], now: SystemTime) -> Vec<QuotaView> {
        let mut views = Vec::with_capacity(accounts.len());
        self.for_each_view(accounts, now, |_, view| views.push(view));
        views
    }

    /// Calls `f` with the position in `accounts` and the view of each account at `now`, in
    /// order, under one read lock: the planner builds its candidates in place this way.
    ///
    /// `f` runs under the lock, so it must be short and must not touch this book.
    pub(crate) fn for_each_view(
        &self,
        accounts: &[AccountId],
        now: SystemTime,
        mut f: impl FnMut(usize, QuotaView),
    ) {
        let book = self.read();
        let map = &book.map;
        for (i, id) in accounts.iter().enumerate() {
            f(
                i,
                map.get(id).map_or_else(QuotaView::unknown, |q| q.view(now)),
            );
        }
    }

    /// When `account` becomes usable again, if it is known to be exhausted at `now`.
    pub(crate) fn exhausted_until(
        &self,
        account: AccountId,
        now: SystemTime,
    ) -> Option<SystemTime> {
        self.read()
            .map
            .get(&account)
            .and_then(|q| q.exhausted_until(now))
    }

    /// Drops everything known about `account` (for example when it is deleted).
    #[cfg(test)]
    pub(crate) fn forget(&self, account: AccountId) {
        let mut accounts = self.write();
        accounts.map.remove(&account);
        accounts.history.remove(&account);
        accounts.journal.push(account);
    }

    /// Runs `f` on the book under one read lock (see [`QuotaReader`]); `f` must not touch this
    /// book.
    pub(crate) fn read_with<R>(&self, f: impl FnOnce(QuotaReader<'_>) -> R) -> R {
        f(QuotaReader {
            accounts: &self.read(),
        })
    }

    fn update(&self, account: AccountId, f: impl FnOnce(&mut AccountQuota)) {
        let freshness = self.freshness;
        let mut guard = self.write();
        let accounts = &mut *guard;
        let quota = accounts
            .map
            .entry(account)
            .or_insert_with(|| AccountQuota::new(freshness));
        f(quota);
        accounts
            .history
            .entry(account)
            .or_default()
            .note(quota.windows());
        accounts.journal.push(account);
    }

    /// For each of `accounts`, in order, under one read lock: its [`RunwayAccount`] for window
    /// `kind` at `now`, or `None` without a reading of that kind whose reset is ahead (or,
    /// without a reset time, that still counts).
    pub(crate) fn runway_inputs(
        &self,
        accounts: &[AccountId],
        kind: WindowKind,
        now: SystemTime,
    ) -> Vec<Option<RunwayAccount>> {
        let book = self.read();
        accounts
            .iter()
            .map(|id| {
                let quota = book.map.get(id)?;
                // The best reading, even past freshness while its reset is ahead: used percent
                // only grows until the reset, so an idle account's last reading still holds.
                let reading = quota.window(kind).filter(|w| {
                    w.value
                        .resets_at
                        .map_or(quota.counts(w, now), |at| at > now)
                })?;
                let window = &reading.value;
                let minutes = window
                    .window_minutes
                    .unwrap_or_else(|| nominal_minutes(kind));
                let exhausted = quota.view(now).exhausted_until.is_some();
                Some(RunwayAccount {
                    used_percent: if exhausted {
                        100.0
                    } else {
                        window.used_percent.clamp(0.0, 100.0)
                    },
                    resets_at: window.resets_at,
                    window: Duration::from_secs(u64::from(minutes.max(1)) * 60),
                    rate_per_hour: book.history.get(id).and_then(|h| h.rate(kind, now)),
                })
            })
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Accounts> {
        self.accounts.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Accounts> {
        self.accounts.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests;
