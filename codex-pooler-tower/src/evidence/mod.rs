//! [`EvidenceWriter`]: the live quota evidence, written to the store in the background.
//!
//! The request path only updates the in-memory book
//! ([`LiveState`](codex_pooler_core::live::LiveState)); it never waits on the store. Every
//! [`EvidenceWriterConfig::flush_interval`] the writer asks the book what changed since its
//! last successful flush (the book journals every changed account) and saves the latest
//! evidence of those accounts in one store call. A failed flush is logged and the same changes
//! (and any newer ones) are written at the next; shutdown flushes once more. A gateway loads the
//! evidence back at start ([`LiveState::restore_quota`](codex_pooler_core::live::LiveState::restore_quota)),
//! so an account exhausted before a restart stays avoided until its reset.
//!
//! With several replicas on one PostgreSQL database, each writes what it saw; the last write
//! per account wins, and a replica reads the table only when it starts.

mod writer;

pub use writer::{DEFAULT_EVIDENCE_FLUSH_INTERVAL, EvidenceWriter, EvidenceWriterConfig};

#[cfg(test)]
mod tests;
