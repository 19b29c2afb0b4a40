//! The model catalog an account serves until its own catalog has been synced.

/// Codex models a ChatGPT subscription account serves, used for accounts whose catalog has not
/// been read from upstream yet.
pub const DEFAULT_CODEX_MODELS: &[&str] = &[
    "gpt-5.1-codex",
    "gpt-5.1-codex-mini",
    "gpt-5.1-codex-max",
    "gpt-5.2-codex",
    "gpt-5.1",
    "gpt-5.2",
    "gpt-5-codex",
    "gpt-5",
];
