//! [`Items`], the list type of the content's relations: the same GraphQL type as a `Vec`
//! (`[T!]!`), resolved without async-graphql's per-item extension call.
//!
//! With any extension installed, async-graphql resolves each list item through the extension
//! chain: two type names formatted (`[T!]`, `T!`), a `ResolveInfo`, and a boxed future per
//! item, for a hook that does nothing for items here (the response size counts fields, which
//! still go through it). A page of 50 articles with their sections, points and topics has
//! about 900 items. The items' fields resolve as before.

use std::borrow::Cow;

use async_graphql::{
    ContextSelectionSet, OutputType, Positioned, ServerResult, Value, parser::types::Field,
    registry::Registry,
};

/// A list of `T`, served as `[T!]!`.
pub struct Items<T>(pub Vec<T>);

impl<T> FromIterator<T> for Items<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<T: OutputType> OutputType for Items<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let items = self.0.iter().enumerate().map(|(idx, item)| {
            let ctx_idx = ctx.with_index(idx);
            async move {
                OutputType::resolve(item, &ctx_idx, field)
                    .await
                    .map_err(|err| ctx_idx.set_error_path(err))
            }
        });
        Ok(Value::List(futures::future::try_join_all(items).await?))
    }
}
