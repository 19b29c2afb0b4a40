//! What operator names and token labels may be.

/// A name or label that is empty, longer than 64 characters, or holds a control character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} is 1-64 characters, none of them control characters")]
pub struct InvalidName {
    what: &'static str,
}

/// Checks an operator name.
///
/// # Errors
///
/// [`InvalidName`].
pub fn validate_name(name: &str) -> Result<(), InvalidName> {
    check(name, "an operator name")
}

/// Checks a token label.
///
/// # Errors
///
/// [`InvalidName`].
pub fn validate_label(label: &str) -> Result<(), InvalidName> {
    check(label, "a token label")
}

fn check(s: &str, what: &'static str) -> Result<(), InvalidName> {
    if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
        Err(InvalidName { what })
    } else {
        Ok(())
    }
}
