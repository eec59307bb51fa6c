//! Global IDs at the GraphQL edge: [`crate::ids::GlobalId`] as the `ID` scalar.

pub use crate::ids::GlobalId;

impl From<GlobalId> for async_graphql::ID {
    fn from(id: GlobalId) -> Self {
        async_graphql::ID(id.encode())
    }
}
