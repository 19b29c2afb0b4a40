//! A faithful fake of the ChatGPT Codex backend, for tests, demo mode and benchmarks.
