-- Q2 ceiling, one statement per level with only the columns asked (plus the owner id to group
-- by): the page of 51 articles (first + 1) by created_at, id (articles_created_at_idx), then each
-- child list for the page's 50 ids (:ids) in one statement each.
SELECT a.id, a.title FROM articles a ORDER BY a.created_at, a.id LIMIT :limit;
SELECT s.article_id, s.heading, s.body FROM sections s WHERE s.article_id = ANY(:ids) ORDER BY s.article_id, s.position;
SELECT p.article_id, p.title, p.description FROM reforms p JOIN sections s ON s.id = p.section_id WHERE p.article_id = ANY(:ids) ORDER BY p.article_id, s.position, p.position;
SELECT p.article_id, p.title, p.description FROM reactions p JOIN sections s ON s.id = p.section_id WHERE p.article_id = ANY(:ids) ORDER BY p.article_id, s.position, p.position;
SELECT g.article_id, t.slug, t.name FROM article_topics g JOIN topics t ON t.id = g.topic_id WHERE g.article_id = ANY(:ids) ORDER BY g.article_id, t.name, t.id;
