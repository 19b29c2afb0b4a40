//! The live quota book: the latest evidence per account, shared by all requests of a process.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use super::{QuotaView, QuotaWindow, UsageLimit, WindowSlot, WindowView};
use crate::model::AccountId;

/// How long a `usage_limit_reached` without a reset time keeps an account out.
pub const UNTIMED_LIMIT_COOLDOWN: Duration = Duration::from_secs(300);

/// How long a full window without a reset time is believed.
pub const UNTIMED_WINDOW_TTL: Duration = Duration::from_secs(900);

/// The evidence held for one account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountQuota {
    /// The latest window per slot.
    pub windows: Vec<QuotaWindow>,
    /// Set by a `usage_limit_reached` answer: the account is out until then.
    pub limited_until: Option<SystemTime>,
}

impl AccountQuota {
    /// When the account becomes usable again, if it is known to be exhausted at `now`.
    pub fn exhausted_until(&self, now: SystemTime) -> Option<SystemTime> {
        let from_limit = self.limited_until.filter(|at| *at > now);
        let from_windows = self
            .windows
            .iter()
            .filter(|w| w.used_percent >= 100.0)
            .map(|w| w.resets_at.unwrap_or(w.observed_at + UNTIMED_WINDOW_TTL))
            .filter(|at| *at > now)
            .max();
        from_limit.into_iter().chain(from_windows).max()
    }

    /// What routing may know at `now`: the unexpired windows and any exhaustion.
    pub fn view(&self, now: SystemTime) -> QuotaView {
        let windows: Vec<WindowView> = self
            .windows
            .iter()
            .filter(|w| w.resets_at.is_none_or(|at| at > now))
            .map(|w| WindowView {
                kind: w.kind(),
                used_percent: w.used_percent,
                resets_at: w.resets_at,
            })
            .collect();
        let exhausted_until = self.exhausted_until(now);
        QuotaView {
            known: !windows.is_empty() || exhausted_until.is_some(),
            windows,
            exhausted_until,
        }
    }

    /// The highest used percent over known, unexpired windows (0 when nothing is known).
    pub fn used_percent(&self, now: SystemTime) -> f64 {
        self.windows
            .iter()
            .filter(|w| w.resets_at.is_none_or(|at| at > now))
            .map(|w| w.used_percent)
            .fold(0.0, f64::max)
    }
}

/// Per-account quota evidence, updated from upstream answers and read by eligibility.
#[derive(Debug, Default)]
pub struct QuotaBook {
    accounts: RwLock<HashMap<AccountId, AccountQuota>>,
}

impl QuotaBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records windows read from one upstream answer; each replaces the previous one of its slot.
    pub fn observe_windows(&self, account: AccountId, windows: &[QuotaWindow]) {
        if windows.is_empty() {
            return;
        }
        let mut map = self.write();
        let entry = map.entry(account).or_default();
        for w in windows {
            entry.windows.retain(|old| old.slot != w.slot);
            entry.windows.push(*w);
        }
        entry
            .windows
            .sort_by_key(|w| w.slot == WindowSlot::Secondary);
    }

    /// Records a `usage_limit_reached` answer observed at `now`.
    pub fn observe_limit(&self, account: AccountId, limit: UsageLimit, now: SystemTime) {
        let until = limit.resets_at.unwrap_or(now + UNTIMED_LIMIT_COOLDOWN);
        let mut map = self.write();
        let entry = map.entry(account).or_default();
        entry.limited_until = Some(entry.limited_until.map_or(until, |old| old.max(until)));
    }

    /// The evidence for one account.
    pub fn get(&self, account: AccountId) -> Option<AccountQuota> {
        self.read().get(&account).cloned()
    }

    /// What routing may know about `account` at `now`.
    pub fn view(&self, account: AccountId, now: SystemTime) -> QuotaView {
        self.read()
            .get(&account)
            .map_or_else(QuotaView::unknown, |q| q.view(now))
    }

    /// When `account` becomes usable again, if it is known to be exhausted at `now`.
    pub fn exhausted_until(&self, account: AccountId, now: SystemTime) -> Option<SystemTime> {
        self.read()
            .get(&account)
            .and_then(|q| q.exhausted_until(now))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<AccountId, AccountQuota>> {
        self.accounts.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<AccountId, AccountQuota>> {
        self.accounts.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    fn window(slot: WindowSlot, used: f64, reset: Option<i64>, now: SystemTime) -> QuotaWindow {
        QuotaWindow {
            slot,
            used_percent: used,
            window_minutes: Some(300),
            resets_at: reset.map(from_unix_seconds),
            observed_at: now,
        }
    }

    #[test]
    fn full_window_blocks_until_reset() {
        let now = from_unix_seconds(1_000);
        let book = QuotaBook::new();
        let a = AccountId(1);
        book.observe_windows(a, &[window(WindowSlot::Primary, 100.0, Some(2_000), now)]);
        assert_eq!(book.exhausted_until(a, now), Some(from_unix_seconds(2_000)));
        assert_eq!(book.exhausted_until(a, from_unix_seconds(2_000)), None);
        // A newer, non-full reading replaces it.
        book.observe_windows(a, &[window(WindowSlot::Primary, 10.0, Some(2_000), now)]);
        assert_eq!(book.exhausted_until(a, now), None);
    }

    #[test]
    fn limit_without_reset_uses_cooldown() {
        let now = from_unix_seconds(1_000);
        let book = QuotaBook::new();
        let a = AccountId(2);
        book.observe_limit(a, UsageLimit { resets_at: None }, now);
        assert_eq!(
            book.exhausted_until(a, now),
            Some(now + UNTIMED_LIMIT_COOLDOWN)
        );
        assert_eq!(book.exhausted_until(AccountId(3), now), None);
    }

    #[test]
    fn latest_blocking_reset_wins() {
        let now = from_unix_seconds(1_000);
        let q = AccountQuota {
            windows: vec![
                window(WindowSlot::Primary, 100.0, Some(1_500), now),
                window(WindowSlot::Secondary, 100.0, Some(9_000), now),
            ],
            limited_until: Some(from_unix_seconds(1_200)),
        };
        assert_eq!(q.exhausted_until(now), Some(from_unix_seconds(9_000)));
        assert_eq!(q.used_percent(now), 100.0);
    }
}
