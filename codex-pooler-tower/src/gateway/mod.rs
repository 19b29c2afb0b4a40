#![doc = include_str!("../../../docs/embedding.md")]

mod builder;
mod error;
mod running;
mod settings;
mod shutdown;

pub use builder::{Gateway, GatewayBuilder};
pub use error::GatewayError;
pub use running::RunningGateway;
pub use settings::{DEFAULT_REFRESH_SETTLE, GatewaySettings};
