-- Q3 ceiling, the topic and its page in one statement, then the sections: the topic by slug
-- (topics_slug_key) with its first 21 articles (first + 1) joined to it through the same
-- LATERAL ... LIMIT as q3.sql, then the headings of those 20 articles' sections. Joining the
-- sections to the page as well (one statement) is slower: every section row repeats the
-- topic's and the article's columns (bench/README.md, Q3).
-- pgbench variables from bench/run.sh (-D): :slug, :limit (21), :ids (20 ids).
SELECT t.id, p.id, p.title FROM topics t LEFT JOIN LATERAL (SELECT a.id, a.title, a.created_at FROM article_topics g CROSS JOIN LATERAL (SELECT a.id, a.title, a.created_at FROM articles a WHERE a.id = g.article_id OFFSET 0) a WHERE g.topic_id = t.id ORDER BY a.created_at, a.id LIMIT :limit) p ON true WHERE t.slug = :slug ORDER BY p.created_at, p.id;
SELECT s.article_id, s.heading FROM sections s WHERE s.article_id = ANY(:ids) ORDER BY s.article_id, s.position;
