//! Websocket upgrades of `/responses`: handed to the [websocket](crate::websocket) session code,
//! which plans, opens the upstream socket, records and relays on its own.

mod layer;
mod service;

pub(crate) use layer::UpgradeLayer;
