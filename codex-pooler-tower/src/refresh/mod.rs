//! The upstream credential lifecycle: refreshing access tokens, and logging accounts in.
//!
//! [`RefreshingCredentials`] is a [`CredentialSource`](crate::upstream::CredentialSource) over
//! the tokens [`ConfigSync`](crate::ConfigSync) opens from the store. It hands each request the
//! account's newest access token and refreshes it at the OAuth token endpoint
//! ([`HttpTokenEndpoint`], `POST https://auth.openai.com/oauth/token` with the Codex CLI's JSON
//! body) when needed:
//!
//! - **proactively**, when the access token's JWT `exp` is within [`RefreshPolicy::margin`]
//!   (five minutes), or, for a token without `exp`, once it is eight days old (counted from this
//!   process's last refresh of it, or from when the process first saw it: the store keeps no
//!   `last_refresh`);
//! - **after an upstream 401**, on every path that uses the token (model turns over HTTP, the
//!   websocket upgrade, the usage probe, the catalog sync, workspace discovery): one refresh and
//!   one retry of the same call
//!   ([`CredentialSource::refresh_after_unauthorized`](crate::upstream::CredentialSource::refresh_after_unauthorized),
//!   through one shared helper); a refresh rejected for good is not asked again;
//! - **in the background** ([`RefreshingCredentials::spawn_maintenance`]), so idle accounts stay
//!   fresh and failed ones are retried.
//!
//! Refreshes are **single-flight per account**: one runs at a time, in its own task (a client
//! disconnecting cannot cancel it halfway), and every caller needing one waits for that one's
//! result. A request whose token is still valid waits at most [`RefreshPolicy::wait_budget`].
//!
//! # The order of writes
//!
//! The refresh token rotates on every refresh: once the token endpoint answers, the refresh
//! token that was sent is dead and the new one is the only way to keep the account. The store is
//! the only copy that survives a crash and the only one other replicas see, so:
//!
//! 1. the refresh token sent is always the one read from the store;
//! 2. the new tokens are sealed and written with `replace_secrets` **before** the new access
//!    token is handed to any request;
//! 3. if that write fails, the new tokens wait in memory and are written before anything else is
//!    tried (upstream is not asked again); requests keep the old access token while it is valid.
//!
//! If the process dies between the token answer and the write, the store still holds the old,
//! now consumed, refresh token with the old access token: a consistent, if stale, pair. The old
//! access token keeps working until its `exp`; the next refresh sends the old refresh token and
//! upstream answers `refresh_token_reused`, which marks the account `reauth_required`: visible
//! in `codex-pooler upstreams list`, unroutable, fixed by `codex-pooler upstreams login`. The
//! opposite order (use the new token first, write later) would lose the same refresh token in
//! the same crash, but would also have served traffic on credentials no replica and no restart
//! can see, so the failure would surface later and far from its cause. A crash costs a login;
//! it never leaves a silently diverging copy.
//!
//! # Failures and the lifecycle
//!
//! - HTTP 400/401 with `invalid_grant`, `refresh_token_reused`, `refresh_token_expired`,
//!   `refresh_token_invalidated`, `revoked` or `invalid_refresh_token` (in `error` or
//!   `error.code`) are **permanent**: the account becomes `reauth_required`.
//! - Anything else (5xx, 429, transport, timeout, a failed store write) is **transient**: the
//!   account backs off exponentially ([`RefreshPolicy::retry_backoff`], doubling up to 32 times,
//!   with jitter). While its access token is still valid it stays `active` and keeps serving:
//!   the core treats `refresh_failed` as unroutable, and pulling an account whose token works
//!   would turn an auth-server hiccup into lost capacity. Only once the token has actually
//!   expired is the account marked `refresh_failed`; the background pass keeps retrying and a
//!   later success puts it back to `active`.
//! - `refreshing` and `refresh_due` are not written: a refresh in flight is in-memory state, and
//!   writing it would bump the configuration version (a reload on every replica) for nothing.
//!
//! # Reloads and replicas
//!
//! A configuration reload replaces the base tokens wholesale and can carry a copy read just
//! before this process's own `replace_secrets`. The refresher therefore keeps its newest token
//! and only takes the base's when the base changed since last seen and is not older by `exp`.
//!
//! Replicas sharing a database do not coordinate through a lease (out of scope). Instead, before
//! calling the endpoint a refresh reads the store: a fresh access token there that differs from
//! the one held was written by another replica and is adopted without a call. Two replicas can
//! still race inside one round trip; the loser gets `refresh_token_reused`, and before declaring
//! the lineage dead it watches the store for [`RefreshPolicy::reuse_grace`]: if the winner's
//! rotated token appears, it adopts that instead.
//!
//! # Logging in
//!
//! [`DeviceLogin`] runs the Codex CLI's device-code login (`codex-pooler upstreams login`).

mod device;
mod endpoint;
mod error;
mod http;
mod maintain;
mod policy;
mod slot;
mod source;
mod task;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

pub use device::{
    DEFAULT_ISSUER, DEVICE_LOGIN_MAX_WAIT, DeviceCode, DeviceLogin, LoginError, LoginTokens,
};
pub use endpoint::{
    CODEX_CLIENT_ID, DEFAULT_TOKEN_ENDPOINT, HttpTokenEndpoint, InvalidEndpoint, RefreshReason,
    TokenEndpoint, TokenGrant,
};
pub use error::{PERMANENT_REFRESH_ERRORS, RefreshError, classify_failure};
pub use http::DEFAULT_OAUTH_TIMEOUT;
pub use policy::{
    DEFAULT_CHECK_INTERVAL, DEFAULT_REFRESH_MARGIN, DEFAULT_RETRY_BACKOFF, MAX_AGE_WITHOUT_EXP,
    RefreshPolicy,
};
pub use source::{RefreshingCredentials, RefreshingCredentialsBuilder};
