-- Q3: the statements Annals sends for bench/queries/q3.graphql, one pgbench transaction per
-- GraphQL request. From bench/run.sh (-D): the topic's slug, its id as an array (:topic_ids),
-- and the array of its first 20 articles' ids (:ids); the page fetches :limit = first + 1 rows.
SELECT t.id, t.slug, t.name, t.description FROM topics t WHERE t.slug = :slug;
SELECT * FROM (SELECT at.topic_id AS owner_id, a.id, a.slug, a.title, a.summary, a.version, a.created_at, a.updated_at, ROW_NUMBER() OVER (PARTITION BY at.topic_id ORDER BY a.created_at ASC, a.id ASC) AS rn FROM article_topics at JOIN articles a ON a.id = at.article_id WHERE at.topic_id = ANY(:topic_ids)) ranked WHERE rn <= :limit ORDER BY owner_id, rn;
SELECT s.id, s.article_id, s.position, s.slug, s.heading, s.body FROM sections s WHERE s.article_id = ANY(:ids) ORDER BY s.article_id, s.position;
