//! The append-only revision history of every article.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates the `revisions` table.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000002_revisions"
    }
}

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Id,
    ArticleId,
    Version,
    CreatedAt,
    Editor,
    Change,
    NodeId,
    Document,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Revisions::Table)
                    .col(big_pk_auto(Revisions::Id))
                    .col(big_integer(Revisions::ArticleId))
                    .col(integer(Revisions::Version))
                    .col(timestamp_with_time_zone(Revisions::CreatedAt))
                    .col(string_len(Revisions::Editor, 100))
                    .col(string_len(Revisions::Change, 40))
                    .col(string_len_null(Revisions::NodeId, 200))
                    .col(text(Revisions::Document))
                    .foreign_key(
                        ForeignKey::create()
                            .name("revisions_article_id_fkey")
                            .from(Revisions::Table, Revisions::ArticleId)
                            .to(Alias::new("articles"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("revisions_article_version_key")
                    .table(Revisions::Table)
                    .col(Revisions::ArticleId)
                    .col(Revisions::Version)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Revisions::Table).to_owned())
            .await
    }
}
