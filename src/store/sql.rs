//! The two SQL dialects Annals speaks, and a small builder for statements with bound values.
//!
//! Statements are written once in PostgreSQL syntax (`$1` placeholders, `= ANY($1)` for id
//! lists, `ILIKE`) and translated to SQLite once per process (`?1`, `json_each`, `LIKE`), so
//! both backends run the same statement text on every request and prepared-statement caches hit.

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

/// Translates a PostgreSQL statement text to SQLite.
pub fn to_sqlite(pg: &str) -> String {
    let mut out = String::with_capacity(pg.len() + 32);
    let mut rest = pg;
    while let Some(start) = rest.find("= ANY(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "= ANY(".len()..];
        let end = after.find(')').unwrap_or(after.len());
        out.push_str("IN (SELECT value FROM json_each(");
        out.push_str(&after[..end]);
        out.push_str("))");
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out.replace('$', "?").replace("ILIKE", "LIKE")
}

/// A fixed statement text for the connection's backend, translated once per process.
#[macro_export]
macro_rules! sql {
    ($backend:expr, $pg:expr) => {{
        static SQLITE: ::std::sync::OnceLock<String> = ::std::sync::OnceLock::new();
        match $backend {
            ::sea_orm::DbBackend::Postgres => $pg,
            _ => SQLITE
                .get_or_init(|| $crate::store::sql::to_sqlite($pg))
                .as_str(),
        }
    }};
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
        self.push(column);
        let value = ids_value(self.backend, ids);
        match self.backend {
            DbBackend::Postgres => self.push(" = ANY(").bind(value).push(")"),
            _ => self
                .push(" IN (SELECT value FROM json_each(")
                .bind(value)
                .push("))"),
        }
    }

    /// Appends `IN`-membership of `column` in a bound string list.
    pub fn in_strings(&mut self, column: &str, items: &[String]) -> &mut Self {
        self.push(column);
        let value = strings_value(self.backend, items);
        match self.backend {
            DbBackend::Postgres => self.push(" = ANY(").bind(value).push(")"),
            _ => self
                .push(" IN (SELECT value FROM json_each(")
                .bind(value)
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

/// A statement with a fixed text and its values.
pub fn statement(
    backend: DbBackend,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
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
    fn translates_postgres_text_to_sqlite() {
        assert_eq!(
            to_sqlite("SELECT * FROM t WHERE a = ANY($1) AND b ILIKE $2"),
            "SELECT * FROM t WHERE a IN (SELECT value FROM json_each(?1)) AND b LIKE ?2"
        );
    }

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(like_pattern(r"50%_\"), r"%50\%\_\\%");
    }
}
