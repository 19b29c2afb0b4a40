//! Tests of the fake Codex backend over real loopback HTTP.

mod failures;
mod refusals;
mod routes;
mod streaming;
mod support;
mod turns;
mod websocket;
