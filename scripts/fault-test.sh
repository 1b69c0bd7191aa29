#!/usr/bin/env bash
# Syncs through a seeded faulty proxy (cut, stalled, slowed connections), then checks convergence
# with nothing lost or duplicated (docs/reliability.md).
#
# Usage: scripts/fault-test.sh           100 syncs
#        RUNS=30 SEED=5 scripts/fault-test.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CONCORD_FAULTY_SYNCS="${RUNS:-100}" CONCORD_FAULT_SEED="${SEED:-11}"
exec swift test --filter FaultyNetworkTests
