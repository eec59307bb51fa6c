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

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
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
  [ -f "$work/nginx.pid" ] && "$NGINX" -p "$work" -c "$work/nginx.conf" -s stop 2>/dev/null || true
  for cluster in "$replica" "$primary"; do
    timeout 60 pg_dropcluster --stop 15 "$cluster" 2>/dev/null || true
  done
  if [ "$status" != 0 ]; then
    for log in "$work"/annals-*.log "$work"/logs/error.log; do
      [ -f "$log" ] && { echo "--- $log"; tail -30 "$log"; }
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
primary_port=$(free_port)
replica_port=$(free_port)
port_a=$(free_port)
port_b=$(free_port)
nginx_port=$(free_port)

# The primary, with a database for Annals; the replica streams from it (hot standby).
timeout 60 pg_createcluster 15 "$primary" -p "$primary_port" -- --auth=trust >/dev/null
timeout 60 pg_ctlcluster --skip-systemctl-redirect 15 "$primary" start
psql -h 127.0.0.1 -p "$primary_port" -U postgres -qc "CREATE DATABASE annals"
timeout 60 pg_createcluster 15 "$replica" -p "$replica_port" -- --auth=trust >/dev/null
data="/var/lib/postgresql/15/$replica"
find "$data" -mindepth 1 -delete
timeout 120 runuser -u postgres -- pg_basebackup -h 127.0.0.1 -p "$primary_port" -U postgres \
  -D "$data" -R -X stream -c fast
timeout 60 pg_ctlcluster --skip-systemctl-redirect 15 "$replica" start
in_recovery=$(psql -h 127.0.0.1 -p "$replica_port" -U postgres -Atc "SELECT pg_is_in_recovery()")
[ "$in_recovery" = t ] || { echo "FAIL: the replica is not in recovery"; exit 1; }
echo "ok: primary on $primary_port, streaming replica on $replica_port"

# nginx with the shipped configuration, this run's ports.
mkdir -p "$work/logs"
sed -e "s|listen 80;|listen 127.0.0.1:$nginx_port;|" \
    -e "s|annals-1:8080|127.0.0.1:$port_a|" \
    -e "s|annals-2:8080|127.0.0.1:$port_b|" deploy/nginx-scale.conf > "$work/scale.conf"
cat > "$work/nginx.conf" <<CONF
daemon on;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    include $work/scale.conf;
}
CONF
"$NGINX" -t -q -p "$work" -c "$work/nginx.conf"
"$NGINX" -p "$work" -c "$work/nginx.conf"

ANNALS_BIN="$PWD/target/debug/annals" WORK="$work" NGINX_URL="http://127.0.0.1:$nginx_port" \
  PRIMARY_URL="postgres://postgres@127.0.0.1:$primary_port/annals" \
  REPLICA_URL="postgres://postgres@127.0.0.1:$replica_port/annals" REPLICA_CLUSTER="$replica" \
  PORT_A="$port_a" PORT_B="$port_b" timeout 300 node tests/e2e/scale.mjs
