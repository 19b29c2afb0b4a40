//! sea-orm entities, one module per table.
//!
//! These mirror the schema created by [`super::migration`]. Integers the domain keeps unsigned
//! are stored as signed 64-bit columns (PostgreSQL has no unsigned types) and times as unix
//! milliseconds, so SQLite and PostgreSQL hold the same values.

pub(crate) mod audit_event;
pub(crate) mod config_version;
pub(crate) mod hashing_key;
pub(crate) mod operator;
pub(crate) mod operator_pool;
pub(crate) mod operator_token;
pub(crate) mod pool;
pub(crate) mod pool_api_key;
pub(crate) mod pool_assignment;
pub(crate) mod request_record;
pub(crate) mod upstream_account;
pub(crate) mod upstream_secret;
