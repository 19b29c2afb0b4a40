//! [`OpenStream`]: one stream counted as open while its guard lives.

use prometheus_client::metrics::gauge::Gauge;

/// Counts one open stream in `codex_pooler_open_streams` until dropped.
#[derive(Debug)]
#[must_use = "the stream counts as open only while the guard lives"]
pub struct OpenStream(Gauge);

impl OpenStream {
    pub(super) fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}
