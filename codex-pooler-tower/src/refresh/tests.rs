//! The refresh matrix over an in-memory store and a rotating fake token endpoint.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use codex_pooler_core::clock::{Clock as _, ManualClock, unix_seconds};
use codex_pooler_core::model::Snapshot;
use codex_pooler_core::model::{Lifecycle, UpstreamAccount};
use codex_pooler_core::store::{NewAccount, PoolStore, SecretKind};
use futures_util::future::join_all;

use super::testing::FlakyStore;
use super::*;
use crate::credentials::{SealingKey, SecretSealer, SecretString};
use crate::testing::fake_jwt;
use crate::upstream::{AccessToken, CredentialError, CredentialSource, StaticCredentials};

const NOW: u64 = 1_800_000_000;

/// A token endpoint that rotates like OpenAI's: each refresh token works once.
#[derive(Debug)]
struct Rotating {
    clock: Arc<ManualClock>,
    state: Mutex<RotatingState>,
}

#[derive(Debug, Default)]
struct RotatingState {
    live: HashSet<String>,
    used: HashSet<String>,
    calls: Vec<RefreshReason>,
    failure: Option<RefreshError>,
    delay: Duration,
    issued: u64,
}

impl Rotating {
    fn new(clock: Arc<ManualClock>, first: &str) -> Arc<Self> {
        let state = RotatingState {
            live: HashSet::from([first.to_owned()]),
            ..RotatingState::default()
        };
        Arc::new(Self {
            clock,
            state: Mutex::new(state),
        })
    }

    fn calls(&self) -> Vec<RefreshReason> {
        self.state.lock().unwrap().calls.clone()
    }

    fn fail_with(&self, failure: Option<RefreshError>) {
        self.state.lock().unwrap().failure = failure;
    }

    fn delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Rotates `refresh_token` as if another replica had used it; returns the new one.
    fn rotate_elsewhere(&self, refresh_token: &str) -> String {
        let mut st = self.state.lock().unwrap();
        assert!(st.live.remove(refresh_token));
        st.used.insert(refresh_token.to_owned());
        st.issued += 1;
        let next = format!("rt-elsewhere-{}", st.issued);
        st.live.insert(next.clone());
        next
    }
}

#[async_trait]
impl TokenEndpoint for Rotating {
    async fn refresh(
        &self,
        refresh_token: &SecretString,
        reason: RefreshReason,
    ) -> Result<TokenGrant, RefreshError> {
        let delay = {
            let mut st = self.state.lock().unwrap();
            st.calls.push(reason);
            st.delay
        };
        tokio::time::sleep(delay).await;
        let mut st = self.state.lock().unwrap();
        if let Some(failure) = st.failure.clone() {
            return Err(failure);
        }
        let sent = refresh_token.expose().to_owned();
        if st.used.contains(&sent) {
            return Err(RefreshError::Rejected {
                code: "refresh_token_reused",
            });
        }
        if !st.live.remove(&sent) {
            return Err(RefreshError::Rejected {
                code: "invalid_grant",
            });
        }
        st.used.insert(sent);
        st.issued += 1;
        let n = st.issued;
        let next = format!("rt-{n}");
        st.live.insert(next.clone());
        let exp = unix_seconds(self.clock.now()) + 3600;
        Ok(TokenGrant {
            access_token: SecretString::new(jwt(exp, &format!("at-{n}")).expose().to_owned()),
            refresh_token: Some(SecretString::new(next)),
            id_token: Some(SecretString::new(fake_jwt(&serde_json::json!({"n": n})))),
        })
    }
}

fn jwt(exp: i64, id: &str) -> AccessToken {
    AccessToken::new(fake_jwt(&serde_json::json!({ "exp": exp, "jti": id })))
}

/// One account with an access token expiring `expires_in` seconds after `NOW`.
struct Setup {
    clock: Arc<ManualClock>,
    store: Arc<FlakyStore>,
    sealer: Arc<SecretSealer>,
    base: Arc<StaticCredentials>,
    endpoint: Arc<Rotating>,
    source: RefreshingCredentials,
    original: AccessToken,
}

impl Setup {
    async fn new(expires_in: i64) -> Self {
        let clock = Arc::new(ManualClock::at_unix(NOW));
        let store = Arc::new(FlakyStore::default());
        let sealer = Arc::new(SecretSealer::new(vec![SealingKey::generate(1)], 1).unwrap());
        let original = jwt(i64::try_from(NOW).unwrap() + expires_in, "at-0");
        let secrets = [
            (SecretKind::AccessToken, original.expose().to_owned()),
            (SecretKind::RefreshToken, "rt-0".to_owned()),
            (SecretKind::IdToken, fake_jwt(&serde_json::json!({}))),
        ]
        .into_iter()
        .map(|(kind, token)| sealer.seal("acct-1", kind, token.as_bytes()))
        .collect();
        let account = store
            .create_account(NewAccount {
                label: "one".to_owned(),
                chatgpt_account_id: "acct-1".to_owned(),
                user_id: None,
                email: None,
                plan_type: None,
                base_url: None,
                models: vec!["gpt-5.1-codex".to_owned()],
                secrets,
            })
            .await
            .unwrap();
        let base = Arc::new(StaticCredentials::new());
        base.insert(account.id, original.clone());
        let endpoint = Rotating::new(Arc::clone(&clock), "rt-0");
        let source = Self::source_over(&clock, &store, &sealer, &base, &endpoint);
        store.hook().calls.store(0, Ordering::SeqCst);
        Self {
            clock,
            store,
            sealer,
            base,
            endpoint,
            source,
            original,
        }
    }

    fn source_over(
        clock: &Arc<ManualClock>,
        store: &Arc<FlakyStore>,
        sealer: &Arc<SecretSealer>,
        base: &Arc<StaticCredentials>,
        endpoint: &Arc<Rotating>,
    ) -> RefreshingCredentials {
        let policy = RefreshPolicy::default().with_reuse_grace(Duration::ZERO);
        RefreshingCredentials::builder(
            Arc::clone(base) as Arc<dyn CredentialSource>,
            Arc::clone(store) as Arc<dyn PoolStore>,
            Arc::clone(sealer),
            Arc::clone(endpoint) as Arc<dyn TokenEndpoint>,
        )
        .policy(policy)
        .clock(Arc::clone(clock) as Arc<dyn codex_pooler_core::clock::Clock>)
        .build()
    }

    /// The account as the snapshot holds it now.
    async fn account(&self) -> UpstreamAccount {
        self.store.load_state().await.unwrap().accounts.remove(0)
    }

    /// The stored (access, refresh) tokens.
    async fn stored(&self) -> (String, String) {
        let account = self.account().await;
        let secrets = self.store.inner().secrets(account.id).await.unwrap();
        let open = |kind| {
            let sealed = secrets.iter().find(|s| s.kind == kind).unwrap();
            self.sealer
                .open("acct-1", sealed)
                .unwrap()
                .expose()
                .to_owned()
        };
        (
            open(SecretKind::AccessToken),
            open(SecretKind::RefreshToken),
        )
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

#[tokio::test]
async fn a_fresh_token_is_served_without_refresh_or_store_call() {
    let s = Setup::new(3600).await;
    let account = s.account().await;
    for _ in 0..10 {
        assert_eq!(s.source.access_token(&account).await.unwrap(), s.original);
    }
    assert!(s.endpoint.calls().is_empty());
    assert_eq!(
        s.store.hook().calls.load(Ordering::SeqCst),
        0,
        "hot path stays off the store"
    );
}

#[tokio::test]
async fn a_token_expiring_soon_is_refreshed_and_stored_before_use() {
    let s = Setup::new(60).await;
    let account = s.account().await;
    let token = s.source.access_token(&account).await.unwrap();
    assert_ne!(token, s.original);
    assert_eq!(s.endpoint.calls(), [RefreshReason::ProactiveExpiry]);
    assert_eq!(
        s.stored().await,
        (token.expose().to_owned(), "rt-1".to_owned())
    );
    // The next call uses the new token without another refresh.
    assert_eq!(s.source.access_token(&account).await.unwrap(), token);
    assert_eq!(s.endpoint.calls().len(), 1);
    assert_eq!(s.account().await.lifecycle, Lifecycle::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_share_one_refresh() {
    let s = Setup::new(-10).await;
    s.endpoint.delay(Duration::from_millis(100));
    let account = s.account().await;
    let results = join_all((0..50).map(|_| s.source.access_token(&account))).await;
    let first = results[0].clone().unwrap();
    assert_ne!(first, s.original);
    assert!(results.iter().all(|r| r.as_ref() == Ok(&first)));
    assert_eq!(s.endpoint.calls().len(), 1);
}

#[tokio::test]
async fn unauthorized_recovery_refreshes_once_for_many_rejections() {
    let s = Setup::new(3600).await;
    let account = s.account().await;
    let rejected = s.source.access_token(&account).await.unwrap();
    let fresh = s
        .source
        .refresh_after_unauthorized(&account, &rejected)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(fresh, rejected);
    assert_eq!(s.endpoint.calls(), [RefreshReason::UnauthorizedRecovery]);
    // A request that had taken the old token learns the new one without a second refresh.
    let again = s
        .source
        .refresh_after_unauthorized(&account, &rejected)
        .await;
    assert_eq!(again, Ok(Some(fresh.clone())));
    // A 401 to the token refreshed moments ago is not a token problem: no retry.
    assert_eq!(
        s.source.refresh_after_unauthorized(&account, &fresh).await,
        Ok(None)
    );
    assert_eq!(s.endpoint.calls().len(), 1);
}

#[tokio::test]
async fn static_credentials_never_retry() {
    let base = StaticCredentials::new();
    let token = AccessToken::new("t");
    let s = Setup::new(3600).await;
    let account = s.account().await;
    base.insert(account.id, token.clone());
    assert_eq!(
        base.refresh_after_unauthorized(&account, &token).await,
        Ok(None)
    );
}

/// The crash window: upstream rotated the lineage, the store write failed.
#[tokio::test]
async fn new_tokens_are_not_used_until_stored() {
    let s = Setup::new(-10).await;
    let account = s.account().await;
    s.store.hook().fail_writes.store(1, Ordering::SeqCst);

    let err = s.source.access_token(&account).await.unwrap_err();
    assert_eq!(err, CredentialError::NotStored(account.id));
    assert_eq!(s.endpoint.calls().len(), 1, "upstream rotated the lineage");
    assert_eq!(
        s.stored().await,
        (s.original.expose().to_owned(), "rt-0".to_owned()),
        "the store still holds the old, consistent pair"
    );

    // Same process, later: the waiting tokens are stored first, upstream is not asked again.
    s.advance(60);
    let token = s.source.access_token(&account).await.unwrap();
    assert_ne!(token, s.original);
    assert_eq!(s.endpoint.calls().len(), 1);
    assert_eq!(
        s.stored().await,
        (token.expose().to_owned(), "rt-1".to_owned())
    );
}

/// The crash itself: the process dies holding the only copy of the rotated refresh token.
#[tokio::test]
async fn a_crash_before_the_write_ends_in_reauth_required() {
    let s = Setup::new(-10).await;
    let account = s.account().await;
    s.store.hook().fail_writes.store(1, Ordering::SeqCst);
    assert!(s.source.access_token(&account).await.is_err());

    // The process dies here, with the waiting tokens in its memory (`s.source` is not used
    // again). A new process over the same store only knows the consumed refresh token.
    let restarted = Setup::source_over(&s.clock, &s.store, &s.sealer, &s.base, &s.endpoint);
    let err = restarted.access_token(&account).await.unwrap_err();
    assert_eq!(err, CredentialError::ReauthRequired(account.id));
    assert_eq!(s.account().await.lifecycle, Lifecycle::ReauthRequired);
    assert_eq!(
        s.stored().await,
        (s.original.expose().to_owned(), "rt-0".to_owned())
    );
    // Dead stays dead without asking upstream again.
    let calls = s.endpoint.calls().len();
    assert!(restarted.access_token(&account).await.is_err());
    assert_eq!(s.endpoint.calls().len(), calls);
}

#[tokio::test]
async fn invalid_grant_marks_reauth_required() {
    let s = Setup::new(60).await;
    s.endpoint.fail_with(Some(RefreshError::Rejected {
        code: "invalid_grant",
    }));
    let account = s.account().await;
    // Still valid: served with the old token while the lineage is reported dead.
    assert_eq!(s.source.access_token(&account).await.unwrap(), s.original);
    assert_eq!(s.account().await.lifecycle, Lifecycle::ReauthRequired);
    assert!(!s.account().await.lifecycle.is_routable());
}

#[tokio::test]
async fn transient_failures_keep_a_valid_token_then_mark_refresh_failed_and_recover() {
    let s = Setup::new(60).await;
    s.endpoint.fail_with(Some(RefreshError::Status(503)));
    let account = s.account().await;
    assert_eq!(s.source.access_token(&account).await.unwrap(), s.original);
    assert_eq!(
        s.account().await.lifecycle,
        Lifecycle::Active,
        "still serving"
    );
    // Backing off: no call until the retry time.
    assert_eq!(s.source.access_token(&account).await.unwrap(), s.original);
    assert_eq!(s.endpoint.calls().len(), 1);

    // The token expires while the auth server is down.
    s.advance(120);
    let err = s.source.access_token(&s.account().await).await.unwrap_err();
    assert_eq!(err, CredentialError::RefreshFailed(account.id));
    assert_eq!(s.account().await.lifecycle, Lifecycle::RefreshFailed);

    // The server heals; the background pass retries after the backoff and recovers.
    s.endpoint.fail_with(None);
    s.advance(600);
    let snapshot = Snapshot::build(s.store.load_state().await.unwrap());
    s.source.maintain_once(&snapshot).await;
    assert_eq!(s.account().await.lifecycle, Lifecycle::Active);
    let token = s.source.access_token(&s.account().await).await.unwrap();
    assert_ne!(token, s.original);
    assert_eq!(s.stored().await.1, "rt-1");
}

#[tokio::test]
async fn the_background_pass_refreshes_idle_accounts() {
    let s = Setup::new(3600).await;
    let snapshot = Snapshot::build(s.store.load_state().await.unwrap());
    s.source.maintain_once(&snapshot).await;
    assert!(s.endpoint.calls().is_empty());
    s.advance(3400);
    s.source.maintain_once(&snapshot).await;
    assert_eq!(s.endpoint.calls(), [RefreshReason::ProactiveExpiry]);
    assert_eq!(s.stored().await.1, "rt-1");
}

#[tokio::test]
async fn a_token_another_replica_stored_is_adopted_without_a_call() {
    let s = Setup::new(60).await;
    let account = s.account().await;
    // Another replica refreshes and stores; this process's base has not reloaded yet.
    let rotated = s.endpoint.rotate_elsewhere("rt-0");
    let theirs = jwt(i64::try_from(NOW).unwrap() + 7200, "theirs");
    let sealed = vec![
        s.sealer.seal(
            "acct-1",
            SecretKind::AccessToken,
            theirs.expose().as_bytes(),
        ),
        s.sealer
            .seal("acct-1", SecretKind::RefreshToken, rotated.as_bytes()),
    ];
    s.store
        .inner()
        .replace_secrets(account.id, sealed)
        .await
        .unwrap();
    assert_eq!(s.source.access_token(&account).await.unwrap(), theirs);
    assert!(s.endpoint.calls().is_empty());
}

#[tokio::test]
async fn a_reuse_race_lost_to_another_replica_adopts_its_tokens() {
    let s = Setup::new(60).await;
    let account = s.account().await;
    // The other replica consumed rt-0 but stores its result only after our call failed.
    let rotated = s.endpoint.rotate_elsewhere("rt-0");
    let theirs = jwt(i64::try_from(NOW).unwrap() + 7200, "theirs");
    let store = Arc::clone(&s.store);
    let sealer = Arc::clone(&s.sealer);
    let writer = {
        let theirs = theirs.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let sealed = vec![
                sealer.seal(
                    "acct-1",
                    SecretKind::AccessToken,
                    theirs.expose().as_bytes(),
                ),
                sealer.seal("acct-1", SecretKind::RefreshToken, rotated.as_bytes()),
            ];
            store
                .inner()
                .replace_secrets(account.id, sealed)
                .await
                .unwrap();
        })
    };
    let source = RefreshingCredentials::builder(
        Arc::clone(&s.base) as Arc<dyn CredentialSource>,
        Arc::clone(&s.store) as Arc<dyn PoolStore>,
        Arc::clone(&s.sealer),
        Arc::clone(&s.endpoint) as Arc<dyn TokenEndpoint>,
    )
    .policy(RefreshPolicy::default().with_reuse_grace(Duration::from_secs(2)))
    .clock(Arc::clone(&s.clock) as Arc<dyn codex_pooler_core::clock::Clock>)
    .build();
    let account = s.account().await;
    assert_eq!(source.access_token(&account).await.unwrap(), theirs);
    writer.await.unwrap();
    assert_eq!(s.account().await.lifecycle, Lifecycle::Active);
}

#[tokio::test]
async fn a_stale_reload_does_not_bring_back_the_old_token() {
    let s = Setup::new(60).await;
    let account = s.account().await;
    let token = s.source.access_token(&account).await.unwrap();
    // The reload that read the store before the write re-installs the old token.
    s.base.insert(account.id, s.original.clone());
    assert_eq!(s.source.access_token(&account).await.unwrap(), token);
    // A relink (newer token from elsewhere) wins.
    let relinked = jwt(i64::try_from(NOW).unwrap() + 90_000, "relinked");
    s.base.insert(account.id, relinked.clone());
    assert_eq!(s.source.access_token(&account).await.unwrap(), relinked);
}

#[test]
fn refresh_body_is_the_codex_cli_one() {
    let body = super::endpoint::refresh_body(
        CODEX_CLIENT_ID,
        &SecretString::new("rt_FAKE".to_owned()),
        RefreshReason::ProactiveExpiry,
    );
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
            "grant_type": "refresh_token",
            "refresh_reason": "proactive_expiry",
            "refresh_token": "rt_FAKE",
        })
    );
    assert_eq!(
        RefreshReason::UnauthorizedRecovery.as_str(),
        "unauthorized_recovery"
    );
}

#[test]
fn grants_need_an_access_token() {
    assert!(TokenGrant::from_json(br#"{"refresh_token":"r"}"#).is_err());
    assert!(TokenGrant::from_json(b"nope").is_err());
    let grant = TokenGrant::from_json(br#"{"access_token":"a","refresh_token":""}"#).unwrap();
    assert_eq!(grant.access_token.expose(), "a");
    assert!(grant.refresh_token.is_none() && grant.id_token.is_none());
}
