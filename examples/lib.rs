//! Examples for codex-pooler. Each example is one runnable file:
//!
//! - `embed_axum.rs`: the gateway (pooler and background tasks) in front of your own axum routes.
//! - `custom_strategy.rs`: a routing strategy of your own, plugged into the pooler.
//! - `fleet_sim.rs`: the fleet simulator, every routing strategy against the same simulated pool
//!   (its library code is the [`fleet_sim`] module).

#[path = "fleet_sim/mod.rs"]
pub mod fleet_sim;
