//! Persisted queries: the documents clients register by hash (automatic persisted queries)
//! and the operator's trusted documents, shared by every replica.
//!
//! `hash` is the lowercase hex SHA-256 of `document`. `trusted` rows come from
//! `annals persisted add` and are never evicted; the others are evicted least recently used
//! first (`last_used`, unix milliseconds, refreshed at most once a minute per document).

use sea_orm_migration::{prelude::*, schema::*};

/// Creates the `persisted_queries` table.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000005_persisted_queries"
    }
}

#[derive(DeriveIden)]
enum PersistedQueries {
    Table,
    Hash,
    Document,
    Name,
    Trusted,
    CreatedAt,
    LastUsed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PersistedQueries::Table)
                    .col(string_len(PersistedQueries::Hash, 64).primary_key())
                    .col(text(PersistedQueries::Document))
                    .col(string_len_null(PersistedQueries::Name, 200))
                    .col(boolean(PersistedQueries::Trusted).default(false))
                    .col(big_integer(PersistedQueries::CreatedAt))
                    .col(big_integer(PersistedQueries::LastUsed))
                    .to_owned(),
            )
            .await?;
        // Eviction walks the untrusted rows by last use.
        manager
            .create_index(
                Index::create()
                    .name("persisted_queries_trusted_last_used_idx")
                    .table(PersistedQueries::Table)
                    .col(PersistedQueries::Trusted)
                    .col(PersistedQueries::LastUsed)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PersistedQueries::Table).to_owned())
            .await
    }
}
