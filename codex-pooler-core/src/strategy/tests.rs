//! Fixtures shared by the strategies' unit tests.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Candidate, StrategyInput};
use crate::clock::from_unix_seconds;
use crate::model::{AccountId, KeyId, PoolId, UpstreamAccount};
use crate::quota::{QuotaView, WindowKind, WindowView};
use crate::request::RequestFacts;

/// The fixed "now" of the strategy tests.
pub(crate) fn now() -> SystemTime {
    from_unix_seconds(1_000_000)
}

/// An owned request, lent out as a [`StrategyInput`].
pub(crate) struct TestInput {
    facts: RequestFacts,
    seed: u64,
}

impl TestInput {
    pub(crate) fn get(&self) -> StrategyInput<'_> {
        StrategyInput {
            facts: &self.facts,
            pool: PoolId(1),
            key: KeyId(1),
            seed: self.seed,
            now: now(),
        }
    }
}

pub(crate) fn input(continuity: Option<&str>, seed: u64) -> TestInput {
    TestInput {
        facts: RequestFacts {
            model: Some("m".into()),
            continuity_key: continuity.map(str::to_owned),
            ..RequestFacts::default()
        },
        seed,
    }
}

pub(crate) fn candidate(id: i64) -> Candidate {
    Candidate::new(Arc::new(
        UpstreamAccount::new(AccountId(id), format!("a{id}")).with_models(["m"]),
    ))
}

/// Accounts 1..=n without evidence.
pub(crate) fn candidates(n: i64) -> Vec<Candidate> {
    (1..=n).map(candidate).collect()
}

/// A candidate with the given windows: `(kind, used percent, hours until reset)`.
pub(crate) fn with_windows(id: i64, windows: &[(WindowKind, f64, Option<f64>)]) -> Candidate {
    Candidate {
        quota: QuotaView {
            windows: windows
                .iter()
                .map(|&(kind, used_percent, hours)| WindowView {
                    kind,
                    used_percent,
                    resets_at: hours.map(|h| now() + Duration::from_secs_f64(h * 3600.0)),
                })
                .collect(),
            exhausted_until: None,
            known: true,
            ..QuotaView::unknown()
        },
        ..candidate(id)
    }
}

pub(crate) fn ids(c: &[Candidate]) -> Vec<i64> {
    c.iter().map(|c| c.account.id.0).collect()
}
