#!/usr/bin/env bash
# Tests deploy/nginx-cdn.conf, the README's CDN recipe: nginx's proxy_cache in front of one
# Annals process (SQLite, seeded) on 127.0.0.1. Checks that anonymous GETs are cached and
# revalidated with the ETag (Annals answers 304 without SQL), that authenticated requests and
# POSTs bypass the cache, that a change shows once max-age has passed, and that WebSockets
# pass through. Needs target/debug/annals and nginx (installed from Debian if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

. tests/lib/local.sh
need_nginx

work=$(mktemp -d)
annals_pid=""
cleanup() {
  [ -n "$annals_pid" ] && kill "$annals_pid" 2>/dev/null && wait "$annals_pid" 2>/dev/null
  nginx_stop "$work"
  [ -n "${KEEP:-}" ] && { echo "kept $work"; cat "$work/logs/error.log"; return; }; rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- annals log" >&2; tail -20 "$work/annals.log" >&2 || true; exit 1; }

annals_port=$(free_port)
nginx_port=$(free_port)
token="cdn-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"

DATABASE_URL="sqlite://$work/annals.db?mode=rwc" ANNALS_LISTEN="127.0.0.1:$annals_port" ANNALS_LOG=warn \
  ANNALS_EDITOR_TOKENS="cdn:$token" ANNALS_CACHE_MAX_AGE=2 ANNALS_CACHE_STALE_WHILE_REVALIDATE=0 \
  timeout 120 target/debug/annals serve > "$work/annals.log" 2>&1 &
annals_pid=$!

# The recipe as shipped, with this run's port, upstream and cache directory.
mkdir -p "$work/cache" "$work/logs"
sed -e "s|listen 80;|listen 127.0.0.1:$nginx_port;|" \
    -e "s|server 127.0.0.1:8000;|server 127.0.0.1:$annals_port;|" \
    -e "s|/var/cache/nginx/annals|$work/cache|" deploy/nginx-cdn.conf > "$work/cdn.conf"
# Workers write the cache under $work: as root, run them as root too (a test, not production).
worker_user=""
[ "$(id -u)" = 0 ] && worker_user="user root;"
nginx_start "$work" "$work/cdn.conf" "$worker_user"

for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$annals_port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$nginx_port/healthz" >/dev/null || fail "nginx does not reach Annals"

cdn="http://127.0.0.1:$nginx_port/graphql"
query='{ article(slug: "de-stalinization") { id title version } }'
# get [HEADER...]: a GET of $query through nginx; prints "X-CACHE BODY".
get() {
  local args=(-s -G "$cdn" --data-urlencode "query=$query" -H 'accept: application/graphql-response+json' -D "$work/headers")
  for h in "$@"; do args+=(-H "$h"); done
  local body
  body=$(curl "${args[@]}")
  local status
  status=$(grep -i '^x-cache:' "$work/headers" | tr -d '\r' | awk '{print $2}')
  echo "${status:-NONE} $body"
}
not_modified() { curl -s "http://127.0.0.1:$annals_port/metrics" | awk '/^annals_http_not_modified_total/ {print $2}' | tail -1; }
title_of() { sed -E 's/.*"title":"([^"]*)".*/\1/' <<<"$1"; }

first=$(get); [[ $first == MISS* ]] || fail "first GET: $first"
second=$(get); [[ $second == HIT* ]] || fail "second GET not from nginx's cache: $second"
[ "${first#* }" = "${second#* }" ] || fail "cached body differs"
echo "ok: GET cached (MISS, then HIT)"

auth=$(get "authorization: Bearer $token"); [[ $auth == BYPASS* ]] || fail "authenticated GET: $auth"
echo "ok: authenticated GET bypasses the cache"

before=$(not_modified)
sleep 3.2  # nginx keeps time in whole seconds: max-age 2 + 1
# The first request after max-age is answered from the stale entry while nginx revalidates
# in the background (proxy_cache_background_update); the next one has the refreshed entry.
again=$(get); [[ $again == STALE* || $again == REVALIDATED* ]] || fail "after max-age, unchanged: $again"
sleep 0.3
fresh=$(get); [[ $fresh == HIT* ]] || fail "after revalidation: $fresh"
after=$(not_modified)
[ "${after%.*}" -gt "${before%.*}" ] || fail "Annals did not answer 304 ($before -> $after)"
echo "ok: after max-age nginx revalidates with the ETag and Annals answers 304 (no SQL)"

id=$(sed -E 's/.*"id":"([^"]*)".*/\1/' <<<"$again")
version=$(sed -E 's/.*"version":([0-9]+).*/\1/' <<<"$again")
mutation=$(printf '{"query":"mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { title: \\"De-Stalinization (CDN)\\" }) { article { title } } }","variables":{"id":"%s","v":%s}}' "$id" "$version")
posted=$(curl -s "$cdn" -H 'content-type: application/json' -H "authorization: Bearer $token" -d "$mutation")
grep -q '"De-Stalinization (CDN)"' <<<"$posted" || fail "mutation through nginx: $posted"
echo "ok: POST (a mutation) passes through"

within=$(get); [[ $within == HIT* ]] || fail "within max-age: $within"
[ "$(title_of "$within")" = "De-Stalinization" ] || fail "within max-age the CDN keeps the old answer: $within"
sleep 3.2  # nginx keeps time in whole seconds: max-age 2 + 1
stale=$(get); [[ $stale == STALE* || $stale == EXPIRED* ]] || fail "after the change and max-age: $stale"
sleep 0.3
changed=$(get)
[ "$(title_of "$changed")" = "De-Stalinization (CDN)" ] || fail "the change did not show: $changed"
echo "ok: a change shows once max-age has passed, one request later (new ETag, full answer)"

ws=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$nginx_port/graphql/ws" \
  -H 'connection: Upgrade' -H 'upgrade: websocket' -H 'sec-websocket-version: 13' \
  -H 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==' -H 'sec-websocket-protocol: graphql-transport-ws' || true)
[ "$ws" = 101 ] || fail "WebSocket upgrade through nginx: $ws"
echo "ok: WebSocket upgrade passes through"

echo "CDN recipe passed."
