# Shell helpers for the scripts that build real topologies on 127.0.0.1 (tests/cdn, tests/scale,
# bench/scale.sh): free ports, nginx under a scratch directory, PostgreSQL clusters of their
# own (Debian's pg_createcluster; never the shared cluster on 5432). Source it; every command is
# bounded in time.

# A TCP port nobody listens on right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sets NGINX to the nginx binary, installing Debian's nginx-light when it is missing.
need_nginx() {
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
  fi
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

# nginx_start DIR SITE [MAIN_DIRECTIVES]: runs nginx with everything under DIR (pid, logs,
# temp files) and SITE (a file of `http` block directives) included; MAIN_DIRECTIVES go at the
# top level (e.g. `worker_processes auto;`). Restarts it when already running.
nginx_start() {
  local dir=$1 site=$2 main=${3:-}
  mkdir -p "$dir/logs"
  nginx_stop "$dir"
  cat > "$dir/nginx.conf" <<CONF
$main
daemon on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $site;
}
CONF
  "$NGINX" -t -q -p "$dir" -c "$dir/nginx.conf"
  "$NGINX" -p "$dir" -c "$dir/nginx.conf"
}

# nginx_stop DIR: stops the nginx nginx_start ran there, if any.
nginx_stop() {
  if [ -f "$1/nginx.pid" ]; then
    "$NGINX" -p "$1" -c "$1/nginx.conf" -s stop 2>/dev/null || true
    for _ in $(seq 50); do [ -f "$1/nginx.pid" ] || break; sleep 0.1; done
  fi
}

# pg_primary NAME PORT: a new PostgreSQL 15 cluster (trust authentication) with a database
# `annals`, started.
pg_primary() {
  timeout 60 pg_createcluster 15 "$1" -p "$2" -- --auth=trust >/dev/null
  timeout 60 pg_ctlcluster --skip-systemctl-redirect 15 "$1" start
  psql -h 127.0.0.1 -p "$2" -U postgres -qc "CREATE DATABASE annals"
}

# pg_replica NAME PORT PRIMARY_PORT: a hot standby of the primary on PRIMARY_PORT, its data a
# `pg_basebackup -R` (standby.signal and primary_conninfo), started and checked in recovery.
pg_replica() {
  timeout 60 pg_createcluster 15 "$1" -p "$2" -- --auth=trust >/dev/null
  local data="/var/lib/postgresql/15/$1"
  find "$data" -mindepth 1 -delete
  timeout 300 runuser -u postgres -- pg_basebackup -h 127.0.0.1 -p "$3" -U postgres \
    -D "$data" -R -X stream -c fast
  timeout 60 pg_ctlcluster --skip-systemctl-redirect 15 "$1" start
  [ "$(psql -h 127.0.0.1 -p "$2" -U postgres -Atc "SELECT pg_is_in_recovery()")" = t ] || {
    echo "the replica $1 is not in recovery" >&2
    return 1
  }
}

# pg_drop NAME...: stops and removes clusters (missing ones are fine).
pg_drop() {
  for cluster in "$@"; do timeout 60 pg_dropcluster --stop 15 "$cluster" 2>/dev/null || true; done
}
