//! Request records leave the request path through a [`RecordSink`]; the [`RecordWriter`] batches
//! them into a [`PoolStore`](codex_pooler_core::store::PoolStore) in the background.
//!
//! On the request path the `Record` layer opens each pooled HTTP request's record and closes it
//! once, at the end of the answer's body or at a refusal. Every record, websocket ones included,
//! ends in one closer, which logs the one `request finished` line.

mod close;
mod dropped;
mod layer;
mod metered;
mod refusal;
mod service;
mod writer;

use std::fmt;

use codex_pooler_core::record::RequestRecord;

pub use writer::{RecordWriter, RecordWriterConfig};

pub(crate) use close::close_record;
pub(crate) use dropped::DroppedParameters;
pub(crate) use layer::RecordLayer;
pub(crate) use metered::MeteredRecords;
#[cfg(test)]
pub(crate) use refusal::Refusal;
pub(crate) use refusal::refuse;

/// Accepts finished request records. Must not block: it is called on the request path.
pub trait RecordSink: Send + Sync + fmt::Debug + 'static {
    /// Takes one record.
    fn submit(&self, record: RequestRecord);
}

/// A sink that drops every record (for embedders that keep none).
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardRecords;

impl RecordSink for DiscardRecords {
    fn submit(&self, _record: RequestRecord) {}
}
