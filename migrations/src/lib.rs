//! Schema migrations for Annals, shared by PostgreSQL and SQLite.
//!
//! Each step is reversible (`annals migrate down` undoes the newest one).

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_content;
mod m20261127_000002_revisions;
mod m20261127_000003_search;
mod m20261201_000004_revision_snapshots;
pub mod m20261202_000005_content_version;
mod m20261202_000005_persisted_queries;

/// The ordered list of every migration Annals knows.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_content::Migration),
            Box::new(m20261127_000002_revisions::Migration),
            Box::new(m20261127_000003_search::Migration),
            Box::new(m20261201_000004_revision_snapshots::Migration),
            Box::new(m20261202_000005_content_version::Migration),
            Box::new(m20261202_000005_persisted_queries::Migration),
        ]
    }
}
