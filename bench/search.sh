#!/usr/bin/env bash
# Benchmark of Query.search on PostgreSQL over 10,000 synthetic articles.
#
# Builds the release binary, creates a fresh PostgreSQL database, seeds it with
# `annals seed --synthetic 10000`, starts the server and times two-word searches with curl
# (one request at a time, `%{time_total}`), printing p50/p90/p99/max per query.
#
# Usage: bench/search.sh
# Environment (all optional):
#   BENCH_POSTGRES  admin URL of the server (default postgres://postgres@127.0.0.1:5432/postgres)
#   BENCH_DB        database to (re)create           (default annals_bench_search)
#   BENCH_ARTICLES  synthetic articles                (default 10000)
#   BENCH_REQUESTS  timed requests per query          (default 300)
#   BENCH_PORT      port of the server                (default 18399)
#   BENCH_KEEP=1    keep the database afterwards
set -euo pipefail

cd "$(dirname "$0")/.."
admin=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
db=${BENCH_DB:-annals_bench_search}
articles=${BENCH_ARTICLES:-10000}
requests=${BENCH_REQUESTS:-300}
port=${BENCH_PORT:-18399}
url="${admin%/*}/$db"
queries=("soviet harvest" "rehabilitation victims" "party congress" "censorship thaw")

for tool in psql curl awk; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

echo "== building release"
cargo build --release --quiet
bin=target/release/annals

echo "== fresh database $db"
psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"

echo "== seeding $articles synthetic articles"
ANNALS_LOG=warn DATABASE_URL="$url" "$bin" seed --synthetic "$articles"
psql "$url" -qAtc "ANALYZE"
psql "$url" -qAtc "SELECT 'rows: ' || (SELECT count(*) FROM articles) || ' articles, ' ||
    (SELECT count(*) FROM sections) || ' sections, ' || (SELECT count(*) FROM reforms) ||
    ' reforms, ' || (SELECT count(*) FROM reactions) || ' reactions, ' ||
    (SELECT count(*) FROM topics) || ' topics'"

echo "== starting the server on port $port"
ANNALS_LOG=warn DATABASE_URL="$url" ANNALS_LISTEN="127.0.0.1:$port" "$bin" serve &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    if [[ "${BENCH_KEEP:-}" != 1 ]]; then
        psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    fi
}
trap cleanup EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.2
done

# A typical results page: 20 hits with score, snippet and the node's id and title.
body() {
    local selection=$2
    printf '{"query":"query($q: String!) { search(query: $q, first: 20) { %s edges { node { score snippet node { ... on Article { id title } ... on Section { id heading } ... on Reform { id title } ... on Reaction { id title } ... on Topic { id name } } } } } }","variables":{"q":"%s"}}' \
        "$selection" "$1"
}

post() {
    curl -s -o "${3:-/dev/null}" -w '%{time_total}\n' -H 'Content-Type: application/json' \
        --data "$(body "$1" "$2")" "http://127.0.0.1:$port/graphql"
}

report() {
    sort -n | awk -v name="$1" '{ t[NR] = $1 * 1000 }
        END {
            printf "%-44s n=%d  p50=%6.2f ms  p90=%6.2f ms  p99=%6.2f ms  max=%6.2f ms\n", name, NR,
                t[int(NR * 0.50 + 0.5)], t[int(NR * 0.90 + 0.5)], t[int(NR * 0.99 + 0.5)], t[NR]
        }'
}

echo "== timing ($requests sequential requests per line, after 20 warm-up requests)"
for query in "${queries[@]}"; do
    for selection in "" "totalCount"; do
        post "$query" "$selection" /tmp/annals-bench-search.json >/dev/null
        if grep -q '"errors"' /tmp/annals-bench-search.json; then
            echo "bench: the query failed: $(cat /tmp/annals-bench-search.json)" >&2
            exit 1
        fi
        for _ in $(seq 20); do post "$query" "$selection" >/dev/null; done
        label="\"$query\"${selection:+ + totalCount}"
        for _ in $(seq "$requests"); do post "$query" "$selection"; done | report "$label"
    done
    total=$(curl -s -H 'Content-Type: application/json' \
        --data "{\"query\":\"{ search(query: \\\"$query\\\") { totalCount } }\"}" \
        "http://127.0.0.1:$port/graphql")
    echo "    hits: $total"
done
