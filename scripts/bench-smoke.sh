#!/usr/bin/env bash
# CI's check that the benchmarks still build and produce numbers, and that nothing counted has
# regressed (not a timing: the sizes are tiny, and no time is compared with a kept figure).
#
#   1. scripts/bench.sh on 2,000 events: every row of its table holds a number and each target's
#      row a PASS or FAIL (the times mean nothing at this size);
#   2. the package-benchmark suite (Benchmarks/, release build) against the p90 malloc counts kept
#      in Benchmarks/Thresholds/: a regression past the tolerance fails;
#   3. scripts/bench-callgrind.sh --check: instructions per event for import, sync and rebuild
#      against Benchmarks/Callgrind/instructions.json: more than its margin above fails.
#
# Usage: scripts/bench-smoke.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source "$root/scripts/bench/lib.sh"
out="$(mktemp -d "${TMPDIR:-/tmp}/concord-bench-smoke.XXXXXX")"
trap 'rm -rf "$out"' EXIT

log "bench-smoke: scripts/bench.sh at N=2000"
N=2000 ES_EVENTS=500 GENERIC=2000 PG_EVENTS=2000 SINGLE=160 WRITERS=16 CONCURRENT=320 WRITE_DOC=0 scripts/bench.sh >"$out/table.md"
cat "$out/table.md"
# Measurement rows: every table row but the header and its rule.
measured() { grep '^| ' "$out/table.md" | grep -v '^| measure' | grep -v '^|---'; }
rows=$(measured | wc -l)
# The PostgreSQL row may say it was not measured (no server here); every other row must hold a number.
empty=$(measured | awk -F'|' '$3 !~ /[0-9]/ && $3 !~ /not measured/' | wc -l)
verdicts=$(measured | grep -cE '\| (PASS|FAIL) \|$' || true)
[ "$rows" -ge 10 ] || die "bench.sh printed $rows measurement rows, expected at least 10"
[ "$empty" -eq 0 ] || die "bench.sh printed $empty row(s) without a number"
[ "$verdicts" -ge 12 ] || die "bench.sh printed $verdicts PASS/FAIL verdicts, expected one for each of the 12 targets' rows"

log "bench-smoke: the package-benchmark suite, against its kept malloc thresholds"
# Benchmarks/Thresholds/ holds each benchmark's p90 malloc count (scripts/bench-thresholds.sh);
# a count more than its tolerance above fails here.
scripts/bench-thresholds.sh check --format markdown | tee "$out/core.md"
names=$(grep -c 'Benchmark(' Benchmarks/CoreBenchmarks/*.swift | awk -F: '{ n += $2 } END { print n }')
kept=$(ls Benchmarks/Thresholds/*.json | wc -l)
# Some Benchmark(...) lines sit in loops (durability levels, deflate levels): more files than lines.
[ "$kept" -ge "$names" ] || die "Benchmarks/Thresholds/ keeps $kept thresholds for $names benchmarks"

log "bench-smoke: instructions per event (callgrind), against Benchmarks/Callgrind/instructions.json"
BUILD=0 scripts/bench-callgrind.sh --check
log "bench-smoke: OK ($rows table rows, $kept benchmark thresholds held, callgrind counts held)"
