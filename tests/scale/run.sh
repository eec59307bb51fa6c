#!/usr/bin/env bash
# Tests the scale-out topology on this machine, 127.0.0.1 only: a PostgreSQL primary and a
# streaming replica (Debian's pg_createcluster, the replica's data a `pg_basebackup -R` of the
# primary), nginx in front (deploy/nginx-scale.conf) of two Annals processes that
# tests/e2e/scale.mjs starts, stops and kills while it checks reads, writes, read-your-writes,
# subscriptions and failover. Everything is removed afterwards. Needs target/debug/annals,
# tests/e2e's node modules (npm ci) and nginx (installed from Debian if missing). Bounded:
# the checks are killed after 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."

. tests/lib/local.sh
need_nginx
[ -d tests/e2e/node_modules ] || npm ci --prefix tests/e2e --no-audit --no-fund --silent

work=$(mktemp -d)
chmod 755 "$work"
primary="annals_scale_$$_p"
replica="annals_scale_$$_r"
cleanup() {
  status=$?
  if [ -f "$work/pids" ]; then
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$work/pids"
  fi
  nginx_stop "$work"
  pg_drop "$replica" "$primary"
  if [ "$status" != 0 ]; then
    for log in "$work"/annals-*.log "$work"/logs/error.log; do
      [ -f "$log" ] && { echo "--- $log"; tail -30 "$log"; }
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

primary_port=$(free_port)
replica_port=$(free_port)
port_a=$(free_port)
port_b=$(free_port)
nginx_port=$(free_port)

# The primary, with a database for Annals; the replica streams from it (hot standby).
pg_primary "$primary" "$primary_port"
pg_replica "$replica" "$replica_port" "$primary_port"
echo "ok: primary on $primary_port, streaming replica on $replica_port"

# nginx with the shipped configuration, this run's ports.
sed -e "s|listen 80;|listen 127.0.0.1:$nginx_port;|" \
    -e "s|annals-1:8080|127.0.0.1:$port_a|" \
    -e "s|annals-2:8080|127.0.0.1:$port_b|" deploy/nginx-scale.conf > "$work/scale.conf"
nginx_start "$work" "$work/scale.conf"

ANNALS_BIN="$PWD/target/debug/annals" WORK="$work" NGINX_URL="http://127.0.0.1:$nginx_port" \
  PRIMARY_URL="postgres://postgres@127.0.0.1:$primary_port/annals" \
  REPLICA_URL="postgres://postgres@127.0.0.1:$replica_port/annals" REPLICA_CLUSTER="$replica" \
  PORT_A="$port_a" PORT_B="$port_b" timeout 300 node tests/e2e/scale.mjs
