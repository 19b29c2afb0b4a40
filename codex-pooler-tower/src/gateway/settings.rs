//! [`GatewaySettings`]: the knobs of a gateway, with the defaults of `codex-pooler serve`.

use std::time::Duration;

use codex_pooler_core::dispatch::DispatchConfig;

use crate::catalog_sync::DEFAULT_CATALOG_INTERVAL;
use crate::evidence::EvidenceWriterConfig;
use crate::records::RecordWriterConfig;
use crate::refresh::{DEFAULT_TOKEN_ENDPOINT, RefreshPolicy};
use crate::upstream::DEFAULT_UPSTREAM_BASE_URL;
use crate::usage_probe::DEFAULT_PROBE_INTERVAL;
use crate::websocket::WebsocketSettings;

/// How long shutdown waits, at most, for token refreshes in flight.
pub const DEFAULT_REFRESH_SETTLE: Duration = Duration::from_secs(10);

/// What a [`Gateway`](super::Gateway) runs with. `Default` gives the defaults of
/// `codex-pooler serve`; change the fields you care about.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewaySettings {
    /// The origin of upstream accounts without their own base URL.
    pub upstream_base_url: String,
    /// How often the store's configuration version is polled (at least 50 ms).
    pub reload_interval: Duration,
    /// The OAuth token endpoint refreshes go to.
    pub token_endpoint: String,
    /// When tokens are refreshed: margin before expiry, check interval, retry backoff.
    pub refresh: RefreshPolicy,
    /// How long shutdown waits for refreshes in flight (one cut between the token answer and
    /// the store write costs the account a login).
    pub refresh_settle: Duration,
    /// How often each account's quota is read from `wham/usage`; `None`: never.
    pub usage_probe_interval: Option<Duration>,
    /// How often each account's model catalog is read again.
    pub catalog_interval: Duration,
    /// Busy and pin waits of dispatch.
    pub dispatch: DispatchConfig,
    /// The responses websocket.
    pub websocket: WebsocketSettings,
    /// How request records are batched into the store.
    pub records: RecordWriterConfig,
    /// How often the live quota evidence is flushed to the store.
    pub evidence: EvidenceWriterConfig,
    /// Hosts `/v1/files` uploads may PUT bytes to besides each account's base URL host (the
    /// backend's `upload_url` is a pre-signed blob URL; any other host is refused).
    pub trusted_upload_hosts: Vec<String>,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            upstream_base_url: DEFAULT_UPSTREAM_BASE_URL.to_owned(),
            reload_interval: Duration::from_secs(1),
            token_endpoint: DEFAULT_TOKEN_ENDPOINT.to_owned(),
            refresh: RefreshPolicy::default(),
            refresh_settle: DEFAULT_REFRESH_SETTLE,
            usage_probe_interval: Some(DEFAULT_PROBE_INTERVAL),
            catalog_interval: DEFAULT_CATALOG_INTERVAL,
            dispatch: DispatchConfig::default(),
            websocket: WebsocketSettings::default(),
            records: RecordWriterConfig::default(),
            evidence: EvidenceWriterConfig::default(),
            trusted_upload_hosts: Vec::new(),
        }
    }
}
