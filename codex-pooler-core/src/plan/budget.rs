//! [`AttemptBudget`]: how far across the pool one request may reach.

use crate::request::PoolRequest;

/// How many accounts one request may be planned onto, and whether fresh plans may add more
/// while it is dispatched. The one place that reads
/// [`compaction`](crate::request::RequestFacts::compaction): a compaction's result must come
/// from one place, so it is planned onto one account and never moved to another.
///
/// ```
/// use codex_pooler_core::plan::AttemptBudget;
/// # fn demo(request: &codex_pooler_core::request::PoolRequest) {
/// let budget = AttemptBudget::of(request, 3);
/// assert_eq!(budget.accounts() == 1, !budget.allows_fresh_plans());
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptBudget {
    accounts: usize,
    fresh_plans: bool,
}

impl AttemptBudget {
    /// The budget of `request` under a planner allowing `max_attempts` accounts.
    pub fn of(request: &PoolRequest, max_attempts: usize) -> Self {
        if request.facts.compaction {
            Self {
                accounts: 1,
                fresh_plans: false,
            }
        } else {
            Self {
                accounts: max_attempts,
                fresh_plans: true,
            }
        }
    }

    /// How many accounts a plan of the request keeps.
    pub fn accounts(self) -> usize {
        self.accounts
    }

    /// Whether a fresh plan may add accounts while the request is dispatched.
    pub fn allows_fresh_plans(self) -> bool {
        self.fresh_plans
    }
}
