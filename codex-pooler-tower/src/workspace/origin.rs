//! [`WorkspaceOrigin`]: the validated `workspace_backend_origin` of an account.
//!
//! The rule (the Codex CLI's, plus one allowance for plain-HTTP test backends):
//!
//! 1. the value is an absolute URL with a scheme and a host, optionally a port;
//! 2. it carries no credentials (`user@`), no path (a lone `/` is tolerated), no query and no
//!    fragment: it names an origin, the gateway keeps each request's own API path;
//! 3. its scheme is `https`. `http` is accepted only when the account's configured base URL is
//!    itself `http` (a local fake backend, a demo): discovery may then move traffic between
//!    plain-HTTP hosts, but never downgrade an account configured for TLS.

use std::fmt;
use std::sync::Arc;

use http::Uri;
use http::uri::Scheme;

use super::CheckError;

/// An origin (`scheme://host[:port]`) model traffic of one account is sent to.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkspaceOrigin(Arc<str>);

impl WorkspaceOrigin {
    /// Validates `value` against the rule above; `configured_base` is the base URL the account
    /// uses without discovery (its own or the gateway's default).
    pub fn parse(value: &str, configured_base: &str) -> Result<Self, CheckError> {
        let uri: Uri = value
            .trim()
            .parse()
            .map_err(|_| CheckError::OriginNotAUrl)?;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(CheckError::OriginNotAUrl);
        };
        if authority.as_str().contains('@') {
            return Err(CheckError::OriginHasCredentials);
        }
        if authority.host().is_empty() {
            return Err(CheckError::OriginNotAUrl);
        }
        // `Uri` drops a fragment silently: look for it in the text.
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() || value.contains('#') {
            return Err(CheckError::OriginHasPath);
        }
        if *scheme == Scheme::HTTPS {
        } else if *scheme == Scheme::HTTP {
            if !is_plain_http(configured_base) {
                return Err(CheckError::OriginInsecure);
            }
        } else {
            return Err(CheckError::OriginScheme);
        }
        Ok(Self(
            format!(
                "{}://{}",
                scheme.as_str(),
                authority.as_str().to_ascii_lowercase()
            )
            .into(),
        ))
    }

    /// `scheme://host[:port]`, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WorkspaceOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WorkspaceOrigin").field(&&*self.0).finish()
    }
}

impl fmt::Display for WorkspaceOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `base` is a plain `http://` URL.
fn is_plain_http(base: &str) -> bool {
    base.trim()
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TLS: &str = "https://chatgpt.com";
    const PLAIN: &str = "http://127.0.0.1:4000";

    #[test]
    fn accepts_bare_https_origins() {
        for (value, want) in [
            ("https://chatgpt.com", "https://chatgpt.com"),
            ("https://chatgpt.com/", "https://chatgpt.com"),
            ("HTTPS://US.ChatGPT.com:8443", "https://us.chatgpt.com:8443"),
            (" https://chatgpt.com ", "https://chatgpt.com"),
        ] {
            let origin = WorkspaceOrigin::parse(value, TLS).unwrap();
            assert_eq!(origin.as_str(), want, "{value}");
        }
    }

    #[test]
    fn http_only_when_the_configured_base_is_http() {
        let origin = WorkspaceOrigin::parse("http://127.0.0.1:5000", PLAIN).unwrap();
        assert_eq!(origin.to_string(), "http://127.0.0.1:5000");
        assert_eq!(
            WorkspaceOrigin::parse("http://127.0.0.1:5000", TLS),
            Err(CheckError::OriginInsecure)
        );
        // An https origin is always fine, even from a plain-HTTP base.
        assert!(WorkspaceOrigin::parse("https://chatgpt.com", PLAIN).is_ok());
    }

    #[test]
    fn rejects_everything_that_is_not_a_bare_origin() {
        for (value, want) in [
            ("", CheckError::OriginNotAUrl),
            ("chatgpt.com", CheckError::OriginNotAUrl),
            ("/backend-api", CheckError::OriginNotAUrl),
            ("https://", CheckError::OriginNotAUrl),
            ("https://exa mple.com", CheckError::OriginNotAUrl),
            ("https://chatgpt.com/#top", CheckError::OriginHasPath),
            (
                "https://user:pw@chatgpt.com",
                CheckError::OriginHasCredentials,
            ),
            ("https://user@chatgpt.com", CheckError::OriginHasCredentials),
            ("https://chatgpt.com/backend-api", CheckError::OriginHasPath),
            ("https://chatgpt.com/?a=b", CheckError::OriginHasPath),
            ("https://chatgpt.com?a=b", CheckError::OriginHasPath),
            ("wss://chatgpt.com", CheckError::OriginScheme),
            ("ftp://chatgpt.com", CheckError::OriginScheme),
        ] {
            assert_eq!(WorkspaceOrigin::parse(value, PLAIN), Err(want), "{value}");
        }
    }
}
