//! The codex-pooler reference server: operator CLI, SQL storage, the HTTP server and demo mode.

pub mod fake_upstream;
pub mod store;
