//! Shared nothing: see the example files.
