#!/usr/bin/env bash
# Many peers syncing with one hub at once for a bounded time: errors, lost events, p50/p99 latency
# (docs/reliability.md).
#
# Usage: scripts/load-test.sh            50 peers for 60 seconds
#        PEERS=20 SECONDS_=30 scripts/load-test.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CONCORD_LOAD_PEERS="${PEERS:-50}" CONCORD_LOAD_SECONDS="${SECONDS_:-60}"
exec swift test --filter LoadTests
