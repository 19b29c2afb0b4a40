//! HTTPS for `codex-pooler serve`: `--tls-cert` and `--tls-key` (PEM) turn the listener into a
//! TLS listener that speaks HTTP/1.1 and HTTP/2 (chosen by ALPN).
//!
//! Clients in the ChatGPT-auth shape (the Codex CLI with an `auth.json` and a custom
//! `chatgpt_base_url`) refuse plain HTTP for workspace routing discovery, so they need this.
//!
//! [`TlsConfig::load`] reads and checks the certificate chain and key once at startup, so a bad
//! file stops the server before it binds; [`TlsListener`] then wraps the bound TCP listener and
//! hands finished TLS streams to `axum::serve`, which keeps graceful shutdown, upgrades
//! (websockets) and HTTP/2 exactly as on the plain listener.

mod config;
mod listener;

pub use config::{TlsConfig, TlsError};
pub(crate) use listener::TlsListener;
