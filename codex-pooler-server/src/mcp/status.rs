//! `get_service_status`: version, uptime, what the caller's scope holds, whether the store
//! answers.

use codex_pooler_core::store::PoolStore;
use serde::Serialize;

use super::McpState;
use crate::admin::{ApiError, Caller};

/// The service as the caller sees it.
#[derive(Debug, Serialize)]
pub(crate) struct ServiceStatus {
    /// The server's version.
    version: &'static str,
    /// Seconds since `/mcp` started serving.
    uptime_seconds: u64,
    /// `ok`, or `unavailable` when the store does not answer.
    store: &'static str,
    /// The caller's name.
    operator: String,
    /// The caller's role.
    role: &'static str,
    /// Pools in scope (`null` when the store does not answer).
    pools: Option<usize>,
    /// Upstream accounts in scope.
    accounts: Option<usize>,
    /// Pool API keys in scope.
    keys: Option<usize>,
}

/// The status now.
pub(crate) async fn status(state: &McpState, caller: &Caller) -> Result<ServiceStatus, ApiError> {
    let scope = caller.scope();
    let store = &state.admin.store;
    let answers = store.ping().await.is_ok();
    let config = if answers {
        store.load_state().await.ok()
    } else {
        None
    };
    let counts = config.map(|config| {
        let pools = config.pools.iter().filter(|p| scope.allows(p.id)).count();
        let accounts = config
            .accounts
            .iter()
            .filter(|a| {
                let of: Vec<_> = config
                    .assignments
                    .iter()
                    .filter(|x| x.account == a.id)
                    .map(|x| x.pool)
                    .collect();
                scope.allows_any(&of)
            })
            .count();
        let keys = config.keys.iter().filter(|k| scope.allows(k.pool)).count();
        (pools, accounts, keys)
    });
    Ok(ServiceStatus {
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started.elapsed().as_secs(),
        store: if counts.is_some() {
            "ok"
        } else {
            "unavailable"
        },
        operator: caller.operator.name.clone(),
        role: caller.operator.role.as_str(),
        pools: counts.map(|c| c.0),
        accounts: counts.map(|c| c.1),
        keys: counts.map(|c| c.2),
    })
}
