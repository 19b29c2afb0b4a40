//! Routes the gateway answers itself, without planning or an upstream account: the pool's model
//! catalog (`/models`), its quota view (`/wham/usage`), workspace routing discovery
//! (`/wham/accounts/check`), the deterministic 404 for other ChatGPT helper routes, and
//! `unsupported_endpoint` for `/v1` paths the pooler does not serve.

mod answer;
mod layer;
mod service;
mod v1_usage;

pub(crate) use answer::json_response;
pub(crate) use layer::LocalRoutesLayer;
