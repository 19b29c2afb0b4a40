//! Request records leave the request path through a [`RecordSink`]; the [`RecordWriter`] batches
//! them into a [`PoolStore`](codex_pooler_core::store::PoolStore) in the background.

mod writer;

use std::fmt;

use codex_pooler_core::record::RequestRecord;

pub use writer::{RecordWriter, RecordWriterConfig};

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
