//! Keyset pagination shared by every connection: a window of rows after or before a key.

use chrono::{DateTime, Utc};
use sea_orm::Value;

use super::sql::SqlBuilder;

/// The value of the sort column at a row, stored in cursors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum KeyValue {
    /// A text column (title, slug).
    Text(String),
    /// A timestamp column, as microseconds since the epoch.
    Time(i64),
}

impl KeyValue {
    /// The key of a timestamp column.
    pub fn time(at: DateTime<Utc>) -> Self {
        Self::Time(at.timestamp_micros())
    }

    fn to_value(&self) -> Option<Value> {
        match self {
            Self::Text(text) => Some(Value::from(text.clone())),
            Self::Time(micros) => DateTime::<Utc>::from_timestamp_micros(*micros).map(Value::from),
        }
    }
}

/// A position in an ordered list: the sort key (when sorting by a column) and the row id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Key {
    /// The sort column's value; absent when the list is ordered by id alone.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub value: Option<KeyValue>,
    /// The row id, which breaks ties.
    #[serde(rename = "i")]
    pub id: i64,
}

/// Which rows of an ordered list a request wants (already validated: not both first and last).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Window {
    /// Only rows after this key.
    pub after: Option<Key>,
    /// Only rows before this key.
    pub before: Option<Key>,
    /// At most this many rows from the start of the remaining range.
    pub first: Option<u64>,
    /// At most this many rows from the end of the remaining range.
    pub last: Option<u64>,
}

impl Window {
    /// Whether rows are fetched from the end (a `last` request).
    pub fn backward(&self) -> bool {
        self.last.is_some()
    }

    /// How many rows to return.
    pub fn limit(&self) -> u64 {
        self.last.or(self.first).unwrap_or(20)
    }
}

/// One page of rows and whether more lie beyond it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows in list order.
    pub rows: Vec<T>,
    /// More rows follow the last one.
    pub has_next: bool,
    /// More rows precede the first one.
    pub has_previous: bool,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows (in fetch order) for `window`.
    pub fn from_fetched(mut rows: Vec<T>, window: &Window) -> Self {
        let limit = window.limit() as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        if window.backward() {
            rows.reverse();
            Self {
                rows,
                has_next: window.before.is_some(),
                has_previous: more,
            }
        } else {
            Self {
                rows,
                has_next: more,
                has_previous: window.after.is_some(),
            }
        }
    }
}

/// The column a list is sorted by, besides its id.
#[derive(Debug, Clone, Copy)]
pub struct SortSpec<'a> {
    /// The sort column (`None`: by id only).
    pub column: Option<&'a str>,
    /// The id column.
    pub id_column: &'a str,
    /// Descending order.
    pub descending: bool,
}

impl SortSpec<'_> {
    /// Appends ` AND (key, id) > (v, i)` style conditions for the window's cursors.
    pub fn push_conditions(&self, sql: &mut SqlBuilder, window: &Window) {
        if let Some(after) = &window.after {
            self.push_compare(sql, after, !self.descending);
        }
        if let Some(before) = &window.before {
            self.push_compare(sql, before, self.descending);
        }
    }

    fn push_compare(&self, sql: &mut SqlBuilder, key: &Key, greater: bool) {
        let op = if greater { " > " } else { " < " };
        match (self.column, key.value.as_ref().and_then(KeyValue::to_value)) {
            (Some(column), Some(value)) => {
                sql.push(" AND (")
                    .push(column)
                    .push(", ")
                    .push(self.id_column)
                    .push(")");
                sql.push(op)
                    .push("(")
                    .bind(value)
                    .push(", ")
                    .bind(key.id)
                    .push(")");
            }
            _ => {
                sql.push(" AND ").push(self.id_column).push(op).bind(key.id);
            }
        }
    }

    /// Appends ` ORDER BY ... LIMIT n+1` for the window.
    pub fn push_order_and_limit(&self, sql: &mut SqlBuilder, window: &Window) {
        let descending = self.descending != window.backward();
        let dir = if descending { " DESC" } else { " ASC" };
        sql.push(" ORDER BY ");
        if let Some(column) = self.column {
            sql.push(column).push(dir).push(", ");
        }
        sql.push(self.id_column).push(dir);
        sql.push(" LIMIT ").bind((window.limit() + 1) as i64);
    }
}
