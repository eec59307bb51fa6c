-- Q1: the statements Annals sends for bench/queries/q1.graphql, one pgbench transaction per
-- GraphQL request. From bench/run.sh (-D): the article's slug, :one (the LIMIT SeaORM binds
-- for a single row) and the array of its id (:ids), as the server binds them.
SELECT "articles"."id", "articles"."slug", "articles"."title", "articles"."summary", "articles"."version", "articles"."created_at", "articles"."updated_at" FROM "articles" WHERE "articles"."slug" = :slug LIMIT :one;
SELECT s.id, s.article_id, s.position, s.slug, s.heading, s.body FROM sections s WHERE s.article_id = ANY(:ids) ORDER BY s.article_id, s.position;
