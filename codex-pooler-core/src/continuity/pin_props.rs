//! Property tests: a hard-pinned request never lands on another account.

use crate::clock::from_unix_seconds;
use crate::live::ContinuityKeys;
use crate::live::LiveState;
use crate::model::Snapshot;
use crate::model::{
    AccountId, Assignment, KeyId, Lifecycle, Pool, PoolId, PoolStatus, UpstreamAccount,
};
use crate::plan::Planner;
use crate::quota::UsageLimit;
use crate::request::RequestFacts;
use crate::request::{PoolContext, PoolRequest};
use crate::request::{Route, RouteClass, RouteFamily};
use crate::store::StoreState;
use crate::strategy::StrategyKind;
use bytes::Bytes;
use http::Method;
use proptest::prelude::*;

fn lifecycle() -> impl Strategy<Value = Lifecycle> {
    prop_oneof![
        4 => Just(Lifecycle::Active),
        1 => Just(Lifecycle::Paused),
        1 => Just(Lifecycle::ReauthRequired),
        1 => Just(Lifecycle::Refreshing),
    ]
}

/// How the request names its pinned state.
#[derive(Debug, Clone, Copy)]
enum HardKey {
    PreviousResponse,
    TurnState,
    File,
}

fn hard_key() -> impl Strategy<Value = HardKey> {
    prop_oneof![
        Just(HardKey::PreviousResponse),
        Just(HardKey::TurnState),
        Just(HardKey::File)
    ]
}

proptest! {
    #[test]
    fn hard_pins_never_move(
        accounts in proptest::collection::vec((lifecycle(), any::<bool>(), any::<bool>()), 1..12),
        owner_pick in any::<prop::sample::Index>(),
        key in hard_key(),
        with_session in any::<bool>(),
        strategy in 0..StrategyKind::ALL.len(),
        seed in any::<u64>(),
    ) {
        let now = from_unix_seconds(1_700_000_000);
        let live = LiveState::new();
        let pool = PoolId(1);
        let rows: Vec<UpstreamAccount> = accounts
            .iter()
            .enumerate()
            .map(|(i, (lifecycle, _, serves_model))| {
                UpstreamAccount::new(AccountId(i as i64 + 1), format!("a{i}"))
                    .with_chatgpt_account_id(format!("acc-{i}"))
                    .with_lifecycle(*lifecycle)
                    .with_models([if *serves_model || i == 0 { "m" } else { "other" }])
            })
            .collect();
        for (i, (_, exhausted, _)) in accounts.iter().enumerate() {
            if *exhausted {
                live.observe_usage_limit(
                    AccountId(i as i64 + 1),
                    UsageLimit { resets_at: Some(from_unix_seconds(1_700_003_600)) },
                    now,
                );
            }
        }
        let owner = AccountId(owner_pick.index(rows.len()) as i64 + 1);
        let mut keys = ContinuityKeys::default();
        match key {
            HardKey::PreviousResponse => {
                live.learn_response_id(pool, "resp_1", owner, now);
                keys.previous_response_id = Some("resp_1".into());
            }
            HardKey::TurnState => {
                live.learn_turn_state(pool, "ts_1", owner, now);
                keys.turn_state = Some("ts_1".into());
            }
            HardKey::File => {
                live.learn_file(pool, "file_1", owner, now);
                keys.file_ids = vec!["file_1".into()];
            }
        }
        if with_session {
            // A soft key pointing elsewhere must not win over the hard one.
            keys.session = Some("session-id:s".into());
            let other = AccountId((owner.0 % rows.len() as i64) + 1);
            live.learn_keys(pool, &ContinuityKeys { session: keys.session.clone(), ..Default::default() }, other, now);
        }
        let snapshot = Snapshot::build(StoreState {
            version: 1,
            pools: vec![Pool { id: pool, slug: "p".into(), status: PoolStatus::Active, strategy: None, v1_enabled: true, waits: Default::default() }],
            assignments: rows.iter().map(|a| Assignment { pool, account: a.id }).collect(),
            accounts: rows,
            keys: vec![],
        });
        let ctx = PoolContext { pool, key: KeyId(1) };
        let route = Route { family: RouteFamily::CodexBackend, class: RouteClass::Responses };
        let facts = RequestFacts {
            model: Some("m".into()),
            stream: true,
            continuity_key: keys.soft_key(),
            continuity: keys,
            compaction: false,
        };
        let request = PoolRequest::new(ctx, route, facts, now)
            .with_method(Method::POST)
            .with_body(Bytes::from_static(b"{}"))
            .with_seed(seed);
        let planner = Planner::new(StrategyKind::ALL[strategy].build());
        match planner.plan(&snapshot, &live, &request, now) {
            Ok(plan) => {
                let ids: Vec<AccountId> = plan.candidates.iter().map(|a| a.id).collect();
                prop_assert_eq!(ids, vec![owner]);
            }
            Err(rejection) => {
                let code = rejection.error.code();
                prop_assert!(
                    code == "pinned_account_unavailable" || code == "model_not_found",
                    "unexpected {}", code
                );
            }
        }
    }
}
