#!/usr/bin/env bash
# Starts a throwaway PostgreSQL (Debian's package) on a loopback port with a temp data dir, for the store tests:
#   eval "$(bash .ci/postgres.sh start)"   -> exports TEST_POSTGRES_URL and TEST_POSTGRES_DIR
#   bash .ci/postgres.sh stop "$TEST_POSTGRES_DIR"
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

case "${1:-}" in
  start)
    if [ -z "$(find_bin)" ]; then
      (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) >&2
    fi
    bin=$(find_bin)
    dir=$(mktemp -d /tmp/callpilot-pg.XXXXXX)
    chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # PostgreSQL refuses to run as root: the package's postgres user runs it.
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U callpilot --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >&2
    echo "export TEST_POSTGRES_URL=postgres://callpilot@127.0.0.1:$port/postgres"
    echo "export TEST_POSTGRES_DIR=$dir"
    ;;
  stop)
    dir="${2:?data dir}"
    runuser -u postgres -- "$(find_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
