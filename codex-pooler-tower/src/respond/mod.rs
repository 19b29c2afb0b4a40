//! Turning the pipeline's [`Outcome`](codex_pooler_core::dispatch::Outcome) into the client's
//! response, with what routing did attached for the record.

mod layer;
mod served;
mod service;

pub(crate) use layer::RespondLayer;
pub(crate) use served::Served;
#[cfg(test)]
pub(crate) use served::SlotHold;
