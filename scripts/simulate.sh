#!/usr/bin/env bash
# Runs the deterministic convergence simulation (Tests/ConcordSimulationTests) over many seeds.
#
# Usage: scripts/simulate.sh             500 seeds (seeds 1-500)
#        SEEDS=50 FIRST=1000 scripts/simulate.sh
#        SEED=42 scripts/simulate.sh     replay one seed exactly (its trace is printed on failure)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -n "${SEED:-}" ]; then
    export CONCORD_SIM_SEED="$SEED"
else
    export CONCORD_SIM_SEEDS="${SEEDS:-500}" CONCORD_SIM_FIRST_SEED="${FIRST:-1}"
fi
exec swift test --filter ConvergenceSimulationTests
