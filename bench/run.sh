#!/usr/bin/env bash
# Load benchmark for Annals on PostgreSQL: each GraphQL query in bench/queries/ against a release
# build, beside the same SQL run by pgbench (the SQL ceiling). See bench/README.md.
#
# Options (environment):
#   DURATION=15        seconds measured per run (oha and pgbench alike)
#   WARMUP=3           seconds of unmeasured load before each run
#   CLIENTS="16 64"    concurrency levels
#   PORT=0             port the release server listens on (127.0.0.1; 0: any free port)
#   QUERIES="q1 q2 q3" which queries (bench/queries/NAME.graphql + bench/sql/NAME.sql)
#   BASELINE=1         also run `{ __typename }` (HTTP + GraphQL overhead, no SQL)
#   POOL=16            ANNALS_DB_MAX_CONNECTIONS for the server
#   SYNTHETIC=2000     synthetic articles to seed
#   BENCH_DB=annals_bench  database to (re)create and drop; PGHOST/PGPORT/PGUSER as for psql
#   PGBENCH_THREADS=2  pgbench -j
#   SKIP_BUILD=0       1: use the existing target/release/annals
#   BIN=target/release/annals  the server binary (e.g. a build of an earlier commit)
#   KEEP_DB=0          1: keep the database afterwards
#   OUT=bench/out      raw outputs (oha JSON, pgbench logs, captured SQL); git-ignored
#   CACHED=1           also run each query over GET with the response cache on, and as a
#                      304 (If-None-Match with the current ETag); the other runs keep the
#                      response cache off, so they measure execution
#   PAGES=1            also page through the articles: statements for first: 1 vs 100, and
#                      page 500 (first: 4, after the cursor of page 499) against page 1
#   SQLITE=1           also run each query on the embedded default: a SQLite file seeded the
#                      same way, same clients (no SQL ceiling: there is no pgbench for it)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
CLIENTS=${CLIENTS:-"16 64"}
PORT=${PORT:-0}
QUERIES=${QUERIES:-"q1 q2 q3"}
BASELINE=${BASELINE:-1}
POOL=${POOL:-16}
SYNTHETIC=${SYNTHETIC:-2000}
BENCH_DB=${BENCH_DB:-annals_bench}
PGBENCH_THREADS=${PGBENCH_THREADS:-2}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP_DB=${KEEP_DB:-0}
OUT=${OUT:-$BENCH/out}
CACHED=${CACHED:-1}
SQLITE=${SQLITE:-1}
PAGES=${PAGES:-1}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB"
URL="" # set once the server has said where it listens
BIN=${BIN:-$ROOT/target/release/annals} # another build to compare: BIN=/path/to/annals

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools -----------------------------------------------------------------------------------
need_apt() {
    # Debian packages, installed only when missing (needs root or sudo).
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@"
}
command -v psql >/dev/null && command -v pgbench >/dev/null || need_apt postgresql-client
command -v jq >/dev/null || need_apt jq
command -v curl >/dev/null || need_apt curl
if ! command -v oha >/dev/null; then
    [ -x "$HOME/.cargo/bin/oha" ] && export PATH=$HOME/.cargo/bin:$PATH
fi
if ! command -v oha >/dev/null; then
    log "installing oha (cargo install oha --locked; a few minutes)"
    cargo install oha --locked
    export PATH=$HOME/.cargo/bin:$PATH
fi
pg_isready -q || die "PostgreSQL is not answering at $PGHOST:$PGPORT (start it: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start)"

if [ "$SKIP_BUILD" != 1 ]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
fi
[ -x "$BIN" ] || die "$BIN is missing (build with cargo build --release)"

mkdir -p "$OUT"
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -INT "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    if [ "$KEEP_DB" != 1 ]; then
        dropdb --if-exists --force "$BENCH_DB" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# --- database --------------------------------------------------------------------------------
log "creating database $BENCH_DB and seeding $SYNTHETIC synthetic articles"
dropdb --if-exists --force "$BENCH_DB"
createdb "$BENCH_DB"
DATABASE_URL=$DATABASE_URL ANNALS_LOG=warn "$BIN" seed --synthetic "$SYNTHETIC" >&2
psql -qAt -d "$BENCH_DB" -c "VACUUM ANALYZE" >/dev/null

# --- server ----------------------------------------------------------------------------------
# body_of NAME: the JSON request body for bench/queries/NAME.graphql.
body_of() { jq -Rsc '{query: .}' "$BENCH/queries/$1.graphql"; }

start_server() { # $1: ANNALS_LOG, $2: stderr file, $3: response cache bytes (default 0: off)
    # annals::startup at INFO says which address was bound (PORT=0 picks a free one).
    NO_COLOR=1 DATABASE_URL=$DATABASE_URL ANNALS_LISTEN=127.0.0.1:$PORT \
        ANNALS_RESPONSE_CACHE_BYTES="${3:-0}" \
        ANNALS_LOG="$1,annals::startup=info" ANNALS_DB_MAX_CONNECTIONS=$POOL "$BIN" serve 2>"$2" &
    SERVER_PID=$!
    local address=""
    for _ in $(seq 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || die "server exited: $(tail -n 5 "$2")"
        address=$(sed -nE 's/.*listening.* address=([0-9.:]+).*/\1/p' "$2" | head -n 1)
        [ -n "$address" ] && break
        sleep 0.1
    done
    [ -n "$address" ] || die "server did not say where it listens: $(tail -n 5 "$2")"
    URL="http://$address/graphql"
    curl -fsS -o /dev/null -H 'content-type: application/json' \
        --data '{"query":"{ __typename }"}' "$URL" || die "server does not answer on $URL"
}

# post NAME: one request; fails unless the answer has data and no errors.
post() {
    local answer
    answer=$(curl -fsS -H 'content-type: application/json' --data "$(body_of "$1")" "$URL")
    if ! jq -e '.data != null and (.errors | not)' >/dev/null <<<"$answer"; then
        die "$1 answered with errors: ${answer:0:400}"
    fi
    printf '%s' "$answer"
}

# --- statements per request (trace log) ------------------------------------------------------
# The server logs each statement's text at TRACE under annals::sql; one request's statements
# are the lines it adds. Saved to $OUT/NAME.trace.sql to compare with bench/sql/NAME.sql.
log "capturing the SQL each query sends"
TRACE=$OUT/server-trace.log
start_server "warn,annals::sql=trace" "$TRACE"
declare -A STATEMENTS PAGE_STATEMENTS
for q in $QUERIES; do
    post "$q" >"$OUT/$q.response.json" # warm: nothing lazy is left for the counted request
    sleep 0.3
    before=$(grep -c ' annals::sql' "$TRACE" || true)
    post "$q" >/dev/null
    sleep 0.3
    grep ' annals::sql' "$TRACE" | tail -n +"$((before + 1))" | sed -E 's/\x1b\[[0-9;]*m//g; s/.* sql=//' \
        >"$OUT/$q.trace.sql"
    STATEMENTS[$q]=$(wc -l <"$OUT/$q.trace.sql")
    # The server's statements should match one of the ceiling forms, statement for statement.
    forms=""
    for form in "$q" "$q-join"; do
        [ -f "$BENCH/sql/$form.sql" ] || continue
        forms="$forms $form.sql:$(grep -cvE '^\s*(--|\\|$)' "$BENCH/sql/$form.sql" || true)"
    done
    case " $forms " in
    *":${STATEMENTS[$q]} "*) ;;
    *) log "warning: $q sends ${STATEMENTS[$q]} statements, the ceiling forms have$forms; compare with $OUT/$q.trace.sql" ;;
    esac
    log "$q: ${STATEMENTS[$q]} statement(s) per request"
done
STATEMENTS[baseline]=0
stop_server

# --- pgbench variables -----------------------------------------------------------------------
# The values the server binds, reconstructed from the data (same slugs as in the queries).
sql1() { psql -qAt -d "$BENCH_DB" -c "$1"; }
array_of() { sql1 "SELECT '{' || string_agg(id::text, ',' ORDER BY id) || '}' FROM ($1) x"; }
Q1_SLUG=$(grep -oE 'article\(slug: "[^"]+"' "$BENCH/queries/q1.graphql" | cut -d'"' -f2)
Q3_SLUG=$(grep -oE 'topic\(slug: "[^"]+"' "$BENCH/queries/q3.graphql" | cut -d'"' -f2)
Q1_ID=$(sql1 "SELECT id FROM articles WHERE slug = '$Q1_SLUG'")
Q2_IDS=$(array_of "SELECT id FROM articles ORDER BY created_at, id LIMIT 50")
Q3_TOPIC=$(sql1 "SELECT id FROM topics WHERE slug = '$Q3_SLUG'")
Q3_IDS=$(array_of "SELECT a.id FROM articles a JOIN article_topics t ON t.article_id = a.id
    WHERE t.topic_id = $Q3_TOPIC ORDER BY a.created_at, a.id LIMIT 20")
pgbench_vars() {
    case $1 in
    q1 | q1-json | q1-join) echo "-D slug=$Q1_SLUG -D one=1 -D ids={$Q1_ID}" ;;
    q2 | q2-json | q2-join) echo "-D limit=51 -D ids=$Q2_IDS" ;;
    q3 | q3-json | q3-join) echo "-D slug=$Q3_SLUG -D topic_ids={$Q3_TOPIC} -D limit=21 -D ids=$Q3_IDS" ;;
    esac
}

# --- load ------------------------------------------------------------------------------------
oha_run() { # $1 request body, $2 clients, $3 seconds, $4 output
    oha --no-tui --output-format json -z "${3}s" -c "$2" -m POST \
        -H 'content-type: application/json' -d "$1" "$URL" >"$4"
}
# measure LABEL BODY CLIENTS OUTPUT: warm-up then a measured oha run of BODY; sets rps, p50,
# p99 (seconds) and rss_kib (the server's peak RSS over the run), and warns on non-200 answers.
measure() {
    log "$1 at $3 clients: oha ${WARMUP}s warm-up + ${DURATION}s"
    echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null || true # reset the peak (VmHWM)
    oha_run "$2" "$3" "$WARMUP" /dev/null
    oha_run "$2" "$3" "$DURATION" "$4"
    rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status")
    local ok total
    read -r rps p50 p99 ok total < <(jq -r '[.summary.requestsPerSec,
        .latencyPercentiles.p50, .latencyPercentiles.p99,
        (.statusCodeDistribution["200"] // 0),
        ([.statusCodeDistribution[]] | add // 0)] | @tsv' "$4")
    [ "$ok" = "$total" ] || log "warning: $1 at $3 clients: only $ok of $total answers were 200"
}
ms() { awk -v s="$1" 'BEGIN {print s * 1000}'; } # seconds -> milliseconds
pgbench_run() { # $1 NAME, $2 clients, $3 seconds -> tps
    # shellcheck disable=SC2046
    pgbench -n -M prepared -c "$2" -j "$PGBENCH_THREADS" -T "$3" $(pgbench_vars "$1") \
        -f "$BENCH/sql/$1.sql" "$BENCH_DB" 2>&1
}

log "starting the release server (pool $POOL)"
start_server warn "$OUT/server.log"
ROWS=()
all=$QUERIES
[ "$BASELINE" = 1 ] && all="baseline $QUERIES"
for q in $all; do
    for c in $CLIENTS; do
        measure "$q" "$(body_of "$q")" "$c" "$OUT/$q-c$c.oha.json"
        tps="" pct=""
        if [ "$q" != baseline ]; then
            log "$q at $c clients: pgbench ${WARMUP}s warm-up + ${DURATION}s"
            # Every ceiling form (NAME.sql: one statement per level; NAME-join.sql: levels
            # joined into fewer statements; NAME-json.sql: one json-aggregating statement;
            # each when present); the best is the ceiling.
            for form in "$q" "$q-join" "$q-json"; do
                [ -f "$BENCH/sql/$form.sql" ] || continue
                pgbench_run "$form" "$c" "$WARMUP" >/dev/null
                pgbench_run "$form" "$c" "$DURATION" >"$OUT/$form-c$c.pgbench.log"
                form_tps=$(sed -nE 's/^tps = ([0-9.]+) .*without initial connection time.*/\1/p' \
                    "$OUT/$form-c$c.pgbench.log")
                [ -n "$form_tps" ] || die "pgbench failed for $form: $(tail -n 5 "$OUT/$form-c$c.pgbench.log")"
                log "$form at $c clients: $form_tps tps"
                if [ -z "$tps" ] || awk -v a="$form_tps" -v b="$tps" 'BEGIN {exit !(a > b)}'; then
                    tps=$form_tps
                fi
            done
            pct=$(awk -v a="$rps" -v b="$tps" 'BEGIN {printf "%.0f%%", 100 * a / b}')
            tps=$(printf '%.0f' "$tps")
        fi
        ROWS+=("$(printf '| %s | %s | %.0f | %.2f ms | %.2f ms | %s | %s | %s | %.1f MiB |' \
            "${q^^}" "$c" "$rps" "$(ms "$p50")" \
            "$(ms "$p99")" "${STATEMENTS[$q]}" \
            "${tps:-n/a}" "${pct:-n/a}" "$(awk -v k="$rss_kib" 'BEGIN {print k / 1024}')")")
    done
done
stop_server

# --- pagination: statements by page size, a deep page against the first ---------------------
if [ "$PAGES" = 1 ]; then
    log "starting the release server for the pagination rows"
    start_server warn "$OUT/server-pages.log"
    metrics_url=${URL%/graphql}/metrics
    statements_now() { curl -fsS "$metrics_url" | awk '/^annals_db_statements_total/ {n += $2} END {print n + 0}'; }
    page_body() { # $1 first, $2 after-cursor or empty
        local after=""
        [ -n "$2" ] && after=", after: \\\"$2\\\""
        printf '{"query":"{ articles(first: %s%s) { nodes { title sections { heading } } pageInfo { endCursor } } }"}' "$1" "$after"
    }
    page_post() { curl -fsS -H 'content-type: application/json' --data "$(page_body "$@")" "$URL"; }
    for first in 1 100; do
        page_post "$first" "" >/dev/null
        before=$(statements_now)
        page_post "$first" "" >/dev/null
        PAGE_STATEMENTS[$first]=$(($(statements_now) - before))
        log "articles(first: $first) with sections: ${PAGE_STATEMENTS[$first]} statement(s)"
    done
    cursor=""
    for _ in $(seq 499); do
        cursor=$(page_post 4 "$cursor" | jq -r '.data.articles.pageInfo.endCursor')
        [ "$cursor" != null ] || die "fewer than 500 pages of 4 articles (SYNTHETIC=$SYNTHETIC)"
    done
    for page in 1 500; do
        after=""
        [ "$page" = 500 ] && after=$cursor
        body=$(page_body 4 "$after")
        before=$(statements_now)
        curl -fsS -o /dev/null -H 'content-type: application/json' --data "$body" "$URL"
        page_statements=$(($(statements_now) - before))
        for c in $CLIENTS; do
            measure "page $page of 4 articles" "$body" "$c" "$OUT/page$page-c$c.oha.json"
            ROWS+=("$(printf '| page %s (first: 4) | %s | %.0f | %.2f ms | %.2f ms | %s | n/a | n/a | n/a |' \
                "$page" "$c" "$rps" "$(ms "$p50")" "$(ms "$p99")" "$page_statements")")
        done
    done
    ROWS+=("| articles(first: 1) / (first: 100) with sections | 1 | n/a | n/a | n/a | ${PAGE_STATEMENTS[1]} / ${PAGE_STATEMENTS[100]} | n/a | n/a | n/a |")
    stop_server
fi

# --- the embedded default: SQLite ----------------------------------------------------------
if [ "$SQLITE" = 1 ]; then
    log "seeding a SQLite file with $SYNTHETIC synthetic articles"
    rm -f "$OUT"/bench.sqlite*
    PG_URL=$DATABASE_URL
    DATABASE_URL="sqlite://$OUT/bench.sqlite?mode=rwc"
    DATABASE_URL=$DATABASE_URL ANNALS_LOG=warn "$BIN" seed --synthetic "$SYNTHETIC" >&2
    log "starting the release server on SQLite"
    start_server warn "$OUT/server-sqlite.log"
    for q in $QUERIES; do
        post "$q" >/dev/null
        for c in $CLIENTS; do
            measure "$q on SQLite" "$(body_of "$q")" "$c" "$OUT/$q-sqlite-c$c.oha.json"
            ROWS+=("$(printf '| %s SQLite | %s | %.0f | %.2f ms | %.2f ms | %s | n/a | n/a | %.1f MiB |' \
                "${q^^}" "$c" "$rps" "$(ms "$p50")" "$(ms "$p99")" "${STATEMENTS[$q]}" \
                "$(awk -v k="$rss_kib" 'BEGIN {print k / 1024}')")")
        done
    done
    stop_server
    rm -f "$OUT"/bench.sqlite*
    DATABASE_URL=$PG_URL
fi

# --- cached reads over GET -------------------------------------------------------------------
if [ "$CACHED" = 1 ]; then
    log "starting the release server with the response cache on (64 MiB)"
    start_server warn "$OUT/server-cached.log" $((64 * 1024 * 1024))
    for q in $QUERIES; do
        get_url="$URL?query=$(jq -sRr '@uri' <"$BENCH/queries/$q.graphql")"
        get_url=${get_url%%%0A}
        etag=$(curl -fsS -D - -o /dev/null "$get_url" | sed -nE 's/^etag: *([^\r]+).*/\1/Ip')
        [ -n "$etag" ] || die "$q over GET has no ETag"
        for c in $CLIENTS; do
            for kind in cached 304; do
                log "$q over GET ($kind) at $c clients: oha ${WARMUP}s warm-up + ${DURATION}s"
                extra=()
                [ "$kind" = 304 ] && extra=(-H "if-none-match: $etag")
                oha --no-tui --output-format json -z "${WARMUP}s" -c "$c" "${extra[@]}" "$get_url" >/dev/null
                oha --no-tui --output-format json -z "${DURATION}s" -c "$c" "${extra[@]}" "$get_url" \
                    >"$OUT/$q-get-$kind-c$c.oha.json"
                read -r rps p50 p99 < <(jq -r '[.summary.requestsPerSec,
                    .latencyPercentiles.p50, .latencyPercentiles.p99] | @tsv' \
                    "$OUT/$q-get-$kind-c$c.oha.json")
                ROWS+=("$(printf '| %s GET %s | %s | %.0f | %.2f ms | %.2f ms | 0 | n/a | n/a | n/a |' \
                    "${q^^}" "$kind" "$c" "$rps" "$(ms "$p50")" \
                    "$(ms "$p99")")")
            done
        done
    done
    stop_server
fi

# --- report ----------------------------------------------------------------------------------
{
    echo
    echo "Annals load benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores," \
        "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)," \
        "$(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -n 1);" \
        "$(psql -qAt -d postgres -c 'SHOW server_version' | cut -d' ' -f1 | sed 's/^/PostgreSQL /');" \
        "pool $POOL; ${DURATION}s per run after ${WARMUP}s warm-up; load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| query | clients | req/s | p50 | p99 | statements/request | pgbench tps (ceiling) | % of ceiling | peak RSS |"
    echo "|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/table.md"
