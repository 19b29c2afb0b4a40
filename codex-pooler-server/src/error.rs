//! The errors the server and its commands report to an operator.

use codex_pooler_core::store::StoreError;
use codex_pooler_tower::credentials::{AuthJsonError, SealerConfigError, SealingKeyError};

use crate::secret_keys::SecretKeyError;
use crate::secret_keys::rotation::RotationError;
use crate::serve::TlsError;
use crate::store::ResealError;

/// A failure of a command or of the server, printed as `error: ...`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An `auth.json` that cannot be imported.
    #[error("cannot import auth.json: {0}")]
    AuthJson(#[from] AuthJsonError),
    /// The secret key is unusable.
    #[error("invalid secret key: {0}")]
    SecretKey(#[from] SealingKeyError),
    /// The TLS certificate or key is unusable.
    #[error("invalid TLS configuration: {0}")]
    Tls(#[from] TlsError),
    /// The sealer could not be set up.
    #[error("invalid secret key configuration: {0}")]
    Sealer(#[from] SealerConfigError),
    /// The configured secret keys are refused.
    #[error("invalid secret key configuration: {0}")]
    SecretKeys(#[from] SecretKeyError),
    /// A key rotation stopped before writing anything.
    #[error("secret key rotation failed: {0}")]
    Rotation(#[from] RotationError),
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The command was used wrongly.
    #[error("{0}")]
    Usage(String),
}

impl From<ResealError<RotationError>> for ServerError {
    fn from(err: ResealError<RotationError>) -> Self {
        match err {
            ResealError::Plan(err) => Self::Rotation(err),
            ResealError::Store(err) => Self::Store(err),
            ResealError::Changed { account, kind } => {
                Self::Rotation(RotationError::Changed { account, kind })
            }
        }
    }
}

impl ServerError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
