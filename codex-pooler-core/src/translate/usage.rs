//! Responses usage counters in the Chat Completions shape.

use serde_json::{Value, json};

/// Maps a Responses `usage` object (`input_tokens`, `output_tokens`, `total_tokens` and their
/// details) to the Chat Completions shape (`prompt_tokens`, `completion_tokens`,
/// `total_tokens`, `prompt_tokens_details.cached_tokens`,
/// `completion_tokens_details.reasoning_tokens`). Missing counters count as zero; a missing
/// total is the sum.
pub fn chat_usage(usage: &Value) -> Value {
    let count = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    let prompt = count("/input_tokens");
    let completion = count("/output_tokens");
    let total = usage
        .get("total_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(prompt.saturating_add(completion));
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "prompt_tokens_details": {"cached_tokens": count("/input_tokens_details/cached_tokens")},
        "completion_tokens_details": {
            "reasoning_tokens": count("/output_tokens_details/reasoning_tokens"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_counters_and_sums_a_missing_total() {
        let usage = json!({"input_tokens":10,"input_tokens_details":{"cached_tokens":4},
            "output_tokens":5,"output_tokens_details":{"reasoning_tokens":2}});
        let chat = chat_usage(&usage);
        assert_eq!(chat["prompt_tokens"], 10);
        assert_eq!(chat["completion_tokens"], 5);
        assert_eq!(chat["total_tokens"], 15);
        assert_eq!(chat["prompt_tokens_details"]["cached_tokens"], 4);
        assert_eq!(chat["completion_tokens_details"]["reasoning_tokens"], 2);
        assert_eq!(chat_usage(&Value::Null)["total_tokens"], 0);
    }
}
