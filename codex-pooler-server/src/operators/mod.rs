//! Operators: the people (and their automation) who run the pools.
//!
//! There is one kind of owner, who may do everything, and pool-scoped admins, who see and change
//! only the pools assigned to them ([`Scope`]). Operators authenticate with bearer tokens that
//! are separate from Pool API keys: API tokens for the REST API and MCP tokens for `/mcp`
//! ([`TokenKind`]). A token is shown once, stored as a public prefix plus a keyed hash, may expire,
//! and can be revoked.

mod issue;
mod material;
mod model;
mod names;
mod scope;

pub use issue::{IssuedToken, issue_token};
pub use material::{GeneratedToken, OperatorTokenMaterial, ParsedToken, TokenFormatError};
pub use model::{
    NewOperator, Operator, OperatorId, OperatorStatus, OperatorToken, Role, TokenId, TokenKind,
    UnknownValue,
};
pub use names::{InvalidName, validate_label, validate_name};
pub use scope::Scope;
