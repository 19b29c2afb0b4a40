//! The pooler's routing questions for operators: why an account is or is not routable, what
//! the next request would do, and how long each pool's quota lasts.
//!
//! Each answers from the pooler's current snapshot, live state, planner and clock, changes no
//! state, and returns a serializable report (see `docs/routing.md`, "Explaining a routing
//! decision" and "Quota runway").

use codex_pooler_core::model::{AccountId, PoolId};
use codex_pooler_core::plan::{
    AccountExplanation, DryRun, InspectError, RouteQuery, explain_account,
};
use codex_pooler_core::quota::PoolRunway;

use super::Pooler;

impl Pooler {
    /// Whether `account` is routable now for `query`, with every reason it is not.
    ///
    /// # Errors
    ///
    /// [`InspectError::UnknownPool`] or [`InspectError::UnknownAccount`].
    pub fn explain_account(
        &self,
        query: &RouteQuery,
        account: AccountId,
    ) -> Result<AccountExplanation, InspectError> {
        let shared = &self.shared;
        explain_account(
            &shared.snapshot.load(),
            &shared.live,
            query,
            account,
            shared.clock.now(),
        )
    }

    /// What the planner would do now for the next request of `query` without continuity keys,
    /// spread by random seed `seed`; nothing is claimed or changed.
    ///
    /// # Errors
    ///
    /// [`InspectError::UnknownPool`].
    pub fn dry_run(&self, query: &RouteQuery, seed: u64) -> Result<DryRun, InspectError> {
        let shared = &self.shared;
        shared.planner.dry_run(
            &shared.snapshot.load(),
            &shared.live,
            query,
            seed,
            shared.clock.now(),
        )
    }

    /// The quota runway of `pool` now.
    ///
    /// # Errors
    ///
    /// [`InspectError::UnknownPool`].
    pub fn runway(&self, pool: PoolId) -> Result<PoolRunway, InspectError> {
        let snapshot = self.shared.snapshot.load();
        let found = snapshot.pool(pool).ok_or(InspectError::UnknownPool(pool))?;
        Ok(self.shared.live.pool_runway(
            found,
            snapshot.pool_accounts(pool),
            self.shared.clock.now(),
        ))
    }

    /// The quota runway of every pool now, by pool id.
    pub fn runways(&self) -> Vec<PoolRunway> {
        let snapshot = self.shared.snapshot.load();
        let now = self.shared.clock.now();
        let mut pools: Vec<_> = snapshot.pools().collect();
        pools.sort_by_key(|pool| pool.id);
        pools
            .into_iter()
            .map(|pool| {
                self.shared
                    .live
                    .pool_runway(pool, snapshot.pool_accounts(pool.id), now)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use codex_pooler_core::clock::{Clock, ManualClock};
    use codex_pooler_core::model::{
        Assignment, Lifecycle, Pool, PoolStatus, Snapshot, SnapshotHandle, UpstreamAccount,
    };
    use codex_pooler_core::quota::{EvidenceSource, QuotaWindow, WindowSlot};
    use codex_pooler_core::request::RouteClass;
    use codex_pooler_core::store::StoreState;
    use serde_json::json;

    use super::*;
    use crate::credentials::SealingKey;
    use crate::keys::KeyHasher;

    fn pooler(clock: &ManualClock) -> Pooler {
        let pool = |id, slug: &str| Pool {
            id: PoolId(id),
            slug: slug.into(),
            status: PoolStatus::Active,
            strategy: Some("rotation".into()),
            v1_enabled: true,
            waits: Default::default(),
        };
        let account = |id, lifecycle| {
            UpstreamAccount::new(AccountId(id), format!("a{id}"))
                .with_chatgpt_account_id("acc")
                .with_lifecycle(lifecycle)
                .with_models(["m"])
        };
        let snapshot = Snapshot::build(StoreState {
            version: 1,
            pools: vec![pool(2, "second"), pool(1, "first")],
            accounts: vec![account(1, Lifecycle::Active), account(2, Lifecycle::Paused)],
            assignments: [1, 2]
                .map(|id| Assignment {
                    pool: PoolId(1),
                    account: AccountId(id),
                })
                .into(),
            keys: vec![],
        });
        let hasher = KeyHasher::from_sealing_key(&SealingKey::from_bytes([7; 32], 1));
        Pooler::builder(SnapshotHandle::new(snapshot), hasher)
            .clock(Arc::new(clock.clone()))
            .build()
    }

    #[test]
    fn explains_plans_and_projects_from_the_poolers_state() {
        let clock = ManualClock::at_unix(1_000_000);
        let pooler = pooler(&clock);
        let query = RouteQuery::new(PoolId(1), RouteClass::Responses, Some("m"));
        let explained = pooler.explain_account(&query, AccountId(2)).unwrap();
        assert_eq!(
            serde_json::to_value(&explained.reasons).unwrap(),
            json!([{"reason": "account_paused", "lifecycle": "paused"}])
        );
        assert!(
            pooler
                .explain_account(&query, AccountId(1))
                .unwrap()
                .routable
        );

        let dry = pooler.dry_run(&query, 3).unwrap();
        assert_eq!((dry.chosen, dry.strategy), (Some(AccountId(1)), "rotation"));

        // Spend seen through the live state: 10 points in the last half hour.
        let resets_at = clock.now() + Duration::from_secs(5 * 3600);
        for (used, minutes) in [(20.0, 0), (30.0, 30)] {
            let at = clock.now();
            pooler.live().observe_windows(
                AccountId(1),
                EvidenceSource::StreamEvent,
                &[QuotaWindow {
                    slot: WindowSlot::Primary,
                    used_percent: used,
                    window_minutes: Some(300),
                    resets_at: Some(resets_at),
                    observed_at: at,
                }],
                at,
            );
            if minutes == 0 {
                clock.advance(Duration::from_secs(1800));
            }
        }
        let runway = pooler.runway(PoolId(1)).unwrap();
        let short = &runway.windows[0];
        assert_eq!(short.spend_points_per_hour, Some(20.0));
        assert_eq!(short.headroom_points, 70.0);
        // 70 points at 20 an hour: 3 h 30 min, before the reset 4 h 30 min away.
        assert_eq!(short.time_to_dry_seconds, Some(12_600));
        let slugs: Vec<String> = pooler.runways().into_iter().map(|r| r.slug).collect();
        assert_eq!(slugs, ["first", "second"]);
    }

    #[test]
    fn unknown_pools_and_accounts_are_typed_errors() {
        let pooler = pooler(&ManualClock::at_unix(1_000));
        let missing = RouteQuery::new(PoolId(9), RouteClass::Responses, Some("m"));
        let err = pooler.dry_run(&missing, 0).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string()),
            ("unknown_pool", "no pool with id 9".into())
        );
        assert_eq!(
            pooler.explain_account(&missing, AccountId(1)),
            Err(InspectError::UnknownPool(PoolId(9)))
        );
        assert_eq!(
            pooler.runway(PoolId(9)),
            Err(InspectError::UnknownPool(PoolId(9)))
        );
        let query = RouteQuery::new(PoolId(1), RouteClass::Responses, Some("m"));
        let err = pooler.explain_account(&query, AccountId(5)).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string()),
            ("unknown_account", "no upstream account with id 5".into())
        );
    }
}
