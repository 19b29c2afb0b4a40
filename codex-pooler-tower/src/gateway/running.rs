//! [`RunningGateway`]: a gateway whose background tasks run, until [`RunningGateway::shutdown`].

use super::Gateway;
use super::shutdown::Drain;
use crate::pooler::Pooler;

/// A [`Gateway`] with its background tasks running.
///
/// Call [`shutdown`](Self::shutdown) once the server in front of it has stopped taking
/// requests. Dropping it instead stops the tasks without settling refreshes or flushing
/// records and evidence.
#[derive(Debug)]
pub struct RunningGateway {
    gateway: Gateway,
    drain: Drain,
}

impl RunningGateway {
    pub(super) fn new(gateway: Gateway, drain: Drain) -> Self {
        Self { gateway, drain }
    }

    /// The pooler: wrap your service with a [`PoolerLayer`](crate::PoolerLayer) over it.
    pub fn pooler(&self) -> &Pooler {
        &self.gateway.pooler
    }

    /// The gateway: its configuration, credentials, records and job context.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Stops everything, in order:
    /// 1. fires the one shutdown signal and waits for every background task to stop (config
    ///    reload, token refresher, workspace discovery, catalog sync, usage probe);
    /// 2. waits, at most [`GatewaySettings::refresh_settle`](super::GatewaySettings::refresh_settle),
    ///    for token refreshes in flight, so none is cut between the token answer and the store
    ///    write;
    /// 3. flushes the queued request records to the store;
    /// 4. writes the quota evidence changed since the last flush.
    pub async fn shutdown(self) {
        let Self { gateway, drain } = self;
        drain.drain().await;
        gateway
            .credentials
            .settle(gateway.settings.refresh_settle)
            .await;
        gateway.records.shutdown().await;
        gateway.evidence.shutdown().await;
    }
}
