-- Q2: the statements Annals sends for bench/queries/q2.graphql, one pgbench transaction per
-- GraphQL request. :ids (from bench/run.sh, -D) is the array of the page's 50 article ids; the
-- page fetches :limit = first + 1 rows to know whether there is a next page.
SELECT a.id, a.slug, a.title, a.summary, a.version, a.created_at, a.updated_at FROM articles a WHERE 1=1 ORDER BY a.created_at ASC, a.id ASC LIMIT :limit;
SELECT s.id, s.article_id, s.position, s.slug, s.heading, s.body FROM sections s WHERE s.article_id = ANY(:ids) ORDER BY s.article_id, s.position;
SELECT p.id, p.article_id, p.section_id, p.position, p.slug, p.title, p.description FROM reforms p JOIN sections s ON s.id = p.section_id WHERE p.article_id = ANY(:ids) ORDER BY p.article_id, s.position, p.position;
SELECT p.id, p.article_id, p.section_id, p.position, p.slug, p.title, p.description FROM reactions p JOIN sections s ON s.id = p.section_id WHERE p.article_id = ANY(:ids) ORDER BY p.article_id, s.position, p.position;
SELECT g.article_id AS owner_id, t.id, t.slug, t.name, t.description FROM article_topics g JOIN topics t ON t.id = g.topic_id WHERE g.article_id = ANY(:ids) ORDER BY t.name, t.id;
