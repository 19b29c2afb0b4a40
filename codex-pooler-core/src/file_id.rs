//! [`FileId`]: the id of an uploaded file, validated before it names anything upstream.
//!
//! Finalizing an upload (`POST /backend-api/files/{id}/uploaded`) is the one pooled route whose
//! upstream path carries a client-chosen part. The gateway never copies that part of the
//! client's path: it parses the raw (still percent-encoded) segment into a [`FileId`] and
//! formats the upstream path from it. A file id has the shape upstream issues: `file-` or
//! `file_`, then ASCII letters, digits, `-` and `_` only, at most [`FileId::MAX_LEN`] bytes in
//! all. Dots, slashes, backslashes, `%` escapes and anything outside ASCII are refused, so no
//! dot segment or encoded separator can reach upstream, decoded or not.
//!
//! ```
//! use codex_pooler_core::request::FileId;
//!
//! let id: FileId = "file-AbC123".parse().unwrap();
//! assert_eq!(id.uploaded_path(), "/backend-api/files/file-AbC123/uploaded");
//! assert!(FileId::parse("..%2F..%2Fbackend-api%2Fme").is_err());
//! assert!(FileId::parse("..").is_err());
//! ```

use std::fmt;
use std::str::FromStr;

/// Why a string is not a file id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileIdError {
    /// Nothing was given.
    #[error("the file id is empty")]
    Empty,
    /// Longer than [`FileId::MAX_LEN`] bytes.
    #[error("the file id is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Does not start with `file-` or `file_` followed by at least one character.
    #[error("the file id must start with `file-` or `file_`")]
    BadPrefix,
    /// A byte other than an ASCII letter, digit, `-` or `_` (a dot, a slash, a `%` escape, ...).
    #[error("the file id may hold only ASCII letters, digits, `-` and `_`")]
    BadCharacter,
}

/// The id of a file uploaded to an upstream account: `file-…` or `file_…`, ASCII letters,
/// digits, `-` and `_` only, bounded length.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FileId(Box<str>);

impl FileId {
    /// The longest id accepted, in bytes (upstream ids are a few dozen).
    pub const MAX_LEN: usize = 128;

    /// Validates `raw` as a file id.
    ///
    /// `raw` is taken as it is, never percent-decoded: `file-%41` is refused, not read as
    /// `file-A`.
    pub fn parse(raw: &str) -> Result<Self, FileIdError> {
        if raw.is_empty() {
            return Err(FileIdError::Empty);
        }
        if raw.len() > Self::MAX_LEN {
            return Err(FileIdError::TooLong { max: Self::MAX_LEN });
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(FileIdError::BadCharacter);
        }
        let rest = raw
            .strip_prefix("file-")
            .or_else(|| raw.strip_prefix("file_"))
            .ok_or(FileIdError::BadPrefix)?;
        if rest.is_empty() {
            return Err(FileIdError::BadPrefix);
        }
        Ok(Self(raw.into()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The upstream path that finalizes this file's upload, `/backend-api/files/{id}/uploaded`.
    pub fn uploaded_path(&self) -> String {
        format!("/backend-api/files/{}/uploaded", self.0)
    }
}

impl FromStr for FileId {
    type Err = FileIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for FileId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FileId").field(&&*self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_shapes_upstream_issues() {
        for id in [
            "file-AbC123xyz",
            "file_00000000a1b2c3d4e5f6",
            "file-acct-s0-3",
            "file-x",
            "file_X-y_Z",
        ] {
            assert_eq!(FileId::parse(id).unwrap().as_str(), id, "{id}");
        }
        let longest = format!("file-{}", "a".repeat(FileId::MAX_LEN - 5));
        assert!(FileId::parse(&longest).is_ok());
    }

    #[test]
    fn refuses_traversal_and_encoded_separators() {
        let refused = [
            ("", FileIdError::Empty),
            (".", FileIdError::BadCharacter),
            ("..", FileIdError::BadCharacter),
            ("file-..", FileIdError::BadCharacter),
            ("file-a.b", FileIdError::BadCharacter),
            ("%2e%2e", FileIdError::BadCharacter),
            ("%2E%2e", FileIdError::BadCharacter),
            ("file-%2e%2e", FileIdError::BadCharacter),
            ("file-a%2Fb", FileIdError::BadCharacter),
            ("file-a%2fb", FileIdError::BadCharacter),
            ("file-a%252Fb", FileIdError::BadCharacter),
            ("..%2F..%2Fbackend-api%2Fme", FileIdError::BadCharacter),
            ("file-a%5Cb", FileIdError::BadCharacter),
            ("file-a\\b", FileIdError::BadCharacter),
            ("file-a/b", FileIdError::BadCharacter),
            ("file-%41", FileIdError::BadCharacter),
            ("file-é", FileIdError::BadCharacter),
            ("file-\u{ff0e}\u{ff0e}", FileIdError::BadCharacter),
            ("file-a b", FileIdError::BadCharacter),
            ("file-a\0", FileIdError::BadCharacter),
            ("file-a?x=1", FileIdError::BadCharacter),
            ("file-a#x", FileIdError::BadCharacter),
            ("file-", FileIdError::BadPrefix),
            ("file_", FileIdError::BadPrefix),
            ("FILE-abc", FileIdError::BadPrefix),
            ("abc", FileIdError::BadPrefix),
            ("me", FileIdError::BadPrefix),
        ];
        for (raw, why) in refused {
            assert_eq!(FileId::parse(raw), Err(why), "{raw:?}");
        }
        let over = format!("file-{}", "a".repeat(FileId::MAX_LEN));
        assert_eq!(
            FileId::parse(&over),
            Err(FileIdError::TooLong {
                max: FileId::MAX_LEN
            })
        );
    }

    #[test]
    fn formats_the_upstream_path_from_the_id() {
        let id: FileId = "file-abc".parse().unwrap();
        assert_eq!(id.uploaded_path(), "/backend-api/files/file-abc/uploaded");
        assert_eq!(id.to_string(), "file-abc");
        assert_eq!(format!("{id:?}"), "FileId(\"file-abc\")");
    }
}
