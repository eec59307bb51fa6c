//! Dense 1-based positions: inserting shifts the rows after, moving and deleting close gaps.
//!
//! The rules live here (which range moves, which positions are allowed); the statements are
//! [`crate::store::positions`]'s.

use sea_orm::DatabaseTransaction;

use crate::{
    error::{Error, Result},
    store::positions::Children,
};

/// The ordered children of one parent: `table` rows whose `column` is `id`.
#[derive(Debug, Clone, Copy)]
pub struct Siblings {
    /// `sections`, `reforms` or `reactions`.
    pub table: &'static str,
    /// `article_id` or `section_id`.
    pub column: &'static str,
    /// The parent's id.
    pub id: i64,
}

impl Siblings {
    /// The sections of an article.
    pub fn sections_of(article_id: i64) -> Self {
        Self {
            table: "sections",
            column: "article_id",
            id: article_id,
        }
    }

    /// The reforms or reactions of a section.
    pub fn points_of(kind: crate::store::points::PointKind, section_id: i64) -> Self {
        Self {
            table: kind.table(),
            column: "section_id",
            id: section_id,
        }
    }

    /// The rows the store shifts.
    fn children(self) -> Children {
        Children {
            table: self.table,
            column: self.column,
            parent_id: self.id,
        }
    }

    /// How many children the parent has.
    pub async fn count(&self, txn: &DatabaseTransaction) -> Result<i32> {
        self.children().count(txn).await
    }

    /// Makes room at `position` (appending when `None`); returns the position to insert at.
    pub async fn open(&self, txn: &DatabaseTransaction, position: Option<i32>) -> Result<i32> {
        let count = self.count(txn).await?;
        let position = check(position.unwrap_or(count + 1), count + 1)?;
        self.children().shift(txn, position, count, 1).await?;
        Ok(position)
    }

    /// Closes the gap a removed child left at `position`.
    pub async fn close(&self, txn: &DatabaseTransaction, position: i32) -> Result<()> {
        let count = self.count(txn).await?;
        self.children()
            .shift(txn, position + 1, count + 1, -1)
            .await
    }

    /// Moves the child `id` from `from` to `to` (already checked), shifting the ones between.
    pub async fn move_to(
        &self,
        txn: &DatabaseTransaction,
        id: i64,
        from: i32,
        to: i32,
    ) -> Result<()> {
        let children = self.children();
        children.place(txn, id, 0).await?;
        if from < to {
            children.shift(txn, from + 1, to, -1).await?;
        } else {
            children.shift(txn, to, from - 1, 1).await?;
        }
        children.place(txn, id, to).await
    }
}

/// `position` if it lies in `1..=max`, else `BAD_USER_INPUT` naming `position`.
pub fn check(position: i32, max: i32) -> Result<i32> {
    if (1..=max).contains(&position) {
        Ok(position)
    } else {
        Err(Error::bad_input(
            "position",
            format!("position must be between 1 and {max}, got {position}"),
        ))
    }
}
