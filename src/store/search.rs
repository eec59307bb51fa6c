//! Ranked full-text search over every kind of content, on PostgreSQL and SQLite alike.
//!
//! The indexes are maintained by the database (migration `m20261127_000003_search`): generated
//! tsvector columns on PostgreSQL, an FTS5 table kept in sync by triggers on SQLite. So any
//! write, through whatever path, is searchable as soon as it commits.
//!
//! A client's query is web-search syntax: words, `"quoted phrases"`, `OR` between
//! alternatives, and `-excluded` words or phrases. It is parsed here, in Rust, into a
//! [`SearchQuery`], and only that parsed form reaches the database: on PostgreSQL re-written as
//! a canonical web-search string for `websearch_to_tsquery` (words and quotes only), on SQLite
//! as an FTS5 expression in which every word is a quoted string. Raw client text never does.
//!
//! Both backends agree on what matches: English stemming (PostgreSQL's snowball stemmer,
//! FTS5's porter stemmer) and PostgreSQL's English stop words, which the parser drops on both
//! (FTS5 has no stop words). Known, deliberate gaps: stop words *inside* a phrase must appear
//! literally on SQLite (any stop word fits on PostgreSQL), and a phrase never spans a title and
//! its body on SQLite. A part of a query without any included word (only `-excluded` ones)
//! matches nothing, on both backends.
//!
//! Ranking: PostgreSQL `ts_rank_cd` with title weight 1.0 and body weight 0.4, divided by the
//! document length; SQLite `bm25` with the same column weights (negated, so higher is better).
//! Ties are broken by `(kind, id)`, and pages are cut by a keyset on `(score, kind, id)` that
//! compares the score's exact `f64`, so paging never repeats or skips a hit.

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult};

use super::{page::Page, sql::SqlBuilder};
use crate::error::{Error, Result};

/// Longest query accepted, in characters; longer ones are `BAD_USER_INPUT`, not truncated, so
/// a client never silently gets hits for a different query than it sent.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Words in a snippet, at most.
pub const SNIPPET_WORDS: usize = 30;

/// Marks the start of a match in snippets as the database returns them (a private-use
/// character, stripped from indexed text, so content cannot forge it).
const START: char = '\u{E000}';
/// Marks the end of a match.
const STOP: char = '\u{E001}';

/// Stands for `<` in text given to `ts_headline`, which would drop anything tag-like.
const LT: char = '\u{E002}';
/// Stands for `>` likewise.
const GT: char = '\u{E003}';

/// PostgreSQL's English stop words (`english.stop`), dropped from queries on both backends.
const STOP_WORDS: &str = "i me my myself we our ours ourselves you your yours yourself yourselves he him his \
     himself she her hers herself it its itself they them their theirs themselves what \
     which who whom this that these those am is are was were be been being have has had \
     having do does did doing a an the and but if or because as until while of at by for \
     with about against between into through during before after above below to from up \
     down in out on off over under again further then once here there when where why how \
     all any both each few more most other some such no nor not only own same so than too \
     very s t can will just don should now";

/// Whitespace and control characters (NUL included) separate query pieces.
fn separates(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.split(' ').any(|stop| stop == word)
}

/// A kind of searchable content; the number is its tie-break order and its tag in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SearchKind {
    /// Articles: title and summary.
    Article = 1,
    /// Sections: heading and body.
    Section = 2,
    /// Reforms: title and description.
    Reform = 3,
    /// Reactions: title and description.
    Reaction = 4,
    /// Topics: name and description.
    Topic = 5,
}

impl SearchKind {
    /// Every kind, in tie-break order.
    pub const ALL: [Self; 5] = [
        Self::Article,
        Self::Section,
        Self::Reform,
        Self::Reaction,
        Self::Topic,
    ];

    /// The kind with this number.
    pub fn from_number(n: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as i64 == n)
    }

    /// `(table, title column, body column)`.
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Article => ("articles", "title", "summary"),
            Self::Section => ("sections", "heading", "body"),
            Self::Reform => ("reforms", "title", "description"),
            Self::Reaction => ("reactions", "title", "description"),
            Self::Topic => ("topics", "name", "description"),
        }
    }
}

/// Words that must appear together: one word, or a phrase (several words in order).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term(Vec<String>);

/// Terms that must all appear, and terms that must not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Clause {
    include: Vec<Term>,
    exclude: Vec<Term>,
}

/// A parsed query: hits match any of its clauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    clauses: Vec<Clause>,
}

impl SearchQuery {
    /// Parses web-search syntax. Empty or whitespace-only text, or text longer than
    /// [`MAX_QUERY_CHARS`], is `BAD_USER_INPUT` on the `query` argument. Anything else parses;
    /// punctuation, operators of other syntaxes and control characters (NUL included) only
    /// separate words.
    pub fn parse(text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Err(Error::bad_input(
                "query",
                "query must contain something to search for",
            ));
        }
        let chars = text.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(Error::bad_input(
                "query",
                format!("query is {chars} characters long; at most {MAX_QUERY_CHARS} are allowed"),
            ));
        }
        let mut clauses = Vec::new();
        let mut clause = Clause::default();
        let mut rest = text;
        loop {
            rest = rest.trim_start_matches(separates);
            let Some(first) = rest.chars().next() else {
                break;
            };
            let negated = first == '-';
            if negated {
                rest = &rest[1..];
            }
            let (piece, quoted) = if let Some(after_quote) = rest.strip_prefix('"') {
                // A phrase runs to the closing quote, or to the end if there is none.
                let end = after_quote.find('"').unwrap_or(after_quote.len());
                rest = after_quote.get(end + 1..).unwrap_or("");
                (&after_quote[..end], true)
            } else {
                let end = rest
                    .find(|c: char| separates(c) || c == '"')
                    .unwrap_or(rest.len());
                let piece = &rest[..end];
                rest = &rest[end..];
                (piece, false)
            };
            if !quoted && !negated && piece.eq_ignore_ascii_case("or") {
                if !clause.include.is_empty() || !clause.exclude.is_empty() {
                    clauses.push(std::mem::take(&mut clause));
                }
                continue;
            }
            let Some(term) = Term::from_text(piece) else {
                continue;
            };
            if negated {
                clause.exclude.push(term);
            } else {
                clause.include.push(term);
            }
        }
        clauses.push(clause);
        // A clause without an included term would match (almost) everything: it matches
        // nothing instead, on both backends alike.
        clauses.retain(|c| !c.include.is_empty());
        Ok(Self { clauses })
    }

    /// The query without its exclusions, for highlighting: excluded words are never marked.
    fn included(&self) -> Self {
        Self {
            clauses: self
                .clauses
                .iter()
                .map(|c| Clause {
                    include: c.include.clone(),
                    exclude: Vec::new(),
                })
                .collect(),
        }
    }

    /// Whether nothing can match (only stop words, punctuation or exclusions were given).
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The canonical web-search string PostgreSQL's `websearch_to_tsquery` parses: lowercase
    /// words, quoted phrases, `-` exclusions and `or`; nothing else.
    pub fn to_websearch(&self) -> String {
        let term = |t: &Term, negated: bool| {
            let sign = if negated { "-" } else { "" };
            match t.0.as_slice() {
                [word] => format!("{sign}{word}"),
                words => format!("{sign}\"{}\"", words.join(" ")),
            }
        };
        self.clauses
            .iter()
            .map(|c| {
                c.include
                    .iter()
                    .map(|t| term(t, false))
                    .chain(c.exclude.iter().map(|t| term(t, true)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// The FTS5 `MATCH` expression: every word a quoted string, operators and parentheses ours.
    pub fn to_fts5(&self) -> String {
        let term = |t: &Term| format!("\"{}\"", t.0.join(" ").replace('"', "\"\""));
        let join = |terms: &[Term], op: &str| {
            terms
                .iter()
                .map(term)
                .collect::<Vec<_>>()
                .join(&format!(" {op} "))
        };
        self.clauses
            .iter()
            .map(|c| {
                let include = join(&c.include, "AND");
                if c.exclude.is_empty() {
                    format!("({include})")
                } else {
                    format!("(({include}) NOT ({}))", join(&c.exclude, "OR"))
                }
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    }
}

impl Term {
    /// The words of a piece of query text: its runs of letters and digits, lowercased. A
    /// single stop word is dropped; stop words at the ends of a phrase are dropped, those
    /// inside kept (so the phrase keeps its shape).
    fn from_text(text: &str) -> Option<Self> {
        let mut words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        while words.first().is_some_and(|w| is_stop_word(w)) {
            words.remove(0);
        }
        while words.last().is_some_and(|w| is_stop_word(w)) {
            words.pop();
        }
        (!words.is_empty()).then_some(Self(words))
    }
}

/// A position in the ranked list of hits: after this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HitKey {
    /// The exact bits of the score (`f64::to_bits`), so cursors compare exactly.
    pub score_bits: u64,
    /// The kind, the first tie-breaker.
    pub kind: SearchKind,
    /// The row id, the second tie-breaker.
    pub id: i64,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// What kind of content matched.
    pub kind: SearchKind,
    /// Its primary key within its table.
    pub id: i64,
    /// The rank, higher is better; comparable within one backend and query.
    pub score: f64,
    /// About 30 words around the best match, HTML-escaped, matches in `<mark>…</mark>`.
    pub snippet: String,
}

impl Hit {
    /// The cursor position of this hit.
    pub fn key(&self) -> HitKey {
        HitKey {
            score_bits: self.score.to_bits(),
            kind: self.kind,
            id: self.id,
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct HitRow {
    kind: i64,
    id: i64,
    score: f64,
    snippet: String,
}

/// Which kinds to search; `None` or every kind means no filter.
fn kind_list(kinds: Option<&[SearchKind]>) -> Vec<SearchKind> {
    let mut list: Vec<SearchKind> = kinds.map_or_else(|| SearchKind::ALL.to_vec(), <[_]>::to_vec);
    list.sort();
    list.dedup();
    list
}

/// Appends, to a query over ranked hits `h` (`h.score`, `h.kind`, `h.id`), the keyset
/// condition "ranked after `after`" and the ranking order, limited to one more than `first`
/// so the page knows whether more follow. Both backends' searches page this one way.
fn push_ranked_page(sql: &mut SqlBuilder, after: Option<&HitKey>, first: u64) {
    if let Some(after) = after {
        let score = f64::from_bits(after.score_bits);
        sql.push(" AND (h.score < ").bind(score);
        sql.push(" OR (h.score = ").bind(score);
        sql.push(" AND (h.kind, h.id) > (")
            .bind(after.kind as i64)
            .push(", ")
            .bind(after.id)
            .push(")))");
    }
    sql.push(" ORDER BY h.score DESC, h.kind, h.id LIMIT ")
        .bind(first as i64 + 1);
}

/// One page of hits for `query` among `kinds` (all when `None`), best first, at most `first`
/// of them, after `after`.
pub async fn search(
    db: &impl ConnectionTrait,
    query: &SearchQuery,
    kinds: Option<&[SearchKind]>,
    after: Option<&HitKey>,
    first: u64,
) -> Result<Page<Hit>> {
    let kinds = kind_list(kinds);
    if query.is_empty() || kinds.is_empty() || first == 0 {
        let has_next = first == 0 && !query.is_empty() && !kinds.is_empty();
        return Ok(Page {
            rows: Vec::new(),
            has_next: has_next && count(db, query, Some(&kinds)).await? > 0,
            has_previous: after.is_some(),
        });
    }
    let statement = match db.get_database_backend() {
        DbBackend::Postgres => postgres_search(query, &kinds, after, first),
        _ => sqlite_search(query, &kinds, after, first),
    };
    let mut rows = HitRow::find_by_statement(statement).all(db).await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let rows = rows
        .into_iter()
        .filter_map(|row| {
            Some(Hit {
                kind: SearchKind::from_number(row.kind)?,
                id: row.id,
                score: row.score,
                snippet: snippet_html(&row.snippet),
            })
        })
        .collect();
    Ok(Page {
        rows,
        has_next,
        has_previous: after.is_some(),
    })
}

/// How many hits `query` has among `kinds` (all when `None`).
pub async fn count(
    db: &impl ConnectionTrait,
    query: &SearchQuery,
    kinds: Option<&[SearchKind]>,
) -> Result<i64> {
    let kinds = kind_list(kinds);
    if query.is_empty() || kinds.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let statement = match backend {
        DbBackend::Postgres => {
            let mut sql = SqlBuilder::new(
                backend,
                "WITH q AS (SELECT websearch_to_tsquery('english', ",
            );
            sql.bind(query.to_websearch())
                .push(") AS q) SELECT COALESCE(SUM(n), 0)::bigint AS n FROM (");
            for (i, kind) in kinds.iter().enumerate() {
                let (table, _, _) = kind.columns();
                if i > 0 {
                    sql.push(" UNION ALL ");
                }
                sql.push("SELECT COUNT(*) AS n FROM ")
                    .push(table)
                    .push(" t, q WHERE t.search @@ q.q");
            }
            sql.push(") counts");
            sql.build()
        }
        _ => {
            let mut sql = SqlBuilder::new(
                backend,
                "SELECT COUNT(*) AS n FROM search_fts WHERE search_fts MATCH ",
            );
            sql.bind(query.to_fts5());
            push_sqlite_kinds(&mut sql, &kinds);
            sql.build()
        }
    };
    let row = db.query_one_raw(statement).await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}

fn postgres_search(
    query: &SearchQuery,
    kinds: &[SearchKind],
    after: Option<&HitKey>,
    first: u64,
) -> sea_orm::Statement {
    let mut sql = SqlBuilder::new(
        DbBackend::Postgres,
        "WITH q AS (SELECT websearch_to_tsquery('english', ",
    );
    sql.bind(query.to_websearch()).push(") AS q) ");
    // Ranking is the cost that grows with the number of matches, so the inner query reads
    // only the tsvector; the text and its headline are fetched for the page's rows only.
    sql.push("SELECT p.kind, p.id, p.score, ts_headline('english', ")
        // ts_headline drops what looks like an HTML tag; `<` and `>` travel as private-use
        // characters instead (and the match sentinels are removed from the text).
        .push("translate(CASE p.kind");
    for kind in kinds {
        let (table, title, body) = kind.columns();
        sql.push(&format!(
            " WHEN {kind} THEN (SELECT t.{title} || ': ' || t.{body} FROM {table} t WHERE t.id = p.id)",
            kind = *kind as i64
        ));
    }
    sql.push(" END, '<>' || chr(57344) || chr(57345), chr(57346) || chr(57347)), ")
        .push("websearch_to_tsquery('english', ")
        .bind(query.included().to_websearch())
        .push("), ")
        .bind(format!(
            "StartSel={START}, StopSel={STOP}, MaxWords={SNIPPET_WORDS}, MinWords=10, ShortWord=2"
        ))
        .push(") AS snippet FROM (SELECT h.kind, h.id, h.score FROM (");
    for (i, kind) in kinds.iter().enumerate() {
        let (table, _, _) = kind.columns();
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        // Weights {D, C, B, A}: title (A) 1.0, body (B) 0.4; normalization 2 divides by the
        // document length, so a short, exact title outranks a long text that mentions it.
        // ts_rank_cd (cover density) rather than ts_rank: it costs about 1.5 µs more per
        // match, but rewards words that stand together ("Dissolution of the Soviet Union").
        sql.push(&format!(
            "SELECT {kind}::bigint AS kind, t.id, \
             ts_rank_cd('{{0.1, 0.2, 0.4, 1.0}}', t.search, q.q, 2)::float8 AS score \
             FROM {table} t, q WHERE t.search @@ q.q",
            kind = *kind as i64
        ));
    }
    sql.push(") h WHERE true");
    push_ranked_page(&mut sql, after, first);
    sql.push(") p ORDER BY p.score DESC, p.kind, p.id");
    sql.build()
}

fn push_sqlite_kinds(sql: &mut SqlBuilder, kinds: &[SearchKind]) {
    if kinds.len() < SearchKind::ALL.len() {
        let numbers: Vec<i64> = kinds.iter().map(|k| *k as i64).collect();
        sql.push(" AND ").in_ids("(search_fts.rowid & 7)", &numbers);
    }
}

fn sqlite_search(
    query: &SearchQuery,
    kinds: &[SearchKind],
    after: Option<&HitKey>,
    first: u64,
) -> sea_orm::Statement {
    // The FTS5 rowid is `id * 8 + kind`. The page is ranked first, without snippets; the
    // outer query makes snippets for its rows only (it must MATCH again to use snippet()).
    let mut sql = SqlBuilder::new(
        DbBackend::Sqlite,
        "WITH page AS MATERIALIZED (SELECT kind, id, score, r FROM (\
         SELECT search_fts.rowid AS r, search_fts.rowid & 7 AS kind, search_fts.rowid >> 3 AS id, \
         -bm25(search_fts, 1.0, 0.4) AS score FROM search_fts WHERE search_fts MATCH ",
    );
    let expression = query.to_fts5();
    sql.bind(expression.clone());
    push_sqlite_kinds(&mut sql, kinds);
    sql.push(") h WHERE 1=1");
    push_ranked_page(&mut sql, after, first);
    sql.push(") SELECT p.kind, p.id, p.score, snippet(search_fts, -1, char(57344), char(57345), '…', ")
        .push(&SNIPPET_WORDS.to_string())
        .push(") AS snippet FROM page p JOIN search_fts ON search_fts.rowid = p.r WHERE search_fts MATCH ")
        .bind(expression)
        .push(" ORDER BY p.score DESC, p.kind, p.id");
    sql.build()
}

/// HTML-escapes a snippet from the database and turns its match sentinels into `<mark>` tags.
fn snippet_html(raw: &str) -> String {
    let raw = raw.replace(LT, "<").replace(GT, ">");
    html_escape::encode_quoted_attribute(&raw)
        .replace(START, "<mark>")
        .replace(STOP, "</mark>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SearchQuery {
        SearchQuery::parse(text).unwrap()
    }

    #[test]
    fn refuses_empty_and_overlong_queries() {
        for text in ["", "   ", "\t\n"] {
            assert!(SearchQuery::parse(text).is_err(), "{text:?}");
        }
        assert!(SearchQuery::parse(&"a".repeat(MAX_QUERY_CHARS)).is_ok());
        assert!(SearchQuery::parse(&"a".repeat(MAX_QUERY_CHARS + 1)).is_err());
    }

    #[test]
    fn translates_web_search_syntax() {
        let q = parse(r#"rehabilitated victims"#);
        assert_eq!(q.to_websearch(), "rehabilitated victims");
        assert_eq!(q.to_fts5(), r#"("rehabilitated" AND "victims")"#);

        let q = parse(r#""secret speech" OR thaw -Gulag"#);
        assert_eq!(q.to_websearch(), r#""secret speech" or thaw -gulag"#);
        assert_eq!(
            q.to_fts5(),
            r#"("secret speech") OR (("thaw") NOT ("gulag"))"#
        );

        let q = parse("De-Stalinization");
        assert_eq!(q.to_websearch(), r#""de stalinization""#);
        assert_eq!(q.to_fts5(), r#"("de stalinization")"#);
    }

    #[test]
    fn drops_stop_words_and_punctuation() {
        // The list is PostgreSQL's english.stop, 127 words.
        assert_eq!(STOP_WORDS.split(' ').filter(|w| !w.is_empty()).count(), 127);
        assert_eq!(STOP_WORDS.split(' ').count(), 127);
        for text in [
            "the of and",
            "!!! ... ???",
            "\"the\" or -stalin",
            "-stalin",
            "or or",
        ] {
            assert!(parse(text).is_empty(), "{text:?}");
        }
        assert_eq!(
            parse("\"the cult of personality\"").to_fts5(),
            r#"("cult of personality")"#
        );
    }

    #[test]
    fn hostile_text_becomes_quoted_words() {
        let q = parse("NEAR( a* ^b \"c\\\" d:e) AND OR NOT \0x '");
        let fts = q.to_fts5();
        assert_eq!(
            fts, r#"("near" AND "b" AND "c" AND "d e") OR ("x")"#,
            "every word quoted, no operator but OR from the client"
        );
        assert!(!q.to_websearch().contains(['\0', '\\', ':', '(', '*', '^']));
        assert_eq!(
            parse("stalin\0khrushchev").to_fts5(),
            r#"("stalin" AND "khrushchev")"#
        );
    }

    #[test]
    fn escapes_snippets_and_marks_matches() {
        assert_eq!(
            snippet_html("<script>\u{E000}x\u{E001} & \"y\""),
            "&lt;script&gt;<mark>x</mark> &amp; &quot;y&quot;"
        );
    }
}
