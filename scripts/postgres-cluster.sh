#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for Concord's tests, on a loopback port of its own.
#
#   eval "$(scripts/postgres-cluster.sh start)"   # prints export CONCORD_TEST_POSTGRES_URL=...
#   swift test                                      # the PostgreSQL tests use that URL
#   scripts/postgres-cluster.sh stop
#
# Uses the distribution's server (Debian: apt-get install postgresql). The cluster lives in
# $CONCORD_PG_DIR (default /tmp/concord-pg), is owned by an unprivileged user (the `postgres`
# user the package creates, when run as root), trusts only local connections and listens on
# 127.0.0.1:$CONCORD_PG_PORT (default 55432) and a socket in its own directory. Tests run it
# without fsync (nothing there must survive a power cut); CONCORD_PG_DURABLE=1 keeps fsync on and
# commits like SQLite's `normal` (synchronous_commit=off: a killed server loses nothing, a power
# cut the last moments), for measurements against a SQLite hub at --durability normal.
set -euo pipefail

dir="${CONCORD_PG_DIR:-/tmp/concord-pg}"
port="${CONCORD_PG_PORT:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
[ -n "$bin" ] || bin="$(dirname "$(command -v pg_ctl || echo /usr/bin/pg_ctl)")"
[ -x "$bin/pg_ctl" ] || { echo "postgres-cluster: no PostgreSQL server found; install it (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        rm -rf "$dir"
        mkdir -p "$dir/data" "$dir/socket"
        [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
        as_owner "$bin/initdb" -D "$dir/data" -U concord --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    fi
    settings="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${CONCORD_PG_DURABLE:-0}" = 1 ] && settings="-c synchronous_commit=off"
    # More server settings, for profiling: CONCORD_PG_SETTINGS="-c shared_preload_libraries=pg_stat_statements"
    settings="$settings ${CONCORD_PG_SETTINGS:-}"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/socket -c max_connections=200 $settings" \
        start >&2
    echo "export CONCORD_TEST_POSTGRES_URL=postgres://concord@127.0.0.1:$port/postgres"
    ;;
stop)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    ;;
*)
    echo "usage: scripts/postgres-cluster.sh start|stop" >&2
    exit 2
    ;;
esac
