//! End-to-end tests of codex-pooler; the tests are in `main.rs` (test target `e2e`).
//!
//! Run them with `cargo test --workspace` (which builds the `codex-pooler` binary they start),
//! or `cargo build -p codex-pooler-server && cargo test -p codex-pooler-e2e`.
