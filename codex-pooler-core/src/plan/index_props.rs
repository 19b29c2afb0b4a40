//! Property tests: a planner that keeps its per-pool index across requests plans exactly as the
//! straightforward path does, whatever happens between requests (quota evidence, circuits,
//! load, demotions, catalogs, pins, time passing or stepping back).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::from_unix_seconds;
use crate::health::{AttemptGuard, AttemptOutcome};
use crate::live::ContinuityKeys;
use crate::live::LiveState;
use crate::model::Snapshot;
use crate::model::{
    AccountId, Assignment, KeyId, Lifecycle, Pool, PoolId, PoolStatus, UpstreamAccount,
};
use crate::plan::{PinSkip, Planner, RoutePlan};
use crate::quota::{EvidenceSource, QuotaWindow, UsageLimit, WindowSlot};
use crate::request::RequestFacts;
use crate::request::{PoolContext, PoolRequest};
use crate::request::{Route, RouteClass, RouteFamily};
use crate::store::StoreState;
use crate::strategy::{
    Candidate, HeadroomFirst, Rendezvous, ResetAware, RoutingStrategy, StrategyInput,
};
use bytes::Bytes;
use http::Method;
use proptest::prelude::*;

const POOL: PoolId = PoolId(1);
const CLASS: RouteClass = RouteClass::Responses;

/// A built-in strategy that does not offer its ranks: the planner orders it the
/// straightforward way, through `order_top` on every candidate.
#[derive(Debug)]
struct Plain(Arc<dyn RoutingStrategy>);

impl RoutingStrategy for Plain {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn order(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate]) {
        self.0.order(input, candidates);
    }
    fn order_top(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate], k: usize) {
        self.0.order_top(input, candidates, k);
    }
}

/// Something that happens between two requests.
#[derive(Debug, Clone)]
enum Event {
    /// Time moves on by this many seconds.
    Advance(u64),
    /// The clock steps back by this many seconds.
    StepBack(u64),
    /// Windows read on an account: short and weekly used percent and minutes to reset, read
    /// this many seconds ago.
    Windows(usize, f64, Option<u64>, f64, Option<u64>, u64),
    /// A `usage_limit_reached`, with minutes to reset.
    Limit(usize, Option<u64>),
    /// Consecutive server errors (opening the circuit at the threshold).
    Fail(usize, u32),
    /// A 429 (demotes for the model).
    RateLimited(usize),
    /// Attempts that stay in flight.
    Hold(usize, u32),
    /// Every held attempt ends.
    Release,
    /// A catalog read: whether the account serves the model.
    Catalog(usize, bool),
    /// A thread remembered on an account (soft), or a response id learned there (hard).
    Pin(usize, u8, bool),
    /// Everything known about an account's quota is dropped.
    Forget(usize),
    /// A request: thread key (if any), whether it carries the hard key, seed, compaction.
    Plan(Option<u8>, bool, u64, bool),
}

fn event() -> impl Strategy<Value = Event> {
    let acct = 0..40usize;
    // Resets soon make reset_aware's ranks grow while a view holds; a few shared figures make
    // ties across rank groups likely.
    let minutes = proptest::option::of(prop_oneof![1..90u64, 1..20_000u64]);
    let used = || {
        prop_oneof![
            Just(0.0),
            Just(50.0),
            Just(97.0),
            Just(99.0),
            Just(100.0),
            0.0..110.0f64
        ]
    };
    prop_oneof![
        3 => prop_oneof![0..120u64, 0..2_000u64].prop_map(Event::Advance),
        1 => (0..120u64).prop_map(Event::StepBack),
        4 => (acct.clone(), used(), minutes.clone(), used(), minutes.clone(), 0..1_200u64)
            .prop_map(|(a, s, sr, w, wr, ago)| Event::Windows(a, s, sr, w, wr, ago)),
        1 => (acct.clone(), proptest::option::of(1..300u64)).prop_map(|(a, m)| Event::Limit(a, m)),
        1 => (acct.clone(), 1..4u32).prop_map(|(a, n)| Event::Fail(a, n)),
        1 => acct.clone().prop_map(Event::RateLimited),
        1 => (acct.clone(), 1..10u32).prop_map(|(a, n)| Event::Hold(a, n)),
        1 => Just(Event::Release),
        1 => (acct.clone(), any::<bool>()).prop_map(|(a, s)| Event::Catalog(a, s)),
        1 => (acct.clone(), 0..3u8, any::<bool>()).prop_map(|(a, k, h)| Event::Pin(a, k, h)),
        1 => acct.prop_map(Event::Forget),
        6 => (proptest::option::of(0..3u8), any::<bool>(), any::<u64>(), proptest::bool::weighted(0.1))
            .prop_map(|(k, h, s, c)| Event::Plan(k, h, s, c)),
    ]
}

fn lifecycle() -> impl Strategy<Value = Lifecycle> {
    prop_oneof![
        8 => Just(Lifecycle::Active),
        1 => Just(Lifecycle::Paused),
        1 => Just(Lifecycle::Refreshing),
    ]
}

fn snapshot(accounts: &[(Lifecycle, bool)]) -> Snapshot {
    let rows: Vec<UpstreamAccount> = accounts
        .iter()
        .enumerate()
        .map(|(i, (lifecycle, serves))| {
            UpstreamAccount::new(AccountId(i as i64 + 1), format!("a{i}"))
                .with_chatgpt_account_id(format!("acc-{i}"))
                .with_lifecycle(*lifecycle)
                .with_models([if *serves { "m" } else { "other" }])
        })
        .collect();
    Snapshot::build(StoreState {
        version: 1,
        pools: vec![Pool {
            id: POOL,
            slug: "p".into(),
            status: PoolStatus::Active,
            strategy: None,
            v1_enabled: true,
            waits: Default::default(),
        }],
        assignments: rows
            .iter()
            .map(|a| Assignment {
                pool: POOL,
                account: a.id,
            })
            .collect(),
        accounts: rows,
        keys: vec![],
    })
}

fn request(
    thread: Option<u8>,
    hard: bool,
    seed: u64,
    compaction: bool,
    now: SystemTime,
) -> PoolRequest {
    let continuity = ContinuityKeys {
        session: thread.map(|k| format!("session-id:{k}")),
        previous_response_id: (hard && thread.is_some())
            .then(|| format!("resp_{}", thread.unwrap_or(0))),
        ..ContinuityKeys::default()
    };
    PoolRequest::new(
        PoolContext {
            pool: POOL,
            key: KeyId(1),
        },
        Route {
            family: RouteFamily::CodexBackend,
            class: CLASS,
        },
        RequestFacts {
            model: Some("m".into()),
            stream: true,
            continuity_key: continuity.soft_key(),
            continuity,
            compaction,
        },
        now,
    )
    .with_method(Method::POST)
    .with_body(Bytes::from_static(b"{}"))
    .with_seed(seed)
}

/// What must agree between the two paths.
type Summary = Result<
    (
        Vec<AccountId>,
        Vec<(AccountId, String)>,
        usize,
        Option<String>,
        Option<&'static str>,
    ),
    (String, Vec<(AccountId, String)>),
>;

fn summary(result: Result<RoutePlan, Box<crate::plan::Rejection>>) -> Summary {
    let reasons = |e: &[(AccountId, crate::plan::Exclusion)]| {
        e.iter()
            .map(|(id, e)| (*id, format!("{e:?}")))
            .collect::<Vec<_>>()
    };
    match result {
        Ok(plan) => Ok((
            plan.candidates.iter().map(|a| a.id).collect(),
            reasons(&plan.exclusions),
            plan.eligible,
            plan.pin.map(|p| format!("{p:?}")),
            plan.pin_skipped.map(PinSkip::as_str),
        )),
        Err(r) => Err((r.error.code().as_str().to_owned(), reasons(&r.exclusions))),
    }
}

fn apply(
    event: &Event,
    n: usize,
    live: &LiveState,
    guards: &mut Vec<AttemptGuard>,
    now: &mut SystemTime,
) {
    let id = |a: usize| AccountId((a % n) as i64 + 1);
    let secs = Duration::from_secs;
    match *event {
        Event::Advance(s) => *now += secs(s),
        Event::StepBack(s) => *now -= secs(s),
        Event::Windows(a, short, short_reset, weekly, weekly_reset, ago) => {
            let observed_at = *now - secs(ago);
            let window = |slot, used_percent, minutes, reset: Option<u64>| QuotaWindow {
                slot,
                used_percent,
                window_minutes: Some(minutes),
                resets_at: reset.map(|m| observed_at + secs(m * 60)),
                observed_at,
            };
            let windows = [
                window(WindowSlot::Primary, short, 300, short_reset),
                window(WindowSlot::Secondary, weekly, 10_080, weekly_reset),
            ];
            live.observe_windows(id(a), EvidenceSource::ResponseHeaders, &windows, *now);
        }
        Event::Limit(a, minutes) => live.observe_usage_limit(
            id(a),
            UsageLimit {
                resets_at: minutes.map(|m| *now + secs(m * 60)),
            },
            *now,
        ),
        Event::Fail(a, times) => {
            for _ in 0..times {
                if let Ok(mut g) = live.begin_attempt_over_limit(id(a), "m", CLASS, *now) {
                    g.record(AttemptOutcome::ServerError, *now);
                }
            }
        }
        Event::RateLimited(a) => {
            if let Ok(mut g) = live.begin_attempt_over_limit(id(a), "m", CLASS, *now) {
                g.record(AttemptOutcome::RateLimited, *now);
            }
        }
        Event::Hold(a, times) => {
            for _ in 0..times {
                if let Ok(g) = live.begin_attempt_over_limit(id(a), "m", CLASS, *now) {
                    guards.push(g);
                }
            }
        }
        Event::Release => guards.clear(),
        Event::Catalog(a, serves) => {
            let slug = if serves { "m" } else { "other" };
            live.record_catalog(id(a), vec![serde_json::json!({ "slug": slug })], *now);
        }
        Event::Pin(a, thread, hard) => {
            if hard {
                live.learn_response_id(POOL, &format!("resp_{thread}"), id(a), *now);
            } else {
                let keys = ContinuityKeys {
                    session: Some(format!("session-id:{thread}")),
                    ..ContinuityKeys::default()
                };
                live.learn_keys(POOL, &keys, id(a), *now);
            }
        }
        Event::Forget(a) => live.forget_quota(id(a)),
        Event::Plan(..) => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_kept_index_plans_like_the_straightforward_path(
        accounts in proptest::collection::vec((lifecycle(), proptest::bool::weighted(0.9)), 1..40),
        events in proptest::collection::vec(event(), 1..60),
        strategy in 0..3usize,
        attempts in 1..5usize,
    ) {
        let built: Arc<dyn RoutingStrategy> = match strategy {
            0 => Arc::new(ResetAware),
            1 => Arc::new(HeadroomFirst),
            _ => Arc::new(Rendezvous),
        };
        let indexed = Planner::new(Arc::clone(&built)).with_max_attempts(attempts);
        let plain = Planner::new(Arc::new(Plain(built))).with_max_attempts(attempts);
        let snapshot = snapshot(&accounts);
        let live = LiveState::new();
        let mut guards = Vec::new();
        let mut now = from_unix_seconds(1_700_000_000);
        for (step, event) in events.iter().enumerate() {
            apply(event, accounts.len(), &live, &mut guards, &mut now);
            if let Event::Plan(thread, hard, seed, compaction) = *event {
                let request = request(thread, hard, seed, compaction, now);
                let want = summary(plain.plan(&snapshot, &live, &request, now));
                let got = summary(indexed.plan(&snapshot, &live, &request, now));
                prop_assert_eq!(got, want, "step {} {:?}", step, event);
            }
        }
    }
}

/// The soft pin's "another account has headroom" counts only eligible accounts: here the only
/// accounts with headroom have open circuits, so the thread stays on its nearly full account.
#[test]
fn a_nearly_full_pin_stays_when_only_open_circuits_have_headroom() {
    let accounts = vec![(Lifecycle::Active, true); 8];
    let snapshot = snapshot(&accounts);
    let live = LiveState::new();
    let mut guards = Vec::new();
    let mut now = from_unix_seconds(1_700_000_000);
    let mut events = vec![Event::Pin(0, 1, false)];
    for a in 0..6 {
        events.push(Event::Windows(a, 99.0, Some(60), 10.0, None, 0));
    }
    events.extend([Event::Fail(6, 5), Event::Fail(7, 5)]);
    for e in &events {
        apply(e, accounts.len(), &live, &mut guards, &mut now);
    }
    let request = request(Some(1), false, 7, false, now);
    for built in [
        Arc::new(ResetAware) as Arc<dyn RoutingStrategy>,
        Arc::new(Rendezvous),
    ] {
        let plain = Planner::new(Arc::new(Plain(Arc::clone(&built))));
        let want = summary(plain.plan(&snapshot, &live, &request, now));
        let got = summary(Planner::new(built).plan(&snapshot, &live, &request, now));
        assert_eq!(got, want);
        let Ok((ids, _, eligible, pin, _)) = got else {
            panic!("planned");
        };
        assert_eq!((ids[0], eligible, pin.is_some()), (AccountId(1), 6, true));
    }
}

/// A request that read the clock before a concurrent one refreshed the index is still answered
/// from it, at its own instant: an account whose reset_aware rank grew in between does not get
/// the later rank.
#[test]
fn a_request_from_just_before_the_latest_refresh_gets_its_own_ranks() {
    let accounts = vec![(Lifecycle::Active, true); 5];
    let snapshot = snapshot(&accounts);
    let live = LiveState::new();
    let t = from_unix_seconds(1_700_000_000);
    // Account 1's short window resets in 930 s (score 387 %/h), a minute earlier in 990 s
    // (364 %/h): a coarse rank bucket starts at 384. The others stay in the bucket below.
    for (id, reset) in [(1, 930), (2, 1_050), (3, 1_060), (4, 1_070), (5, 1_080)] {
        let window = QuotaWindow {
            slot: WindowSlot::Primary,
            used_percent: 0.0,
            window_minutes: Some(300),
            resets_at: Some(t + Duration::from_secs(reset)),
            observed_at: t - Duration::from_secs(120),
        };
        live.observe_windows(AccountId(id), EvidenceSource::StreamEvent, &[window], t);
    }
    let indexed = Planner::new(Arc::new(ResetAware));
    let plain = Planner::new(Arc::new(Plain(Arc::new(ResetAware))));
    let mut elsewhere = 0;
    for seed in 0..20 {
        let request = request(None, false, seed, false, t);
        let later = summary(indexed.plan(&snapshot, &live, &request, t));
        assert_eq!(later, summary(plain.plan(&snapshot, &live, &request, t)));
        let earlier = t - Duration::from_secs(60);
        let want = summary(plain.plan(&snapshot, &live, &request, earlier));
        assert_eq!(
            summary(indexed.plan(&snapshot, &live, &request, earlier)),
            want
        );
        elsewhere += usize::from(want.is_ok_and(|p| p.0[0] != AccountId(1)));
    }
    assert!(
        elsewhere > 0,
        "account 1 ties with the others a minute earlier"
    );
}
