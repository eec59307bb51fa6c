//! A reform: a labelled point under a section of an article.

point_entity!("reforms", "reform");
