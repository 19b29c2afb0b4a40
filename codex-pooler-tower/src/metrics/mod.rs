//! Prometheus metrics of the gateway, with bounded cardinality.
//!
//! [`GatewayMetrics`] holds the metric families; the embedder registers them into their own
//! [`prometheus_client::registry::Registry`] with [`GatewayMetrics::register`] and hands the
//! same value to [`PoolerBuilder::metrics`](crate::PoolerBuilder::metrics) (or
//! [`GatewayBuilder::metrics`](crate::gateway::GatewayBuilder::metrics), which also gives it to
//! the token refresher, the configuration reload and the record writer). Without it nothing is
//! recorded and the stack has no metrics layer at all.
//!
//! ```
//! use std::sync::Arc;
//! use codex_pooler_tower::metrics::GatewayMetrics;
//! use prometheus_client::registry::Registry;
//!
//! let metrics = Arc::new(GatewayMetrics::new());
//! let mut registry = Registry::default();
//! metrics.register(&mut registry);
//! let mut text = String::new();
//! prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
//! assert!(text.contains("codex_pooler_requests_in_flight"), "{text}");
//! ```
//!
//! Every label takes its values from a closed set (route classes, status classes, outcomes,
//! window kinds, circuit phases) or from the operator's configuration (pool slugs and opaque
//! account handles `acct-<store id>`), never from a client: the number of series is bounded by
//! the configuration, whatever the traffic. `docs/metrics.md` lists every series.
//!
//! On the request path a record is a few atomic operations: one lookup in a family under a
//! read lock, counter increments and histogram observations; no allocation except the body
//! wrapper. Gauges that mirror live state (quota, circuits, record drops) are read when
//! Prometheus scrapes, by a [`Collector`](prometheus_client::collector::Collector).

mod attempts;
mod body;
mod families;
mod labels;
mod live_collector;
mod observe;
mod open_stream;
mod pool_tag;
#[cfg(test)]
mod tests;
mod text_format;

pub use families::GatewayMetrics;
pub use labels::{RefreshOutcome, ReloadOutcome, StreamKind};
pub use open_stream::OpenStream;
pub use text_format::{
    OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE, openmetrics_text, prometheus_text,
};

pub(crate) use attempts::AttemptsLayer;
pub(crate) use observe::ObserveLayer;
pub(crate) use pool_tag::PoolTagLayer;
