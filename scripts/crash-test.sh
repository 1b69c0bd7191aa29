#!/usr/bin/env bash
# The crash harness: real concord processes (append, import, sync, projection rebuild) killed with
# SIGKILL at seeded random moments, with every check after each kill (docs/reliability.md).
#
# Usage: scripts/crash-test.sh            200 kills
#        KILLS=40 SEED=3 scripts/crash-test.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CONCORD_CRASH_KILLS="${KILLS:-200}" CONCORD_CRASH_SEED="${SEED:-7}"
exec swift test --filter CrashHarnessTests
