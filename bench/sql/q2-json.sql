-- Q2 ceiling, one json-aggregating statement: the page and every child list as one JSON value.
SELECT json_build_object('articles', json_build_object('nodes', COALESCE(json_agg(json_build_object(
  'title', a.title,
  'sections', COALESCE((SELECT json_agg(json_build_object('heading', s.heading, 'body', s.body) ORDER BY s.position) FROM sections s WHERE s.article_id = a.id), '[]'::json),
  'reforms', COALESCE((SELECT json_agg(json_build_object('title', p.title, 'description', p.description) ORDER BY s.position, p.position) FROM reforms p JOIN sections s ON s.id = p.section_id WHERE p.article_id = a.id), '[]'::json),
  'reactions', COALESCE((SELECT json_agg(json_build_object('title', p.title, 'description', p.description) ORDER BY s.position, p.position) FROM reactions p JOIN sections s ON s.id = p.section_id WHERE p.article_id = a.id), '[]'::json),
  'topics', COALESCE((SELECT json_agg(json_build_object('slug', t.slug, 'name', t.name) ORDER BY t.name, t.id) FROM article_topics g JOIN topics t ON t.id = g.topic_id WHERE g.article_id = a.id), '[]'::json)
) ORDER BY a.created_at, a.id), '[]'::json))) FROM (SELECT a.id, a.title, a.created_at FROM articles a ORDER BY a.created_at, a.id LIMIT :limit - 1) a;
