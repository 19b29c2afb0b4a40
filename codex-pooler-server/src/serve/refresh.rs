//! The token refresher of `serve`: a [`RefreshingCredentials`] over the reload's tokens.
//!
//! Every component that talks to upstream (the pooler, the usage probe, the catalog sync) gets
//! this source, so each of them sees refreshed tokens and triggers refreshes through the same
//! single-flight per account. Its background pass runs every `--token-refresh-check-ms`.

use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::store::PoolStore;
use codex_pooler_tower::ConfigSync;
use codex_pooler_tower::refresh::{HttpTokenEndpoint, RefreshPolicy, RefreshingCredentials};
use codex_pooler_tower::upstream::CredentialSource;

use crate::cli::ServeArgs;
use crate::error::ServerError;
use crate::settings::Settings;

/// Builds the refresher, refreshing at `--token-endpoint` (also in demo mode: the simulated
/// accounts carry no refresh token, so nothing of theirs is ever sent there).
pub(crate) fn credentials(
    settings: &Settings,
    args: &ServeArgs,
    sync: &ConfigSync,
    store: Arc<dyn PoolStore>,
) -> Result<Arc<RefreshingCredentials>, ServerError> {
    let endpoint = HttpTokenEndpoint::new(&args.token_endpoint)
        .map_err(|e| ServerError::Usage(format!("--token-endpoint: {e}")))?;
    let sealer = settings.sealer()?;
    let policy = RefreshPolicy::default()
        .with_margin(Duration::from_secs(args.token_refresh_margin_secs))
        .with_check_interval(Duration::from_millis(args.token_refresh_check_ms.max(50)))
        .with_retry_backoff(Duration::from_millis(args.token_refresh_backoff_ms.max(10)));
    let base: Arc<dyn CredentialSource> = sync.credentials();
    Ok(Arc::new(
        RefreshingCredentials::builder(base, store, Arc::new(sealer), Arc::new(endpoint))
            .policy(policy)
            .build(),
    ))
}
