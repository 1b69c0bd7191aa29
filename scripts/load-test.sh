#!/usr/bin/env bash
# Many peers syncing with one hub at once for a bounded time: errors, lost events, p50/p99 latency
# and throughput (docs/reliability.md, docs/performance.md). The hub is a SQLite file, then a
# PostgreSQL database, with the same workload, in one run; the hub is a release build of concord,
# and the 50 peers run in a release build of the test process.
#
# Usage: scripts/load-test.sh            50 peers for 60 seconds against each hub; PostgreSQL in a
#                                         throwaway cluster it starts (fsync on, commits like
#                                         SQLite's normal), when the server is installed
#        PEERS=20 SECONDS_=30 scripts/load-test.sh
#        CONCORD_TEST_POSTGRES_URL=postgres://… scripts/load-test.sh   an existing server instead
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CONCORD_LOAD_PEERS="${PEERS:-50}" CONCORD_LOAD_SECONDS="${SECONDS_:-60}"
swift build -c release --scratch-path .build-release --product concord
export CONCORD_BIN="$PWD/.build-release/release/concord"
if [ -z "${CONCORD_TEST_POSTGRES_URL:-}" ] && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    export CONCORD_PG_DIR="$(mktemp -d /tmp/concord-load-pg.XXXXXX)" CONCORD_PG_PORT="${CONCORD_PG_PORT:-55433}" CONCORD_PG_DURABLE=1
    trap 'scripts/postgres-cluster.sh stop' EXIT
    cluster="$(scripts/postgres-cluster.sh start)"
    eval "$cluster"
fi
# The peers run in the test process: built for release too, or they, not the hub, set the pace
# (debug peers took 140% of the 2 cores and left the hub 30%).
swift test -c release --scratch-path .build-reltest --filter LoadTests
