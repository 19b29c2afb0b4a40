//! SQL storage (sea-orm): SQLite by default, PostgreSQL for several replicas.
