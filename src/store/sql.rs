//! The two SQL dialects Annals speaks, and a small builder for statements with bound values.
//!
//! [`SqlBuilder`] writes each dialect's text as it goes: a placeholder is `$n` on PostgreSQL
//! and `?` on SQLite, a bound id or string list is `= ANY($n)` (an array) or
//! `IN (SELECT value FROM json_each(?))` (a JSON array), and a case-insensitive match is
//! `ILIKE` or `LIKE`. Every value is bound, never spliced into the text.

use sea_orm::{DbBackend, Statement, Value};

/// Binds a list of ids as one parameter: a PostgreSQL array or a SQLite JSON array.
pub fn ids_value(backend: DbBackend, ids: &[i64]) -> Value {
    match backend {
        DbBackend::Postgres => Value::from(ids.to_vec()),
        _ => Value::from(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())),
    }
}

/// Binds a list of strings as one parameter, like [`ids_value`].
pub fn strings_value(backend: DbBackend, items: &[String]) -> Value {
    match backend {
        DbBackend::Postgres => Value::from(items.to_vec()),
        _ => Value::from(serde_json::to_string(items).unwrap_or_else(|_| "[]".into())),
    }
}

/// Builds a statement whose text depends on the request (filters, cursors), binding every value.
#[derive(Debug)]
pub struct SqlBuilder {
    backend: DbBackend,
    sql: String,
    values: Vec<Value>,
}

impl SqlBuilder {
    /// Starts a statement.
    pub fn new(backend: DbBackend, sql: &str) -> Self {
        Self {
            backend,
            sql: sql.to_owned(),
            values: Vec::new(),
        }
    }

    /// Appends literal SQL text (never client input).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&self.values.len().to_string());
            }
            _ => self.sql.push('?'),
        }
        self
    }

    /// Appends `IN`-membership of `column` in a bound id list.
    pub fn in_ids(&mut self, column: &str, ids: &[i64]) -> &mut Self {
        let list = ids_value(self.backend, ids);
        self.in_list(column, list)
    }

    /// Appends `IN`-membership of `column` in a bound string list.
    pub fn in_strings(&mut self, column: &str, items: &[String]) -> &mut Self {
        let list = strings_value(self.backend, items);
        self.in_list(column, list)
    }

    /// Appends `IN`-membership of `column` in `list`, one bound value from [`ids_value`] or
    /// [`strings_value`].
    fn in_list(&mut self, column: &str, list: Value) -> &mut Self {
        self.push(column);
        match self.backend {
            DbBackend::Postgres => self.push(" = ANY(").bind(list).push(")"),
            _ => self
                .push(" IN (SELECT value FROM json_each(")
                .bind(list)
                .push("))"),
        }
    }

    /// The case-insensitive substring operator of this backend.
    pub fn ilike(&self) -> &'static str {
        match self.backend {
            DbBackend::Postgres => " ILIKE ",
            _ => " LIKE ",
        }
    }

    /// The finished statement.
    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.sql, self.values)
    }
}

/// Escapes `%`, `_` and `\` so a client's text matches literally inside a `LIKE` pattern.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_gets_its_own_placeholders_and_lists() {
        let mut pg = SqlBuilder::new(DbBackend::Postgres, "SELECT * FROM t WHERE ");
        let ilike = pg.ilike();
        pg.in_ids("a", &[1, 2]).push(" AND b").push(ilike).bind("x");
        let pg = pg.build();
        assert_eq!(pg.sql, "SELECT * FROM t WHERE a = ANY($1) AND b ILIKE $2");
        let mut lite = SqlBuilder::new(DbBackend::Sqlite, "SELECT * FROM t WHERE ");
        let like = lite.ilike();
        lite.in_ids("a", &[1, 2])
            .push(" AND b")
            .push(like)
            .bind("x");
        let lite = lite.build();
        assert_eq!(
            lite.sql,
            "SELECT * FROM t WHERE a IN (SELECT value FROM json_each(?)) AND b LIKE ?"
        );
        assert_eq!(lite.values.map(|v| v.0.len()), Some(2));
    }

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(like_pattern(r"50%_\"), r"%50\%\_\\%");
    }
}
