//! [`UsageProbe`]: a background job that keeps quota evidence fresh by polling each account's
//! `GET /backend-api/wham/usage`.
//!
//! Passive evidence (response headers, stream events, 429 bodies) only arrives for accounts that
//! take traffic; an idle account's evidence ages out of the live quota
//! evidence's freshness window. The probe refreshes it every interval (default 5 minutes).
//!
//! Each round:
//! 1. reads the account list from the current configuration snapshot, skipping accounts whose
//!    lifecycle does not allow traffic;
//! 2. spreads the calls evenly over the interval, with jitter, at most 4 at a time;
//! 3. sends each account's bearer token and `chatgpt-account-id` to
//!    `{account base url or default}/backend-api/wham/usage`, with a 10-second timeout;
//! 4. after a 401, refreshes the token once and retries once (the same
//!    [unauthorized recovery](crate::upstream::CredentialSource::refresh_after_unauthorized) as
//!    model traffic; a failed refresh is not retried in a loop);
//! 5. records a successful payload as [`EvidenceSource::UsageApi`] evidence. A 429 or any failure
//!    leaves the existing evidence alone.
//!
//! Tokens and bodies are never logged; only the account id and a low-cardinality outcome.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use codex_pooler_core::live::LiveState;
//! # use codex_pooler_core::model::SnapshotHandle;
//! # use codex_pooler_tower::upstream::{DEFAULT_UPSTREAM_BASE_URL, StaticCredentials};
//! use codex_pooler_tower::job_context::JobContext;
//! use codex_pooler_tower::usage_probe::UsageProbe;
//! # async fn run(snapshot: SnapshotHandle, live: Arc<LiveState>) {
//! let jobs = JobContext::new(
//!     snapshot,
//!     Arc::new(StaticCredentials::new()),
//!     live,
//!     DEFAULT_UPSTREAM_BASE_URL,
//! );
//! let probe = UsageProbe::new(&jobs).interval(std::time::Duration::from_secs(300));
//! let job = probe.spawn();
//! # job.abort();
//! # }
//! ```
//!
//! [`EvidenceSource::UsageApi`]: codex_pooler_core::quota::EvidenceSource::UsageApi

pub(crate) mod call;
mod report;

use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::model::UpstreamAccount;
use codex_pooler_core::quota::parse_usage_payload;
use futures_util::StreamExt;
use futures_util::stream;
use http::StatusCode;
use rand::Rng;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::job_context::JobContext;

pub use call::USAGE_PATH;
pub use report::{ProbeOutcome, ProbeReport};

/// How often each account is probed by default.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(300);

/// How many probe calls may be in flight at once by default.
pub const DEFAULT_PROBE_CONCURRENCY: usize = 4;

/// How long one probe call may take by default.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The periodic usage probe. Build it with [`UsageProbe::new`], run it with
/// [`UsageProbe::spawn`], or drive single rounds with [`UsageProbe::probe_once`].
#[derive(Debug)]
pub struct UsageProbe {
    jobs: JobContext,
    interval: Duration,
    concurrency: usize,
    timeout: Duration,
}

impl UsageProbe {
    /// A probe over the accounts of the context's snapshot, with its tokens, recording into its
    /// live quota evidence. Accounts without their own base URL are probed at its default base URL.
    /// After a 401 led to a refresh, the context's workspace routes are asked to check the
    /// account again; the usage endpoint itself always uses the configured base URL.
    pub fn new(jobs: &JobContext) -> Self {
        Self {
            jobs: jobs.clone(),
            interval: DEFAULT_PROBE_INTERVAL,
            concurrency: DEFAULT_PROBE_CONCURRENCY,
            timeout: DEFAULT_PROBE_TIMEOUT,
        }
    }

    /// Sets how often each account is probed (at least one second).
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_secs(1));
        self
    }

    /// Sets how many calls may be in flight at once (at least one).
    #[must_use]
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets how long one call may take, body included.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Probes every routable account once, right away, with bounded concurrency.
    pub async fn probe_once(&self) -> ProbeReport {
        let (accounts, skipped) = self.accounts();
        let outcomes = stream::iter(accounts)
            .map(|account| async move { (account.id, self.probe(&account).await) })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        ProbeReport { outcomes, skipped }
    }

    /// Runs rounds forever on the current tokio runtime; abort the handle to stop.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// What [`spawn`](Self::spawn) runs: never ends; drop the future to stop.
    pub async fn run(self) {
        loop {
            let start = Instant::now();
            let report = self.spread_round(start).await;
            tracing::debug!(
                probed = report.outcomes.len(),
                recorded = report.recorded(),
                skipped = report.skipped.len(),
                "usage probe round"
            );
            tokio::time::sleep_until(start + self.interval).await;
        }
    }

    /// One round with the calls spread over the interval: account `i` of `n` starts at
    /// `i * interval / n` plus up to half a slot of jitter.
    async fn spread_round(&self, start: Instant) -> ProbeReport {
        let (accounts, skipped) = self.accounts();
        let n = accounts.len();
        if n == 0 {
            return ProbeReport {
                outcomes: Vec::new(),
                skipped,
            };
        }
        let slot = self.interval / u32::try_from(n).unwrap_or(u32::MAX);
        let offsets: Vec<Duration> = {
            let mut rng = rand::thread_rng();
            (0..n)
                .map(|i| {
                    let jitter = rng.gen_range(0.0..0.5);
                    slot.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX)) + slot.mul_f64(jitter)
                })
                .collect()
        };
        let permits = Semaphore::new(self.concurrency);
        let outcomes = stream::iter(accounts.into_iter().zip(offsets))
            .map(|(account, offset)| {
                let permits = &permits;
                async move {
                    tokio::time::sleep_until(start + offset).await;
                    // The semaphore is never closed, so acquiring only waits.
                    let _permit = permits.acquire().await.ok();
                    (account.id, self.probe(&account).await)
                }
            })
            .buffer_unordered(n)
            .collect()
            .await;
        ProbeReport { outcomes, skipped }
    }

    /// The routable accounts, by id, and the ids of the others.
    fn accounts(
        &self,
    ) -> (
        Vec<Arc<UpstreamAccount>>,
        Vec<codex_pooler_core::model::AccountId>,
    ) {
        let snapshot = self.jobs.snapshot.load();
        let (mut routable, mut skipped): (Vec<_>, Vec<_>) = snapshot
            .accounts()
            .cloned()
            .partition(|a| a.lifecycle.is_routable());
        routable.sort_by_key(|a| a.id);
        skipped.sort_by_key(|a| a.id);
        (routable, skipped.into_iter().map(|a| a.id).collect())
    }

    /// Probes one account and records what it learns.
    async fn probe(&self, account: &UpstreamAccount) -> ProbeOutcome {
        let outcome = self.fetch_and_record(account).await;
        match outcome {
            ProbeOutcome::Recorded | ProbeOutcome::RateLimited => tracing::debug!(
                account = %account.id,
                outcome = outcome.as_str(),
                "usage probe"
            ),
            _ => tracing::warn!(
                account = %account.id,
                outcome = outcome.as_str(),
                status = match outcome {
                    ProbeOutcome::Status(s) => s,
                    _ => 0,
                },
                "usage probe failed"
            ),
        }
        outcome
    }

    async fn fetch_and_record(&self, account: &UpstreamAccount) -> ProbeOutcome {
        let Some(uri) = call::usage_uri(account, &self.jobs.default_base_url) else {
            return ProbeOutcome::InvalidUrl;
        };
        let recovered = call::get(
            &self.jobs.client,
            &*self.jobs.credentials,
            account,
            &uri,
            self.timeout,
            Some(&self.jobs.routes),
        )
        .await;
        let answer = match recovered.answer {
            Ok(answer) => answer,
            // Upstream refused the token and refreshing it failed.
            Err(_) if recovered.refused.is_some() => return ProbeOutcome::Unauthorized,
            Err(_) => return ProbeOutcome::NoCredentials,
        };
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(call::CallError::Timeout) => return ProbeOutcome::Timeout,
            Err(call::CallError::Transport) => return ProbeOutcome::Transport,
            Err(call::CallError::InvalidHeader) => return ProbeOutcome::InvalidHeader,
        };
        match status {
            s if s.is_success() => match parse_usage_payload(&body, self.jobs.clock.now()) {
                Ok(snapshot) => {
                    self.jobs.live.observe_usage(account.id, &snapshot);
                    ProbeOutcome::Recorded
                }
                Err(_) => ProbeOutcome::InvalidPayload,
            },
            StatusCode::TOO_MANY_REQUESTS => ProbeOutcome::RateLimited,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ProbeOutcome::Unauthorized,
            s => ProbeOutcome::Status(s.as_u16()),
        }
    }
}

#[cfg(test)]
mod tests;
