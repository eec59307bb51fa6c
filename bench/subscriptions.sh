#!/usr/bin/env bash
# Subscription benchmark for Annals: N graphql-transport-ws subscribers of one article, then one
# updateArticle a second; delivery latency, RSS per subscriber, CPU per event. 127.0.0.1 only.
# See bench/SUBSCRIPTIONS.md.
#
# Options (environment):
#   SUBSCRIBERS="1000 10000"    subscriber counts
#   EVENTS=20                   mutations (one a second)
#   BACKENDS="sqlite postgres"  postgres also runs with subscribers split over two processes
#   BIN=target/release/annals   the server binary (e.g. an older build, for "before")
#   CLIENT=target/release/annals-bench-subscribers
#   BENCH_DB=annals_bench_subs  PostgreSQL database to create and drop (PGHOST/PGPORT/PGUSER)
#   PORT=18480                  first server port (the second process uses PORT+1)
#   DEADLINE=240                seconds the client may take to subscribe
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUBSCRIBERS=${SUBSCRIBERS:-"1000 10000"}
EVENTS=${EVENTS:-20}
BACKENDS=${BACKENDS:-"sqlite postgres"}
BIN=${BIN:-$ROOT/target/release/annals}
CLIENT=${CLIENT:-$ROOT/target/release/annals-bench-subscribers}
BENCH_DB=${BENCH_DB:-annals_bench_subs}
PORT=${PORT:-18480}
DEADLINE=${DEADLINE:-240}
TOKEN=bench-token-0123456789abcdef
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}

# Each socket is a file descriptor on both sides: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)"
echo "# fd limit: $(ulimit -n)" >&2

PIDS=()
TMP=$(mktemp -d)
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap 'cleanup; psql -q -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT

start() { # port database-url
  ANNALS_LISTEN=127.0.0.1:$1 DATABASE_URL=$2 ANNALS_EDITOR_TOKENS=bench:$TOKEN ANNALS_LOG=warn \
    ANNALS_MAX_WEBSOCKETS=10000 "$BIN" serve >>"$TMP/server.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on $1 did not start" >&2; cat "$TMP/server.log" >&2; exit 1
}

run() { # label servers n url
  local label=$1 servers=$2 n=$3 url=$4 ws="" pids=""
  start "$PORT" "$url"
  ws="ws://127.0.0.1:$PORT/graphql/ws"
  pids="${PIDS[0]}"
  if [ "$servers" = 2 ]; then
    start $((PORT + 1)) "$url"
    ws="$ws,ws://127.0.0.1:$((PORT + 1))/graphql/ws"
    pids="$pids,${PIDS[1]}"
  fi
  echo "## $label, $n subscribers, $servers process(es)" >&2
  timeout $((DEADLINE + EVENTS + 60)) "$CLIENT" --ws "$ws" --http "http://127.0.0.1:$PORT/graphql" \
    --token "$TOKEN" --pids "$pids" --subscribers "$n" --events "$EVENTS" --deadline "$DEADLINE" \
    | tee -a "$TMP/results.json"
  cleanup
}

for backend in $BACKENDS; do
  for n in $SUBSCRIBERS; do
    case $backend in
      sqlite)
        rm -f "$TMP/bench.db"*
        run sqlite 1 "$n" "sqlite://$TMP/bench.db?mode=rwc"
        ;;
      postgres)
        for servers in 1 2; do
          psql -q -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null
          psql -q -d postgres -c "CREATE DATABASE $BENCH_DB" >/dev/null
          run postgres "$servers" "$n" "postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB"
        done
        ;;
    esac
  done
done
