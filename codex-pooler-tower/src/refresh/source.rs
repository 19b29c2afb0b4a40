//! [`RefreshingCredentials`]: a [`CredentialSource`] that keeps access tokens fresh itself.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use codex_pooler_core::clock::{Clock, SystemClock};
use codex_pooler_core::model::{AccountId, Lifecycle, UpstreamAccount};
use codex_pooler_core::store::{PoolStore, SealedSecret, SecretKind, StoreError};
use futures_util::FutureExt as _;

use super::policy::{Freshness, HeldToken, RefreshPolicy};
use super::slot::{RefreshFuture, Slot, SlotState};
use super::{RefreshReason, TokenEndpoint, task};
use crate::credentials::{SecretSealer, SecretString};
use crate::metrics::GatewayMetrics;
use crate::upstream::{AccessToken, CredentialError, CredentialSource};

/// A credential source that refreshes each account's access token before it expires, and once
/// after an upstream 401, over a base source that mirrors the store (the
/// [`ConfigSync`](crate::ConfigSync) credentials).
///
/// See the [module documentation](super) for the rules, the order of writes and what replicas
/// do. Cheap to clone (all clones share their state).
#[derive(Clone)]
pub struct RefreshingCredentials {
    pub(crate) shared: Arc<Shared>,
}

/// Everything the refresher and its tasks share.
pub(crate) struct Shared {
    pub(crate) base: Arc<dyn CredentialSource>,
    pub(crate) store: Arc<dyn PoolStore>,
    pub(crate) sealer: Arc<SecretSealer>,
    pub(crate) endpoint: Arc<dyn TokenEndpoint>,
    pub(crate) policy: RefreshPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    /// Counts refresh outcomes, if set.
    pub(crate) metrics: Option<Arc<GatewayMetrics>>,
    slots: Mutex<HashMap<AccountId, Arc<Slot>>>,
}

impl fmt::Debug for RefreshingCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingCredentials")
            .field("endpoint", &self.shared.endpoint)
            .field("policy", &self.shared.policy)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RefreshingCredentials`].
#[derive(Debug)]
pub struct RefreshingCredentialsBuilder {
    base: Arc<dyn CredentialSource>,
    store: Arc<dyn PoolStore>,
    sealer: Arc<SecretSealer>,
    endpoint: Arc<dyn TokenEndpoint>,
    policy: RefreshPolicy,
    clock: Arc<dyn Clock>,
    metrics: Option<Arc<GatewayMetrics>>,
}

impl RefreshingCredentialsBuilder {
    /// The refresh rules (default: [`RefreshPolicy::default`]).
    #[must_use]
    pub fn policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The clock token expiry is compared with (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Counts each refresh's outcome in `metrics` (default: not counted).
    #[must_use]
    pub fn metrics(mut self, metrics: Arc<GatewayMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Builds the source.
    pub fn build(self) -> RefreshingCredentials {
        RefreshingCredentials {
            shared: Arc::new(Shared {
                base: self.base,
                store: self.store,
                sealer: self.sealer,
                endpoint: self.endpoint,
                policy: self.policy,
                clock: self.clock,
                metrics: self.metrics,
                slots: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl RefreshingCredentials {
    /// A builder over `base` (the tokens as last read from `store`), sealing refreshed tokens
    /// with `sealer` and refreshing at `endpoint`.
    pub fn builder(
        base: Arc<dyn CredentialSource>,
        store: Arc<dyn PoolStore>,
        sealer: Arc<SecretSealer>,
        endpoint: Arc<dyn TokenEndpoint>,
    ) -> RefreshingCredentialsBuilder {
        RefreshingCredentialsBuilder {
            base,
            store,
            sealer,
            endpoint,
            policy: RefreshPolicy::default(),
            clock: Arc::new(SystemClock),
            metrics: None,
        }
    }

    /// The rules in use.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.shared.policy
    }

    /// Refreshes `account` now (or joins the refresh in flight), whatever its token's expiry.
    pub async fn refresh_now(
        &self,
        account: &UpstreamAccount,
        reason: RefreshReason,
    ) -> Result<AccessToken, CredentialError> {
        let base = self.base_token(account).await;
        let now = self.shared.clock.now();
        let slot = self.slot(account.id);
        let future = {
            let mut st = slot.lock();
            let held = st
                .reconcile(base.as_ref(), now)
                .map(|h| h.token.clone())
                .ok_or(CredentialError::Missing(account.id))?;
            self.start(&slot, &mut st, account, reason, held)
        };
        future.await
    }

    /// Waits, at most `limit`, for the refreshes in flight to finish (call it on shutdown: a
    /// refresh cut between the token answer and the store write costs the account a login).
    pub async fn settle(&self, limit: Duration) {
        let running: Vec<RefreshFuture> = self
            .shared
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter_map(|slot| slot.lock().inflight())
            .collect();
        let _ = tokio::time::timeout(limit, futures_util::future::join_all(running)).await;
    }

    /// The account's slot, created on first use.
    pub(crate) fn slot(&self, account: AccountId) -> Arc<Slot> {
        let mut slots = self.shared.slots.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slots.entry(account).or_default())
    }

    /// Drops the slots of accounts that no longer exist.
    pub(crate) fn retain_slots(&self, keep: impl Fn(AccountId) -> bool) {
        self.shared
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|id, _| keep(*id));
    }

    /// The base source's token, if it has one.
    pub(crate) async fn base_token(&self, account: &UpstreamAccount) -> Option<AccessToken> {
        self.shared.base.access_token(account).await.ok()
    }

    /// Starts a refresh of `account` in its own task (or joins the one in flight).
    ///
    /// The refresh runs in a spawned task so a caller going away (a client disconnecting) can
    /// never cancel it between the token answer and the store write.
    pub(crate) fn start(
        &self,
        slot: &Arc<Slot>,
        st: &mut SlotState,
        account: &UpstreamAccount,
        reason: RefreshReason,
        held: AccessToken,
    ) -> RefreshFuture {
        st.begin(|id| {
            let handle = tokio::spawn(task::run(
                Arc::clone(&self.shared),
                Arc::clone(slot),
                account.clone(),
                reason,
                held,
                id,
            ));
            let account = account.id;
            async move {
                handle
                    .await
                    .unwrap_or(Err(CredentialError::RefreshFailed(account)))
            }
            .boxed()
            .shared()
        })
    }
}

impl Shared {
    /// Seals a token for `account`.
    pub(crate) fn seal(
        &self,
        account: &UpstreamAccount,
        kind: SecretKind,
        token: &SecretString,
    ) -> SealedSecret {
        self.sealer
            .seal(&account.chatgpt_account_id, kind, token.expose().as_bytes())
    }

    /// Reads and opens the stored access and refresh tokens.
    pub(crate) async fn load(&self, account: &UpstreamAccount) -> Result<Stored, StoreError> {
        let secrets = self.store.secrets(account.id).await?;
        let open = |kind: SecretKind| {
            let sealed = secrets.iter().find(|s| s.kind == kind)?;
            match self.sealer.open(&account.chatgpt_account_id, sealed) {
                Ok(token) => Some(token),
                Err(err) => {
                    tracing::warn!(account = %account.id, kind = kind.as_str(), error = %err,
                        "cannot open stored secret");
                    None
                }
            }
        };
        Ok(Stored {
            access: open(SecretKind::AccessToken).map(|t| AccessToken::new(t.expose())),
            refresh: open(SecretKind::RefreshToken),
        })
    }

    /// Writes `to` as the account's lifecycle when moving `from` its snapshot state is allowed;
    /// failures are logged (the next refresh decides again).
    pub(crate) async fn set_lifecycle(&self, account: &UpstreamAccount, to: Lifecycle) {
        let from = account.lifecycle;
        let allowed = match to {
            Lifecycle::Active => matches!(
                from,
                Lifecycle::RefreshFailed | Lifecycle::RefreshDue | Lifecycle::Refreshing
            ),
            Lifecycle::RefreshFailed => from.is_routable(),
            Lifecycle::ReauthRequired => !matches!(
                from,
                Lifecycle::ReauthRequired | Lifecycle::Paused | Lifecycle::Disabled
            ),
            _ => false,
        };
        if !allowed {
            return;
        }
        match self.store.set_account_lifecycle(account.id, to).await {
            Ok(()) => tracing::info!(account = %account.id, from = from.as_str(), to = to.as_str(),
                "upstream account lifecycle changed"),
            Err(err) => tracing::warn!(account = %account.id, to = to.as_str(), error = %err,
                "cannot record upstream account lifecycle"),
        }
    }
}

/// The stored tokens of one account, opened.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) access: Option<AccessToken>,
    pub(crate) refresh: Option<SecretString>,
}

#[async_trait]
impl CredentialSource for RefreshingCredentials {
    /// The account's newest token. A fresh one is returned at once (no store call). A token due
    /// for a refresh triggers one (single-flight per account): while the old token is still valid
    /// the caller waits at most [`RefreshPolicy::wait_budget`] and otherwise goes ahead with it;
    /// an expired token is only replaced by a refreshed one, or the call fails (the dispatcher
    /// then tries the next account).
    async fn access_token(
        &self,
        account: &UpstreamAccount,
    ) -> Result<AccessToken, CredentialError> {
        let base = self.base_token(account).await;
        let policy = &self.shared.policy;
        let now = self.shared.clock.now();
        let slot = self.slot(account.id);
        let (held, expired, future) = {
            let mut st = slot.lock();
            let held = st
                .reconcile(base.as_ref(), now)
                .cloned()
                .ok_or(CredentialError::Missing(account.id))?;
            let freshness = held.freshness(policy, now);
            let expired = freshness == Freshness::Expired;
            let quiet = st.pending.is_none();
            if freshness == Freshness::Fresh && quiet {
                return Ok(held.token);
            }
            let future = match st.inflight() {
                Some(running) => running,
                None if st.dead.is_some() && quiet => {
                    return usable(held, expired, CredentialError::ReauthRequired(account.id));
                }
                None if st.backing_off(now) => {
                    return usable(held, expired, CredentialError::RefreshFailed(account.id));
                }
                None if !expired && quiet && held.just_refreshed(policy, now) => {
                    return Ok(held.token);
                }
                None => self.start(
                    &slot,
                    &mut st,
                    account,
                    RefreshReason::ProactiveExpiry,
                    held.token.clone(),
                ),
            };
            (held, expired, future)
        };
        if expired {
            return future.await;
        }
        match tokio::time::timeout(policy.wait_budget, future).await {
            Ok(Ok(token)) => Ok(token),
            // Still valid: serve with it; the refresh (or its retry) goes on without us.
            _ => Ok(held.token),
        }
    }

    /// One refresh after upstream refused `rejected` with a 401 (single-flight with every other
    /// refresh of the account). `Some` is the token to retry with; `None` means no retry makes
    /// sense (the rejected token was itself refreshed moments ago); an error means the account
    /// has no usable token now (the dispatcher fails over).
    async fn refresh_after_unauthorized(
        &self,
        account: &UpstreamAccount,
        rejected: &AccessToken,
    ) -> Result<Option<AccessToken>, CredentialError> {
        let base = self.base_token(account).await;
        let policy = &self.shared.policy;
        let now = self.shared.clock.now();
        let slot = self.slot(account.id);
        let future = {
            let mut st = slot.lock();
            let Some(held) = st.reconcile(base.as_ref(), now).cloned() else {
                return Ok(None);
            };
            if held.token != *rejected {
                // Someone refreshed (or the store changed) since this attempt took its token.
                return Ok(Some(held.token));
            }
            let quiet = st.pending.is_none();
            match st.inflight() {
                Some(running) => running,
                None if st.dead.is_some() && quiet => {
                    return Err(CredentialError::ReauthRequired(account.id));
                }
                None if st.backing_off(now) => {
                    return Err(CredentialError::RefreshFailed(account.id));
                }
                None if quiet && held.just_refreshed(policy, now) => return Ok(None),
                None => self.start(
                    &slot,
                    &mut st,
                    account,
                    RefreshReason::UnauthorizedRecovery,
                    held.token,
                ),
            }
        };
        let token = future.await?;
        Ok((token != *rejected).then_some(token))
    }
}

/// The held token while it is still valid, else `err`.
fn usable(
    held: HeldToken,
    expired: bool,
    err: CredentialError,
) -> Result<AccessToken, CredentialError> {
    if expired { Err(err) } else { Ok(held.token) }
}
