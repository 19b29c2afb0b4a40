//! The operator's quota view: per account and window, the used percent, reset, source and age
//! of the evidence, as the CLI's `upstreams quota --json` prints it and the REST API returns it.
//!
//! [`live_quota_report`] reads a running gateway's live state (the freshest view);
//! [`stored_quota_report`] reads the evidence a store holds (what the last flush wrote). Both
//! give the same [`AccountQuotaReport`] shape: times are unix seconds, names are the stable
//! snake_case ones of [`WindowKind::as_str`](super::WindowKind::as_str) and
//! [`EvidenceSource::as_str`](super::EvidenceSource::as_str). Whether an account is exhausted is
//! read from its [`QuotaView`](super::QuotaView), as routing sees it.

use std::collections::HashMap;
use std::time::SystemTime;

use serde::Serialize;

use super::{AccountEvidence, AccountQuota, DEFAULT_FRESHNESS, Evidence};
use crate::clock::unix_seconds;
use crate::live::LiveState;
use crate::model::{AccountId, PoolId, Snapshot, UpstreamAccount};

/// Which accounts a report covers: all, those of one pool, or one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportScope {
    /// Only accounts assigned to this pool.
    pub pool: Option<PoolId>,
    /// Only this account.
    pub account: Option<AccountId>,
}

/// One account's quota evidence, as operators see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountQuotaReport {
    /// The account id.
    pub account_id: i64,
    /// Its operator label.
    pub label: String,
    /// Its lifecycle state (`active`, `paused`, ...).
    pub lifecycle: &'static str,
    /// The slugs of the pools it serves.
    pub pools: Vec<String>,
    /// Whether any evidence is held (none: nothing was observed yet, or all of it was dropped).
    pub has_evidence: bool,
    /// Until when routing keeps the account out (unix seconds), if it is exhausted now.
    pub exhausted_until: Option<i64>,
    /// The best reading per window kind, short first, including stale ones.
    pub windows: Vec<WindowReport>,
    /// A `usage_limit_reached` answer that keeps the account out.
    pub usage_limit: Option<LimitReport>,
    /// The latest credit status.
    pub credits: Option<CreditsReport>,
}

/// One window reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowReport {
    /// `short`, `weekly` or `monthly` (by the window's length).
    pub kind: &'static str,
    /// The slot upstream reported it in: `primary`, `secondary` or `tertiary`.
    pub slot: &'static str,
    /// Percent used (may exceed 100).
    pub used_percent: f64,
    /// The window's length in minutes, when reported.
    pub window_minutes: Option<u32>,
    /// When it resets (unix seconds), when reported.
    pub resets_at: Option<i64>,
    /// Where the reading came from: `stream_event`, `response_headers`, `error_body` or
    /// `usage_api`.
    pub source: &'static str,
    /// When it was observed (unix seconds).
    pub observed_at: i64,
    /// Its age in seconds.
    pub age_seconds: u64,
    /// Whether it no longer counts for routing (older than the freshness and not a full window
    /// with a future reset, or reset already).
    pub stale: bool,
}

/// A `usage_limit_reached` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitReport {
    /// Until when it keeps the account out (unix seconds).
    pub until: i64,
    /// Where it came from (`error_body` or `usage_api`).
    pub source: &'static str,
    /// When it was observed (unix seconds).
    pub observed_at: i64,
    /// Its age in seconds.
    pub age_seconds: u64,
}

/// A credit status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreditsReport {
    /// Whether the account has credits left.
    pub has_credits: bool,
    /// Whether its credits are unlimited.
    pub unlimited: bool,
    /// The balance as upstream sent it.
    pub balance: Option<String>,
    /// Where it came from.
    pub source: &'static str,
    /// When it was observed (unix seconds).
    pub observed_at: i64,
    /// Its age in seconds.
    pub age_seconds: u64,
    /// Whether it is older than the freshness (it no longer covers full long windows).
    pub stale: bool,
}

/// The quota report of the accounts of `scope` in `snapshot`, from a running gateway's `live`
/// state at `now`, by account id. For the REST API: fresher than the store.
pub fn live_quota_report(
    snapshot: &Snapshot,
    live: &LiveState,
    scope: ReportScope,
    now: SystemTime,
) -> Vec<AccountQuotaReport> {
    report(snapshot, scope, now, |id| live.account_quota(id))
}

/// The quota report of the accounts of `scope` in `snapshot`, from the `evidence` a store holds
/// (`upstreams quota`), at `now`, by account id. Evidence counts for the gateway's default
/// freshness (15 minutes).
pub fn stored_quota_report(
    snapshot: &Snapshot,
    evidence: &[AccountEvidence],
    scope: ReportScope,
    now: SystemTime,
) -> Vec<AccountQuotaReport> {
    let by_account: HashMap<AccountId, &AccountEvidence> =
        evidence.iter().map(|e| (e.account, e)).collect();
    report(snapshot, scope, now, |id| {
        by_account
            .get(&id)
            .map(|e| AccountQuota::restored(e, DEFAULT_FRESHNESS))
    })
}

fn report(
    snapshot: &Snapshot,
    scope: ReportScope,
    now: SystemTime,
    quota: impl Fn(AccountId) -> Option<AccountQuota>,
) -> Vec<AccountQuotaReport> {
    let mut pools: HashMap<AccountId, Vec<(PoolId, String)>> = HashMap::new();
    for pool in snapshot.pools() {
        for account in snapshot.pool_accounts(pool.id) {
            pools
                .entry(account.id)
                .or_default()
                .push((pool.id, pool.slug.clone()));
        }
    }
    let mut accounts: Vec<&UpstreamAccount> = snapshot
        .accounts()
        .map(AsRef::as_ref)
        .filter(|a| scope.account.is_none_or(|id| a.id == id))
        .filter(|a| {
            scope.pool.is_none_or(|pool| {
                pools
                    .get(&a.id)
                    .is_some_and(|p| p.iter().any(|(id, _)| *id == pool))
            })
        })
        .collect();
    accounts.sort_by_key(|a| a.id);
    accounts
        .into_iter()
        .map(|account| {
            let mut slugs: Vec<String> = pools
                .remove(&account.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, slug)| slug)
                .collect();
            slugs.sort();
            account_report(account, slugs, quota(account.id).as_ref(), now)
        })
        .collect()
}

/// One account's report at `now` from its `quota`, if any.
fn account_report(
    account: &UpstreamAccount,
    pools: Vec<String>,
    quota: Option<&AccountQuota>,
    now: SystemTime,
) -> AccountQuotaReport {
    let age = |e_observed: SystemTime| now.duration_since(e_observed).unwrap_or_default().as_secs();
    let mut report = AccountQuotaReport {
        account_id: account.id.0,
        label: account.label.clone(),
        lifecycle: account.lifecycle.as_str(),
        pools,
        has_evidence: false,
        exhausted_until: None,
        windows: Vec::new(),
        usage_limit: None,
        credits: None,
    };
    let Some(quota) = quota else {
        return report;
    };
    report.has_evidence = !quota.evidence(account.id).is_empty();
    report.exhausted_until = quota.view(now).exhausted_until.map(unix_seconds);
    report.windows = quota
        .windows()
        .iter()
        .map(|w| WindowReport {
            kind: w.value.kind().as_str(),
            slot: w.value.slot.as_str(),
            used_percent: w.value.used_percent,
            window_minutes: w.value.window_minutes,
            resets_at: w.value.resets_at.map(unix_seconds),
            source: w.source.as_str(),
            observed_at: unix_seconds(w.observed_at),
            age_seconds: age(w.observed_at),
            stale: !quota.counts(w, now),
        })
        .collect();
    report.usage_limit = quota.limit().map(|l: &Evidence<SystemTime>| LimitReport {
        until: unix_seconds(l.value),
        source: l.source.as_str(),
        observed_at: unix_seconds(l.observed_at),
        age_seconds: age(l.observed_at),
    });
    report.credits = quota.credits().map(|c| CreditsReport {
        has_credits: c.value.has_credits,
        unlimited: c.value.unlimited,
        balance: c.value.balance.clone(),
        source: c.source.as_str(),
        observed_at: unix_seconds(c.observed_at),
        age_seconds: age(c.observed_at),
        stale: !c.is_fresh(now, quota.freshness()),
    });
    report
}

#[cfg(test)]
mod tests;
