//! The model catalog served at `GET /backend-api/codex/models`.
//!
//! Each entry has the wire shape of codex-rs `ModelInfo` (`codex-rs/protocol/src/openai_models.rs`)
//! as the 0.169 CLI decodes it inside `ModelsResponse { models }`. The CLI decodes the whole list
//! or nothing: one entry missing a required field (`base_instructions`, `truncation_policy`,
//! `experimental_supported_tools`, ...) makes it drop the catalog, warn that the model's metadata
//! was not found, and run on fallback metadata. So every entry carries every field the struct
//! requires, plus common optional ones with the values of the catalog bundled in the 0.169 CLI.
//! Unknown fields are ignored by the CLI, so older clients' fields may stay.

use serde_json::{Value, json};

/// The `ETag` of the catalog; it changes only when the catalog below does.
pub(crate) const CATALOG_ETAG: &str = "\"fake-models-v2\"";

/// Every catalog model's `base_instructions`. The CLI sends them at the start of each turn's
/// input, which shows that it decoded the catalog and uses its entries.
pub const MODEL_INSTRUCTIONS: &str = "You are Codex, a coding agent running in a terminal on the \
user's machine. Work in the user's workspace, use the tools you are given to read files and run \
commands, keep changes focused on the task, and finish with a short summary of what you did.";

/// `{"models": [...]}` with two Codex models.
pub(crate) fn catalog() -> Value {
    json!({"models": [
        model(&Model {
            slug: "gpt-5.1-codex",
            display_name: "GPT-5.1 Codex",
            description: "Optimized for agentic coding.",
            priority: 0,
            context_window: 272_000,
        }),
        model(&Model {
            slug: "gpt-5.1-codex-mini",
            display_name: "GPT-5.1 Codex Mini",
            description: "Cheaper, faster Codex.",
            priority: 1,
            context_window: 272_000,
        }),
    ]})
}

/// What differs between the catalog's models.
struct Model {
    slug: &'static str,
    display_name: &'static str,
    description: &'static str,
    priority: i32,
    context_window: i64,
}

/// One `ModelInfo` entry. Serialized from a `Value` (sorted keys), so the body, and with it the
/// gateway's ETag over the union, is the same on every call.
fn model(m: &Model) -> Value {
    let level =
        |effort: &str, description: &str| json!({"effort": effort, "description": description});
    json!({
        // Identity and picker.
        "slug": m.slug,
        "display_name": m.display_name,
        "description": m.description,
        "visibility": "list",
        "supported_in_api": true,
        "priority": m.priority,
        "upgrade": null,
        "availability_nux": null,
        // Reasoning.
        "default_reasoning_level": "medium",
        "supported_reasoning_levels": [
            level("low", "Fast responses with lighter reasoning"),
            level("medium", "Balances speed and reasoning depth for everyday tasks"),
            level("high", "Greater reasoning depth for complex problems"),
        ],
        "default_reasoning_summary": "auto",
        // Older clients read this flag; 0.169 ignores it.
        "supports_reasoning_summaries": true,
        "support_verbosity": false,
        "default_verbosity": null,
        // Service tiers: none beyond the default.
        "additional_speed_tiers": [],
        "service_tiers": [],
        // Prompting and tools.
        "base_instructions": MODEL_INSTRUCTIONS,
        "include_skills_usage_instructions": false,
        "shell_type": "shell_command",
        "apply_patch_tool_type": "freeform",
        "supports_parallel_tool_calls": true,
        "supports_search_tool": false,
        "experimental_supported_tools": [],
        "use_responses_lite": false,
        "truncation_policy": {"mode": "tokens", "limit": 10_000},
        // Context.
        "context_window": m.context_window,
        "effective_context_window_percent": 95,
        "input_modalities": ["text", "image"],
        "supports_image_detail_original": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields `ModelInfo` declares without a serde default: the CLI refuses the whole catalog
    /// when one entry lacks any of them.
    const REQUIRED: &[&str] = &[
        "slug",
        "display_name",
        "supported_reasoning_levels",
        "shell_type",
        "visibility",
        "supported_in_api",
        "priority",
        "base_instructions",
        "support_verbosity",
        "truncation_policy",
        "supports_parallel_tool_calls",
        "experimental_supported_tools",
    ];

    #[test]
    fn every_entry_carries_the_fields_the_cli_requires() {
        let catalog = catalog();
        let models = catalog["models"].as_array().unwrap();
        assert_eq!(models.len(), 2);
        for m in models {
            for field in REQUIRED {
                assert!(m.get(*field).is_some(), "{} lacks {field}", m["slug"]);
            }
            assert!(m["truncation_policy"]["limit"].is_i64());
            assert!(
                m["supported_reasoning_levels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| l["effort"] == m["default_reasoning_level"])
            );
        }
    }
}
