//! `POST /v1/chat/completions` on the Codex backend: the request mapped onto a Responses
//! turn, and the turn's events mapped back onto chat chunks or one `chat.completion`.
//!
//! - [`request`]: a chat body → the Codex `/responses` request ([`ChatCall`]).
//! - [`stream`]: upstream events → `chat.completion.chunk`s ([`ChatStream`]).
//! - [`collect`]: upstream events → one `chat.completion` ([`ChatCollector`]).
//!
//! # Parameters
//!
//! Each parameter is decided by one rule: never silently change a meaning the client relies
//! on. A parameter the backend cannot honour but whose absence only changes sampling is
//! dropped and named in [`ChatCall::dropped`]; one whose absence would give the client an
//! answer of another shape than it asked for is refused with a typed 400. "Default" means
//! `null`, `false`, `0`, `""`, `[]` or `{}` (what SDKs send when the caller set nothing).
//!
//! | parameter | upstream |
//! |---|---|
//! | `model` | passed (required, a non-empty string) |
//! | `messages` | `input` items; leading `system`/`developer` text → `instructions` |
//! | `stream` | the client's choice; upstream always `stream: true` |
//! | `stream_options.include_usage` | a final usage chunk for the client; not sent |
//! | `tools` (`function`, `custom`) | flattened to the Responses tool shape |
//! | `tool_choice` | strings as they are; `{type, function: {name}}` → `{type, name}` |
//! | `parallel_tool_calls` | passed |
//! | `response_format` (`text`, `json_object`, `json_schema`) | `text.format` |
//! | `verbosity` | `text.verbosity` |
//! | `reasoning_effort` | `reasoning.effort` |
//! | `metadata`, `prompt_cache_key`, `prompt_cache_retention`, `safety_identifier`, `service_tier` | passed |
//! | `max_tokens`, `max_completion_tokens` | dropped (the backend refuses `max_output_tokens`) |
//! | `temperature`, `top_p`, `presence_penalty`, `frequency_penalty`, `seed` | dropped |
//! | `user` | dropped (an end-user tag; `safety_identifier` replaces it) |
//! | `store` | `true` dropped (nothing is stored); upstream always `store: false` |
//! | `n` | `1` or default dropped; more → 400 `unsupported_parameter` |
//! | `logprobs`, `top_logprobs`, `stop`, `logit_bias`, `prediction`, `web_search_options`, `audio` | default dropped; a value → 400 `unsupported_parameter` |
//! | `modalities` | `["text"]` or default dropped; with `audio` → 400 `unsupported_parameter` |
//! | `functions`, `function_call` (legacy) | 400 `invalid_request` (use `tools`) |
//! | anything else | 400 `unsupported_parameter` naming it |
//!
//! Upstream always gets `stream: true`, `store: false` and `include:
//! ["reasoning.encrypted_content"]`.

pub mod collect;
pub mod finish;
pub mod identity;
mod messages;
pub mod request;
pub mod stream;
mod tools;
mod user_content;

pub use collect::ChatCollector;
pub use request::{ChatCall, to_codex};
pub use stream::{ChatFrame, ChatStream};
