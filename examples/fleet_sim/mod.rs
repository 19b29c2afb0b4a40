//! The fleet simulator: every routing strategy against the same simulated pool and workload.
//!
//! Only the far side is fake. Each turn is built like the gateway builds a request (headers and
//! a JSON body read by `RequestFacts::from_json`) and goes through the real
//! [`PlanLayer`](codex_pooler_core::plan::PlanLayer) and
//! [`DispatchLayer`](codex_pooler_core::dispatch::DispatchLayer), with the real `LiveState`
//! (quota, continuity and health books), into [`SimUpstream`]: simulated accounts with 5-hour and
//! weekly windows that answer with quota headers, `usage_limit_reached` 429s and code-less 429s.
//! Time is a [`ManualClock`](codex_pooler_core::clock::ManualClock); every draw comes from the
//! seed, so a configuration always gives the same figures.
//!
//! ```no_run
//! use codex_pooler_examples::fleet_sim::{SimConfig, entries, simulate};
//!
//! let report = simulate(&SimConfig::default(), &entries())?;
//! println!("{}", report.markdown());
//! # Ok::<(), codex_pooler_core::BoxError>(())
//! ```

mod baselines;
mod config;
mod fleet;
mod metrics;
mod report;
mod rng;
mod runner;
mod upstream;
mod workload;

use std::sync::Arc;

use codex_pooler_core::BoxError;
use codex_pooler_core::strategy::StrategyKind;

pub use baselines::{RoundRobin, UniformRandom};
pub use config::SimConfig;
pub use fleet::{AccountSpec, AccountTally, Plan, SHORT_MINUTES, SHORT_SHARE, WEEKLY_MINUTES};
pub use metrics::{Errors, Figures, FirstError, Switches, Waits};
pub use report::Report;
pub use rng::SimRng;
pub use runner::{StrategyEntry, StrategyFactory, run};
pub use upstream::{DURATION_HEADER, SimUpstream, TOKENS_HEADER};
pub use workload::{MODEL, POOL, START_UNIX_SECS, Session, SessionKind, Turn, Workload};

/// The strategy a pool gets when none is configured ([`StrategyKind::default`]).
pub fn default_entry() -> StrategyEntry {
    StrategyEntry::new(|| StrategyKind::default().build())
}

/// Every built-in strategy by name, then the two baselines, then the baselines without
/// continuity pins (a gateway that does not remember threads at all).
pub fn entries() -> Vec<StrategyEntry> {
    let random = || StrategyEntry::new(|| Arc::new(UniformRandom));
    let round_robin = || StrategyEntry::new(|| Arc::new(RoundRobin::default()));
    let mut out: Vec<StrategyEntry> = StrategyKind::ALL
        .into_iter()
        .map(|kind| StrategyEntry::new(move || kind.build()))
        .collect();
    out.extend([
        random(),
        round_robin(),
        random().without_pins(),
        round_robin().without_pins(),
    ]);
    out
}

/// Draws the workload of `config` once and runs every entry over it.
pub fn simulate(config: &SimConfig, entries: &[StrategyEntry]) -> Result<Report, BoxError> {
    let workload = Workload::generate(config);
    let rows = entries
        .iter()
        .map(|entry| run(config, &workload, entry))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Report {
        config: config.clone(),
        workload,
        rows,
        default_label: default_entry().label,
    })
}
