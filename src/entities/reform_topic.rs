//! The tag linking a reform to a topic.

point_topic_entity!("reform_topics", reform_id, "reform");
