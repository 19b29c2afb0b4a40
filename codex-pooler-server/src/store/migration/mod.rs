//! Schema migrations, one module per migration, applied in order by [`Migrator`].
//!
//! Migrations are append-only: a released migration is never edited; a schema change is a new
//! module added to the end of [`Migrator::migrations`].

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261124_000001_initial;
mod m20261124_000002_pool_strategy;
mod m20261201_000003_key_versions;
mod m20261203_000004_key_policy;
mod m20261203_000005_pool_v1;
mod m20261203_000006_record_dropped;
mod m20261203_000007_operators;
mod m20261203_000008_records_usage;
mod m20261203_000009_quota_evidence;
mod m20261203_000010_operator_lifecycle;

/// Runs the pooler's migrations (sea-orm-migration keeps its bookkeeping in `seaql_migrations`).
#[derive(Debug)]
pub(crate) struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261124_000002_pool_strategy::Migration),
            Box::new(m20261201_000003_key_versions::Migration),
            Box::new(m20261203_000004_key_policy::Migration),
            Box::new(m20261203_000005_pool_v1::Migration),
            Box::new(m20261203_000006_record_dropped::Migration),
            Box::new(m20261203_000007_operators::Migration),
            Box::new(m20261203_000008_records_usage::Migration),
            Box::new(m20261203_000009_quota_evidence::Migration),
            Box::new(m20261203_000010_operator_lifecycle::Migration),
        ]
    }
}
