//! [`IndexCache`]: the planner's [`PoolIndex`] per pool and model, shared by its clones.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::index::PoolIndex;
use crate::model::PoolId;

/// One index slot; empty until the first request builds it.
pub(super) type IndexSlot = Arc<Mutex<Option<PoolIndex>>>;

/// The index slots of one pool, by model (`None`: requests that name no model).
type ModelSlots = Vec<(Option<Box<str>>, IndexSlot)>;

/// The indexes of every (pool, model) planned so far.
///
/// Models are bounded by the catalogs (a request for a model no account serves is refused
/// before an index is kept), and an index is rebuilt in place when its pool's snapshot changes.
/// Each index has its own lock, held while a request of that pool and model is planned.
#[derive(Default)]
pub(super) struct IndexCache {
    slots: Mutex<HashMap<PoolId, ModelSlots>>,
}

impl IndexCache {
    /// The slot of `pool` and `model`, created empty on first use.
    pub(super) fn slot(&self, pool: PoolId, model: Option<&str>) -> IndexSlot {
        let mut slots = lock(&self.slots);
        let models = slots.entry(pool).or_default();
        if let Some((_, slot)) = models.iter().find(|(m, _)| m.as_deref() == model) {
            return Arc::clone(slot);
        }
        let slot = IndexSlot::default();
        models.push((model.map(Box::from), Arc::clone(&slot)));
        slot
    }

    /// Forgets the slot of `pool` and `model` (for a model no account serves).
    pub(super) fn forget(&self, pool: PoolId, model: Option<&str>) {
        if let Some(models) = lock(&self.slots).get_mut(&pool) {
            models.retain(|(m, _)| m.as_deref() != model);
        }
    }
}

impl fmt::Debug for IndexCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexCache").finish_non_exhaustive()
    }
}

/// Locks `mutex`; every critical section leaves its data consistent, so a poisoned lock is still
/// usable.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
