//! Acceptance figures of the default routing strategy in the fleet simulator, on a small
//! configuration that runs in a few seconds in a debug build.
//!
//! The full-size run is `cargo run --release -p codex-pooler-examples --example fleet_sim`;
//! `docs/routing.md` has its table and what the figures mean.

use codex_pooler_examples::fleet_sim::{
    Figures, SessionKind, SimConfig, Workload, default_entry, run,
};

/// The configuration of these tests.
fn config() -> SimConfig {
    SimConfig::small(42)
}

fn default_figures(config: &SimConfig) -> Figures {
    let workload = Workload::generate(config);
    run(config, &workload, &default_entry()).expect("the simulation runs")
}

#[test]
fn the_default_strategy_is_reset_aware() {
    assert_eq!(default_entry().label, "reset_aware");
}

#[test]
fn same_seed_same_figures_and_no_error_while_an_account_could_serve() {
    let config = config();
    let figures = default_figures(&config);
    assert_eq!(figures, default_figures(&config), "same seed, same figures");
    assert_ne!(
        figures,
        default_figures(&SimConfig {
            seed: 43,
            ..config.clone()
        }),
        "another seed, another workload"
    );

    assert_eq!(
        figures.turns,
        Workload::generate(&config).turns.len() as u64
    );
    // Demand equals what the pool has over the run: it must run dry at some point.
    assert!(figures.first_error.is_some(), "{figures:?}");
    // No client saw an error while some account had quota left and a free stream slot.
    assert_eq!(figures.errors.with_headroom, 0, "{:?}", figures.errors);
    assert_eq!(figures.errors.other, 0, "{:?}", figures.errors);
}

/// The routing acceptance thresholds, on the documented full-size run (`--seed 42`, about 15 s
/// in a debug build): at most 1 % of turns switch account with a session id and at most 5 %
/// without one (derived key); no client-visible 429/503 while any account had quota left; at
/// least 98 % of the pool's quota spent before the first exhaustion error.
#[test]
fn the_default_strategy_meets_the_routing_acceptance_thresholds() {
    let figures = default_figures(&SimConfig::default());
    let session = figures.switches(SessionKind::SessionId).share();
    let derived = figures.switches(SessionKind::Derived).share();
    assert!(session <= 0.01, "switches with a session id: {session}");
    assert!(derived <= 0.05, "switches with a derived key: {derived}");
    assert_eq!(figures.errors.with_quota, 0, "{:?}", figures.errors);
    let spent = figures.quota_used_at_first_error();
    assert!(
        spent >= 0.98,
        "quota spent at the first exhaustion: {spent}"
    );
}
