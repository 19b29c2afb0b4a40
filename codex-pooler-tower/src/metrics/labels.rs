//! The label sets of the metric families: every value from a closed set or from the operator's
//! configuration.

use std::fmt::Write as _;
use std::sync::Arc;

use codex_pooler_core::model::{AccountId, PoolId};
use http::StatusCode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

use super::live_collector::Sources;

/// The `status` label: the class of an HTTP status.
pub(crate) fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The `route` label of requests no route class was found for (unsupported `/v1` paths).
pub(crate) const UNSUPPORTED_ROUTE: &str = "unsupported";

/// The `pool` label: the pool's slug, read from the configuration when Prometheus scrapes
/// (`none` before a key named a pool, `pool-<id>` for a pool since deleted). Equal by pool id.
#[derive(Debug, Clone)]
pub(crate) struct PoolLabel {
    pub(crate) id: Option<PoolId>,
    pub(crate) names: Arc<Sources>,
}

impl PartialEq for PoolLabel {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for PoolLabel {}

impl std::hash::Hash for PoolLabel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl EncodeLabelValue for PoolLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(id) = self.id else {
            return encoder.write_str("none");
        };
        match self.names.pool_slug(id) {
            Some(slug) => encoder.write_str(&slug),
            None => write!(encoder, "pool-{}", id.0),
        }
    }
}

/// The `account` label: the opaque handle `acct-<store id>` (never an email or a ChatGPT
/// account id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AccountLabel(pub(crate) AccountId);

impl EncodeLabelValue for AccountLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        write!(encoder, "acct-{}", self.0.0)
    }
}

/// `codex_pooler_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) route: &'static str,
    pub(crate) status: &'static str,
    pub(crate) pool: PoolLabel,
}

/// The latency histograms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct RouteLabels {
    pub(crate) route: &'static str,
}

/// Upstream attempts and failures.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct AttemptLabels {
    pub(crate) account: AccountLabel,
    pub(crate) outcome: &'static str,
}

/// Counters by outcome alone (refreshes, reloads).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub(crate) outcome: &'static str,
}

/// Open streams.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct StreamLabels {
    pub(crate) kind: &'static str,
}

/// Quota gauges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct QuotaLabels {
    pub(crate) account: AccountLabel,
    pub(crate) window: &'static str,
}

/// Circuit gauges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct CircuitLabels {
    pub(crate) account: AccountLabel,
    pub(crate) route: &'static str,
    pub(crate) state: &'static str,
}

/// The `outcome` of an upstream attempt, from its answer's status (`None`: no answer).
pub(crate) fn attempt_outcome(status: Option<StatusCode>) -> &'static str {
    match status.map(|s| s.as_u16()) {
        None => "transport_error",
        Some(100..=299) => "success",
        Some(401) => "unauthorized",
        Some(429) => "rate_limited",
        Some(500..=599) => "server_error",
        Some(_) => "client_error",
    }
}

/// A stream kept open to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamKind {
    /// A server-sent event stream over HTTP.
    Sse,
    /// A responses websocket session.
    Websocket,
}

impl StreamKind {
    /// The `kind` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sse => "sse",
            Self::Websocket => "websocket",
        }
    }
}

/// How one token refresh ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// New tokens were stored and are in use (or tokens stored elsewhere were adopted).
    Success,
    /// A transient failure: retried after a backoff.
    Failed,
    /// Upstream refused the refresh token for good: the account needs a new login.
    ReauthRequired,
    /// New tokens came but could not be stored: they wait for a retry.
    NotStored,
}

impl RefreshOutcome {
    /// The `outcome` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
            Self::ReauthRequired => "reauth_required",
            Self::NotStored => "not_stored",
        }
    }
}

/// How one configuration poll ended (polls that found nothing new are not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReloadOutcome {
    /// A new configuration was loaded.
    Reloaded,
    /// The store could not be read.
    Failed,
}

impl ReloadOutcome {
    /// The `outcome` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reloaded => "reloaded",
            Self::Failed => "failed",
        }
    }
}
