-- Q3 ceiling, one statement per level: the topic by slug (id only), its first 21 articles
-- (first + 1) by created_at, id through a LATERAL ... LIMIT per topic instead of ranking every
-- article of the topic, then the headings only (no body) of those 20 articles' sections.
-- The inner LATERAL ... OFFSET 0 keeps the planner on articles_pkey per membership row (a
-- nested loop) instead of a hash join over a sequential scan of all articles: 6.7k vs 4.0k tps.
-- pgbench variables from bench/run.sh (-D): :slug, :topic_ids, :limit (21), :ids (20 ids).
SELECT t.id FROM topics t WHERE t.slug = :slug;
SELECT o.owner_id, p.id, p.title FROM unnest(CAST(:topic_ids AS bigint[])) AS o(owner_id) CROSS JOIN LATERAL (SELECT a.id, a.title FROM article_topics g CROSS JOIN LATERAL (SELECT a.id, a.title, a.created_at FROM articles a WHERE a.id = g.article_id OFFSET 0) a WHERE g.topic_id = o.owner_id ORDER BY a.created_at, a.id LIMIT :limit) p;
SELECT s.article_id, s.heading FROM sections s WHERE s.article_id = ANY(:ids) ORDER BY s.article_id, s.position;
