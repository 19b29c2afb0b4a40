//! The gateway of `serve`: the library's [`Gateway`] with the settings of the command line.
//!
//! Every component that talks to upstream (the pooler, the usage probe, the catalog sync,
//! workspace discovery) gets the gateway's token refresher, so each of them sees refreshed
//! tokens and triggers refreshes through the same single flight per account. Its background
//! pass runs every `--token-refresh-check-ms`; refreshes go to `--token-endpoint` (also in demo
//! mode: the simulated accounts carry no refresh token, so nothing of theirs is ever sent
//! there).

use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::dispatch::DispatchConfig;
use codex_pooler_core::store::PoolStore;
use codex_pooler_tower::credentials::SecretSealer;
use codex_pooler_tower::gateway::{Gateway, GatewayError, GatewaySettings, RunningGateway};
use codex_pooler_tower::keys::KeyHasher;
use codex_pooler_tower::metrics::GatewayMetrics;
use codex_pooler_tower::refresh::RefreshPolicy;

use crate::cli::ServeArgs;
use crate::error::ServerError;

/// Builds the gateway over `store`, recording into `metrics`, and starts its background tasks.
pub(crate) async fn start(
    store: Arc<dyn PoolStore>,
    sealer: SecretSealer,
    hasher: KeyHasher,
    args: &ServeArgs,
    metrics: Arc<GatewayMetrics>,
) -> Result<RunningGateway, ServerError> {
    let gateway = Gateway::builder(store, sealer, hasher)
        .settings(settings(args))
        .metrics(metrics)
        .build()
        .await
        .map_err(|err| match err {
            GatewayError::Store(err) => ServerError::from(err),
            GatewayError::TokenEndpoint(err) => {
                ServerError::Usage(format!("--token-endpoint: {err}"))
            }
            other => ServerError::Usage(other.to_string()),
        })?;
    Ok(gateway.spawn())
}

/// The gateway settings of `serve`'s flags.
fn settings(args: &ServeArgs) -> GatewaySettings {
    let mut settings = GatewaySettings::default();
    settings
        .upstream_base_url
        .clone_from(&args.upstream_base_url);
    settings
        .trusted_upload_hosts
        .clone_from(&args.trusted_upload_hosts);
    settings.reload_interval = Duration::from_millis(args.reload_interval_ms.max(50));
    settings.token_endpoint.clone_from(&args.token_endpoint);
    settings.refresh = RefreshPolicy::default()
        .with_margin(Duration::from_secs(args.token_refresh_margin_secs))
        .with_check_interval(Duration::from_millis(args.token_refresh_check_ms.max(50)))
        .with_retry_backoff(Duration::from_millis(args.token_refresh_backoff_ms.max(10)));
    settings.usage_probe_interval = (args.usage_probe_interval_secs > 0)
        .then(|| Duration::from_secs(args.usage_probe_interval_secs));
    settings.websocket.idle_timeout = Duration::from_secs(args.websocket_idle_secs.max(1));
    settings.websocket.upstream_lifetime =
        Duration::from_secs(args.websocket_upstream_lifetime_secs);
    settings.dispatch = DispatchConfig {
        busy_wait: Duration::from_secs(args.busy_wait_secs),
        pin_wait: Duration::from_secs(args.pin_wait_secs),
    };
    settings
}
