//! What the fake backend knows: its accounts, the answer it gives and how it paces its streams.

use std::time::Duration;

/// One ChatGPT account the fake backend accepts, with the quota state it reports.
///
/// Every field is public so tests can build an account with struct-update syntax
/// (`FakeAccount { usage_limit_reached: true, ..FakeAccount::new("acc", "tok", "a") }`) or change it
/// at runtime through [`FakeUpstreamHandle::set_account`](super::FakeUpstreamHandle::set_account).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeAccount {
    /// The value the `chatgpt-account-id` request header must carry.
    pub chatgpt_account_id: String,
    /// The bearer token `Authorization` must carry for this account.
    pub access_token: String,
    /// A human name, used in the default answer text (`"Hello from <label>"`).
    pub label: String,
    /// The plan reported in `/wham/usage` and in the `usage_limit_reached` error (default `"plus"`).
    pub plan_type: String,
    /// Percentage of the 5-hour window used, sent as `x-codex-primary-used-percent`.
    pub primary_used_percent: f64,
    /// Percentage of the weekly window used, sent as `x-codex-secondary-used-percent`.
    pub secondary_used_percent: f64,
    /// Length of the primary window in minutes (default 300, five hours); 43 200 (30 days)
    /// reports a free plan's monthly window in the primary slot, as upstream does.
    pub primary_window_minutes: u64,
    /// A third, 30-day window at this percentage, reported as `tertiary_window` in
    /// `/wham/usage` and as `rate_limits.tertiary` in websocket `codex.rate_limits` events (not
    /// in headers); `None` (the default) reports none.
    pub tertiary_used_percent: Option<f64>,
    /// Seconds from now until the primary window resets (default 3600).
    pub primary_reset_after_seconds: u64,
    /// Seconds from now until the secondary window resets (default 3 days).
    pub secondary_reset_after_seconds: u64,
    /// Answer every turn with the `429 usage_limit_reached` error.
    pub usage_limit_reached: bool,
    /// Answer every turn with this HTTP status and an OpenAI-shaped JSON error body.
    pub fail_status: Option<u16>,
    /// Per-account override of [`FakeConfig::stall_after_events`].
    pub stall_after_events: Option<usize>,
    /// Per-account override of [`FakeConfig::break_after_events`].
    pub break_after_events: Option<usize>,
    /// At most this many `/responses` answers of the account streaming at once; one more gets a
    /// `429` with a code-less error body, as upstream's per-account concurrency cap answers
    /// (`None`: no cap).
    pub max_streams: Option<usize>,
    /// Accept websocket upgrades on `GET /backend-api/codex/responses` (default `true`);
    /// `false` answers them `426`, as a backend without the websocket transport does.
    pub websocket: bool,
    /// The `workspace_backend_origin` `/wham/accounts/check` reports for this account, e.g. the
    /// base URL of another fake; `None` reports `"NO_CONSTRAINT"` (stay on the configured base).
    pub workspace_backend_origin: Option<String>,
    /// The `account_routing_override` `/wham/accounts/check` reports (`"us"`, `"us_cr"`); `None`
    /// reports `"NO_CONSTRAINT"` (no `x-openai-account-routing-override` header expected).
    pub account_routing_override: Option<String>,
}

impl FakeAccount {
    /// A healthy `plus` account: 0% used in both windows, no failure injected.
    pub fn new(
        chatgpt_account_id: impl Into<String>,
        access_token: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            chatgpt_account_id: chatgpt_account_id.into(),
            access_token: access_token.into(),
            label: label.into(),
            plan_type: "plus".to_owned(),
            primary_used_percent: 0.0,
            secondary_used_percent: 0.0,
            primary_window_minutes: 300,
            tertiary_used_percent: None,
            primary_reset_after_seconds: 3600,
            secondary_reset_after_seconds: 3 * 24 * 3600,
            usage_limit_reached: false,
            fail_status: None,
            stall_after_events: None,
            break_after_events: None,
            max_streams: None,
            websocket: true,
            workspace_backend_origin: None,
            account_routing_override: None,
        }
    }
}

/// The default [`FakeConfig::websocket_max_message_bytes`].
pub const DEFAULT_WEBSOCKET_MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How the fake backend behaves as a whole.
///
/// `Default` gives no accounts, one write per SSE event, no delays and four text deltas.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeConfig {
    /// The accounts the backend accepts.
    pub accounts: Vec<FakeAccount>,
    /// Split each SSE event's bytes into writes of at most this many bytes; `None` writes each
    /// event whole.
    pub chunk_size: Option<usize>,
    /// Pause between consecutive writes of a stream (between chunks and between events).
    pub chunk_delay: Duration,
    /// Pause before the response head of every `/responses` call is sent.
    pub first_byte_delay: Duration,
    /// The answer text; `None` answers `"Hello from <label>"`.
    pub text: Option<String>,
    /// Into how many `response.output_text.delta` events the text is split (at least one).
    pub text_deltas: usize,
    /// `usage.output_tokens` to report; `None` estimates it from the answer (4 bytes a token).
    pub output_tokens: Option<u64>,
    /// `usage.input_tokens_details.cached_tokens` to report (capped at the input tokens).
    pub cached_tokens: u64,
    /// `usage.output_tokens_details.reasoning_tokens` to report (added to the output tokens).
    pub reasoning_tokens: u64,
    /// Stop writing after this many SSE events but keep the connection open, until the client
    /// goes away or the fake shuts down. Always stops before `response.completed`.
    pub stall_after_events: Option<usize>,
    /// End the body abruptly (connection closed mid-body) after this many SSE events. Always
    /// breaks before `response.completed`.
    pub break_after_events: Option<usize>,
    /// The OAuth server: refresh tokens it accepts, injected failures, device login.
    pub oauth: super::oauth::FakeOAuth,
    /// The largest websocket message the fake accepts, advertised in the `101` as
    /// `x-codex-websocket-max-message-bytes` (read by the Codex CLI since 0.171). Default
    /// 64 MiB: the real backend's value is not known; 16 MiB is known to be too small for
    /// inline images.
    pub websocket_max_message_bytes: usize,
    /// Send `"output": []` in `response.completed` (HTTP and websocket), the items only in
    /// `response.output_item.done`, as the ChatGPT backend does at times (get-bb/bb PR #3310).
    pub items_only_in_done: bool,
    /// How long one upstream websocket may live (the real backend's limit is 60 minutes; `None`:
    /// no limit). The first `response.create` after it is refused with the backend's
    /// `websocket_connection_limit_reached` `error` frame and the socket is closed; see
    /// [`FakeUpstreamHandle::end_websocket_lifetimes`](super::FakeUpstreamHandle::end_websocket_lifetimes)
    /// to end the open sockets' lifetimes without waiting.
    pub websocket_lifetime: Option<Duration>,
    /// Send a websocket ping this often while a socket waits for its next frame (`None`: never).
    pub websocket_ping_interval: Option<Duration>,
    /// A ping not answered within this long closes the socket with `1011 keepalive ping
    /// timeout`, as the real backend does to a peer that never reads its socket (default 10 s).
    pub websocket_ping_timeout: Duration,
    /// The origin (`scheme://host:port`) file creations name in their `upload_url` (`None`: the
    /// fake's own address, as the client reached it), to show a gateway refusing a host it
    /// does not trust.
    pub upload_origin: Option<String>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            accounts: Vec::new(),
            chunk_size: None,
            chunk_delay: Duration::ZERO,
            first_byte_delay: Duration::ZERO,
            text: None,
            text_deltas: 4,
            output_tokens: None,
            cached_tokens: 0,
            reasoning_tokens: 0,
            stall_after_events: None,
            break_after_events: None,
            oauth: super::oauth::FakeOAuth::default(),
            websocket_max_message_bytes: DEFAULT_WEBSOCKET_MAX_MESSAGE_BYTES,
            items_only_in_done: false,
            websocket_lifetime: None,
            websocket_ping_interval: None,
            websocket_ping_timeout: Duration::from_secs(10),
            upload_origin: None,
        }
    }
}

impl FakeConfig {
    /// The default configuration serving these accounts.
    pub fn with_accounts(accounts: Vec<FakeAccount>) -> Self {
        Self {
            accounts,
            ..Self::default()
        }
    }

    /// The account whose `chatgpt_account_id` is `id`.
    pub fn account(&self, id: &str) -> Option<&FakeAccount> {
        self.accounts.iter().find(|a| a.chatgpt_account_id == id)
    }
}
