//! The statements behind dense 1-based positions: counting one parent's children, shifting a
//! range of their positions, and placing one child.
//!
//! Positions are UNIQUE per parent and neither backend can defer that check here, so a shift
//! first moves the affected rows to negative positions and then flips them back. Which rows
//! to shift, and whether a position is allowed, is for `editing::positions` to decide.

use sea_orm::ConnectionTrait;

use super::sql::SqlBuilder;
use crate::error::Result;

/// The ordered children of one parent: the `table` rows whose `column` is `parent_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Children {
    /// `sections`, `reforms` or `reactions`.
    pub table: &'static str,
    /// `article_id` or `section_id`.
    pub column: &'static str,
    /// The parent's id.
    pub parent_id: i64,
}

impl Children {
    /// How many children the parent has (`i32::MAX` at most).
    pub async fn count(&self, db: &impl ConnectionTrait) -> Result<i32> {
        let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT COUNT(*) AS n FROM ");
        sql.push(self.table)
            .push(" WHERE ")
            .push(self.column)
            .push(" = ")
            .bind(self.parent_id);
        let n: i64 = match db.query_one_raw(sql.build()).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Adds `delta` to the positions in `from..=to`, in two statements (away to negative
    /// positions, then back); none when the range is empty.
    pub async fn shift(
        &self,
        db: &impl ConnectionTrait,
        from: i32,
        to: i32,
        delta: i32,
    ) -> Result<()> {
        if from > to {
            return Ok(());
        }
        let backend = db.get_database_backend();
        let mut away = SqlBuilder::new(backend, "UPDATE ");
        away.push(self.table)
            .push(" SET position = -(position + ")
            .bind(delta)
            .push(") WHERE ")
            .push(self.column)
            .push(" = ")
            .bind(self.parent_id)
            .push(" AND position BETWEEN ")
            .bind(from)
            .push(" AND ")
            .bind(to);
        db.execute_raw(away.build()).await?;
        let mut back = SqlBuilder::new(backend, "UPDATE ");
        back.push(self.table)
            .push(" SET position = -position WHERE ")
            .push(self.column)
            .push(" = ")
            .bind(self.parent_id)
            .push(" AND position < 0");
        db.execute_raw(back.build()).await?;
        Ok(())
    }

    /// Sets the position of the child `id` (0 parks it out of every range while the others
    /// shift).
    pub async fn place(&self, db: &impl ConnectionTrait, id: i64, position: i32) -> Result<()> {
        let mut sql = SqlBuilder::new(db.get_database_backend(), "UPDATE ");
        sql.push(self.table)
            .push(" SET position = ")
            .bind(position)
            .push(" WHERE id = ")
            .bind(id);
        db.execute_raw(sql.build()).await?;
        Ok(())
    }
}
