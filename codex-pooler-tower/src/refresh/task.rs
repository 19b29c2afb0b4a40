//! One refresh of one account, in the order that keeps the store the only source of truth.
//!
//! 1. Tokens a previous refresh got but could not store are stored first; upstream is not asked
//!    again while they wait (asking would rotate the lineage once more, unstored).
//! 2. The stored tokens are read. A stored access token other than the one held, and still
//!    fresh, was written by another replica (or an operator): it is adopted, no call is made.
//! 3. The stored refresh token is sent (never one only held in memory).
//! 4. On success the new tokens are sealed and written with `replace_secrets`, and only after
//!    that write succeeded is the new access token handed out. If the write fails, the tokens
//!    wait in memory (step 1 next time) and the old access token stays in use while valid.
//! 5. A permanent rejection marks the account `reauth_required`; a transient failure backs off
//!    and, once the held token has expired, marks it `refresh_failed`.

use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::model::{Lifecycle, UpstreamAccount};
use codex_pooler_core::store::SecretKind;
use rand::Rng as _;

use super::policy::{Freshness, HeldToken};
use super::slot::{Fingerprint, Slot, fingerprint};
use super::source::Shared;
use super::{RefreshError, RefreshReason, TokenGrant};
use crate::metrics::RefreshOutcome;
use crate::upstream::{AccessToken, CredentialError};

/// Runs refresh `id` of `account` and marks it finished.
pub(crate) async fn run(
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    account: UpstreamAccount,
    reason: RefreshReason,
    held: AccessToken,
    id: u64,
) -> Result<AccessToken, CredentialError> {
    let result = refresh(&shared, &slot, &account, reason, &held).await;
    slot.lock().finish(id);
    if let Some(metrics) = &shared.metrics {
        metrics.count_refresh(match &result {
            Ok(_) => RefreshOutcome::Success,
            Err(CredentialError::ReauthRequired(_)) => RefreshOutcome::ReauthRequired,
            Err(CredentialError::NotStored(_)) => RefreshOutcome::NotStored,
            Err(CredentialError::RefreshFailed(_) | CredentialError::Missing(_)) => {
                RefreshOutcome::Failed
            }
        });
    }
    result
}

async fn refresh(
    shared: &Shared,
    slot: &Slot,
    account: &UpstreamAccount,
    reason: RefreshReason,
    held: &AccessToken,
) -> Result<AccessToken, CredentialError> {
    let pending = slot.lock().pending.clone();
    if let Some(grant) = pending {
        return persist(shared, slot, account, grant).await;
    }

    let stored = match shared.load(account).await {
        Ok(stored) => stored,
        Err(err) => {
            tracing::warn!(account = %account.id, error = %err, "cannot read stored tokens");
            return Err(transient(shared, slot, account, "store").await);
        }
    };
    let now = shared.clock.now();
    if let Some(token) = stored.access.filter(|t| t != held) {
        let candidate = HeldToken::observed(token.clone(), now);
        if candidate.freshness(&shared.policy, now) == Freshness::Fresh {
            tracing::debug!(account = %account.id, "adopting a token refreshed elsewhere");
            slot.lock().install_stored(candidate);
            shared.set_lifecycle(account, Lifecycle::Active).await;
            return Ok(token);
        }
    }
    let Some(refresh_token) = stored.refresh else {
        tracing::warn!(account = %account.id, "no refresh token stored");
        return Err(permanent(shared, slot, account, None, "no_refresh_token").await);
    };
    let print = fingerprint(&refresh_token);
    if slot.lock().dead == Some(print) {
        return Err(CredentialError::ReauthRequired(account.id));
    }

    match shared.endpoint.refresh(&refresh_token, reason).await {
        Ok(grant) => {
            // From here until the write succeeds these tokens exist only in memory: they are
            // kept for the write (and its retries), never handed out.
            slot.lock().pending = Some(grant.clone());
            persist(shared, slot, account, grant).await
        }
        Err(err) if err.is_reuse() => {
            if let Some(token) = written_elsewhere(shared, slot, account, print).await {
                return Ok(token);
            }
            Err(permanent(shared, slot, account, Some(print), err.label()).await)
        }
        Err(err) if err.is_permanent() => {
            Err(permanent(shared, slot, account, Some(print), err.label()).await)
        }
        Err(err) => {
            log_transient(account, &err);
            Err(transient(shared, slot, account, err.label()).await)
        }
    }
}

/// Seals and stores `grant`; only then installs its access token.
async fn persist(
    shared: &Shared,
    slot: &Slot,
    account: &UpstreamAccount,
    grant: TokenGrant,
) -> Result<AccessToken, CredentialError> {
    let mut sealed = vec![shared.seal(account, SecretKind::AccessToken, &grant.access_token)];
    if let Some(refresh) = &grant.refresh_token {
        sealed.push(shared.seal(account, SecretKind::RefreshToken, refresh));
    }
    if let Some(id) = &grant.id_token {
        sealed.push(shared.seal(account, SecretKind::IdToken, id));
    }
    match shared.store.replace_secrets(account.id, sealed).await {
        Ok(()) => {
            let token = AccessToken::new(grant.access_token.expose());
            slot.lock()
                .install_refreshed(token.clone(), shared.clock.now());
            tracing::info!(account = %account.id, "upstream access token refreshed");
            shared.set_lifecycle(account, Lifecycle::Active).await;
            Ok(token)
        }
        Err(err) => {
            tracing::error!(account = %account.id, error = %err,
                "refreshed tokens could not be stored; they stay unused until a retry stores them");
            transient(shared, slot, account, "store_write").await;
            Err(CredentialError::NotStored(account.id))
        }
    }
}

/// After `refresh_token_reused`: looks in the store for a rotated lineage another replica may be
/// writing right now, for up to [`RefreshPolicy::reuse_grace`](super::RefreshPolicy).
async fn written_elsewhere(
    shared: &Shared,
    slot: &Slot,
    account: &UpstreamAccount,
    sent: Fingerprint,
) -> Option<AccessToken> {
    let step = Duration::from_millis(250);
    let mut waited = Duration::ZERO;
    loop {
        if let Ok(stored) = shared.load(account).await
            && let (Some(access), Some(refresh)) = (stored.access, stored.refresh)
            && fingerprint(&refresh) != sent
        {
            tracing::info!(account = %account.id,
                "refresh token was rotated by another writer; adopting its tokens");
            let now = shared.clock.now();
            slot.lock()
                .install_stored(HeldToken::observed(access.clone(), now));
            return Some(access);
        }
        if waited >= shared.policy.reuse_grace {
            return None;
        }
        tokio::time::sleep(step).await;
        waited += step;
    }
}

/// Records a dead lineage and marks the account `reauth_required`.
async fn permanent(
    shared: &Shared,
    slot: &Slot,
    account: &UpstreamAccount,
    print: Option<Fingerprint>,
    code: &str,
) -> CredentialError {
    {
        let mut st = slot.lock();
        st.dead = print.or(Some([0; 32]));
        st.pending = None;
    }
    tracing::warn!(account = %account.id, code,
        "refresh token rejected for good; the account needs `codex-pooler upstreams login`");
    shared
        .set_lifecycle(account, Lifecycle::ReauthRequired)
        .await;
    CredentialError::ReauthRequired(account.id)
}

/// Records a transient failure: backoff, and `refresh_failed` once the held token has expired.
async fn transient(
    shared: &Shared,
    slot: &Slot,
    account: &UpstreamAccount,
    label: &str,
) -> CredentialError {
    let now = shared.clock.now();
    let (failures, delay, expired) = {
        let mut st = slot.lock();
        st.failures = st.failures.saturating_add(1);
        let delay = jitter(shared.policy.retry_delay(st.failures));
        st.retry_at = Some(now + delay);
        let expired = st
            .current
            .as_ref()
            .is_none_or(|h| h.freshness(&shared.policy, now) == Freshness::Expired);
        (st.failures, delay, expired)
    };
    tracing::debug!(account = %account.id, reason = label, failures,
        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "token refresh backing off");
    if expired {
        shared
            .set_lifecycle(account, Lifecycle::RefreshFailed)
            .await;
    }
    CredentialError::RefreshFailed(account.id)
}

fn log_transient(account: &UpstreamAccount, err: &RefreshError) {
    tracing::warn!(account = %account.id, reason = err.label(), error = %err,
        "token refresh failed; will retry");
}

/// ±20% jitter, so replicas and accounts do not retry in step.
fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(rand::thread_rng().gen_range(0.8..1.2))
}
