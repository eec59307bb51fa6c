-- Q1 ceiling, one joined statement: the article by slug (articles_slug_key) with its sections'
-- heading and body joined to it, in position order (sections_article_position_key, a nested
-- loop); an article without sections is one row of NULLs. One round trip instead of two.
-- pgbench variables from bench/run.sh (-D): :slug.
SELECT a.id, s.heading, s.body FROM articles a LEFT JOIN sections s ON s.article_id = a.id WHERE a.slug = :slug ORDER BY s.position;
