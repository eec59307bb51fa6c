#!/usr/bin/env bash
# Peak memory under the heaviest read the limits admit (issue #9): CLIENTS clients running
# `articles(first: K)` with everything nested, over articles at the editing caps, for DURATION
# seconds against a release build on PostgreSQL. K is the largest page whose response fits
# max-response-bytes and the complexity limit (a larger page is refused and costs less). Prints one
# Markdown row; see bench/MEMORY.md.
#
# Options (environment): CLIENTS=64 DURATION=20 ARTICLES=60 PORT=18666 FIRST= (fix the page)
#   BENCH_DB=annals_bench_mem  SKIP_BUILD=0  EXTRA_ENV="ANNALS_RESPONSE_MEMORY_BYTES=..."
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-20}
ARTICLES=${ARTICLES:-60}
PORT=${PORT:-18666}
BENCH_DB=${BENCH_DB:-annals_bench_mem}
SKIP_BUILD=${SKIP_BUILD:-0}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB"
BIN=$ROOT/target/release/annals
URL="http://127.0.0.1:$PORT/graphql"
WORK=$(mktemp -d)

log() { printf '[memory] %s\n' "$*" >&2; }
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    psql -qc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" postgres >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { log "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
command -v jq >/dev/null || { log "installing jq"; apt-get install -y -qq jq >/dev/null; }
if [ "$SKIP_BUILD" != 1 ]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet -p annals)
fi

psql -qc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" postgres
psql -qc "CREATE DATABASE $BENCH_DB" postgres
log "generating and importing $ARTICLES articles at the caps"
python3 "$ROOT/bench/memory/generate.py" "$ARTICLES" "$WORK/articles"
DATABASE_URL=$DATABASE_URL "$BIN" import "$WORK"/articles/*.txt >/dev/null

# shellcheck disable=SC2086
env DATABASE_URL="$DATABASE_URL" ANNALS_LISTEN="127.0.0.1:$PORT" ANNALS_LOG=warn ${EXTRA_ENV:-} \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

query() {
    printf '{ articles(first: %s) { edges { node { title summary version topics { name } sections { heading body position reforms { title description topics { name } } reactions { title description } } } } } }' "$1"
}
body_for() { jq -cn --arg q "$(query "$1")" '{query: $q}'; }
first=${FIRST:-}
for k in ${FIRST:-100 80 60 50 40 30 22 20 18 15 12 10 5}; do
    answer=$(curl -s "$URL" -H 'content-type: application/json' -d "$(body_for "$k")")
    if [ -n "${FIRST:-}" ] || [ "$(jq 'has("errors")' <<<"$answer")" = false ]; then
        first=$k
        bytes=${#answer}
        break
    fi
done
[ -n "$first" ] || { log "every page size was refused"; exit 1; }
log "heaviest admitted page: first: $first ($bytes response bytes)"
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")

cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$(body_for "$first")]]
LUA
wrk -t2 -c"$CLIENTS" -d"${DURATION}s" --timeout 20s --latency -s "$WORK/post.lua" "$URL" >"$WORK/wrk.txt"
peak=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.txt")
p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
sed 's/^/[wrk] /' "$WORK/wrk.txt" >&2
printf '| %s | %s | first: %s (%s KiB) | %s | %s | %s | %s / %s | %s → %s MiB | **%s MiB** |\n' \
    "${EXTRA_ENV:-defaults}" "$CLIENTS" "$first" "$((bytes / 1024))" "$requests" "$rps" "${non2xx:-0}" \
    "$p50" "$p99" "$((rss_before / 1024))" "$((rss_after / 1024))" "$((peak / 1024))"
