//! End-to-end tests over loopback: the `codex-pooler` binary, the fake Codex backend and real
//! clients (the Codex CLI).

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod support;

mod agents;
mod bounds;
mod busy;
mod codex;
mod codex_chatgpt_auth;
mod codex_cli;
mod continuity;
mod demo;
mod embed_example;
mod errors;
mod generated_client;
mod headers;
mod history_notes;
mod hot_path;
mod key_policy;
mod mcp;
mod metrics;
mod operator_api;
mod operator_lifecycle;
mod output_items;
mod quiet;
mod quota_evidence;
mod quota_windows;
mod receipt;
mod records;
mod recovery;
mod refresh;
mod routing;
mod schemathesis;
mod sdk;
mod secrets;
mod surface;
mod thread_switches;
mod v1;
mod v1_chat;
mod v1_chat_params;
mod v1_files;
mod v1_rest;
mod websocket;
mod wire_0171;
mod workspace;
mod ws_client;
mod ws_lifecycle;
