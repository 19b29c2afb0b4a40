//! Property tests for the routing strategies and the planner's hard checks.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use codex_pooler_core::clock::from_unix_seconds;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::Snapshot;
use codex_pooler_core::model::{
    AccountId, Assignment, KeyId, Lifecycle, Pool, PoolId, PoolStatus, UpstreamAccount,
};
use codex_pooler_core::plan::Planner;
use codex_pooler_core::quota::{QuotaView, UsageLimit, WindowKind, WindowView};
use codex_pooler_core::request::RequestFacts;
use codex_pooler_core::request::{PoolContext, PoolRequest};
use codex_pooler_core::request::{Route, RouteClass, RouteFamily};
use codex_pooler_core::store::StoreState;
use codex_pooler_core::strategy::{
    Candidate, HeadroomFirst, ResetAware, RoutingStrategy, StrategyInput, StrategyKind,
};
use http::Method;
use proptest::prelude::*;

fn now() -> SystemTime {
    from_unix_seconds(1_700_000_000)
}

fn account(id: i64, lifecycle: Lifecycle, models: Vec<String>) -> UpstreamAccount {
    UpstreamAccount::new(AccountId(id), format!("a{id}"))
        .with_lifecycle(lifecycle)
        .with_models(models)
}

/// One window: kind, used percent, hours until reset (`None`: not reported).
fn window() -> impl Strategy<Value = WindowView> {
    (
        prop_oneof![
            Just(WindowKind::Short),
            Just(WindowKind::Weekly),
            Just(WindowKind::Monthly)
        ],
        0.0..105.0f64,
        proptest::option::of(0.0..200.0f64),
    )
        .prop_map(|(kind, used_percent, hours)| WindowView {
            kind,
            used_percent,
            resets_at: hours.map(|h| now() + Duration::from_secs_f64(h * 3600.0)),
        })
}

/// Whole-percent windows with known resets, as upstream reports them.
fn whole_percent_window() -> impl Strategy<Value = WindowView> {
    (0u8..=100, 1u32..200).prop_map(|(used, hours)| WindowView {
        kind: WindowKind::Weekly,
        used_percent: f64::from(used),
        resets_at: Some(now() + Duration::from_secs(u64::from(hours) * 3600)),
    })
}

fn quota(windows: impl Strategy<Value = WindowView>) -> impl Strategy<Value = QuotaView> {
    proptest::collection::vec(windows, 0..3).prop_map(|windows| QuotaView {
        known: !windows.is_empty(),
        windows: windows.into_iter().collect(),
        exhausted_until: None,
        ..QuotaView::unknown()
    })
}

/// Candidates with distinct ids 1..=n, in a shuffled order.
fn candidates_with(
    quota: impl Strategy<Value = QuotaView>,
) -> impl Strategy<Value = Vec<Candidate>> {
    proptest::collection::vec((quota, 0u32..4, proptest::option::of(0u64..10_000)), 0..24)
        .prop_map(|specs| {
            specs
                .into_iter()
                .zip(1..)
                .map(|((quota, in_flight, ago), id)| Candidate {
                    account: Arc::new(account(id, Lifecycle::Active, vec!["m".into()])),
                    quota,
                    in_flight,
                    last_success: ago.map(|s| now() - Duration::from_secs(s)),
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
    candidates_with(quota(window()))
}

fn facts() -> impl Strategy<Value = RequestFacts> {
    proptest::option::of("[a-z0-9]{1,12}").prop_map(|key| RequestFacts {
        model: Some("m".into()),
        continuity_key: key.map(|k| format!("session-id:{k}")),
        ..RequestFacts::default()
    })
}

fn kind() -> impl Strategy<Value = StrategyKind> {
    proptest::sample::select(StrategyKind::ALL.to_vec())
}

fn order(strategy: &dyn RoutingStrategy, facts: &RequestFacts, seed: u64, c: &mut [Candidate]) {
    let input = StrategyInput {
        facts,
        pool: PoolId(1),
        key: KeyId(1),
        seed,
        now: now(),
    };
    strategy.order(&input, c);
}

fn ids(c: &[Candidate]) -> Vec<i64> {
    c.iter().map(|c| c.account.id.0).collect()
}

proptest! {
    #[test]
    fn every_strategy_returns_a_permutation(
        kind in kind(),
        facts in facts(),
        seed: u64,
        mut c in candidates(),
    ) {
        let mut before = ids(&c);
        order(kind.build().as_ref(), &facts, seed, &mut c);
        let mut after = ids(&c);
        before.sort_unstable();
        after.sort_unstable();
        prop_assert_eq!(before, after);
    }

    #[test]
    fn every_strategy_is_deterministic(
        kind in kind(),
        facts in facts(),
        seed: u64,
        c in candidates(),
    ) {
        let strategy = kind.build();
        let mut a = c.clone();
        let mut b = c;
        order(strategy.as_ref(), &facts, seed, &mut a);
        order(strategy.as_ref(), &facts, seed, &mut b);
        prop_assert_eq!(ids(&a), ids(&b));
    }

    #[test]
    fn order_top_agrees_with_order_on_the_first_k(
        kind in kind(),
        facts in facts(),
        seed: u64,
        k in 0usize..30,
        c in candidates(),
    ) {
        let strategy = kind.build();
        let mut full = c.clone();
        let mut top = c;
        order(strategy.as_ref(), &facts, seed, &mut full);
        let input = StrategyInput { facts: &facts, pool: PoolId(1), key: KeyId(1), seed, now: now() };
        strategy.order_top(&input, &mut top, k);
        let k = k.min(full.len());
        prop_assert_eq!(&ids(&full)[..k], &ids(&top)[..k]);
        let mut rest = ids(&top);
        rest.sort_unstable();
        let mut all = ids(&full);
        all.sort_unstable();
        prop_assert_eq!(rest, all);
    }

    #[test]
    fn headroom_first_puts_more_headroom_first(
        facts in facts(),
        seed: u64,
        mut c in candidates_with(quota(whole_percent_window())),
    ) {
        order(&HeadroomFirst, &facts, seed, &mut c);
        // Accounts with evidence and at least 1 % left lead, by headroom; the rest follow.
        let roomy = |c: &Candidate| c.quota.known && c.quota.remaining_percent() >= 1.0;
        for (i, earlier) in c.iter().enumerate() {
            for later in &c[i + 1..] {
                if roomy(later) {
                    prop_assert!(roomy(earlier), "{:?}", ids(&c));
                    prop_assert!(
                        earlier.quota.remaining_percent() >= later.quota.remaining_percent(),
                        "{} ({}) before {} ({})",
                        earlier.account.id.0,
                        earlier.quota.remaining_percent(),
                        later.account.id.0,
                        later.quota.remaining_percent(),
                    );
                }
            }
        }
    }

    #[test]
    fn reset_aware_never_puts_a_spent_account_before_real_headroom(
        facts in facts(),
        seed: u64,
        mut c in candidates(),
    ) {
        order(&ResetAware, &facts, seed, &mut c);
        let spent = |q: &QuotaView| q.max_used_percent() >= 99.0;
        let roomy = |q: &QuotaView| {
            !q.windows.is_empty()
                && q.max_used_percent() < 50.0
                && q.windows.iter().all(|w| w.resets_at.is_some())
        };
        for (i, earlier) in c.iter().enumerate() {
            if spent(&earlier.quota) {
                prop_assert!(
                    !c[i + 1..].iter().any(|later| roomy(&later.quota)),
                    "{:?}",
                    ids(&c)
                );
            }
        }
    }
}

/// One account of a random pool: lifecycle, which models it lists, its 429 evidence.
#[derive(Debug, Clone)]
struct PoolAccount {
    lifecycle: Lifecycle,
    serves_m: bool,
    limit: Limit,
}

#[derive(Debug, Clone, Copy)]
enum Limit {
    None,
    /// `usage_limit_reached` resetting this many seconds from now (negative: already reset).
    ResetsIn(i64),
    /// `usage_limit_reached` without a reset time.
    Untimed,
}

impl PoolAccount {
    fn eligible(&self) -> bool {
        self.lifecycle.is_routable()
            && self.serves_m
            && match self.limit {
                Limit::None => true,
                Limit::ResetsIn(s) => s <= 0,
                Limit::Untimed => false,
            }
    }
}

fn pool_account() -> impl Strategy<Value = PoolAccount> {
    (
        proptest::sample::select(Lifecycle::ALL.to_vec()),
        proptest::bool::weighted(0.8),
        prop_oneof![
            2 => Just(Limit::None),
            1 => (-3_600i64..3_600).prop_map(Limit::ResetsIn),
            1 => Just(Limit::Untimed),
        ],
    )
        .prop_map(|(lifecycle, serves_m, limit)| PoolAccount {
            lifecycle,
            serves_m,
            limit,
        })
}

fn request(facts: RequestFacts, seed: u64) -> PoolRequest {
    PoolRequest::new(
        PoolContext {
            pool: PoolId(1),
            key: KeyId(1),
        },
        Route {
            family: RouteFamily::CodexBackend,
            class: RouteClass::Responses,
        },
        facts,
        now(),
    )
    .with_method(Method::POST)
    .with_body(Bytes::from_static(b"{}"))
    .with_seed(seed)
}

proptest! {
    #[test]
    fn the_planner_never_offers_an_account_failing_a_hard_check(
        kind in kind(),
        facts in facts(),
        seed: u64,
        pool in proptest::collection::vec(pool_account(), 1..40),
    ) {
        let ids = 1..=pool.len() as i64;
        let accounts: Vec<UpstreamAccount> = pool
            .iter()
            .zip(ids.clone())
            .map(|(p, id)| {
                let models = if p.serves_m { vec!["m".into(), "x".into()] } else { vec!["x".into()] };
                account(id, p.lifecycle, models)
            })
            .collect();
        let snapshot = Snapshot::build(StoreState {
            version: 1,
            pools: vec![Pool {
                id: PoolId(1),
                slug: "p".into(),
                status: PoolStatus::Active,
                strategy: Some(kind.as_str().to_owned()),
                v1_enabled: true,
                waits: Default::default(),
            }],
            assignments: accounts
                .iter()
                .map(|a| Assignment { pool: PoolId(1), account: a.id })
                .collect(),
            accounts,
            keys: vec![],
        });
        let live = LiveState::new();
        for (p, id) in pool.iter().zip(ids) {
            let resets_at = match p.limit {
                Limit::None => continue,
                Limit::ResetsIn(s) => Some(from_unix_seconds(1_700_000_000 + s)),
                Limit::Untimed => None,
            };
            // Observed a while ago, so an untimed cooldown is still running and a passed reset
            // has lifted.
            live.observe_usage_limit(
                AccountId(id),
                UsageLimit { resets_at },
                now() - Duration::from_secs(60),
            );
        }

        let eligible: BTreeSet<i64> = pool
            .iter()
            .zip(1..)
            .filter(|(p, _)| p.eligible())
            .map(|(_, id)| id)
            .collect();
        let planner = Planner::new(kind.build()).with_max_attempts(pool.len());
        match planner.plan(&snapshot, &live, &request(facts, seed), now()) {
            Ok(plan) => {
                let offered: BTreeSet<i64> = plan.candidates.iter().map(|a| a.id.0).collect();
                prop_assert_eq!(offered.len(), plan.candidates.len(), "duplicates");
                prop_assert!(offered.is_subset(&eligible), "{offered:?} vs {eligible:?}");
                prop_assert!(!offered.is_empty());
                for (id, _) in &plan.exclusions {
                    prop_assert!(!eligible.contains(&id.0), "eligible {} excluded", id.0);
                }
            }
            Err(rejection) => prop_assert!(eligible.is_empty(), "{:?}", rejection.error),
        }
    }
}
