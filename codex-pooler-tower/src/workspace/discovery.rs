//! [`WorkspaceDiscovery`]: the background job that asks `/wham/accounts/check` where each
//! account's model traffic goes, and keeps [`WorkspaceRoutes`] current.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::model::Snapshot;
use codex_pooler_core::model::{AccountId, UpstreamAccount};
use futures_util::StreamExt;
use futures_util::stream;
use http::Uri;
use rand::Rng;
use tokio::time::Instant;

use super::{DiscoveryError, WorkspaceRoute, WorkspaceRoutes, parse_accounts_check};
use crate::job_context::JobContext;
use crate::upstream::AccessToken;
use crate::usage_probe::call::{self, CallError};

/// The discovery path under an account's base URL.
pub const ACCOUNTS_CHECK_PATH: &str = "/backend-api/wham/accounts/check";

/// How often each account is checked again by default.
pub const DEFAULT_DISCOVERY_INTERVAL: Duration = Duration::from_secs(3600);

/// The first wait before retrying a failed discovery by default (doubling up to the interval).
pub const DEFAULT_DISCOVERY_RETRY: Duration = Duration::from_secs(30);

/// How long one call may take by default.
pub const DEFAULT_DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many calls may be in flight at once.
const CONCURRENCY: usize = 4;

/// How often the job looks at the configuration snapshot and its schedule.
const TICK: Duration = Duration::from_secs(1);

/// Discovers each routable account's workspace route, in the background. See the
/// [module documentation](super) for what is called, cached and when.
#[derive(Debug)]
pub struct WorkspaceDiscovery {
    jobs: JobContext,
    interval: Duration,
    retry: Duration,
    timeout: Duration,
}

impl WorkspaceDiscovery {
    /// A job over the accounts of the context's snapshot, with its tokens, recording into its
    /// workspace routes. Accounts without their own base URL are checked at its default base
    /// URL.
    pub fn new(jobs: &JobContext) -> Self {
        Self {
            jobs: jobs.clone(),
            interval: DEFAULT_DISCOVERY_INTERVAL,
            retry: DEFAULT_DISCOVERY_RETRY,
            timeout: DEFAULT_DISCOVERY_TIMEOUT,
        }
    }

    /// How often each account is checked again after a success (at least one second).
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_secs(1));
        self
    }

    /// The first wait before retrying a failure; it doubles per failure up to the interval.
    #[must_use]
    pub fn retry_backoff(mut self, retry: Duration) -> Self {
        self.retry = retry.max(Duration::from_millis(10));
        self
    }

    /// How long one call may take, body included.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The cache this job fills.
    pub fn routes(&self) -> &WorkspaceRoutes {
        &self.jobs.routes
    }

    /// Checks one account now and records its route. On failure the cache is left as it was:
    /// the last route discovered, or none (the configured base URL, no override).
    pub async fn discover(
        &self,
        account: &UpstreamAccount,
    ) -> Result<WorkspaceRoute, DiscoveryError> {
        if call::is_placeholder_account_id(&account.chatgpt_account_id) {
            // Not a ChatGPT account id upstream could list: nothing to discover.
            self.jobs.routes.remove(account.id);
            return Ok(WorkspaceRoute::default());
        }
        let configured = account
            .base_url
            .as_deref()
            .unwrap_or(&self.jobs.default_base_url)
            .trim_end_matches('/');
        let uri: Uri = format!("{configured}{ACCOUNTS_CHECK_PATH}")
            .parse()
            .map_err(|_| DiscoveryError::InvalidUrl(account.id.0))?;
        // The retry after a refresh is itself the rediscovery: no need to ask for another.
        let recovered = call::get(
            &self.jobs.client,
            &*self.jobs.credentials,
            account,
            &uri,
            self.timeout,
            None,
        )
        .await;
        let (status, body) = match recovered.answer? {
            Ok(answer) => answer,
            Err(CallError::InvalidHeader) => return Err(DiscoveryError::InvalidHeader),
            Err(CallError::Transport) => return Err(DiscoveryError::Transport),
            Err(CallError::Timeout) => return Err(DiscoveryError::Timeout),
        };
        if !status.is_success() {
            return Err(DiscoveryError::Status(status));
        }
        let route = parse_accounts_check(&body, account.chatgpt_account_id.trim(), configured)?;
        if self.jobs.routes.get(account.id).as_ref() != Some(&route) {
            tracing::info!(
                account = %account.id,
                origin = route.origin.as_ref().map_or("configured", |o| o.as_str()),
                routing_override = route.routing_override.map_or("none", |o| o.as_str()),
                "workspace route discovered"
            );
        }
        self.jobs.routes.insert(account.id, route.clone());
        Ok(route)
    }

    /// Checks every routable account once, at most four at a time.
    pub async fn discover_once(&self) -> Vec<(AccountId, Result<WorkspaceRoute, DiscoveryError>)> {
        let accounts: Vec<Arc<UpstreamAccount>> = self
            .jobs
            .snapshot
            .load()
            .accounts()
            .filter(|a| a.lifecycle.is_routable())
            .cloned()
            .collect();
        self.check_all(accounts).await
    }

    /// Checks accounts at start, when they appear or change (identity, base URL, becoming
    /// routable, a new token), when asked after a refresh, and every interval; failures are
    /// retried with backoff. Abort the handle to stop.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// What [`spawn`](Self::spawn) runs: never ends; drop the future to stop.
    pub async fn run(self) {
        let mut schedule: HashMap<AccountId, Due> = HashMap::new();
        let mut last_version = None;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.jobs.routes.requested() => {}
            }
            let snapshot = self.jobs.snapshot.load();
            if last_version != Some(snapshot.version()) {
                last_version = Some(snapshot.version());
                self.reconcile(&snapshot, &mut schedule).await;
            }
            let now = Instant::now();
            for id in self.jobs.routes.take_requested() {
                if let Some(due) = schedule.get_mut(&id) {
                    due.next = now;
                }
            }
            let accounts: Vec<Arc<UpstreamAccount>> = schedule
                .iter()
                .filter(|(_, due)| due.next <= now)
                .filter_map(|(id, _)| snapshot.account(*id).cloned())
                .collect();
            if accounts.is_empty() {
                continue;
            }
            for (id, result) in self.check_all(accounts).await {
                if let Some(due) = schedule.get_mut(&id) {
                    self.settle(id, due, result.as_ref().err());
                }
            }
        }
    }

    async fn check_all(
        &self,
        accounts: Vec<Arc<UpstreamAccount>>,
    ) -> Vec<(AccountId, Result<WorkspaceRoute, DiscoveryError>)> {
        stream::iter(accounts)
            .map(|account| async move { (account.id, self.discover(&account).await) })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await
    }

    /// Brings the schedule in line with a new snapshot: new and changed accounts are due now,
    /// accounts gone or no longer routable are forgotten.
    async fn reconcile(&self, snapshot: &Snapshot, schedule: &mut HashMap<AccountId, Due>) {
        let now = Instant::now();
        let routable: Vec<&Arc<UpstreamAccount>> = snapshot
            .accounts()
            .filter(|a| a.lifecycle.is_routable())
            .collect();
        schedule.retain(|id, _| {
            let keep = routable.iter().any(|a| a.id == *id);
            if !keep {
                self.jobs.routes.remove(*id);
            }
            keep
        });
        // A new login (or a refresh) shows up as a new token. Asked concurrently: a token due
        // for a refresh may make its caller wait.
        let owned: Vec<Arc<UpstreamAccount>> = routable.iter().map(|a| Arc::clone(a)).collect();
        let tokens: HashMap<AccountId, Option<AccessToken>> = stream::iter(owned)
            .map(|account| async move {
                (
                    account.id,
                    self.jobs.credentials.access_token(&account).await.ok(),
                )
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for account in routable {
            let identity = Identity::of(account);
            let token = tokens.get(&account.id).cloned().flatten();
            match schedule.get_mut(&account.id) {
                Some(due) if due.identity != identity => {
                    // Another workspace or base: the old route says nothing about it.
                    self.jobs.routes.remove(account.id);
                    *due = Due::now(identity, token, now);
                }
                Some(due) if due.token != token => {
                    due.token = token;
                    due.next = now;
                }
                Some(_) => {}
                None => {
                    schedule.insert(account.id, Due::now(identity, token, now));
                }
            }
        }
    }

    /// Schedules the next check of `id` after `failure` (or a success).
    fn settle(&self, id: AccountId, due: &mut Due, failure: Option<&DiscoveryError>) {
        let now = Instant::now();
        let Some(err) = failure else {
            due.failures = 0;
            due.next = now + self.interval;
            return;
        };
        due.failures = due.failures.saturating_add(1);
        let wait = backoff(self.retry, due.failures, self.interval);
        let jitter = wait.mul_f64(rand::thread_rng().gen_range(0.0..0.2));
        due.next = now + wait + jitter;
        tracing::warn!(
            account = %id,
            error = err.as_str(),
            status = match err {
                DiscoveryError::Status(s) => s.as_u16(),
                _ => 0,
            },
            failures = due.failures,
            retry_in_secs = wait.as_secs(),
            keeps = if self.jobs.routes.get(id).is_some() { "last_discovered_route" } else { "configured_base_url" },
            "workspace routing discovery failed"
        );
    }
}

/// What makes an account's discovery result stale when it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    chatgpt_account_id: String,
    base_url: Option<String>,
}

impl Identity {
    fn of(account: &UpstreamAccount) -> Self {
        Self {
            chatgpt_account_id: account.chatgpt_account_id.clone(),
            base_url: account.base_url.clone(),
        }
    }
}

/// When one account is checked next.
#[derive(Debug)]
struct Due {
    identity: Identity,
    token: Option<AccessToken>,
    next: Instant,
    failures: u32,
}

impl Due {
    fn now(identity: Identity, token: Option<AccessToken>, now: Instant) -> Self {
        Self {
            identity,
            token,
            next: now,
            failures: 0,
        }
    }
}

/// The wait after the `failures`-th failure in a row: `retry`, doubling, at most `cap`.
fn backoff(retry: Duration, failures: u32, cap: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    retry
        .saturating_mul(1 << doublings)
        .min(cap)
        .max(retry.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let s = Duration::from_secs;
        let waits: Vec<u64> = (1..=9)
            .map(|n| backoff(s(30), n, s(3600)).as_secs())
            .collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(s(30), u32::MAX, s(3600)), s(3600));
        assert_eq!(backoff(s(30), 0, s(3600)), s(30));
        assert_eq!(backoff(s(30), 1, s(10)), s(10));
    }
}
