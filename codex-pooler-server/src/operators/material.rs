//! Operator token material: `cxp-op-<prefix>-<secret>` for the REST API and
//! `cxp-mcp-<prefix>-<secret>` for `/mcp`.
//!
//! The shape is the Pool API key's (a 12-hex-digit prefix stored in clear, 32 random bytes of
//! secret), under schemes of their own, so a leaked token says what it opens and a Pool API key
//! can never be mistaken for one.

use codex_pooler_tower::credentials::SecretString;
use codex_pooler_tower::keys::{PoolKeyMaterial, parse_key_with_scheme};

use super::TokenKind;

/// Why a presented bearer string is not an operator token of the expected kind. Messages never
/// include the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a well-formed {kind} operator token")]
pub struct TokenFormatError {
    kind: TokenKind,
}

/// Operator token generation and parsing.
#[derive(Debug, Clone, Copy, Default)]
pub struct OperatorTokenMaterial;

impl OperatorTokenMaterial {
    /// What an API token starts with.
    pub const API_SCHEME: &'static str = "cxp-op-";
    /// What an MCP token starts with.
    pub const MCP_SCHEME: &'static str = "cxp-mcp-";

    /// The scheme of `kind`.
    pub const fn scheme(kind: TokenKind) -> &'static str {
        match kind {
            TokenKind::Api => Self::API_SCHEME,
            TokenKind::Mcp => Self::MCP_SCHEME,
        }
    }

    /// A new random token of `kind`. Show `plaintext` once; store `prefix` and the hash.
    pub fn generate(kind: TokenKind) -> GeneratedToken {
        let key = PoolKeyMaterial::generate_with_scheme(Self::scheme(kind));
        GeneratedToken {
            plaintext: key.plaintext,
            prefix: key.prefix,
        }
    }

    /// Checks that `token` is a well-formed token of `kind` and returns its prefix.
    ///
    /// # Errors
    ///
    /// [`TokenFormatError`] when it is not.
    pub fn parse(token: &str, kind: TokenKind) -> Result<ParsedToken<'_>, TokenFormatError> {
        parse_key_with_scheme(token, Self::scheme(kind))
            .map(|parsed| ParsedToken {
                prefix: parsed.prefix,
            })
            .map_err(|_| TokenFormatError { kind })
    }
}

/// A freshly generated operator token.
#[derive(Debug, Clone)]
pub struct GeneratedToken {
    /// The whole token, shown once.
    pub plaintext: SecretString,
    /// Its prefix, stored in clear.
    pub prefix: String,
}

/// A presented token of the right shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedToken<'a> {
    /// The prefix that finds the token's row.
    pub prefix: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_only_as_their_own_kind() {
        let api = OperatorTokenMaterial::generate(TokenKind::Api);
        let mcp = OperatorTokenMaterial::generate(TokenKind::Mcp);
        assert!(api.plaintext.expose().starts_with("cxp-op-"));
        assert!(mcp.plaintext.expose().starts_with("cxp-mcp-"));
        let parsed = OperatorTokenMaterial::parse(api.plaintext.expose(), TokenKind::Api);
        assert_eq!(parsed.map(|p| p.prefix), Ok(api.prefix.as_str()));
        assert!(OperatorTokenMaterial::parse(api.plaintext.expose(), TokenKind::Mcp).is_err());
        assert!(OperatorTokenMaterial::parse(mcp.plaintext.expose(), TokenKind::Api).is_err());
        let pool_key = PoolKeyMaterial::generate();
        assert!(OperatorTokenMaterial::parse(pool_key.plaintext.expose(), TokenKind::Api).is_err());
        let err = OperatorTokenMaterial::parse("cxp-op-short", TokenKind::Api);
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("not a well-formed api operator token".to_owned())
        );
    }
}
