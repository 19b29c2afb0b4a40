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
pub(crate) const CATALOG_ETAG: &str = "\"fake-models-v3\"";

/// Every catalog model's `base_instructions`. The CLI sends them at the start of each turn's
/// input, which shows that it decoded the catalog and uses its entries.
pub const MODEL_INSTRUCTIONS: &str = "You are Codex, a coding agent running in a terminal on the \
user's machine. Work in the user's workspace, use the tools you are given to read files and run \
commands, keep changes focused on the task, and finish with a short summary of what you did.";

/// `{"models": [...]}` with the two Codex models of the 0.169 captures and the two
/// `gpt-6.2-*` models the 0.171 CLI bundles (`shared/research/codex-protocol-0171.md` §C 5-6),
/// the latter with the `ModelInfo` keys 0.171 added, which older clients ignore.
pub fn catalog() -> Value {
    json!({"models": [
        model(&Model {
            slug: "gpt-5.1-codex",
            display_name: "GPT-5.1 Codex",
            description: "Optimized for agentic coding.",
            priority: 0,
            context_window: 272_000,
            since_0171: None,
        }),
        model(&Model {
            slug: "gpt-5.1-codex-mini",
            display_name: "GPT-5.1 Codex Mini",
            description: "Cheaper, faster Codex.",
            priority: 1,
            context_window: 272_000,
            since_0171: None,
        }),
        model(&Model {
            slug: "gpt-6.2-sol",
            display_name: "GPT-6.2 Sol",
            description: "The newest frontier agentic coding model.",
            priority: 1,
            context_window: 500_000,
            since_0171: Some(New {
                minimal_client_version: "0.166.0",
                max_context_window: 872_000,
            }),
        }),
        model(&Model {
            slug: "gpt-6.2-astra",
            display_name: "GPT-6.2 Astra",
            description: "Fast frontier model for everyday coding.",
            priority: 2,
            context_window: 272_000,
            since_0171: Some(New {
                minimal_client_version: "0.166.0",
                max_context_window: 272_000,
            }),
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
    /// The keys of an entry first bundled with 0.171.
    since_0171: Option<New>,
}

/// The 0.171 catalog keys of a `gpt-6.2-*` entry.
struct New {
    minimal_client_version: &'static str,
    max_context_window: i64,
}

/// One `ModelInfo` entry. Serialized from a `Value` (sorted keys), so the body, and with it the
/// gateway's ETag over the union, is the same on every call.
fn model(m: &Model) -> Value {
    let mut entry = model_0169(m);
    if let (Some(new), Some(object)) = (&m.since_0171, entry.as_object_mut()) {
        object.insert(
            "minimal_client_version".to_owned(),
            json!(new.minimal_client_version),
        );
        object.insert(
            "max_context_window".to_owned(),
            json!(new.max_context_window),
        );
        object.insert(
            "allow_only_codex_cloud_agent_orchestrator".to_owned(),
            json!(false),
        );
        object.insert(
            "allow_only_chatgpt_workspace_executor".to_owned(),
            json!(false),
        );
    }
    entry
}

/// The keys every entry has, as the 0.169 CLI decodes them.
fn model_0169(m: &Model) -> Value {
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
        assert_eq!(models.len(), 4);
        assert_eq!(
            models[2]["allow_only_codex_cloud_agent_orchestrator"],
            false
        );
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
