//! Cheap limits checked on a GraphQL request before async-graphql validates or
//! executes it, so that hostile queries are refused without doing much work.
//!
//! [`check_text`] runs on the raw query text, before it is parsed (the parser
//! recurses on nested values and can overflow the stack). [`check_document`]
//! runs on the parsed document, before validation (which expands fragments and
//! can be made to do an exponential amount of work).
//!
//! [`check_directives`] and [`check_depth`] replace async-graphql's own limits of the same
//! names, so that every refusal is an [`Error::LimitExceeded`] (no error is recognised by its
//! message) and both stay linear when fragments fan out.
//!
//! Everything here is iterative and linear in the size of its input. A refusal is an
//! [`Error::LimitExceeded`] naming the limit.

use std::collections::{HashMap, HashSet};

use async_graphql_parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};

use crate::error::{Error, Result};

/// Limits checked on the query text and its parsed document before validation.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Largest accepted query text, in bytes.
    pub max_query_bytes: usize,
    /// Deepest accepted nesting of list/object values (and list types) inside
    /// an argument or variable-definition list.
    pub max_value_nesting: usize,
    /// Most field selections the selected operation may produce once every
    /// fragment is expanded.
    pub max_selections: usize,
    /// Most aliased fields in the selected operation and the fragments it uses.
    pub max_aliases: usize,
    /// Most fields in the selected operation's top-level selection set.
    pub max_root_fields: usize,
    /// Deepest accepted nesting of fields, counted through fragments.
    pub max_depth: usize,
    /// Most directives on one field.
    pub max_directives: usize,
}

impl From<&crate::config::Limits> for QueryLimits {
    fn from(limits: &crate::config::Limits) -> Self {
        Self {
            max_query_bytes: limits.query_bytes,
            max_value_nesting: limits.nesting,
            max_selections: limits.selections,
            max_aliases: limits.aliases,
            max_root_fields: limits.root_fields,
            max_depth: limits.depth,
            max_directives: limits.directives,
        }
    }
}

/// The configuration's defaults ([`crate::config::Limits`]), written once there.
impl Default for QueryLimits {
    fn default() -> Self {
        Self::from(&crate::config::Config::defaults(String::new()).limits)
    }
}

/// Deepest accepted nesting of brackets outside argument lists (selection
/// sets). The parser itself refuses selection sets nested more than 65 deep;
/// this bound sits well above that, so it never replaces the parser's own error
/// for a plausible query, and only exists to bound the parser's recursion on
/// hostile text.
const MAX_SELECTION_NESTING: usize = 128;

/// Checks the raw query text, before parsing: its size, then how deeply it nests.
///
/// Nesting rule: one linear pass over the bytes tracks the combined depth of
/// every `(`, `[` and `{` (closed by any of `)`, `]`, `}`), skipping string
/// literals (`"..."` with backslash escapes, `"""..."""` block strings with
/// `\"""` escapes) and comments (`#` to end of line), exactly as the parser
/// delimits them. Inside an argument or variable-definition list (from the
/// outermost `(` to its matching `)`) every further bracket is a list/object
/// value or a list type; more than `max_value_nesting` such levels is refused.
/// Outside argument lists the brackets are selection sets; more than 128
/// levels is refused (the parser refuses more than 65 anyway). Both are reported with limit
/// `"nesting"`. Malformed text (unbalanced brackets) only needs the count to
/// stay an upper bound on what the parser would recurse into before failing,
/// so closers merely decrement (never below zero).
pub fn check_text(query: &str, limits: &QueryLimits) -> Result<()> {
    if query.len() > limits.max_query_bytes {
        return Err(Error::LimitExceeded {
            limit: "querySize",
            message: format!(
                "The query is {} bytes long; the limit is {} bytes.",
                query.len(),
                limits.max_query_bytes
            ),
        });
    }

    let bytes = query.as_bytes();
    let mut i = 0;
    let mut depth: usize = 0;
    // Depth just outside the outermost open `(`, if inside an argument list.
    let mut args_base: Option<usize> = None;
    let mut max_value_depth: usize = 0;
    let mut max_selection_depth: usize = 0;

    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        // An unterminated string: the parser fails here, so
                        // scanning on as ordinary text only over-counts.
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
                continue;
            }
            open @ (b'(' | b'[' | b'{') => {
                if open == b'(' && args_base.is_none() {
                    args_base = Some(depth);
                }
                depth += 1;
                match args_base {
                    Some(base) => max_value_depth = max_value_depth.max(depth - base - 1),
                    None => max_selection_depth = max_selection_depth.max(depth),
                }
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if args_base.is_some_and(|base| depth <= base) {
                    args_base = None;
                }
            }
            _ => {}
        }
        i += 1;
    }

    if max_value_depth > limits.max_value_nesting {
        return Err(Error::LimitExceeded {
            limit: "nesting",
            message: format!(
                "The query nests list/object values {max_value_depth} levels deep; the limit is {}.",
                limits.max_value_nesting
            ),
        });
    }
    if max_selection_depth > MAX_SELECTION_NESTING {
        return Err(Error::LimitExceeded {
            limit: "nesting",
            message: format!(
                "The query nests selection sets {max_selection_depth} levels deep; the limit is {MAX_SELECTION_NESTING}."
            ),
        });
    }
    Ok(())
}

/// Checks the parsed document, before validation, for the operation that will run.
///
/// The operation is the one named by `operation_name`, or else the document's
/// only operation; when neither identifies one, every operation is checked.
/// For each checked operation:
/// - `"selections"`: the number of fields full fragment expansion would
///   produce (a fragment's fields count once per place it is spread) must not
///   exceed `max_selections`;
/// - `"aliases"`: aliased fields written in the operation and in the fragments
///   it uses (each fragment counted once) must not exceed `max_aliases`;
/// - `"rootFields"`: fields in the top-level selection set, after expanding
///   fragments at that level, must not exceed `max_root_fields`.
///
/// Counts are memoized per fragment, so this stays linear in the document size
/// even when fragments fan out exponentially. Fragment cycles and unknown
/// fragments count as empty here; validation rejects them afterwards.
pub fn check_document(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    limits: &QueryLimits,
) -> Result<()> {
    let operations: Vec<&OperationDefinition> = match &doc.operations {
        DocumentOperations::Single(op) => vec![&op.node],
        DocumentOperations::Multiple(ops) => match operation_name.and_then(|name| ops.get(name)) {
            Some(op) => vec![&op.node],
            None => ops.values().map(|op| &op.node).collect(),
        },
    };
    if operations.is_empty() {
        return Ok(());
    }

    let summaries = fragment_summaries(doc);
    let mut field_memo = HashMap::new();
    let mut root_memo = HashMap::new();

    for op in operations {
        let summary = Summary::of(&op.selection_set.node);

        // Fan-out first: it is the expensive attack, and its count says the most.
        let fields = expanded_total(&summary, &summaries, Count::Fields, &mut field_memo);
        if fields > limits.max_selections as u64 {
            return Err(Error::LimitExceeded {
                limit: "selections",
                message: format!(
                    "The operation selects {} fields once its fragments are expanded; the limit is {}.",
                    display_count(fields),
                    limits.max_selections
                ),
            });
        }
        let root_fields = expanded_total(&summary, &summaries, Count::RootFields, &mut root_memo);
        if root_fields > limits.max_root_fields as u64 {
            return Err(Error::LimitExceeded {
                limit: "rootFields",
                message: format!(
                    "The operation asks for {root_fields} top-level fields; the limit is {}.",
                    limits.max_root_fields
                ),
            });
        }

        let aliases = alias_total(&summary, &summaries);
        if aliases > limits.max_aliases as u64 {
            return Err(Error::LimitExceeded {
                limit: "aliases",
                message: format!(
                    "The operation uses {aliases} aliases; the limit is {}.",
                    limits.max_aliases
                ),
            });
        }
    }
    Ok(())
}

/// Refuses a document with a field that carries more than `max_directives` directives, in
/// any operation or in a fragment one reaches (as async-graphql's `limit_directives` did,
/// with its message; each fragment is looked at once).
pub fn check_directives(doc: &ExecutableDocument, limits: &QueryLimits) -> Result<()> {
    let summaries = fragment_summaries(doc);
    for (_, op) in doc.operations.iter() {
        let summary = Summary::of(&op.node.selection_set.node);
        let most = reachable(&summary, &summaries)
            .map(|s| s.most_directives)
            .max()
            .unwrap_or(0);
        if most > limits.max_directives {
            return Err(Error::limit(
                "directives",
                "Too many directives on one field.",
            ));
        }
    }
    Ok(())
}

/// Refuses a document whose fields nest more than `max_depth` deep in any operation, counting
/// through fragment spreads (`{ a { b } }` is 2 deep), as async-graphql's `limit_depth` did,
/// with its message. Depths are memoized per fragment; a fragment cycle adds nothing here
/// (validation refuses it).
pub fn check_depth(doc: &ExecutableDocument, limits: &QueryLimits) -> Result<()> {
    let summaries = fragment_summaries(doc);
    let mut memo = HashMap::new();
    for (_, op) in doc.operations.iter() {
        let summary = Summary::of(&op.node.selection_set.node);
        if expanded_total(&summary, &summaries, Count::Depth, &mut memo) > limits.max_depth as u64 {
            return Err(Error::limit(
                "depth",
                "The query is nested too deep; nest fewer selection sets.",
            ));
        }
    }
    Ok(())
}

/// Each fragment definition's summary, by name.
fn fragment_summaries(doc: &ExecutableDocument) -> HashMap<&str, Summary<'_>> {
    doc.fragments
        .iter()
        .map(|(name, fragment)| {
            (
                name.as_str(),
                Summary::of(&fragment.node.selection_set.node),
            )
        })
        .collect()
}

/// `start`, then the summary of every fragment it reaches, each once.
fn reachable<'s, 'a>(
    start: &'s Summary<'a>,
    summaries: &'s HashMap<&'a str, Summary<'a>>,
) -> impl Iterator<Item = &'s Summary<'a>> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut pending: Vec<&str> = start.spreads.clone();
    let mut first = Some(start);
    std::iter::from_fn(move || {
        if let Some(start) = first.take() {
            return Some(start);
        }
        while let Some(name) = pending.pop() {
            if !seen.insert(name) {
                continue;
            }
            if let Some(summary) = summaries.get(name) {
                pending.extend(summary.spreads.iter().filter(|n| !seen.contains(*n)));
                return Some(summary);
            }
        }
        None
    })
}

/// Formats a saturated count readably.
fn display_count(count: u64) -> String {
    if count == u64::MAX {
        "more than 18 quintillion".to_owned()
    } else {
        count.to_string()
    }
}

/// What one selection set contains directly, not following fragment spreads.
struct Summary<'a> {
    /// Fields at any depth.
    fields: u64,
    /// Fragment spreads at any depth, once per occurrence.
    spreads: Vec<&'a str>,
    /// Aliased fields at any depth.
    aliases: u64,
    /// Fields at the top level (looking through inline fragments).
    root_fields: u64,
    /// Fragment spreads at the top level (looking through inline fragments).
    root_spreads: Vec<&'a str>,
    /// The deepest field nesting, not following fragment spreads (a top-level field is 1).
    depth: u64,
    /// Each fragment spread with the number of fields enclosing it.
    spread_depths: Vec<(&'a str, u64)>,
    /// The most directives on one field.
    most_directives: usize,
}

impl<'a> Summary<'a> {
    fn of(set: &'a SelectionSet) -> Self {
        let mut summary = Summary {
            fields: 0,
            spreads: Vec::new(),
            aliases: 0,
            root_fields: 0,
            root_spreads: Vec::new(),
            depth: 0,
            spread_depths: Vec::new(),
            most_directives: 0,
        };
        // (selection set, fields enclosing it)
        let mut stack: Vec<(&SelectionSet, u64)> = vec![(set, 0)];
        while let Some((set, enclosing)) = stack.pop() {
            let at_root = enclosing == 0;
            for item in &set.items {
                match &item.node {
                    Selection::Field(field) => {
                        summary.fields += 1;
                        if at_root {
                            summary.root_fields += 1;
                        }
                        if field.node.alias.is_some() {
                            summary.aliases += 1;
                        }
                        summary.depth = summary.depth.max(enclosing + 1);
                        summary.most_directives =
                            summary.most_directives.max(field.node.directives.len());
                        stack.push((&field.node.selection_set.node, enclosing + 1));
                    }
                    Selection::FragmentSpread(spread) => {
                        let name = spread.node.fragment_name.node.as_str();
                        summary.spreads.push(name);
                        summary.spread_depths.push((name, enclosing));
                        if at_root {
                            summary.root_spreads.push(name);
                        }
                    }
                    Selection::InlineFragment(inline) => {
                        stack.push((&inline.node.selection_set.node, enclosing));
                    }
                }
            }
        }
        summary
    }
}

/// The `pick` measure of `start` after expanding every fragment spread recursively (a sum
/// of counts, saturating, or the deepest nesting). Values per fragment are memoized in `memo`
/// (which must always be used with the same `pick`); a fragment reached again while it is
/// being expanded (a cycle) counts as zero. Walked iteratively, so a long chain of fragments
/// cannot overflow the stack.
fn expanded_total<'a>(
    start: &Summary<'a>,
    summaries: &HashMap<&'a str, Summary<'a>>,
    pick: Count,
    memo: &mut HashMap<&'a str, u64>,
) -> u64 {
    let mut total = pick.own(start);
    let mut i = 0;
    while let Some((name, at)) = pick.spread(start, i) {
        i += 1;
        total = pick.combine(total, at, fragment_total(name, summaries, pick, memo));
    }
    total
}

fn fragment_total<'a>(
    name: &'a str,
    summaries: &HashMap<&'a str, Summary<'a>>,
    pick: Count,
    memo: &mut HashMap<&'a str, u64>,
) -> u64 {
    if let Some(&total) = memo.get(name) {
        return total;
    }
    let Some(summary) = summaries.get(name) else {
        return 0;
    };
    // Iterative depth-first walk: (fragment, its summary, next spread, value so far).
    let mut in_progress: HashSet<&str> = HashSet::from([name]);
    let mut stack = vec![(name, summary, 0usize, pick.own(summary))];
    loop {
        let top = stack.last_mut().expect("stack is never empty here");
        if let Some((next, at)) = pick.spread(top.1, top.2) {
            top.2 += 1;
            if let Some(&total) = memo.get(next) {
                top.3 = pick.combine(top.3, at, total);
            } else if !in_progress.contains(next)
                && let Some(summary) = summaries.get(next)
            {
                in_progress.insert(next);
                stack.push((next, summary, 0, pick.own(summary)));
            }
        } else {
            let (done, _, _, total) = stack.pop().expect("stack is never empty here");
            in_progress.remove(done);
            memo.insert(done, total);
            match stack.last_mut() {
                Some(parent) => {
                    let (_, at) = pick
                        .spread(parent.1, parent.2 - 1)
                        .expect("the spread just expanded");
                    parent.3 = pick.combine(parent.3, at, total);
                }
                None => return total,
            }
        }
    }
}

/// Which expanded measure [`expanded_total`] computes.
#[derive(Clone, Copy)]
enum Count {
    /// Fields at any depth.
    Fields,
    /// Fields at the top level.
    RootFields,
    /// The deepest field nesting (`{ a { b } }` is 2).
    Depth,
}

impl Count {
    /// The summary's own value, not following spreads.
    fn own(self, summary: &Summary<'_>) -> u64 {
        match self {
            Count::Fields => summary.fields,
            Count::RootFields => summary.root_fields,
            Count::Depth => summary.depth,
        }
    }

    /// The `i`th spread to follow, with the number of fields enclosing it.
    fn spread<'a>(self, summary: &Summary<'a>, i: usize) -> Option<(&'a str, u64)> {
        match self {
            Count::Fields => summary.spreads.get(i).map(|&name| (name, 0)),
            Count::RootFields => summary.root_spreads.get(i).map(|&name| (name, 0)),
            Count::Depth => summary.spread_depths.get(i).copied(),
        }
    }

    /// `value` with a spread at depth `at` whose fragment measures `fragment`.
    fn combine(self, value: u64, at: u64, fragment: u64) -> u64 {
        match self {
            Count::Fields | Count::RootFields => value.saturating_add(fragment),
            Count::Depth => value.max(at.saturating_add(fragment)),
        }
    }
}

/// Aliases written in the operation plus in each fragment it reaches, each
/// fragment counted once.
fn alias_total<'a>(start: &Summary<'a>, summaries: &HashMap<&'a str, Summary<'a>>) -> u64 {
    reachable(start, summaries).fold(0, |total, s| total.saturating_add(s.aliases))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_defaults_come_from_the_limits() {
        let limits = crate::config::Config::defaults("").limits;
        let guards = QueryLimits::default();
        assert_eq!(guards.max_query_bytes, limits.query_bytes);
        assert_eq!(guards.max_value_nesting, limits.nesting);
        assert_eq!(guards.max_selections, limits.selections);
        assert_eq!(guards.max_aliases, limits.aliases);
        assert_eq!(guards.max_root_fields, limits.root_fields);
    }
    use async_graphql_parser::parse_query;
    use std::time::{Duration, Instant};

    fn limits() -> QueryLimits {
        QueryLimits::default()
    }

    fn deep_list(levels: usize) -> String {
        format!(
            "{{ __typename(x: {}1{}) }}",
            "[".repeat(levels),
            "]".repeat(levels)
        )
    }

    /// A refusal's limit and message, for assertions.
    #[derive(Debug)]
    struct Refused {
        limit: &'static str,
        message: String,
    }

    fn refused(result: Result<()>) -> std::result::Result<(), Refused> {
        result.map_err(|err| match err {
            Error::LimitExceeded { limit, message } => Refused { limit, message },
            other => panic!("not a limit error: {other:?}"),
        })
    }

    /// [`super::check_text`], its refusal as [`Refused`].
    fn check_text(query: &str, limits: &QueryLimits) -> std::result::Result<(), Refused> {
        refused(super::check_text(query, limits))
    }

    /// [`super::check_document`], its refusal as [`Refused`].
    fn check_document(
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        limits: &QueryLimits,
    ) -> std::result::Result<(), Refused> {
        refused(super::check_document(doc, operation_name, limits))
    }

    fn doc_check(query: &str, operation_name: Option<&str>) -> std::result::Result<(), Refused> {
        let doc = parse_query(query).expect("test query parses");
        check_document(&doc, operation_name, &limits())
    }

    fn shape_check(query: &str, limits: &QueryLimits) -> std::result::Result<(), Refused> {
        let doc = parse_query(query).expect("test query parses");
        refused(check_directives(&doc, limits).and_then(|()| check_depth(&doc, limits)))
    }

    #[test]
    fn depth_counts_fields_through_fragments_like_async_graphql() {
        let two = QueryLimits {
            max_depth: 2,
            ..limits()
        };
        assert!(shape_check("{ a { b } }", &two).is_ok());
        let err = shape_check("{ a { b { c } } }", &two).unwrap_err();
        assert_eq!(err.limit, "depth");
        assert_eq!(
            err.message,
            "The query is nested too deep; nest fewer selection sets."
        );
        // Through a spread inside a field, and through an inline fragment (which adds no level).
        assert!(shape_check("{ a { ...F } } fragment F on T { b }", &two).is_ok());
        assert!(shape_check("{ a { ...F } } fragment F on T { b { c } }", &two).is_err());
        assert!(shape_check("{ a { ... on T { b } } }", &two).is_ok());
        // Every operation counts, named or not; a chain of fragments adds up.
        assert!(shape_check("query A { x } query B { a { b { c } } }", &two).is_err());
        assert!(
            shape_check(
                "{ ...F } fragment F on T { a { ...G } } fragment G on T { b { c } }",
                &two
            )
            .is_err()
        );
        // A cycle adds nothing (validation refuses it later) and does not hang.
        assert!(shape_check("{ a { ...F } } fragment F on T { b ...F }", &two).is_ok());
    }

    #[test]
    fn a_long_fragment_chain_is_walked_without_recursion() {
        let n = 20_000;
        let mut query = String::from("{ ...F0 }");
        for i in 0..n {
            query.push_str(&format!(" fragment F{i} on T {{ a ...F{} }}", i + 1));
        }
        query.push_str(&format!(" fragment F{n} on T {{ a }}"));
        let big = QueryLimits {
            max_depth: 1,
            ..limits()
        };
        assert!(shape_check(&query, &big).is_ok());
    }

    #[test]
    fn directives_are_counted_per_field_in_operations_and_the_fragments_they_reach() {
        let one = QueryLimits {
            max_directives: 1,
            ..limits()
        };
        assert!(shape_check("{ a @include(if: true) }", &one).is_ok());
        let err = shape_check("{ a @include(if: true) @skip(if: false) }", &one).unwrap_err();
        assert_eq!(err.limit, "directives");
        assert_eq!(err.message, "Too many directives on one field.");
        assert!(shape_check("{ ...F } fragment F on T { a @x @y }", &one).is_err());
        // A fragment no operation uses is not looked at (as async-graphql did).
        assert!(shape_check("{ a } fragment F on T { a @x @y }", &one).is_ok());
    }

    #[test]
    fn defaults() {
        let l = QueryLimits::default();
        assert_eq!(l.max_query_bytes, 65_536);
        assert_eq!(l.max_value_nesting, 64);
        assert_eq!(l.max_selections, 10_000);
        assert_eq!(l.max_aliases, 30);
        assert_eq!(l.max_root_fields, 20);
    }

    #[test]
    fn oversized_query_refused() {
        let query = format!("{{ __typename }}{}", " ".repeat(70_000));
        let err = check_text(&query, &limits()).unwrap_err();
        assert_eq!(err.limit, "querySize");
        assert!(err.message.contains("65536"), "{}", err.message);
    }

    #[test]
    fn deep_lists_refused() {
        for levels in [2_000, 10_000] {
            let query = deep_list(levels);
            let big = QueryLimits {
                max_query_bytes: 1 << 20,
                ..limits()
            };
            let err = check_text(&query, &big).unwrap_err();
            assert_eq!(err.limit, "nesting");
            assert_eq!(
                err.message,
                format!(
                    "The query nests list/object values {levels} levels deep; the limit is 64."
                )
            );
        }
    }

    #[test]
    fn deep_objects_and_list_types_refused() {
        let objects = format!("{{ f(x: {}1{}) }}", "{a: ".repeat(65), "}".repeat(65));
        assert_eq!(
            check_text(&objects, &limits()).unwrap_err().limit,
            "nesting"
        );
        let types = format!(
            "query ($v: {}Int{}) {{ f }}",
            "[".repeat(65),
            "]".repeat(65)
        );
        assert_eq!(check_text(&types, &limits()).unwrap_err().limit, "nesting");
        let directive = format!("{{ f @d(x: {}1{}) }}", "[".repeat(65), "]".repeat(65));
        assert_eq!(
            check_text(&directive, &limits()).unwrap_err().limit,
            "nesting"
        );
    }

    #[test]
    fn value_nesting_at_limit_passes() {
        assert!(check_text(&deep_list(64), &limits()).is_ok());
        assert!(check_text(&deep_list(65), &limits()).is_err());
    }

    #[test]
    fn deep_selection_sets_refused() {
        let query = format!("{}{}", "{a".repeat(1_000), "}".repeat(1_000));
        let err = check_text(&query, &limits()).unwrap_err();
        assert_eq!(err.limit, "nesting");
        assert!(
            err.message.contains("selection sets 1000 levels"),
            "{}",
            err.message
        );
    }

    #[test]
    fn brackets_in_strings_and_comments_ignored() {
        let many = "[{(".repeat(5_000);
        let queries = [
            format!("{{ f(x: \"{many}\") }}"),
            format!("{{ f(x: \"a \\\" {many} \\\\\") }}"),
            format!("{{ f(x: \"\"\"{many}\"\"\") }}"),
            format!("{{ f(x: \"\"\" \\\"\"\" {many} \"\"\") }}"),
            format!("{{ f # {many}\n }}"),
            format!("# {many}\r{{ f }}"),
        ];
        for query in &queries {
            assert!(check_text(query, &limits()).is_ok(), "{query}");
        }
        // ... but not when the string or comment has ended.
        let after_string = format!(
            "{{ f(x: \"s\", y: {}1{}) }}",
            "[".repeat(65),
            "]".repeat(65)
        );
        assert!(check_text(&after_string, &limits()).is_err());
        let after_block = format!(
            "{{ f(x: \"\"\"s \\\"\"\" t\"\"\", y: {}1{}) }}",
            "[".repeat(65),
            "]".repeat(65)
        );
        assert!(parse_query(&after_block).is_ok());
        assert!(check_text(&after_block, &limits()).is_err());
        let after_comment = format!("{{ f # c\r(x: {}1{}) }}", "[".repeat(65), "]".repeat(65));
        assert!(check_text(&after_comment, &limits()).is_err());
    }

    #[test]
    fn normal_and_deepish_queries_pass() {
        let normal = r#"
            query Posts($first: Int = 10, $filter: PostFilter = {tags: ["a", "b"], author: {name: "x"}}) {
              # a comment with [ unbalanced { brackets (
              posts(first: $first, filter: $filter) {
                edges { node { id title author { name } } }
              }
            }
        "#;
        assert!(check_text(normal, &limits()).is_ok());
        assert!(parse_query(normal).is_ok());

        // 15 levels of selections, each with an input-object argument.
        let mut deep = String::new();
        for i in 0..15 {
            deep.push_str(&format!(
                "f{i}(where: {{and: [{{x: {{eq: [1, 2]}}}}]}}) {{ id "
            ));
        }
        deep.push_str(&"}".repeat(15));
        let deep = format!("{{ {deep} }}");
        assert!(check_text(&deep, &limits()).is_ok());
        assert!(doc_check(&deep, None).is_ok());
    }

    #[test]
    fn deepest_accepted_text_parses_on_small_stack() {
        let query = format!(
            "{}b(x: {}1{}){}",
            "{a".repeat(MAX_SELECTION_NESTING - 1),
            "[".repeat(64),
            "]".repeat(64),
            "}".repeat(MAX_SELECTION_NESTING - 1)
        );
        assert!(check_text(&query, &limits()).is_ok());
        let parsed = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || parse_query(&query).is_ok())
            .unwrap()
            .join();
        // The parser refuses the selection depth itself; it must not crash.
        assert!(parsed.is_ok());
    }

    #[test]
    fn fragment_fan_out_refused_quickly() {
        let mut query = String::from("query Q { a { ...F0 } }\n");
        for i in 0..24 {
            query.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        query.push_str("fragment F24 on Query { __typename }\n");
        let doc = parse_query(&query).unwrap();
        let start = Instant::now();
        let err = check_document(&doc, Some("Q"), &limits()).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(err.limit, "selections");
        assert!(err.message.contains("16777217"), "{}", err.message);
    }

    #[test]
    fn huge_fan_out_saturates() {
        let mut query = String::from("{ a { ...F0 } }\n");
        for i in 0..100 {
            query.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        query.push_str("fragment F100 on Query { a b }\n");
        let err = doc_check(&query, None).unwrap_err();
        assert_eq!(err.limit, "selections");
    }

    #[test]
    fn selections_counted_through_fragments() {
        // 1 + 100 * (1 + 99) = 10_001 fields.
        let inner = (0..99)
            .map(|i| format!("b{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let spreads = "...F ".repeat(100);
        let query =
            format!("{{ a {{ {spreads} }} }} fragment F on T {{ x {{ ... on U {{ {inner} }} }} }}");
        assert_eq!(doc_check(&query, None).unwrap_err().limit, "selections");
        let query = query.replacen("b0 ", "", 1);
        assert!(doc_check(&query, None).is_ok());
    }

    #[test]
    fn fragment_cycles_do_not_hang() {
        let query = "{ ...A } fragment A on Query { a ...B } fragment B on Query { b ...A ...C } \
                     fragment C on Query { ...C c }";
        assert!(doc_check(query, None).is_ok());
        assert!(doc_check("{ ...Missing x }", None).is_ok());
    }

    #[test]
    fn aliases_counted_once_per_fragment() {
        let aliases = (0..10)
            .map(|i| format!("a{i}: f"))
            .collect::<Vec<_>>()
            .join(" ");
        // 10 in the operation + 10 in F (used 5 times, counted once) = 20.
        let query = format!(
            "{{ {aliases} x {{ ...F ...F ...F }} ...F ...F }} fragment F on Query {{ {aliases} }}"
        );
        let custom = QueryLimits {
            max_aliases: 20,
            max_root_fields: 100,
            ..limits()
        };
        let doc = parse_query(&query).unwrap();
        assert!(check_document(&doc, None, &custom).is_ok());
        let custom = QueryLimits {
            max_aliases: 19,
            ..custom
        };
        let err = check_document(&doc, None, &custom).unwrap_err();
        assert_eq!(err.limit, "aliases");
        assert_eq!(
            err.message,
            "The operation uses 20 aliases; the limit is 19."
        );
    }

    #[test]
    fn root_fields_expand_fragments() {
        let twenty = (0..20)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(doc_check(&format!("{{ {twenty} }}"), None).is_ok());
        let err = doc_check(&format!("{{ {twenty} __typename }}"), None).unwrap_err();
        assert_eq!(err.limit, "rootFields");
        assert_eq!(
            err.message,
            "The operation asks for 21 top-level fields; the limit is 20."
        );
        // 8 fields per fragment, reached three times at the top level = 24.
        let query = "{ ...R ... on Query { ...R } ... { ...R } } \
                     fragment R on Query { a b c d e f g h { i j k l } }";
        assert_eq!(doc_check(query, None).unwrap_err().limit, "rootFields");
    }

    #[test]
    fn only_selected_operation_checked() {
        let many = (0..25)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let query = format!("query Big {{ {many} }} query Small {{ a }}");
        assert!(doc_check(&query, Some("Small")).is_ok());
        assert_eq!(
            doc_check(&query, Some("Big")).unwrap_err().limit,
            "rootFields"
        );
        // Unknown or missing name with several operations: all are checked.
        assert!(doc_check(&query, None).is_err());
        assert!(doc_check(&query, Some("Nope")).is_err());
        // A single named operation is used whatever name is given.
        let single = format!("query Big {{ {many} }}");
        assert!(doc_check(&single, Some("Other")).is_err());
    }
}
