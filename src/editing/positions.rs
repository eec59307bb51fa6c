//! Dense 1-based positions: inserting shifts the rows after, moving and deleting close gaps.
//!
//! Positions are UNIQUE per parent and neither backend can defer that check here, so a shift
//! first moves the affected rows to negative positions and then flips them back.

use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::{
    error::{Error, Result},
    store::sql::SqlBuilder,
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
    /// How many children the parent has.
    pub async fn count(&self, txn: &DatabaseTransaction) -> Result<i32> {
        let mut sql = SqlBuilder::new(txn.get_database_backend(), "SELECT COUNT(*) AS n FROM ");
        sql.push(self.table)
            .push(" WHERE ")
            .push(self.column)
            .push(" = ")
            .bind(self.id);
        let n: i64 = match txn.query_one_raw(sql.build()).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Adds `delta` to the positions in `from..=to`.
    pub async fn shift(
        &self,
        txn: &DatabaseTransaction,
        from: i32,
        to: i32,
        delta: i32,
    ) -> Result<()> {
        if from > to {
            return Ok(());
        }
        let backend = txn.get_database_backend();
        let mut away = SqlBuilder::new(backend, "UPDATE ");
        away.push(self.table)
            .push(" SET position = -(position + ")
            .bind(delta)
            .push(") WHERE ")
            .push(self.column)
            .push(" = ")
            .bind(self.id)
            .push(" AND position BETWEEN ")
            .bind(from)
            .push(" AND ")
            .bind(to);
        txn.execute_raw(away.build()).await?;
        let mut back = SqlBuilder::new(backend, "UPDATE ");
        back.push(self.table)
            .push(" SET position = -position WHERE ")
            .push(self.column)
            .push(" = ")
            .bind(self.id)
            .push(" AND position < 0");
        txn.execute_raw(back.build()).await?;
        Ok(())
    }

    /// Makes room at `position` (appending when `None`); returns the position to insert at.
    pub async fn open(&self, txn: &DatabaseTransaction, position: Option<i32>) -> Result<i32> {
        let count = self.count(txn).await?;
        let position = check(position.unwrap_or(count + 1), count + 1)?;
        self.shift(txn, position, count, 1).await?;
        Ok(position)
    }

    /// Closes the gap a removed child left at `position`.
    pub async fn close(&self, txn: &DatabaseTransaction, position: i32) -> Result<()> {
        let count = self.count(txn).await?;
        self.shift(txn, position + 1, count + 1, -1).await
    }

    /// Moves the child `id` from `from` to `to` (already checked), shifting the ones between.
    pub async fn move_to(
        &self,
        txn: &DatabaseTransaction,
        id: i64,
        from: i32,
        to: i32,
    ) -> Result<()> {
        let backend = txn.get_database_backend();
        let set = |position: i32| {
            let mut sql = SqlBuilder::new(backend, "UPDATE ");
            sql.push(self.table)
                .push(" SET position = ")
                .bind(position)
                .push(" WHERE id = ")
                .bind(id);
            sql.build()
        };
        txn.execute_raw(set(0)).await?;
        if from < to {
            self.shift(txn, from + 1, to, -1).await?;
        } else {
            self.shift(txn, to, from - 1, 1).await?;
        }
        txn.execute_raw(set(to)).await?;
        Ok(())
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
