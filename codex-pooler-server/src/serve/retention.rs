//! The retention job of `serve`: deletes old rows at start and then hourly.
//!
//! Each [`RetentionPolicy`] names a table (a [`RetentionTarget`]) and how long its rows are
//! kept; [`policies`] builds them from the command line, one line per table (request records and
//! audit events).
//! Deletes run in bounded batches ([`DEFAULT_BATCH`] rows per statement), so SQLite is never
//! locked for long, and replicas sharing PostgreSQL may all run the job at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;

use crate::cli::ServeArgs;
use crate::store::{DEFAULT_BATCH, RetentionTarget, SqlStore};

/// How often the job runs after its first pass at start.
const EVERY: Duration = Duration::from_secs(3600);

/// Keep the rows of `target` for `keep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetentionPolicy {
    /// The table and its time column.
    pub(crate) target: RetentionTarget,
    /// How long rows are kept.
    pub(crate) keep: Duration,
}

/// A policy keeping `target` for `days` days, or none when `days` is 0 (keep forever).
fn keep(target: RetentionTarget, days: u64) -> Option<RetentionPolicy> {
    (days > 0).then(|| RetentionPolicy {
        target,
        keep: Duration::from_secs(days.saturating_mul(86_400)),
    })
}

/// The policies `serve`'s flags ask for.
pub(crate) fn policies(args: &ServeArgs) -> Vec<RetentionPolicy> {
    [
        keep(RetentionTarget::REQUEST_RECORDS, args.record_retention_days),
        keep(
            RetentionTarget {
                table: "audit_events",
                time_column: "at_ms",
            },
            args.audit_retention_days,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// One pass: prunes each policy's table of rows older than `now` minus its keep time.
/// A failure is logged and the other tables are still pruned.
pub(crate) async fn pass(store: &SqlStore, policies: &[RetentionPolicy], now: SystemTime) {
    for policy in policies {
        let before = now
            .checked_sub(policy.keep)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match store.prune(policy.target, before, DEFAULT_BATCH).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(
                table = policy.target.table,
                deleted,
                "retention deleted old rows"
            ),
            Err(err) => tracing::warn!(
                table = policy.target.table,
                error = %err,
                "retention failed; it runs again within the hour"
            ),
        }
    }
}

/// The running job; aborted by [`RetentionJob::stop`] (each batch is its own statement, so
/// stopping between or inside one leaves nothing half done).
#[derive(Debug)]
pub(crate) struct RetentionJob(Option<JoinHandle<()>>);

impl RetentionJob {
    /// Starts the job, unless there is nothing to prune.
    pub(crate) fn start(store: Arc<SqlStore>, policies: Vec<RetentionPolicy>) -> Self {
        if policies.is_empty() {
            return Self(None);
        }
        Self(Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // The first tick is immediate: a pass at start.
                ticks.tick().await;
                pass(&store, &policies, SystemTime::now()).await;
            }
        })))
    }

    /// Stops the job.
    pub(crate) fn stop(self) {
        if let Some(handle) = self.0 {
            handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::model::{KeyId, PoolId};
    use codex_pooler_core::record::RequestRecord;
    use codex_pooler_core::request::RouteClass;
    use codex_pooler_core::store::PoolStore;

    use super::*;
    use crate::store::{PageRequest, RecordFilter};

    fn record(at: SystemTime) -> RequestRecord {
        RequestRecord::new(at, PoolId(1), KeyId(1), RouteClass::Responses, None, true)
    }

    #[tokio::test]
    async fn a_pass_prunes_each_policy_by_its_keep_time() {
        let store = SqlStore::connect("sqlite::memory:").await.unwrap();
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        store
            .insert_records(&[record(now - 3 * day), record(now - day / 2), record(now)])
            .await
            .unwrap();
        let remaining = |store: &SqlStore| {
            let store = store.clone();
            async move {
                store
                    .records(&RecordFilter::default(), &PageRequest::default())
                    .await
                    .unwrap()
                    .records
                    .len()
            }
        };
        pass(&store, &[], now).await;
        assert_eq!(remaining(&store).await, 3, "no policy: nothing goes");
        let two_days = keep(RetentionTarget::REQUEST_RECORDS, 2).unwrap();
        pass(&store, &[two_days], now).await;
        assert_eq!(remaining(&store).await, 2);
        let one_day = keep(RetentionTarget::REQUEST_RECORDS, 1).unwrap();
        pass(&store, &[one_day], now + day).await;
        assert_eq!(remaining(&store).await, 1);
    }

    #[test]
    fn zero_days_keeps_forever() {
        assert_eq!(keep(RetentionTarget::REQUEST_RECORDS, 0), None);
        assert_eq!(
            keep(RetentionTarget::REQUEST_RECORDS, 2),
            Some(RetentionPolicy {
                target: RetentionTarget::REQUEST_RECORDS,
                keep: Duration::from_secs(2 * 86_400),
            })
        );
    }
}
