//! The store tests of codex-pooler; the tests are in `main.rs` (test target `store`). The
//! conformance cases themselves live in `codex-pooler-test-kit` (`store_conformance`).
