#!/usr/bin/env bash
# Scale-out benchmark: the cost and the gain of the tested topology (README "Scaling") on this
# machine. A PostgreSQL primary and a streaming replica of its own (pg_createcluster +
# pg_basebackup -R on free ports, 2,000 synthetic articles), nginx (deploy/nginx-scale.conf)
# and release builds of Annals, 127.0.0.1 only. For Q1 and Q2 (bench/queries) it runs oha
# against:
#   direct         one process on the primary, no nginx (the reference)
#   nginx          the same process behind nginx (nginx's overhead)
#   nginx-2        two processes behind nginx, both on the primary
#   nginx-2-read   two processes behind nginx, reading from the replica
# and reports req/s, p50/p99 and where the CPU went (Annals, nginx, primary, replica, oha), from
# /proc of each component's processes during the measured window.
#
# and, for Q1 at a fixed RATE (req/s, below saturation), direct and through nginx.
#
# Options: DURATION=10 WARMUP=3 CLIENTS="16 64" QUERIES="q1 q2" SYNTHETIC=2000 POOL=16
#          RATE=1000 SKIP_BUILD=0 OUT=bench/out/scale
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CLIENTS=${CLIENTS:-"16 64"}
QUERIES=${QUERIES:-"q1 q2"}
SYNTHETIC=${SYNTHETIC:-2000}
POOL=${POOL:-16}
RATE=${RATE:-1000}
SKIP_BUILD=${SKIP_BUILD:-0}
OUT=${OUT:-$BENCH/out/scale}
BIN=$ROOT/target/release/annals
log() { printf '[scale] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
. "$ROOT/tests/lib/local.sh"
need_nginx
[ -x "$HOME/.cargo/bin/oha" ] && export PATH=$HOME/.cargo/bin:$PATH
command -v oha >/dev/null || { log "installing oha"; cargo install oha --locked; export PATH=$HOME/.cargo/bin:$PATH; }
[ "$SKIP_BUILD" = 1 ] || (cd "$ROOT" && cargo build --release --quiet)
[ -x "$BIN" ] || die "$BIN is missing"
mkdir -p "$OUT"

work=$(mktemp -d)
chmod 755 "$work"
primary="annals_bench_$$_p"
replica="annals_bench_$$_r"
PIDS=()
cleanup() {
  local status=$?
  [ "$status" = 0 ] || { tail -n 20 "$work/logs/error.log" >&2 2>/dev/null || true; }
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  nginx_stop "$work"
  pg_drop "$replica" "$primary"
  rm -rf "$work"
}
trap cleanup EXIT
pp=$(free_port); rp=$(free_port); pa=$(free_port); pb=$(free_port); np=$(free_port)
PRIMARY="postgres://postgres@127.0.0.1:$pp/annals"
REPLICA="postgres://postgres@127.0.0.1:$rp/annals"

log "primary and replica clusters, $SYNTHETIC synthetic articles"
pg_primary "$primary" "$pp"
DATABASE_URL=$PRIMARY ANNALS_LOG=warn "$BIN" seed --synthetic "$SYNTHETIC" >&2
psql -h 127.0.0.1 -p "$pp" -U postgres -d annals -qc "VACUUM ANALYZE"
pg_replica "$replica" "$rp" "$pp"

start_annals() { # $1 port, $2 read replica URL or ""
  DATABASE_URL=$PRIMARY ANNALS_READ_DATABASE_URL=$2 ANNALS_LISTEN=127.0.0.1:$1 ANNALS_LOG=warn \
    ANNALS_RESPONSE_CACHE_BYTES=0 ANNALS_DB_MAX_CONNECTIONS=$POOL "$BIN" serve 2>>"$work/annals-$1.log" &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.1; done
  die "annals on $1 did not start: $(tail -5 "$work/annals-$1.log")"
}
stop_annals() {
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
nginx_reload() { # $1: 1 or 2 processes upstream (the shipped file lists two)
  local one=()
  [ "$1" = 1 ] && one=(-e "/annals-2:8080/d")
  sed -e "s|listen 80;|listen 127.0.0.1:$np;|" -e "s|annals-1:8080|127.0.0.1:$pa|" \
    -e "s|annals-2:8080|127.0.0.1:$pb|" "${one[@]}" "$ROOT/deploy/nginx-scale.conf" > "$work/scale.conf"
  nginx_start "$work" "$work/scale.conf" "worker_processes auto;"
}

# CPU ticks of each component's processes, as JSON {component: ticks}.
cpu() {
  python3 - "$primary" "$replica" "$work" "${PIDS[@]}" <<'PY'
import os, sys, json
primary, replica, work, annals = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4:])
out = {"annals": 0, "nginx": 0, "primary": 0, "replica": 0, "oha": 0}
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    ticks = int(fields[11]) + int(fields[12])
    if pid in annals:
        out["annals"] += ticks
    elif "nginx" in cmd and (work in cmd or cmd.startswith("nginx: worker")):
        out["nginx"] += ticks
    elif f"15/{primary}" in cmd or f"/{primary}" in cmd and "postgres" in cmd:
        out["primary"] += ticks
    elif f"15/{replica}" in cmd or f"/{replica}" in cmd and "postgres" in cmd:
        out["replica"] += ticks
    elif os.path.basename(cmd.split(" ", 1)[0]) == "oha":
        out["oha"] += ticks
print(json.dumps(out))
PY
}

ROWS=()
measure() { # $1 setup label, $2 URL, $3 queries (default $QUERIES), $4 oha rate limit (req/s)
  local url=$2/graphql
  local rate=()
  [ -n "${4:-}" ] && rate=(-q "$4")
  for q in ${3:-$QUERIES}; do
    local body
    body=$(jq -Rsc '{query: .}' "$BENCH/queries/$q.graphql")
    curl -fsS -H 'content-type: application/json' -d "$body" "$url" | jq -e '.data and (.errors | not)' >/dev/null \
      || die "$q via $1 failed"
    for c in $CLIENTS; do
      log "$q, $1, $c clients"
      oha --no-tui --output-format json -z "${WARMUP}s" -c "$c" -m POST -H 'content-type: application/json' -d "$body" "$url" >/dev/null
      local before after
      before=$(cpu)
      oha --no-tui --output-format json -z "${DURATION}s" -c "$c" "${rate[@]}" -m POST \
        -H 'content-type: application/json' -d "$body" "$url" >"$OUT/$q-$1-c$c.oha.json"
      after=$(cpu)
      read -r rps p50 p99 ok total < <(jq -r '[.summary.requestsPerSec, .latencyPercentiles.p50,
        .latencyPercentiles.p99, (.statusCodeDistribution["200"] // 0),
        ([.statusCodeDistribution[]] | add // 0)] | @tsv' "$OUT/$q-$1-c$c.oha.json")
      [ "$ok" = "$total" ] || log "warning: only $ok of $total answers were 200"
      split=$(python3 -c '
import json, sys
b, a, secs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
hz = 100.0
shares = [100 * (a[k] - b[k]) / hz / secs for k in ["annals", "nginx", "primary", "replica"]]
# The load generator runs between the two snapshots only: it is in the rest, with the kernel.
print(" | ".join("%.0f%%" % x for x in shares + [max(0.0, 200 - sum(shares))]))
' "$before" "$after" "$DURATION")
      ROWS+=("$(printf '| %s | %s | %s | %.0f | %.2f ms | %.2f ms | %s |' "${q^^}" "$1" "$c" "$rps" \
        "$(awk -v s="$p50" 'BEGIN {print s * 1000}')" "$(awk -v s="$p99" 'BEGIN {print s * 1000}')" "$split")")
    done
  done
}

nginx_reload 1
start_annals "$pa" ""
measure direct "http://127.0.0.1:$pa"
measure nginx "http://127.0.0.1:$np"
# Below saturation (a fixed rate), what nginx adds is latency and its own CPU, not lost req/s.
measure "direct-${RATE}rps" "http://127.0.0.1:$pa" q1 "$RATE"
measure "nginx-${RATE}rps" "http://127.0.0.1:$np" q1 "$RATE"
nginx_reload 2
start_annals "$pb" ""
measure nginx-2 "http://127.0.0.1:$np"
stop_annals
start_annals "$pa" "$REPLICA"
start_annals "$pb" "$REPLICA"
replica_reads=$(curl -s "http://127.0.0.1:$pa/metrics" | awk '/^annals_db_reads_total/ && /target="replica"/ {s += $2} END {print s + 0}')
measure nginx-2-read "http://127.0.0.1:$np"
after_reads=$(curl -s "http://127.0.0.1:$pa/metrics" | awk '/^annals_db_reads_total/ && /target="replica"/ {s += $2} END {print s + 0}')
[ "${after_reads%.*}" -gt "${replica_reads%.*}" ] || die "the read-replica runs did not read the replica"
stop_annals

{
  echo
  echo "Scale-out benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; PostgreSQL $(psql -h 127.0.0.1 -p "$pp" -U postgres -qAt -c 'SHOW server_version' | cut -d' ' -f1);" \
    "$SYNTHETIC synthetic articles; pool $POOL per process; ${DURATION}s per run after ${WARMUP}s warm-up; load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "CPU: share of one core during the measured window, by component (200% = both cores); the rest is"
  echo "the load generator (oha) and idle time."
  echo
  echo "| query | setup | clients | req/s | p50 | p99 | Annals | nginx | primary | replica | rest (oha, idle) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/table.md"
