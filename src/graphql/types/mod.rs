//! GraphQL object types, one file per type, each wrapping a store row.

pub mod article;
pub mod connections;
pub mod diff;
pub mod inputs;
pub mod node;
pub mod point;
pub mod revision;
pub mod section;
pub mod snapshot;
pub mod topic;

pub use article::Article;
pub use node::Node;
pub use point::{Reaction, Reform};
pub use revision::Revision;
pub use section::Section;
pub use topic::Topic;
