//! A reaction: a labelled point under a section of an article.

point_entity!("reactions", "reaction");
