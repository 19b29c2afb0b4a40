//! [`ReceivedAt`]: when a pooled request reached the pooler.

use std::time::SystemTime;

/// The time a pooled request arrived, stamped by [`PoolerService`](super::PoolerService) in the
/// request extensions before any layer runs; records and latencies count from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReceivedAt(pub(crate) SystemTime);
