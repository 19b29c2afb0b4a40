//! Responses over websocket: `GET /backend-api/codex/responses` and `GET /v1/responses` with
//! `Upgrade: websocket`, the transport the Codex CLI's built-in provider prefers.
//!
//! One client websocket is served by one account for its whole life, over one upstream socket at
//! a time: a `previous_response_id` only resolves on the socket that produced it. So the account is chosen
//! once, at the upgrade, by the same planner as HTTP requests (eligibility, continuity pins from
//! the session headers and turn state, the pool's strategy), with the model taken from the
//! upgrade's hints (`x-codex-routing-hint`, the `model` in `x-codex-turn-metadata`, a `model`
//! query parameter). The upgrade goes through the same `Plan` and `Dispatch` stack as HTTP
//! requests, over the websocket connector (`WebsocketUpstream`) instead of the HTTP client:
//! the candidates are tried in order, moving on after a connect error, a 429 or a 5xx, waiting
//! for an account upstream refused for concurrency and planning afresh as HTTP requests do, all
//! before the client's `101` is sent. The `101` carries the upstream `101`'s
//! allowlisted headers (turn state, `openai-model`, `x-models-etag`, `x-reasoning-included`,
//! `x-codex-websocket-max-message-bytes`, quota headers), the same list HTTP answers use. The
//! client side of the session then accepts messages as large as upstream advertises in that
//! header, and never less than [`WebsocketSettings::max_message_size`].
//!
//! Frames are then relayed both ways as they arrive, without buffering; only an upstream frame
//! with a `headers` object (an `error` frame) is rewritten, without the names that list leaves
//! out. Upstream text frames are glanced at for `response.created` ids (continuity),
//! `codex.rate_limits` and 429 `error` frames (quota evidence, read before the rewrite) and
//! `response.completed` usage; each client `response.create` opens
//! one request record (route `responses_websocket`). Pings are answered, closes forwarded, a
//! silent socket is closed after [`WebsocketSettings::idle_timeout`], and a session whose Pool
//! API key is paused, revoked, expired or rotated is closed with code 1008, one whose key moved
//! pool with 1012 (`key_watch`). The upstream socket is read all the time, so upstream's
//! keepalive pings are answered while the client is idle.
//!
//! An upstream socket past [`WebsocketSettings::upstream_lifetime`], or refused by upstream with
//! `websocket_connection_limit_reached` before a turn's first output, is replaced by a fresh one
//! on the same account and the turn goes on there (`reconnect`, `transcript`). Client frames other
//! than `response.create` (`response.interrupt`) go upstream unchanged.
//!
//! When no account's websocket opens (upstream answers 426 or 404, or every candidate fails) the
//! client gets `426 websocket_unsupported`, on which the Codex CLI falls back to HTTP.
//!
//! The server under [`PoolerLayer`](crate::PoolerLayer) must support HTTP/1.1 upgrades (hyper's
//! `serve_connection_with_upgrades`, which `axum::serve` uses); without it upgrades answer 426.
//!
//! ```
//! use std::time::Duration;
//! # fn demo(snapshot: codex_pooler_core::model::SnapshotHandle,
//! #         hasher: codex_pooler_tower::keys::KeyHasher) {
//! use codex_pooler_tower::Pooler;
//! use codex_pooler_tower::websocket::WebsocketSettings;
//!
//! let pooler = Pooler::builder(snapshot, hasher)
//!     .websocket(WebsocketSettings::default().with_idle_timeout(Duration::from_secs(120)))
//!     .build();
//! # let _ = pooler;
//! # }
//! ```

mod connect;
mod frames;
mod handshake;
mod key_watch;
mod open;
mod reconnect;
mod relay;
mod settings;
mod transcript;
mod turn_policy;
mod turns;

use codex_pooler_core::dispatch::Outcome;
use codex_pooler_core::request::PoolRequest;
use tower::util::BoxCloneSyncService;

pub use settings::{MAX_HONOURED_MESSAGE_BYTES, MAX_MESSAGE_BYTES_HEADER, WebsocketSettings};

pub(crate) use connect::{UpstreamConnector, WebsocketUpstream};
pub(crate) use open::upgrade;

/// Plan and Dispatch over [`WebsocketUpstream`], erased.
pub(crate) type Pipeline = BoxCloneSyncService<PoolRequest, Outcome, std::convert::Infallible>;

/// What websocket sessions need from the pooler besides its shared state.
#[derive(Debug)]
pub(crate) struct WebsocketContext {
    /// Plan and Dispatch, as for HTTP requests, over [`WebsocketUpstream`]: its outcome's
    /// `101` carries the upstream socket.
    pub(crate) pipeline: Pipeline,
    /// Opens a fresh upstream socket for a session that outlived its own.
    pub(crate) connector: UpstreamConnector,
    /// Timeouts and limits.
    pub(crate) settings: WebsocketSettings,
}
