//! Upstream credentials: auth.json import, id-token claims and sealing secrets at rest.
