//! One account's refresh state: the newest token known, the refresh in flight, failures and
//! tokens waiting to be stored.

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use futures_util::future::{BoxFuture, Shared};
use sha2::{Digest, Sha256};

use super::TokenGrant;
use super::policy::{HeldToken, is_newer};
use crate::credentials::SecretString;
use crate::upstream::{AccessToken, CredentialError};

/// The result every waiter of one refresh gets.
pub(crate) type RefreshFuture = Shared<BoxFuture<'static, Result<AccessToken, CredentialError>>>;

/// A SHA-256 of a refresh token: lets the slot remember a dead token without keeping it.
pub(crate) type Fingerprint = [u8; 32];

/// The fingerprint of a refresh token.
pub(crate) fn fingerprint(refresh_token: &SecretString) -> Fingerprint {
    Sha256::digest(refresh_token.expose().as_bytes()).into()
}

/// One account's state, behind a short-held lock (never held across an await).
#[derive(Debug, Default)]
pub(crate) struct Slot {
    state: Mutex<SlotState>,
}

impl Slot {
    /// Locks the state.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the refresher knows about one account.
#[derive(Default)]
pub(crate) struct SlotState {
    /// The token the base source (the configuration reload) last gave.
    base_seen: Option<AccessToken>,
    /// The newest token known: handed to requests.
    pub(crate) current: Option<HeldToken>,
    /// The refresh in flight, with its id.
    inflight: Option<(u64, RefreshFuture)>,
    /// Ids for refreshes.
    next_id: u64,
    /// Consecutive failed refreshes.
    pub(crate) failures: u32,
    /// No new refresh before this time (after a failure).
    pub(crate) retry_at: Option<SystemTime>,
    /// The refresh token upstream rejected for good, if it did.
    pub(crate) dead: Option<Fingerprint>,
    /// Tokens upstream issued that could not be stored yet: they are stored before anything
    /// else is tried, and never used before.
    pub(crate) pending: Option<TokenGrant>,
}

impl fmt::Debug for SlotState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotState")
            .field("current", &self.current)
            .field("refreshing", &self.inflight.is_some())
            .field("failures", &self.failures)
            .field("retry_at", &self.retry_at)
            .field("dead", &self.dead.is_some())
            .field("pending", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl SlotState {
    /// Merges the base source's token into what the slot knows, and returns the newest token.
    ///
    /// The base is the configuration reload's copy of the store. It can lag behind a refresh
    /// this process just stored (a reload that read the store before the write lands after it),
    /// so it only replaces the current token when it changed since last seen *and* is not older
    /// (by `exp`). A changed, newer base is news from elsewhere (another replica refreshed, an
    /// operator logged the account in again): it resets the failure state.
    pub(crate) fn reconcile(
        &mut self,
        base: Option<&AccessToken>,
        now: SystemTime,
    ) -> Option<&HeldToken> {
        if let Some(base) = base {
            let changed = self.base_seen.as_ref() != Some(base);
            let adopt = match &self.current {
                None => true,
                Some(current) if current.token == *base => false,
                Some(current) => {
                    changed && is_newer(&HeldToken::observed(base.clone(), now), current)
                }
            };
            if adopt {
                let fresh_news = self.current.is_some();
                self.current = Some(HeldToken::observed(base.clone(), now));
                if fresh_news {
                    self.clear_failures();
                    self.dead = None;
                    self.pending = None;
                }
            }
            if changed {
                self.base_seen = Some(base.clone());
            }
        }
        self.current.as_ref()
    }

    /// Installs a token this process refreshed (and stored).
    pub(crate) fn install_refreshed(&mut self, token: AccessToken, now: SystemTime) {
        self.current = Some(HeldToken::refreshed(token, now));
        self.pending = None;
        self.dead = None;
        self.clear_failures();
    }

    /// Installs a token another writer stored (found in the store before refreshing).
    pub(crate) fn install_stored(&mut self, token: HeldToken) {
        self.current = Some(token);
        self.clear_failures();
    }

    /// Forgets failures and backoff.
    pub(crate) fn clear_failures(&mut self) {
        self.failures = 0;
        self.retry_at = None;
    }

    /// Whether a new refresh must wait (backoff after a failure).
    pub(crate) fn backing_off(&self, now: SystemTime) -> bool {
        self.retry_at.is_some_and(|at| now < at)
    }

    /// The refresh in flight, if any.
    pub(crate) fn inflight(&self) -> Option<RefreshFuture> {
        self.inflight.as_ref().map(|(_, f)| f.clone())
    }

    /// Registers a new refresh and returns its id.
    pub(crate) fn begin(&mut self, future: impl FnOnce(u64) -> RefreshFuture) -> RefreshFuture {
        if let Some(running) = self.inflight() {
            return running;
        }
        self.next_id += 1;
        let id = self.next_id;
        let future = future(id);
        self.inflight = Some((id, future.clone()));
        future
    }

    /// Marks refresh `id` finished.
    pub(crate) fn finish(&mut self, id: u64) {
        if self
            .inflight
            .as_ref()
            .is_some_and(|(running, _)| *running == id)
        {
            self.inflight = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::testing::fake_jwt;

    fn jwt(exp: u64) -> AccessToken {
        AccessToken::new(fake_jwt(&serde_json::json!({ "exp": exp, "n": exp })))
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_stale_reload_does_not_clobber_a_refreshed_token() {
        let mut slot = SlotState::default();
        let t0 = jwt(1_000);
        assert_eq!(
            slot.reconcile(Some(&t0), at(0)).map(|h| &h.token),
            Some(&t0)
        );
        let t1 = jwt(2_000);
        slot.install_refreshed(t1.clone(), at(10));
        // A reload that read the store before the write still hands out t0.
        assert_eq!(
            slot.reconcile(Some(&t0), at(11)).map(|h| &h.token),
            Some(&t1)
        );
        // The reload after the write agrees.
        assert_eq!(
            slot.reconcile(Some(&t1), at(12)).map(|h| &h.token),
            Some(&t1)
        );
        // Refreshed twice before any reload: a reload carrying the middle token is older.
        let t2 = jwt(3_000);
        slot.install_refreshed(t2.clone(), at(13));
        let mut other = SlotState::default();
        other.reconcile(Some(&t0), at(0));
        other.install_refreshed(t2.clone(), at(13));
        assert_eq!(
            other.reconcile(Some(&t1), at(14)).map(|h| &h.token),
            Some(&t2)
        );
    }

    #[test]
    fn a_newer_token_from_elsewhere_wins_and_clears_failures() {
        let mut slot = SlotState::default();
        slot.reconcile(Some(&jwt(1_000)), at(0));
        slot.failures = 3;
        slot.retry_at = Some(at(100));
        slot.dead = Some([1; 32]);
        let relinked = jwt(9_000);
        assert_eq!(
            slot.reconcile(Some(&relinked), at(1)).map(|h| &h.token),
            Some(&relinked)
        );
        assert_eq!(slot.failures, 0);
        assert!(slot.retry_at.is_none() && slot.dead.is_none());
    }

    #[test]
    fn without_base_the_refreshed_token_is_kept() {
        let mut slot = SlotState::default();
        assert!(slot.reconcile(None, at(0)).is_none());
        slot.install_refreshed(jwt(5), at(0));
        assert!(slot.reconcile(None, at(1)).is_some());
    }
}
