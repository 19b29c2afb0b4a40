//! [`SecretString`]: a string that never prints itself.

use std::fmt;

use zeroize::Zeroize;

/// A secret string (an OAuth token or a Pool API key) that keeps out of logs.
///
/// `Debug` prints `[redacted]`, there is no `Display`, and the memory is wiped on drop. Read the
/// value only where it is really needed, with [`SecretString::expose`].
///
/// ```
/// use codex_pooler_tower::credentials::SecretString;
///
/// let token = SecretString::new("rt_example".to_owned());
/// assert_eq!(format!("{token:?}"), "[redacted]");
/// assert_eq!(token.expose(), "rt_example");
/// ```
#[derive(Clone, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret value. Every call site is a place the secret leaves its wrapper.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretString::from("top-secret".to_owned());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
        assert_eq!(s.expose(), "top-secret");
        assert!(!s.is_empty());
        assert!(SecretString::default().is_empty());
    }
}
