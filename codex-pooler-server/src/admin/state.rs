//! What every operator API handler reaches: the store, the key hasher and the running pooler.

use std::sync::Arc;

use codex_pooler_tower::Pooler;
use codex_pooler_tower::credentials::SecretSealer;
use codex_pooler_tower::keys::KeyHasher;

use crate::audit::NewAuditEvent;
use crate::store::SqlStore;

/// The operator API's shared state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AdminState {
    /// The configuration store.
    pub store: Arc<SqlStore>,
    /// Hashes Pool API keys and operator tokens.
    pub hasher: KeyHasher,
    /// Seals imported upstream secrets.
    pub sealer: Arc<SecretSealer>,
    /// The running gateway's pooler, for live views (quota, routing explanations).
    pub pooler: Pooler,
}

impl AdminState {
    /// Appends an audit event. A failure is logged: the change it describes already happened.
    pub async fn audit(&self, event: NewAuditEvent) {
        let action = event.action.clone();
        if let Err(err) = self.store.append_audit(event).await {
            tracing::error!(error = %err, action, "cannot write an audit event");
        }
    }
}
