//! Articles, their sections, reforms and reactions, topics and the tag tables.
//!
//! Constraint and index names are part of the contract with `src/error.rs`, which maps unique
//! violations to CONFLICT errors by name (PostgreSQL) or by `table.column` (SQLite).

use sea_orm_migration::{prelude::*, schema::*};

/// Creates the content tables.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000001_content"
    }
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    Id,
    Slug,
    Title,
    Summary,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sections {
    Table,
    Id,
    ArticleId,
    Position,
    Slug,
    Heading,
    Body,
}

#[derive(DeriveIden)]
enum Topics {
    Table,
    Id,
    Slug,
    Name,
    Description,
}

#[derive(DeriveIden)]
enum Points {
    Id,
    ArticleId,
    SectionId,
    Position,
    Slug,
    Title,
    Description,
}

#[derive(DeriveIden)]
enum Tags {
    TopicId,
}

/// The two tables of points (reforms and reactions) share one shape.
const POINT_TABLES: [&str; 2] = ["reforms", "reactions"];
/// Tag tables: (table, content column, content table).
const TAG_TABLES: [(&str, &str, &str); 3] = [
    ("article_topics", "article_id", "articles"),
    ("reform_topics", "reform_id", "reforms"),
    ("reaction_topics", "reaction_id", "reactions"),
];

fn cascade(from: (&str, &str), to: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("{}_{}_fkey", from.0, from.1))
        .from(Alias::new(from.0), Alias::new(from.1))
        .to(Alias::new(to), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(table: &str, name: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table));
    for column in columns {
        index.col(Alias::new(*column));
    }
    if unique {
        index.unique();
    }
    index.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Articles::Table)
                    .col(big_pk_auto(Articles::Id))
                    .col(string_len(Articles::Slug, 100))
                    .col(text(Articles::Title))
                    .col(text(Articles::Summary))
                    .col(integer(Articles::Version).default(1))
                    .col(timestamp_with_time_zone(Articles::CreatedAt))
                    .col(timestamp_with_time_zone(Articles::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            ("articles_slug_key", &["slug"][..], true),
            ("articles_created_at_idx", &["created_at", "id"][..], false),
            ("articles_updated_at_idx", &["updated_at", "id"][..], false),
            ("articles_title_idx", &["title", "id"][..], false),
        ] {
            manager
                .create_index(index("articles", name, columns, unique))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Sections::Table)
                    .col(big_pk_auto(Sections::Id))
                    .col(big_integer(Sections::ArticleId))
                    .col(integer(Sections::Position))
                    .col(string_len(Sections::Slug, 100))
                    .col(text(Sections::Heading))
                    .col(text(Sections::Body).default(""))
                    .foreign_key(&mut cascade(("sections", "article_id"), "articles"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "sections",
                "sections_article_slug_key",
                &["article_id", "slug"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "sections",
                "sections_article_position_key",
                &["article_id", "position"],
                true,
            ))
            .await?;

        for table in POINT_TABLES {
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new(table))
                        .col(big_pk_auto(Points::Id))
                        .col(big_integer(Points::ArticleId))
                        .col(big_integer(Points::SectionId))
                        .col(integer(Points::Position))
                        .col(string_len(Points::Slug, 100))
                        .col(text(Points::Title))
                        .col(text(Points::Description))
                        .foreign_key(&mut cascade((table, "article_id"), "articles"))
                        .foreign_key(&mut cascade((table, "section_id"), "sections"))
                        .to_owned(),
                )
                .await?;
            for (suffix, columns) in [
                ("article_slug_key", &["article_id", "slug"][..]),
                ("section_position_key", &["section_id", "position"][..]),
            ] {
                manager
                    .create_index(index(table, &format!("{table}_{suffix}"), columns, true))
                    .await?;
            }
            manager
                .create_index(index(
                    table,
                    &format!("{table}_article_id_idx"),
                    &["article_id"],
                    false,
                ))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Topics::Table)
                    .col(big_pk_auto(Topics::Id))
                    .col(string_len(Topics::Slug, 100))
                    .col(text(Topics::Name))
                    .col(text(Topics::Description).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("topics", "topics_slug_key", &["slug"], true))
            .await?;

        for (table, column, target) in TAG_TABLES {
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new(table))
                        .col(big_integer(Alias::new(column)))
                        .col(big_integer(Tags::TopicId))
                        .primary_key(
                            Index::create()
                                .name(format!("{table}_pkey"))
                                .col(Alias::new(column))
                                .col(Tags::TopicId),
                        )
                        .foreign_key(&mut cascade((table, column), target))
                        .foreign_key(&mut cascade((table, "topic_id"), "topics"))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(index(
                    table,
                    &format!("{table}_topic_id_idx"),
                    &["topic_id", column],
                    false,
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = TAG_TABLES
            .iter()
            .map(|(table, _, _)| *table)
            .chain(["topics"])
            .chain(POINT_TABLES)
            .chain(["sections", "articles"]);
        for table in tables {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
