//! [`WebsocketSettings`]: timeouts and limits of websocket sessions.

use std::time::Duration;

/// How long a session may stay silent, how often its key is re-checked, and frame limits.
///
/// ```
/// use std::time::Duration;
/// use codex_pooler_tower::websocket::WebsocketSettings;
///
/// let settings = WebsocketSettings::default().with_idle_timeout(Duration::from_secs(60));
/// assert_eq!(settings.idle_timeout, Duration::from_secs(60));
/// assert_eq!(settings.key_check_interval, Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebsocketSettings {
    /// A session with no frame in either direction for this long is closed (default 5 minutes,
    /// the Codex CLI's own stream idle timeout).
    pub idle_timeout: Duration,
    /// How often the session's Pool API key is checked against the current configuration; a
    /// paused, revoked or expired key closes the session with code 1008 (default 1 second).
    pub key_check_interval: Duration,
    /// How long connecting to upstream and its websocket handshake may take (default 10 s).
    pub connect_timeout: Duration,
    /// The largest message or frame accepted in either direction (default 64 MiB).
    pub max_message_size: usize,
}

impl Default for WebsocketSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(300),
            key_check_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(10),
            max_message_size: 64 * 1024 * 1024,
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

    /// Sets [`max_message_size`](Self::max_message_size).
    #[must_use]
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }
}
