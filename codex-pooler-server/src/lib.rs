//! The codex-pooler reference server: operator CLI, SQL storage, the HTTP server and demo mode.
//!
//! The binary `codex-pooler` is a thin shell over this library: [`cli`] parses the command line,
//! [`commands`] carries out operator commands against the store, and [`serve`] runs the gateway
//! (the tower [`PoolerLayer`](codex_pooler_tower::PoolerLayer) in front of an axum router).

pub mod admin;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod error;
pub mod operators;
mod private_files;
pub mod secret_keys;
pub mod serve;
pub mod settings;
pub mod store;
