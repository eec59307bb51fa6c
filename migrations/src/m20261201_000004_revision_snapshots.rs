//! Structured revisions: each revision row gains the JSON snapshot of the whole article tree.
//!
//! The column is nullable so that the step is cheap and reversible; rows written before it
//! are filled by the application right after migrating (`store::revisions::backfill`), which
//! parses their plain-text document once, as reverts used to.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds `revisions.snapshot`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_revision_snapshots"
    }
}

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Snapshot,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Revisions::Table)
                    .add_column(text_null(Revisions::Snapshot))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Revisions::Table)
                    .drop_column(Revisions::Snapshot)
                    .to_owned(),
            )
            .await
    }
}
