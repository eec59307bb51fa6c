//! Relay connections: argument checks, opaque cursors, and the connection and edge types.
//!
//! A cursor is the URL-safe base64 of a small JSON object naming the connection, its order,
//! and the sort key of the row, so a cursor from another list or order (or a forged one) is
//! refused as `BAD_USER_INPUT` instead of silently paging the wrong list.

use std::future::Future;

use async_graphql::SimpleObject;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::{
    error::Error,
    store::page::{Key, Page, Window},
};

/// Default page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// Largest `first` or `last`.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Information about the page of a connection, as the Relay specification defines it.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    /// Whether more items follow this page.
    pub has_next_page: bool,
    /// Whether items precede this page.
    pub has_previous_page: bool,
    /// The cursor of the first edge, if any.
    pub start_cursor: Option<String>,
    /// The cursor of the last edge, if any.
    pub end_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CursorData {
    /// Which connection and order the cursor belongs to.
    #[serde(rename = "l")]
    list: String,
    #[serde(flatten)]
    key: Key,
}

/// Identifies one ordered list, e.g. `articles:TITLE:ASC`; cursors are only valid for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListId(pub String);

impl ListId {
    /// The cursor of a row with `key` in this list.
    pub fn cursor(&self, key: Key) -> String {
        let data = CursorData {
            list: self.0.clone(),
            key,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default())
    }

    fn decode(&self, argument: &str, cursor: &str) -> Result<Key, Error> {
        let invalid = || {
            Error::bad_input(
                argument,
                format!("{argument}: {cursor:?} is not a cursor of this list (with this order)"),
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let data: CursorData = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if data.list == self.0 {
            Ok(data.key)
        } else {
            Err(invalid())
        }
    }
}

/// The four Relay arguments, as a client sent them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    /// `first`.
    pub first: Option<i32>,
    /// `after`.
    pub after: Option<String>,
    /// `last`.
    pub last: Option<i32>,
    /// `before`.
    pub before: Option<String>,
}

impl PageArgs {
    /// The arguments in the order every connection field declares them.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
        }
    }

    /// One page of `list` as a connection: checks the arguments, lets `fetch` read the rows
    /// of the window they select, and gives each row its cursor (from `key`) and its node.
    /// Every paginated field goes through here, so they all check, page and build alike.
    pub async fn connection<C, T, Fetched>(
        &self,
        list: ListId,
        fetch: impl FnOnce(Window) -> Fetched,
        key: impl Fn(&T) -> Key,
        node: impl Fn(T) -> C::Node,
        total: C::Total,
    ) -> async_graphql::Result<C>
    where
        C: Connection,
        Fetched: Future<Output = async_graphql::Result<Page<T>>>,
    {
        let window = self.window(&list)?;
        let page = fetch(window).await?;
        Ok(C::from_page(page, &list, key, node, total))
    }

    /// Checks arguments that name no cursor, which need no list to decode one ([`Self::window`]
    /// before the list is known); `None` when they name a cursor.
    pub fn window_without_cursor(&self) -> Option<Result<Window, Error>> {
        (self.after.is_none() && self.before.is_none()).then(|| self.window(&ListId::default()))
    }

    /// Checks the arguments and decodes the cursors for `list`.
    pub fn window(&self, list: &ListId) -> Result<Window, Error> {
        if self.first.is_some() && self.last.is_some() {
            return Err(Error::bad_input(
                "first",
                "first and last cannot be used together; page forward with first/after or backward with last/before",
            ));
        }
        for (name, value) in [("first", self.first), ("last", self.last)] {
            if let Some(n) = value
                && !(0..=MAX_PAGE_SIZE).contains(&n)
            {
                return Err(Error::bad_input(
                    name,
                    format!("{name} must be between 0 and {MAX_PAGE_SIZE}, got {n}"),
                ));
            }
        }
        let after = self
            .after
            .as_deref()
            .map(|c| list.decode("after", c))
            .transpose()?;
        let before = self
            .before
            .as_deref()
            .map(|c| list.decode("before", c))
            .transpose()?;
        let first = match (self.first, self.last) {
            (None, None) => Some(DEFAULT_PAGE_SIZE),
            (first, _) => first,
        };
        Ok(Window {
            after,
            before,
            first: first.map(|n| n as u64),
            last: self.last.map(|n| n as u64),
        })
    }
}

/// The page a batched loader found, or an empty one when it found none.
pub fn found_or_empty<T>(page: Option<Page<T>>) -> Page<T> {
    page.unwrap_or(Page {
        rows: Vec::new(),
        has_next: false,
        has_previous: false,
    })
}

/// A connection type that [`connection_type!`] defined: built from one page of rows.
pub trait Connection: Sized {
    /// What each edge holds.
    type Node;
    /// How the connection counts its whole list.
    type Total;

    /// Builds the connection from a page of `list`, each row's cursor from `key` and its
    /// node from `node`.
    fn from_page<T>(
        page: Page<T>,
        list: &ListId,
        key: impl Fn(&T) -> Key,
        node: impl Fn(T) -> Self::Node,
        total: Self::Total,
    ) -> Self;
}

/// Defines `XConnection` and `XEdge` for a node type, with Relay's fields plus `nodes` and
/// `totalCount`; `total` computes the count lazily, only when a client asks for it.
#[macro_export]
macro_rules! connection_type {
    ($connection:ident, $edge:ident, $node:ty, $total:ty, $what:literal) => {
        #[doc = concat!("An edge in a connection of ", $what, ".")]
        #[derive(Clone, async_graphql::SimpleObject)]
        #[graphql(name_type = false)]
        pub struct $edge {
            /// An opaque cursor for this edge, for `after` and `before`.
            pub cursor: String,
            #[doc = concat!("The ", $what, " at the end of the edge.")]
            pub node: $node,
        }

        #[doc = concat!("A page of ", $what, ", as a Relay connection.")]
        pub struct $connection {
            /// The edges of this page.
            pub edges: Vec<$edge>,
            /// Where this page stands in the whole list.
            pub page_info: $crate::graphql::pagination::PageInfo,
            /// How to count the whole list.
            pub total: $total,
        }

        #[doc = concat!("A page of ", $what, ", as a Relay connection.")]
        #[async_graphql::Object]
        impl $connection {
            /// The edges of this page, each with its cursor.
            async fn edges(&self) -> $crate::graphql::items::Items<&$edge> {
                self.edges.iter().collect()
            }

            #[doc = concat!("The ", $what, " of this page, without cursors.")]
            async fn nodes(&self) -> $crate::graphql::items::Items<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }

            /// Information for fetching the next or previous page.
            async fn page_info(&self) -> &$crate::graphql::pagination::PageInfo {
                &self.page_info
            }

            /// How many items the whole list has, across all pages.
            async fn total_count(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<i32> {
                self.total.count(ctx).await
            }
        }

        impl $crate::graphql::pagination::Connection for $connection {
            type Node = $node;
            type Total = $total;

            fn from_page<T>(
                page: $crate::store::page::Page<T>,
                list: &$crate::graphql::pagination::ListId,
                key: impl Fn(&T) -> $crate::store::page::Key,
                node: impl Fn(T) -> $node,
                total: $total,
            ) -> Self {
                let edges: Vec<$edge> = page
                    .rows
                    .into_iter()
                    .map(|row| $edge {
                        cursor: list.cursor(key(&row)),
                        node: node(row),
                    })
                    .collect();
                let page_info = $crate::graphql::pagination::PageInfo {
                    has_next_page: page.has_next,
                    has_previous_page: page.has_previous,
                    start_cursor: edges.first().map(|e| e.cursor.clone()),
                    end_cursor: edges.last().map(|e| e.cursor.clone()),
                };
                Self {
                    edges,
                    page_info,
                    total,
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{error::code, store::page::KeyValue};

    fn list(name: &str) -> ListId {
        ListId(name.to_owned())
    }

    fn after(cursor: String) -> PageArgs {
        PageArgs {
            after: Some(cursor),
            ..PageArgs::default()
        }
    }

    #[test]
    fn cursors_round_trip_in_their_own_list() {
        let articles = list("articles:TITLE:ASC");
        for key in [
            Key { value: None, id: 7 },
            Key {
                value: Some(KeyValue::Text("Über \"quotes\" / slashes".into())),
                id: i64::MAX,
            },
            Key {
                value: Some(KeyValue::Time(-1_234_567)),
                id: 1,
            },
        ] {
            let cursor = articles.cursor(key.clone());
            assert!(
                cursor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "URL-safe without padding: {cursor}"
            );
            let window = after(cursor.clone()).window(&articles).unwrap();
            assert_eq!(window.after, Some(key.clone()));
            let before = PageArgs {
                before: Some(cursor),
                last: Some(3),
                ..PageArgs::default()
            }
            .window(&articles)
            .unwrap();
            assert_eq!(before.before, Some(key));
            assert_eq!(before.last, Some(3));
            assert_eq!(before.first, None);
        }
    }

    #[test]
    fn a_cursor_of_another_list_or_a_forged_one_is_bad_input() {
        let by_title = list("articles:TITLE:ASC");
        let by_date = list("articles:UPDATED_AT:ASC");
        let cursor = by_title.cursor(Key { value: None, id: 1 });
        for (args, field) in [
            (after(cursor.clone()), "after"),
            (after("not base64!".into()), "after"),
            (after(URL_SAFE_NO_PAD.encode(b"{\"l\":1}")), "after"),
            (
                PageArgs {
                    before: Some(URL_SAFE_NO_PAD.encode(b"[]")),
                    ..PageArgs::default()
                },
                "before",
            ),
        ] {
            let err = args.window(&by_date).unwrap_err();
            assert_eq!(err.code(), code::BAD_USER_INPUT);
            assert!(
                matches!(&err, Error::BadUserInput { field: Some(f), .. } if f == field),
                "{err:?}"
            );
        }
    }

    #[test]
    fn page_sizes_are_checked_and_default_to_twenty() {
        let l = list("topics");
        let window = PageArgs::default().window(&l).unwrap();
        assert_eq!(window.first, Some(DEFAULT_PAGE_SIZE as u64));
        assert_eq!(window.last, None);
        for args in [
            PageArgs {
                first: Some(1),
                last: Some(1),
                ..PageArgs::default()
            },
            PageArgs {
                first: Some(-1),
                ..PageArgs::default()
            },
            PageArgs {
                last: Some(MAX_PAGE_SIZE + 1),
                ..PageArgs::default()
            },
        ] {
            assert_eq!(args.window(&l).unwrap_err().code(), code::BAD_USER_INPUT);
        }
        let zero = PageArgs {
            first: Some(0),
            ..PageArgs::default()
        };
        assert_eq!(zero.window(&l).unwrap().first, Some(0));
    }
}
