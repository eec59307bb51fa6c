#!/usr/bin/env bash
# Cold start: from `annals serve` to the first successful POST /graphql answer, on a seeded
# database (SQLite file and PostgreSQL on 127.0.0.1:5432), with the release build. Polls every
# 2 ms; prints each run and the median. Options: RUNS=5 SKIP_BUILD=0
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-5}
BIN=$ROOT/target/release/annals
[ "${SKIP_BUILD:-0}" = 1 ] || (cd "$ROOT" && cargo build --release --quiet)
work=$(mktemp -d)
db="annals_coldstart_$$"
trap 'rm -rf "$work"; dropdb -h 127.0.0.1 -U postgres --if-exists --force "$db" 2>/dev/null || true' EXIT
createdb -h 127.0.0.1 -U postgres "$db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for url in "sqlite://$work/annals.db?mode=rwc" "postgres://postgres@127.0.0.1:5432/$db"; do
  DATABASE_URL=$url ANNALS_LOG=warn "$BIN" seed >/dev/null 2>&1
  times=()
  for _ in $(seq "$RUNS"); do
    ms=$(python3 - "$BIN" "$url" "$port" <<'PY'
import json, os, subprocess, sys, time, urllib.request
bin, url, port = sys.argv[1:]
env = dict(os.environ, DATABASE_URL=url, ANNALS_LISTEN=f"127.0.0.1:{port}", ANNALS_LOG="warn")
body = json.dumps({"query": '{ article(slug: "de-stalinization") { title } }'}).encode()
start = time.monotonic()
proc = subprocess.Popen([bin, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body, {"content-type": "application/json"})
            answer = json.load(urllib.request.urlopen(req, timeout=1))
            if answer.get("data", {}).get("article"):
                break
        except OSError:
            pass
        if time.monotonic() - start > 10:
            raise SystemExit("no answer within 10 s")
        time.sleep(0.002)
    print(round((time.monotonic() - start) * 1000))
finally:
    proc.terminate()
    proc.wait()
PY
)
    times+=("$ms")
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  echo "${url%%:*}: ${sorted}ms (median ${median} ms)"
done
