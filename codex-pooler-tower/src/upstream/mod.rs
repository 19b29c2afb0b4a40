//! The upstream side: the HTTP client that sends one attempt to one Codex account, and the
//! unauthorized recovery every call with an account's token goes through.

mod client;
pub(crate) mod connector;
mod credential_source;
mod headers;
pub(crate) mod recovery;
mod response_headers;

pub use client::{DEFAULT_UPSTREAM_BASE_URL, UpstreamClient, UpstreamError};
pub use credential_source::{AccessToken, CredentialError, CredentialSource, StaticCredentials};
pub use headers::{DEFAULT_CLIENT_VERSION, forward_request_headers};
pub(crate) use response_headers::relay_upgrade_headers;
pub use response_headers::{filter_response_headers, is_relayed_response_header};
