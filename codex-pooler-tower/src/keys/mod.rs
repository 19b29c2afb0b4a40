//! Pool API key material: generation, parsing and keyed hashing.
