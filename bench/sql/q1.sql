-- Q1 ceiling, one statement per level: the article by slug (its id only: nothing else of it is
-- asked), then its sections with only heading and body, in position order (sections_article_position_key).
-- pgbench variables from bench/run.sh (-D): :slug, :ids (the article's id as an array).
SELECT a.id FROM articles a WHERE a.slug = :slug;
SELECT s.article_id, s.heading, s.body FROM sections s WHERE s.article_id = ANY(:ids) ORDER BY s.article_id, s.position;
