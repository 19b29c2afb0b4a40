//! A faithful fake of the ChatGPT Codex backend, for tests, `serve --demo` and benchmarks.
//!
//! It speaks the wire protocol the Codex CLI 0.169 speaks with `chatgpt.com` (see
//! `shared/research/codex-protocol.md`):
//!
//! | Route | Answer |
//! |---|---|
//! | `POST /backend-api/codex/responses` | a model turn as SSE; 401 / 400 / injected status / 429 `usage_limit_reached` / a code-less 429 past the account's `max_streams`. Bodies the real backend refuses get its 400 `{"detail": ...}` ([`turn_refusal`]: `store` must be `false`, `stream` must be `true`, no sampling parameters) |
//! | `GET /backend-api/codex/responses` + `Upgrade: websocket` | the Responses websocket: one JSON text frame per event, a `codex.rate_limits` frame per turn, `error` frames; 426 for accounts with `websocket: false` (the CLI then falls back to HTTP) |
//! | `GET /backend-api/codex/models` | `gpt-5.1-codex`, `gpt-5.1-codex-mini`, `gpt-6.2-sol` and `gpt-6.2-astra` as `ModelInfo` entries the CLI decodes (every field it requires; the 0.171 keys on the `gpt-6.2-*` ones), with a fixed `ETag` ([`catalog`]) |
//! | `GET /backend-api/wham/usage` | the account's quota snapshot |
//! | `GET /backend-api/wham/accounts/check` | workspace routing discovery: the account's [`FakeAccount::workspace_backend_origin`] and [`FakeAccount::account_routing_override`], `NO_CONSTRAINT` by default |
//! | `POST /oauth/token` | OAuth: rotating `refresh_token` grants (each refresh token works once; reuse is `401 refresh_token_reused`; injectable failures) and the device login's `authorization_code` exchange; see [`FakeOAuth`] |
//! | `POST /api/accounts/deviceauth/usercode`, `.../deviceauth/token` | the device-code login (404 unless [`FakeOAuth::device_account`] is set) |
//! | `POST /backend-api/codex/alpha/{history/v2,notes/v2}/*`, `.../alpha/search` | the history and notes tools, per account: notes kept per account and session, history from the turns the account served; 400 `{"detail": ...}` without `context.session_id` |
//! | anything else | 404 JSON |
//!
//! Like `chatgpt.com`, the fake gzips every answer body (SSE streams too, flushed per chunk)
//! when the request's `Accept-Encoding` offers `gzip`, as the Codex CLI's `zstd,gzip` does.
//!
//! Every request is logged ([`FakeUpstreamHandle::seen`]) with its headers, among them the
//! `x-openai-account-routing-override` it carried ([`SeenRequest::routing_override`]).
//!
//! Every `/responses` answer for a known account carries the `x-codex-*` quota headers,
//! `openai-model`, `x-models-etag`, `x-codex-turn-state` (echoed if the request sent one),
//! `x-request-id`, and `x-openai-account-id` naming the serving account (a stand-in for an
//! account-identifying header a gateway must not pass on; websocket `error` frames carry it too).
//! The fake answers `"Hello from <label>"`, a tool call to `exec_command` when the last user
//! message contains `RUN_TOOL: <command>`, a call of the offered function tool `<name>` when it
//! has a line `CALL_TOOL: <name> <arguments JSON>` (for agent tools with their own tool names),
//! and `"Tool said: <output>"` after a `function_call_output`, so the real CLI can run a
//! multi-step turn against it.
//! A last user message containing `END_INCOMPLETE: <reason>` or `FAIL_TURN: <code>` ends the turn
//! with `response.incomplete` or `response.failed` after its output (the two ways a started turn
//! ends short on the real backend).
//!
//! ```no_run
//! use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let fake = FakeUpstream::start(FakeConfig::with_accounts(vec![
//!     FakeAccount::new("acc-1", "token-1", "alice"),
//! ]))?;
//! let url = format!("{}/backend-api/codex/responses", fake.base_url());
//! // ... point the gateway at `fake.base_url()`, send turns, then:
//! assert!(fake.seen().iter().all(|r| r.authorized));
//! fake.set_account("acc-1", |a| a.usage_limit_reached = true);
//! # let _ = url;
//! # Ok(())
//! # }
//! ```

mod auth;
mod catalog;
mod config;
mod context;
mod encoding;
mod events;
mod handle;
mod handlers;
mod named_tool;
mod oauth;
mod oauth_routes;
mod pacing;
mod quota;
mod rejection;
mod seen;
mod state;
mod stream_slot;
mod surface;
mod turn;
mod turn_end;
mod turn_rules;
mod websocket;
mod ws_turn;

use std::io;

use axum::Router;
use axum::routing::{get, post, put};
use tokio::net::TcpListener;

pub use catalog::{MODEL_INSTRUCTIONS, catalog};
pub use config::{DEFAULT_WEBSOCKET_MAX_MESSAGE_BYTES, FakeAccount, FakeConfig};
pub use handle::FakeUpstreamHandle;
pub use oauth::{FAKE_CLIENT_ID, FakeOAuth, FakeRefreshFailure};
pub use seen::{ROUTING_OVERRIDE_HEADER, SeenRequest};
pub use state::FakeState;
pub use turn_rules::{UNSUPPORTED_PARAMETERS, turn_refusal};

/// The path of the model-turn endpoint.
pub const RESPONSES_PATH: &str = "/backend-api/codex/responses";
/// The path of the model catalog.
pub const MODELS_PATH: &str = "/backend-api/codex/models";
/// The path of the quota snapshot.
pub const USAGE_PATH: &str = "/backend-api/wham/usage";
/// The path of workspace routing discovery.
pub const ACCOUNTS_CHECK_PATH: &str = "/backend-api/wham/accounts/check";

/// The OAuth token endpoint (refresh and code exchange), as on `auth.openai.com`.
pub const TOKEN_PATH: &str = "/oauth/token";
/// The device login's user-code endpoint.
pub const DEVICE_USER_CODE_PATH: &str = "/api/accounts/deviceauth/usercode";
/// The device login's polling endpoint.
pub const DEVICE_TOKEN_PATH: &str = "/api/accounts/deviceauth/token";

/// Entry points to run the fake backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeUpstream;

impl FakeUpstream {
    /// Binds `127.0.0.1:0` and serves `config` in a background task of the current tokio runtime.
    ///
    /// Fails if binding fails or if called outside a tokio runtime.
    pub fn start(config: FakeConfig) -> io::Result<FakeUpstreamHandle> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = FakeState::new(config);
        let task = {
            let _entered = runtime.enter();
            let listener = TcpListener::from_std(listener)?;
            runtime.spawn(serve_state(listener, state.clone()))
        };
        Ok(FakeUpstreamHandle::new(addr, state, task))
    }

    /// The routes of the fake, serving `state` (every request is recorded in its log).
    pub fn router(state: FakeState) -> Router {
        Router::new()
            .route(
                RESPONSES_PATH,
                post(handlers::create_response).get(websocket::upgrade),
            )
            .route(
                "/backend-api/codex/responses/compact",
                post(surface::compact),
            )
            .route(
                "/backend-api/codex/images/generations",
                post(surface::images),
            )
            .route("/backend-api/codex/images/edits", post(surface::images))
            .route("/backend-api/transcribe", post(surface::transcribe))
            .route("/backend-api/files", post(surface::create_file))
            .route(
                "/backend-api/files/{id}/uploaded",
                post(surface::finalize_file),
            )
            .route("/upload/{id}", put(surface::put_upload))
            .route("/backend-api/codex/alpha/{*endpoint}", post(context::serve))
            .route(TOKEN_PATH, post(oauth_routes::token))
            .route(DEVICE_USER_CODE_PATH, post(oauth_routes::device_user_code))
            .route(DEVICE_TOKEN_PATH, post(oauth_routes::device_token))
            .route(MODELS_PATH, get(handlers::list_models))
            .route(USAGE_PATH, get(handlers::usage))
            .route(ACCOUNTS_CHECK_PATH, get(handlers::accounts_check))
            .fallback(handlers::not_found)
            .method_not_allowed_fallback(handlers::method_not_allowed)
            .layer(axum::middleware::from_fn(encoding::compress))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                seen::record,
            ))
            .with_state(state)
    }
}

/// Serves a fake backend for `config` on `listener` until the process ends (for `serve --demo`
/// and benchmark binaries).
pub async fn serve(listener: TcpListener, config: FakeConfig) -> io::Result<()> {
    serve_state(listener, FakeState::new(config)).await
}

/// Serves `state` on `listener` until [`FakeState::shutdown`] is called, then waits for open
/// connections to close (open streams end at once on shutdown).
pub async fn serve_state(listener: TcpListener, state: FakeState) -> io::Result<()> {
    let mut signal = state.shutdown_signal();
    axum::serve(listener, FakeUpstream::router(state))
        .with_graceful_shutdown(async move { state::shut_down(&mut signal).await })
        .await
}
