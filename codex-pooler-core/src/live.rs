//! Live state: what a process learns while serving, kept in memory and shared by all requests.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::RwLock;
use std::time::SystemTime;

use std::sync::Arc;

use http::HeaderMap;
use serde_json::Value;

use crate::catalog::CatalogBook;
pub use crate::catalog::{CatalogError, PoolCatalog, parse_catalog};
use crate::continuity::ContinuityBook;
pub use crate::continuity::{ContinuityConfig, ContinuityKeys, Pin, PinKind, SessionIds};
use crate::error::PoolerError;
use crate::health::{AttemptGuard, CircuitPhase, HealthBook, HealthConfig, HealthExclusion};
use crate::key_meter::{KeyMeter, MeterUse};
use crate::key_usage::{KeyTotals, KeyTotalsBook};
use crate::model::{AccountId, KeyId, KeyLimits, Pool, PoolId, UpstreamAccount};
use crate::quota::{
    AccountEvidence, AccountQuota, EvidenceSource, PoolRunway, QuotaBook, QuotaChanges, QuotaView,
    QuotaWindow, RunwayAccount, UsageLimit, UsageSnapshot, WindowKind, WindowRunway, project,
};
use crate::record::TokenUsage;
use crate::request::PoolRequest;
use crate::request::RouteClass;

/// The per-process live routing state.
///
/// Its books (quota evidence, conversation continuity, account health and model catalogs) are
/// private: callers report what they saw through the `observe_*` and `learn_*` verbs and read
/// views back (`quota_view`, `pool_catalog`, `file_owner`, ...).
///
/// ```
/// use codex_pooler_core::clock::from_unix_seconds;
/// use codex_pooler_core::live::LiveState;
/// use codex_pooler_core::model::AccountId;
///
/// let live = LiveState::new();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-codex-primary-used-percent", http::HeaderValue::from(40));
/// headers.insert("x-codex-primary-window-minutes", http::HeaderValue::from(300));
/// let now = from_unix_seconds(1_000);
/// live.observe_headers(AccountId(1), &headers, now);
/// assert_eq!(live.quota_view(AccountId(1), now).remaining_percent(), 60.0);
/// ```
#[derive(Debug)]
pub struct LiveState {
    /// Quota evidence per account.
    pub(crate) quota: QuotaBook,
    /// Which account holds which conversation.
    pub(crate) continuity: ContinuityBook,
    /// Circuit breakers, demotions and adaptive concurrency.
    pub(crate) health: HealthBook,
    /// The model catalog each account serves.
    pub(crate) catalog: CatalogBook,
    /// Requests and tokens per Pool API key, against its limits.
    meter: KeyMeter,
    /// Requests and tokens per Pool API key since the process started.
    totals: KeyTotalsBook,
    successes: RwLock<AccountMap<SystemTime>>,
}

/// A map keyed by [`AccountId`], hashed with [`AccountIdHasher`]: the live books look accounts
/// up on every request, for every account of the pool.
pub(crate) type AccountMap<V> = HashMap<AccountId, V, BuildHasherDefault<AccountIdHasher>>;

/// A fast hasher for [`AccountId`] keys (one folded multiplication per integer).
///
/// Account ids come from the operator's configuration, never from clients, so the flooding
/// resistance of the default SipHash buys nothing here, while its cost (about 15 ns a lookup)
/// dominated planning.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AccountIdHasher(u64);

impl Hasher for AccountIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Folded multiply: both halves of the 128-bit product, so high and low bits of the hash
        // (hashbrown uses both) depend on every input bit.
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let product = u128::from(self.0 ^ n) * u128::from(K);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn write_i64(&mut self, n: i64) {
        // The id's bit pattern is what is hashed; reinterpreting the sign is intended.
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self {
            quota: QuotaBook::default(),
            continuity: ContinuityBook::default(),
            health: HealthBook::new(HealthConfig::default()),
            catalog: CatalogBook::default(),
            meter: KeyMeter::default(),
            totals: KeyTotalsBook::default(),
            successes: RwLock::new(AccountMap::default()),
        }
    }
}

impl LiveState {
    /// Empty live state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Admits one request of `key` under its `limits` (the body, `body_len` bytes, gives the
    /// input estimate), counting it; or the 429 `rate_limit_exceeded` to answer, with a
    /// `Retry-After` when waiting helps. Nothing is counted for a key without limits.
    pub fn admit_key(
        &self,
        key: KeyId,
        limits: &KeyLimits,
        body_len: usize,
        now: SystemTime,
    ) -> Result<(), PoolerError> {
        self.meter
            .admit(key, limits, body_len, now)
            .map_err(crate::key_meter::LimitHit::into_error)
    }

    /// Charges `tokens` that a request of `key` used (upstream's reported total) at `now`;
    /// only keys admitted under limits are tracked, others' usage is dropped.
    pub fn charge_key(&self, key: KeyId, tokens: u64, now: SystemTime) {
        self.meter.charge(key, tokens, now);
    }

    /// Counts one ended request of `key` with the tokens upstream reported for it, if any.
    pub fn add_key_request(&self, key: KeyId, usage: Option<&TokenUsage>) {
        self.totals.add(key, usage);
    }

    /// `key`'s requests and tokens since the process started.
    pub fn key_totals(&self, key: KeyId) -> KeyTotals {
        self.totals.get(key)
    }

    /// What `key` has used of its limits at `now` (zeros for a key without limits).
    pub fn key_meter_use(&self, key: KeyId, now: SystemTime) -> MeterUse {
        self.meter.current(key, now)
    }

    /// The same state with conversation continuity kept under `config` (how long pins last).
    pub fn with_continuity(mut self, config: ContinuityConfig) -> Self {
        self.continuity = ContinuityBook::new(config);
        self
    }

    /// Reads and merges the quota evidence an answer's headers carry from `account` (windows,
    /// credits and named limits).
    pub fn observe_headers(&self, account: AccountId, headers: &HeaderMap, now: SystemTime) {
        self.quota.observe_headers(account, headers, now);
    }

    /// Merges quota windows of `account` read from `source` at `now`, such as the rate limits a
    /// stream event reported.
    pub fn observe_windows(
        &self,
        account: AccountId,
        source: EvidenceSource,
        windows: &[QuotaWindow],
        now: SystemTime,
    ) {
        self.quota.observe(account, source, windows, now);
    }

    /// Records the usage limit a refusal body of `account` reported (exhausted until its reset).
    pub fn observe_usage_limit(&self, account: AccountId, limit: UsageLimit, now: SystemTime) {
        self.quota.observe_limit(account, limit, now);
    }

    /// Merges what the usage API reported for `account`.
    pub fn observe_usage(&self, account: AccountId, snapshot: &UsageSnapshot) {
        self.quota.observe_usage(account, snapshot);
    }

    /// What is known of `account`'s quota at `now`.
    pub fn quota_view(&self, account: AccountId, now: SystemTime) -> QuotaView {
        self.quota.view(account, now)
    }

    /// The quota views of `accounts` at `now`, in the same order, read under one lock.
    pub fn quota_views(&self, accounts: &[AccountId], now: SystemTime) -> Vec<QuotaView> {
        self.quota.views_for(accounts, now)
    }

    /// A copy of the quota evidence held for `account`, if any.
    pub fn account_quota(&self, account: AccountId) -> Option<AccountQuota> {
        self.quota.get(account)
    }

    /// Restores quota evidence read back from a store (a gateway does this once, at start,
    /// before serving): each account's evidence replaces what is held for it, readings keeping
    /// their source and observation time.
    pub fn restore_quota(&self, evidence: &[AccountEvidence]) {
        self.quota.restore(evidence);
    }

    /// The position in the quota journal the next change will get: where a writer of durable
    /// evidence starts from.
    pub fn quota_position(&self) -> u64 {
        self.quota.journal_end()
    }

    /// The durable evidence of every account whose quota evidence changed from journal
    /// position `from` on, and the position to ask from next. Cheap: one read lock, a copy of
    /// the changed accounts' readings.
    pub fn quota_changes_since(&self, from: u64) -> QuotaChanges {
        self.quota.changes_since(from)
    }

    /// Drops the quota evidence held for `account` (it left the pool, or its evidence is void).
    #[cfg(test)]
    pub(crate) fn forget_quota(&self, account: AccountId) {
        self.quota.forget(account);
    }

    /// Until when `account` is known to be exhausted, as seen at `now`.
    pub fn exhausted_until(&self, account: AccountId, now: SystemTime) -> Option<SystemTime> {
        self.quota.exhausted_until(account, now)
    }

    /// The quota runway of `pool`, whose accounts are `accounts`, at `now`: per window kind
    /// (short and weekly, monthly when some account reports one), the headroom of its routable
    /// accounts, their recent spend rate and when the pool runs dry at that rate (see
    /// [`crate::quota::project`] for the formula).
    pub fn pool_runway(
        &self,
        pool: &Pool,
        accounts: &[Arc<UpstreamAccount>],
        now: SystemTime,
    ) -> PoolRunway {
        let ids: Vec<AccountId> = accounts
            .iter()
            .filter(|a| a.lifecycle.is_routable())
            .map(|a| a.id)
            .collect();
        let mut windows = Vec::new();
        for kind in [WindowKind::Short, WindowKind::Weekly, WindowKind::Monthly] {
            let inputs: Vec<RunwayAccount> = self
                .quota
                .runway_inputs(&ids, kind, now)
                .into_iter()
                .flatten()
                .collect();
            if kind == WindowKind::Monthly && inputs.is_empty() {
                continue;
            }
            let projection = project(&inputs, now);
            windows.push(WindowRunway::new(
                kind,
                &projection,
                inputs.len(),
                ids.len() - inputs.len(),
                now,
            ));
        }
        PoolRunway {
            pool: pool.id,
            slug: pool.slug.clone(),
            windows,
            evaluated_at_ms: crate::clock::unix_millis(now),
        }
    }

    /// A later `previous_response_id` naming response `id` must reach `account`.
    pub fn learn_response_id(&self, pool: PoolId, id: &str, account: AccountId, now: SystemTime) {
        self.continuity.learn_response_id(pool, id, account, now);
    }

    /// Turn state `state` (`x-codex-turn-state`) was issued by `account`: the rest of the turn
    /// must reach it.
    #[cfg(test)]
    pub(crate) fn learn_turn_state(
        &self,
        pool: PoolId,
        state: &str,
        account: AccountId,
        now: SystemTime,
    ) {
        self.continuity.learn_turn_state(pool, state, account, now);
    }

    /// The soft continuity `keys` (session, conversation) now point at `account`.
    #[cfg(test)]
    pub(crate) fn learn_keys(
        &self,
        pool: PoolId,
        keys: &ContinuityKeys,
        account: AccountId,
        now: SystemTime,
    ) {
        self.continuity.remember(pool, keys, account, now);
    }

    /// File `id` was created on `account`: its later uses must reach that account.
    pub fn learn_file(&self, pool: PoolId, id: &str, account: AccountId, now: SystemTime) {
        self.continuity.learn_file(pool, id, account, now);
    }

    /// The account that holds file `id` in `pool`, if it is still known at `now`.
    pub fn file_owner(&self, pool: PoolId, id: &str, now: SystemTime) -> Option<AccountId> {
        self.continuity.file_owner(pool, id, now)
    }

    /// The pin a request with continuity `keys` in `pool` is held to at `now`, if any.
    pub fn pin(&self, pool: PoolId, keys: &ContinuityKeys, now: SystemTime) -> Option<Pin> {
        self.continuity.resolve(pool, keys, now)
    }

    /// Records the model catalog `account` served at `now`.
    pub fn record_catalog(&self, account: AccountId, models: Vec<Value>, now: SystemTime) {
        self.catalog.record(account, models, now);
    }

    /// A number that changes whenever a recorded catalog changes (for caching derived answers).
    pub fn catalog_generation(&self) -> u64 {
        self.catalog.generation()
    }

    /// The merged model catalog of `accounts`.
    pub fn pool_catalog(&self, accounts: &[Arc<UpstreamAccount>]) -> PoolCatalog {
        self.catalog.pool_catalog(accounts)
    }

    /// The worst circuit phase of each (account, route class) seen so far, over every model, as
    /// of `now`, ordered by account and class (for metrics and operators).
    pub fn circuit_phases(&self, now: SystemTime) -> Vec<(AccountId, RouteClass, CircuitPhase)> {
        self.health.circuit_phases(now)
    }

    /// Claims a concurrency slot on `account` for an attempt at `model` starting at `now`, as
    /// dispatch does; the slot is held until the guard is dropped, and the guard's outcome feeds
    /// the account's circuit and concurrency limit.
    pub fn begin_attempt(
        &self,
        account: AccountId,
        model: &str,
        class: RouteClass,
        now: SystemTime,
    ) -> Result<AttemptGuard, HealthExclusion> {
        self.health.begin(account, model, class, now)
    }

    /// Like [`begin_attempt`](Self::begin_attempt) but ignores the concurrency limit (the circuit
    /// still applies): for when every candidate is busy and the caller chose to overflow.
    #[cfg(test)]
    pub(crate) fn begin_attempt_over_limit(
        &self,
        account: AccountId,
        model: &str,
        class: RouteClass,
        now: SystemTime,
    ) -> Result<AttemptGuard, HealthExclusion> {
        self.health.begin_over_limit(account, model, class, now)
    }

    /// Records that `account` answered successfully at `now`.
    pub(crate) fn record_success(&self, account: AccountId, now: SystemTime) {
        self.successes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account, now);
    }

    /// After `account` answered `request` successfully: the request's soft continuity keys now
    /// point at `account`, and a turn state it issued (`x-codex-turn-state`) keeps the rest of
    /// the turn there.
    ///
    /// When the plan named another `soft_owner` (a soft pin's account that was only briefly
    /// unavailable, see [`RoutePlan::soft_owner`](crate::plan::RoutePlan::soft_owner)), the
    /// soft keys stay with that owner unless its quota is by now out for longer than
    /// [`SOFT_OWNER_GRACE`](crate::plan::SOFT_OWNER_GRACE): `account` only stands in, and the
    /// thread's next turn goes back to the owner.
    pub(crate) fn learn_continuity(
        &self,
        request: &PoolRequest,
        account: AccountId,
        soft_owner: Option<AccountId>,
        headers: &http::HeaderMap,
        now: SystemTime,
    ) {
        let pool = request.ctx.pool;
        let owner = soft_owner
            .filter(|owner| {
                *owner != account
                    && self
                        .quota
                        .exhausted_until(*owner, now)
                        .is_none_or(|until| until <= now + crate::plan::SOFT_OWNER_GRACE)
            })
            .unwrap_or(account);
        self.continuity
            .remember_for(pool, &request.facts.continuity, owner, account, now);
        if let Some(state) = headers
            .get("x-codex-turn-state")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
        {
            self.continuity.learn_turn_state(pool, state, account, now);
        }
    }

    /// When `account` last answered successfully.
    #[cfg(test)]
    pub(crate) fn last_success(&self, account: AccountId) -> Option<SystemTime> {
        self.successes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account)
            .copied()
    }

    /// When each of `accounts` last answered successfully, in the same order, read under one
    /// lock.
    pub(crate) fn last_successes(&self, accounts: &[AccountId]) -> Vec<Option<SystemTime>> {
        let successes = self.successes.read().unwrap_or_else(|p| p.into_inner());
        if successes.is_empty() {
            return vec![None; accounts.len()];
        }
        accounts
            .iter()
            .map(|id| successes.get(id).copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;
    use crate::clock::from_unix_seconds;

    #[test]
    fn last_successes_answer_in_order() {
        let live = LiveState::new();
        assert_eq!(live.last_successes(&[AccountId(1)]), [None]);
        live.record_success(AccountId(2), from_unix_seconds(5));
        assert_eq!(
            live.last_successes(&[AccountId(1), AccountId(2)]),
            [None, Some(from_unix_seconds(5))]
        );
    }

    #[test]
    fn pool_runway_from_observed_spend() {
        use crate::model::{Lifecycle, PoolStatus};
        use crate::quota::{Outlook, WindowSlot};
        let live = LiveState::new();
        let t0 = from_unix_seconds(1_000_000);
        let window = |used_percent, at: SystemTime, minutes, reset: i64| QuotaWindow {
            slot: WindowSlot::Primary,
            used_percent,
            window_minutes: Some(minutes),
            resets_at: Some(from_unix_seconds(reset)),
            observed_at: at,
        };
        let half_hour = std::time::Duration::from_secs(1800);
        for id in [1, 2] {
            for (used, at) in [(10.0, t0), (20.0, t0 + half_hour)] {
                live.observe_windows(
                    AccountId(id),
                    EvidenceSource::StreamEvent,
                    &[
                        window(used, at, 300, 1_100_000),
                        window(5.0, at, 10_080, 1_500_000),
                    ],
                    at,
                );
            }
        }
        let pool = Pool {
            id: PoolId(1),
            slug: "team".into(),
            status: PoolStatus::Active,
            strategy: None,
            v1_enabled: true,
            waits: Default::default(),
        };
        let accounts: Vec<Arc<UpstreamAccount>> = [
            (1, Lifecycle::Active),
            (2, Lifecycle::Active),
            (3, Lifecycle::Active),
            (4, Lifecycle::Paused),
        ]
        .into_iter()
        .map(|(id, l)| Arc::new(UpstreamAccount::new(AccountId(id), "a").with_lifecycle(l)))
        .collect();
        let now = t0 + half_hour;
        let runway = live.pool_runway(&pool, &accounts, now);
        assert_eq!(runway.slug, "team");
        let windows: Vec<&str> = runway.windows.iter().map(|w| w.window).collect();
        assert_eq!(windows, ["short", "weekly"]);
        let short = &runway.windows[0];
        // Two accounts with readings (the paused one is left out, the third has none), each
        // 10 points in half an hour: 40 points an hour, 160 left: dry in 4 hours, before the
        // window resets (at 1 100 000, 27 h later).
        assert_eq!((short.accounts, short.accounts_without_evidence), (2, 1));
        assert_eq!(short.spend_points_per_hour, Some(40.0));
        assert_eq!(short.headroom_points, 160.0);
        assert_eq!(short.outlook, Outlook::RunsDry);
        assert_eq!(short.time_to_dry_seconds, Some(4 * 3600));
        // The weekly window saw no spend.
        assert_eq!(runway.windows[1].outlook, Outlook::Idle);
        // Two idle hours later the readings are stale but their resets ahead: still counted,
        // nothing spent in the last hour.
        let later = live.pool_runway(&pool, &accounts, now + 4 * half_hour);
        let short = &later.windows[0];
        assert_eq!((short.accounts, short.headroom_points), (2, 160.0));
        assert_eq!(
            (short.spend_points_per_hour, short.outlook),
            (Some(0.0), Outlook::Idle)
        );
    }

    #[test]
    fn the_account_hasher_spreads_sequential_ids() {
        let build = BuildHasherDefault::<AccountIdHasher>::default();
        let hashes: Vec<u64> = (0..64).map(|i| build.hash_one(AccountId(i))).collect();
        // hashbrown takes the top 7 bits as a tag and the low bits as the bucket.
        let tags: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        let buckets: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 63).collect();
        assert!(tags.len() > 30, "{}", tags.len());
        assert!(buckets.len() > 30, "{}", buckets.len());
    }
}
