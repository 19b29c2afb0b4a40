//! Benchmarks `Planner::plan` (hard checks, quota views, strategy, truncation) for one pool of
//! 10 to 10,000 eligible accounts, a third of them with quota evidence, and the strategies'
//! `order` alone on the same candidates, and the planner's work before the strategy.
//!
//! `plan` is the steady state. `plan_churn` records new quota evidence for one account (of those
//! with windows) before each plan (the record is included), as every upstream answer does in
//! production, so the planner's index catches up on every request. `plan_cold` is the first plan with a new planner
//! (a new snapshot or catalog rebuilds the index the same way). `plan_seen` is the steady state
//! once the health book has seen every account (one finished attempt each, an old 429 on a
//! third), as after warm-up in production: all quiet, but the planner reads their health.
//!
//! Run with `cargo bench -p codex-pooler-core --bench plan -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use codex_pooler_core::clock::from_unix_seconds;
use codex_pooler_core::health::AttemptOutcome;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::Snapshot;
use codex_pooler_core::model::{
    AccountId, Assignment, KeyId, Pool, PoolId, PoolStatus, UpstreamAccount,
};
use codex_pooler_core::plan::Planner;
use codex_pooler_core::quota::{EvidenceSource, windows_from_headers};
use codex_pooler_core::request::RequestFacts;
use codex_pooler_core::request::{PoolContext, PoolRequest};
use codex_pooler_core::request::{Route, RouteClass, RouteFamily};
use codex_pooler_core::store::StoreState;
use codex_pooler_core::strategy::{Candidate, StrategyInput, StrategyKind};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method};

const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];
const STRATEGIES: [StrategyKind; 2] = [StrategyKind::ResetAware, StrategyKind::Rendezvous];

fn now() -> SystemTime {
    from_unix_seconds(1_700_000_000)
}

/// A pool of `n` active accounts serving `m`; every third has primary and secondary windows.
fn fixture(n: usize) -> (Snapshot, LiveState) {
    let accounts: Vec<UpstreamAccount> = (1..=n as i64)
        .map(|id| {
            UpstreamAccount::new(AccountId(id), format!("a{id}"))
                .with_plan_type("plus")
                .with_models(["gpt-5", "m"])
        })
        .collect();
    let live = LiveState::new();
    for a in accounts.iter().filter(|a| a.id.0 % 3 == 0) {
        let i = a.id.0;
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-codex-primary-used-percent", (i * 7) % 90),
            ("x-codex-primary-window-minutes", 300),
            (
                "x-codex-primary-reset-after-seconds",
                60 + (i * 97) % 18_000,
            ),
            ("x-codex-secondary-used-percent", (i * 13) % 90),
            ("x-codex-secondary-window-minutes", 10_080),
            (
                "x-codex-secondary-reset-after-seconds",
                3_600 + (i * 7_919) % 600_000,
            ),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
        live.observe_headers(a.id, &headers, now());
    }
    let snapshot = Snapshot::build(StoreState {
        version: 1,
        pools: vec![Pool {
            id: PoolId(1),
            slug: "bench".into(),
            status: PoolStatus::Active,
            strategy: None,
            v1_enabled: true,
            waits: Default::default(),
        }],
        assignments: accounts
            .iter()
            .map(|a| Assignment {
                pool: PoolId(1),
                account: a.id,
            })
            .collect(),
        accounts,
        keys: vec![],
    });
    (snapshot, live)
}

fn request() -> PoolRequest {
    PoolRequest::new(
        PoolContext {
            pool: PoolId(1),
            key: KeyId(1),
        },
        Route {
            family: RouteFamily::CodexBackend,
            class: RouteClass::Responses,
        },
        RequestFacts {
            model: Some("m".into()),
            stream: true,
            continuity_key: Some("session-id:0195f0c2-bench".into()),
            ..RequestFacts::default()
        },
        now(),
    )
    .with_method(Method::POST)
    .with_body(Bytes::from_static(b"{}"))
    .with_seed(0x5eed)
}

fn plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    let request = request();
    for n in SIZES {
        let (snapshot, live) = fixture(n);
        for kind in STRATEGIES {
            let planner = Planner::new(kind.build());
            group.bench_with_input(BenchmarkId::new(kind.as_str(), n), &n, |b, _| {
                b.iter(|| {
                    planner
                        .plan(
                            black_box(&snapshot),
                            black_box(&live),
                            black_box(&request),
                            now(),
                        )
                        .map(|p| p.candidates.len())
                });
            });
        }
    }
    group.finish();
}

/// One account's new evidence before each plan, cycling through the pool's accounts.
fn plan_churn(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_churn");
    let request = request();
    for n in SIZES {
        let (snapshot, live) = fixture(n);
        // Only accounts that already carry windows: the pool keeps a third with evidence.
        let readings: Vec<_> = (1..=n as i64)
            .filter(|i| i % 3 == 0)
            .map(|i| {
                let mut headers = HeaderMap::new();
                headers.insert(
                    "x-codex-primary-used-percent",
                    HeaderValue::from((i * 11) % 90),
                );
                headers.insert("x-codex-primary-window-minutes", HeaderValue::from(300));
                headers.insert(
                    "x-codex-primary-reset-after-seconds",
                    HeaderValue::from(60 + (i * 89) % 18_000),
                );
                (AccountId(i), windows_from_headers(&headers, now()))
            })
            .collect();
        for kind in STRATEGIES {
            let planner = Planner::new(kind.build());
            let mut next = readings.iter().cycle();
            group.bench_with_input(BenchmarkId::new(kind.as_str(), n), &n, |b, _| {
                b.iter(|| {
                    if let Some((id, windows)) = next.next() {
                        live.observe_windows(*id, EvidenceSource::ResponseHeaders, windows, now());
                    }
                    planner
                        .plan(
                            black_box(&snapshot),
                            black_box(&live),
                            black_box(&request),
                            now(),
                        )
                        .map(|p| p.candidates.len())
                });
            });
        }
    }
    group.finish();
}

/// The steady state after every account served an attempt an hour ago (a third got a 429).
fn plan_seen(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_seen");
    let request = request();
    let earlier = now() - std::time::Duration::from_secs(3_600);
    for n in SIZES {
        let (snapshot, live) = fixture(n);
        for a in snapshot.pool_accounts(PoolId(1)) {
            if let Ok(mut attempt) = live.begin_attempt(a.id, "m", RouteClass::Responses, earlier) {
                let outcome = if a.id.0 % 3 == 1 {
                    AttemptOutcome::RateLimited
                } else {
                    AttemptOutcome::Success
                };
                attempt.record(outcome, earlier);
            }
        }
        for kind in STRATEGIES {
            let planner = Planner::new(kind.build());
            group.bench_with_input(BenchmarkId::new(kind.as_str(), n), &n, |b, _| {
                b.iter(|| {
                    planner
                        .plan(
                            black_box(&snapshot),
                            black_box(&live),
                            black_box(&request),
                            now(),
                        )
                        .map(|p| p.candidates.len())
                });
            });
        }
    }
    group.finish();
}

/// The first plan of a new planner: it builds its index for the pool.
fn plan_cold(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_cold");
    let request = request();
    for n in SIZES {
        let (snapshot, live) = fixture(n);
        for kind in STRATEGIES {
            group.bench_with_input(BenchmarkId::new(kind.as_str(), n), &n, |b, _| {
                b.iter_batched(
                    || Planner::new(kind.build()),
                    |planner| {
                        planner
                            .plan(
                                black_box(&snapshot),
                                black_box(&live),
                                black_box(&request),
                                now(),
                            )
                            .map(|p| p.candidates.len())
                    },
                    BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
}

/// The strategy's share: `order`, and `order_top` for the planner's default three attempts, on
/// the candidates the planner would build (the clone that restores them between runs is not
/// measured).
fn order(c: &mut Criterion) {
    let mut group = c.benchmark_group("order");
    let request = request();
    for n in SIZES {
        let (snapshot, live) = fixture(n);
        let candidates: Vec<Candidate> = snapshot
            .pool_accounts(PoolId(1))
            .iter()
            .map(|a| Candidate {
                quota: live.quota_view(a.id, now()),
                ..Candidate::new(Arc::clone(a))
            })
            .collect();
        let input = StrategyInput {
            facts: &request.facts,
            pool: PoolId(1),
            key: KeyId(1),
            seed: request.seed,
            now: now(),
        };
        for kind in STRATEGIES {
            let strategy = kind.build();
            group.bench_with_input(BenchmarkId::new(kind.as_str(), n), &n, |b, _| {
                b.iter_batched_ref(
                    || candidates.clone(),
                    |c| strategy.order(black_box(&input), c),
                    BatchSize::LargeInput,
                );
            });
            let top = format!("{}_top3", kind.as_str());
            group.bench_with_input(BenchmarkId::new(top, n), &n, |b, _| {
                b.iter_batched_ref(
                    || candidates.clone(),
                    |c| strategy.order_top(black_box(&input), c, 3),
                    BatchSize::LargeInput,
                );
            });
        }
    }
    group.finish();
}

/// Part of the planner's own share, before the strategy: building the candidate list (a quota
/// view, with its lock and map lookup, and an `Arc` clone per account), and the quota views
/// alone read under one lock as the planner reads them (`views_for`).
fn candidates(c: &mut Criterion) {
    let mut group = c.benchmark_group("candidates");
    for n in SIZES {
        let (snapshot, live) = fixture(n);
        let accounts = snapshot.pool_accounts(PoolId(1));
        group.bench_with_input(BenchmarkId::new("views", n), &n, |b, _| {
            b.iter(|| {
                accounts
                    .iter()
                    .map(|a| Candidate {
                        quota: black_box(&live).quota_view(a.id, now()),
                        ..Candidate::new(Arc::clone(a))
                    })
                    .collect::<Vec<_>>()
            });
        });
        let ids: Vec<AccountId> = accounts.iter().map(|a| a.id).collect();
        group.bench_with_input(BenchmarkId::new("views_for", n), &n, |b, _| {
            b.iter(|| black_box(&live).quota_views(black_box(&ids), now()));
        });
    }
    group.finish();
}

criterion_group!(
    benches, plan, plan_churn, plan_seen, plan_cold, order, candidates
);
criterion_main!(benches);
