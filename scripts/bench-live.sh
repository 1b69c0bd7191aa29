#!/usr/bin/env bash
# Live sync latency, region to hub to region (not a timed test: it prints figures).
#
# A hub serves; two regions run `concord sync hub --follow`. Each trial records a case on the
# first region (`concord case open`, its own process) and times until the second region's
# follower reports it pulled. Target (issue 11): median under 1 s on loopback.
#
# concord is built in release mode into .build-release (never the main .build).
#
# Usage: scripts/bench-live.sh
#   TRIALS=20   cases recorded and timed
#   BUILD=1     0: skip the build and use the existing .build-release binary
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/bench/lib.sh

TRIALS="${TRIALS:-20}"
BUILD="${BUILD:-1}"
scratch="$root/.build-release"
if [ "$BUILD" = 1 ]; then
    log "building concord (release) into $scratch"
    swift build -c release --product concord --scratch-path "$scratch" >&2
fi
binary="$scratch/release/concord"
[ -x "$binary" ] || die "no release binary at $binary (run with BUILD=1)"
work="$(mktemp -d "${TMPDIR:-/tmp}/concord-live.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "hub and two following regions in $work; $TRIALS trials"
python3 scripts/bench/live_latency.py "$binary" "$work" "$TRIALS"
