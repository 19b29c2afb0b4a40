//! [`SecretKeyError`]: why the configured secret keys are refused. Messages never include key
//! material.

use std::fmt;
use std::path::PathBuf;

use codex_pooler_tower::credentials::SealingKeyError;

use crate::settings::{PREVIOUS_SECRET_KEYS_ENV, SECRET_KEY_ENV, SECRET_KEY_VERSION_ENV};

/// Where a configured key entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyLocation {
    /// [`SECRET_KEY_ENV`].
    CurrentEnv,
    /// An entry of [`PREVIOUS_SECRET_KEYS_ENV`], counted from 1.
    PreviousEnv {
        /// Which entry.
        entry: usize,
    },
    /// A line of a `secret.key` file, counted from 1.
    File {
        /// The file.
        path: PathBuf,
        /// Which line.
        line: usize,
    },
}

impl fmt::Display for KeyLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CurrentEnv => f.write_str(SECRET_KEY_ENV),
            Self::PreviousEnv { entry } => write!(f, "{PREVIOUS_SECRET_KEYS_ENV} entry {entry}"),
            Self::File { path, line } => write!(f, "{} line {line}", path.display()),
        }
    }
}

/// Why the configured secret keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretKeyError {
    /// [`SECRET_KEY_VERSION_ENV`] is not a whole number.
    #[error("{SECRET_KEY_VERSION_ENV} must be a whole number from 0 to 4294967295")]
    BadVersionVariable,
    /// An entry lacks its `VERSION:` prefix.
    #[error("{location} is not VERSION:KEY (for example 2:BASE64KEY)")]
    MissingVersion {
        /// The entry.
        location: KeyLocation,
    },
    /// An entry's version is not a whole number.
    #[error("{location} has a version that is not a whole number from 0 to 4294967295")]
    BadVersion {
        /// The entry.
        location: KeyLocation,
    },
    /// An entry's key does not decode.
    #[error("{location}: {source}")]
    BadKey {
        /// The entry.
        location: KeyLocation,
        /// Why the key was refused.
        #[source]
        source: SealingKeyError,
    },
    /// Two configured keys share a version.
    #[error("key version {version} is configured twice ({first} and {second})")]
    DuplicateVersion {
        /// The version.
        version: u32,
        /// The first entry with it.
        first: KeyLocation,
        /// The second.
        second: KeyLocation,
    },
    /// Previous keys are configured without a current one.
    #[error(
        "{PREVIOUS_SECRET_KEYS_ENV} is set but {SECRET_KEY_ENV} is not: previous keys only open \
         old secrets, the current key must be set too"
    )]
    PreviousWithoutCurrent,
    /// The key file holds no key.
    #[error("{} holds no key", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// The version variable contradicts the key file's versions.
    #[error(
        "{SECRET_KEY_VERSION_ENV} is {configured} but {} seals with key version {file}; unset \
         {SECRET_KEY_VERSION_ENV} (secret.key names its versions)",
        path.display()
    )]
    VersionMismatch {
        /// The variable's version.
        configured: u32,
        /// The file's current version.
        file: u32,
        /// The file.
        path: PathBuf,
    },
    /// The key file may be read or changed by other users.
    #[error(
        "{} is open to group or others (mode {mode:04o}); the secret key must be readable by its \
         owner only: run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}
