-- Q1 ceiling, one json-aggregating statement: the whole answer built by PostgreSQL.
SELECT json_build_object('article', (SELECT json_build_object('sections', COALESCE((SELECT json_agg(json_build_object('heading', s.heading, 'body', s.body) ORDER BY s.position) FROM sections s WHERE s.article_id = a.id), '[]'::json)) FROM articles a WHERE a.slug = :slug));
