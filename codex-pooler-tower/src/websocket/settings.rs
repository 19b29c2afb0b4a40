//! [`WebsocketSettings`]: timeouts and limits of websocket sessions.

use std::time::Duration;

use http::HeaderMap;

/// The header of a `101` in which the Codex backend advertises the largest message it accepts
/// (read by the Codex CLI since 0.171).
pub const MAX_MESSAGE_BYTES_HEADER: &str = "x-codex-websocket-max-message-bytes";

/// The most an upstream's advertised limit can raise a session's limit: a bound on what one
/// client message may make the gateway buffer, whatever upstream says.
pub const MAX_HONOURED_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// How long a session may stay silent, how often its key is re-checked, and frame limits.
///
/// ```
/// use std::time::Duration;
/// use codex_pooler_tower::websocket::WebsocketSettings;
///
/// let settings = WebsocketSettings::default().with_idle_timeout(Duration::from_secs(60));
/// assert_eq!(settings.idle_timeout, Duration::from_secs(60));
/// assert_eq!(settings.key_check_interval, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebsocketSettings {
    /// A session with no frame in either direction for this long is closed (default 5 minutes,
    /// the Codex CLI's own stream idle timeout).
    pub idle_timeout: Duration,
    /// A session's Pool API key is re-checked whenever the configuration snapshot is replaced
    /// and when the key expires (a paused, revoked, expired or rotated key closes the session
    /// with code 1008, a key moved to another pool with 1012); this is the interval of a fallback
    /// re-check besides those (default 1 minute).
    pub key_check_interval: Duration,
    /// How long connecting to upstream and its websocket handshake may take (default 10 s).
    pub connect_timeout: Duration,
    /// The largest message or frame accepted in either direction (default 64 MiB; the Codex
    /// CLI's inline images make `response.create` frames past 16 MiB). A session's client side
    /// accepts more when its upstream advertises more; see
    /// [`client_message_limit`](Self::client_message_limit).
    pub max_message_size: usize,
    /// How long one upstream socket is used before the session moves to a fresh one on the same
    /// account, between turns (default 55 minutes: the Codex backend ends sockets at 60 minutes
    /// with `websocket_connection_limit_reached`). A turn refused with that error before any
    /// output is sent again on a fresh socket whatever this says.
    pub upstream_lifetime: Duration,
}

impl Default for WebsocketSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(300),
            key_check_interval: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_message_size: 64 * 1024 * 1024,
            upstream_lifetime: Duration::from_secs(55 * 60),
        }
    }
}

impl WebsocketSettings {
    /// Sets [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sets [`key_check_interval`](Self::key_check_interval) (at least one millisecond).
    #[must_use]
    pub fn with_key_check_interval(mut self, interval: Duration) -> Self {
        self.key_check_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use]
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// The largest client message of a session whose upstream `101` carried `upstream`:
    /// [`max_message_size`](Self::max_message_size), raised to the size upstream advertises in
    /// [`MAX_MESSAGE_BYTES_HEADER`] (honoured up to [`MAX_HONOURED_MESSAGE_BYTES`]), so that a
    /// message upstream accepts is never refused on the way.
    ///
    /// ```
    /// use codex_pooler_tower::websocket::WebsocketSettings;
    /// use http::HeaderMap;
    ///
    /// let settings = WebsocketSettings::default().with_max_message_size(16 << 20);
    /// let mut upstream = HeaderMap::new();
    /// assert_eq!(settings.client_message_limit(&upstream), 16 << 20);
    /// upstream.insert("x-codex-websocket-max-message-bytes", "33554432".parse().unwrap());
    /// assert_eq!(settings.client_message_limit(&upstream), 32 << 20);
    /// ```
    pub fn client_message_limit(&self, upstream: &HeaderMap) -> usize {
        let advertised = upstream
            .get(MAX_MESSAGE_BYTES_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_HONOURED_MESSAGE_BYTES);
        self.max_message_size.max(advertised)
    }

    /// Sets [`upstream_lifetime`](Self::upstream_lifetime).
    #[must_use]
    pub fn with_upstream_lifetime(mut self, lifetime: Duration) -> Self {
        self.upstream_lifetime = lifetime;
        self
    }

    /// Sets [`max_message_size`](Self::max_message_size).
    #[must_use]
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advertising(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(MAX_MESSAGE_BYTES_HEADER, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_default_takes_codex_inline_images() {
        assert!(WebsocketSettings::default().max_message_size >= 16 * 1024 * 1024);
    }

    #[test]
    fn an_advertised_limit_only_raises_and_is_bounded() {
        let settings = WebsocketSettings::default();
        let configured = settings.max_message_size;
        assert_eq!(
            settings.client_message_limit(&advertising("1024")),
            configured
        );
        assert_eq!(
            settings.client_message_limit(&advertising("junk")),
            configured
        );
        assert_eq!(
            settings.client_message_limit(&advertising(&(configured * 2).to_string())),
            configured * 2
        );
        assert_eq!(
            settings.client_message_limit(&advertising(&usize::MAX.to_string())),
            MAX_HONOURED_MESSAGE_BYTES
        );
    }
}
