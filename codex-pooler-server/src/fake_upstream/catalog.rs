//! The model catalog served at `GET /backend-api/codex/models`.

use serde_json::{Value, json};

/// The `ETag` of the catalog; it never changes.
pub(crate) const CATALOG_ETAG: &str = "\"fake-models-v1\"";

/// `{"models": [...]}` with two Codex models, in the backend's `ModelInfo` shape (trimmed).
pub(crate) fn catalog() -> Value {
    json!({"models": [
        model("gpt-5.1-codex", "GPT-5.1 Codex", "Optimized for agentic coding.", 0),
        model("gpt-5.1-codex-mini", "GPT-5.1 Codex Mini", "Cheaper, faster Codex.", 1),
    ]})
}

fn model(slug: &str, display_name: &str, description: &str, priority: u32) -> Value {
    let level =
        |effort: &str| json!({"effort": effort, "description": format!("{effort} reasoning")});
    json!({
        "slug": slug,
        "display_name": display_name,
        "description": description,
        "default_reasoning_level": "medium",
        "supported_reasoning_levels": [level("low"), level("medium"), level("high")],
        "shell_type": "shell_command",
        "visibility": "list",
        "supported_in_api": true,
        "priority": priority,
        "context_window": 272_000,
    })
}
