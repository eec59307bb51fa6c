//! The tag linking a reaction to a topic.

point_topic_entity!("reaction_topics", reaction_id, "reaction");
