#!/usr/bin/env bash
# CI's check that the benchmarks still build and produce numbers (not a measurement: the sizes
# are tiny and nothing is compared or written to docs/performance.md).
#
#   1. scripts/bench.sh on 2,000 events: every row of its table must hold a number;
#   2. the package-benchmark suite (Benchmarks/, release build): every benchmark must report a
#      throughput.
#
# Usage: scripts/bench-smoke.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source "$root/scripts/bench/lib.sh"
out="$(mktemp -d "${TMPDIR:-/tmp}/concord-bench-smoke.XXXXXX")"
trap 'rm -rf "$out"' EXIT

log "bench-smoke: scripts/bench.sh at N=2000"
N=2000 ES_EVENTS=500 SINGLE=160 WRITERS=16 CONCURRENT=320 WRITE_DOC=0 scripts/bench.sh >"$out/table.md"
cat "$out/table.md"
# Measurement rows: every table row but the header and its rule.
measured() { grep '^| ' "$out/table.md" | grep -v '^| measure' | grep -v '^|---'; }
rows=$(measured | wc -l)
empty=$(measured | awk -F'|' '$3 !~ /[0-9]/' | wc -l)
[ "$rows" -ge 10 ] || die "bench.sh printed $rows measurement rows, expected at least 10"
[ "$empty" -eq 0 ] || die "bench.sh printed $empty row(s) without a number"

log "bench-smoke: the package-benchmark suite"
swift package --package-path Benchmarks --disable-sandbox benchmark --no-progress --format markdown >"$out/core.md"
cat "$out/core.md"
names=$(grep -c 'Benchmark(' Benchmarks/CoreBenchmarks/*.swift | awk -F: '{ n += $2 } END { print n }')
reported=$(grep -c 'Throughput' "$out/core.md" || true)
# Two of the Benchmark(...) lines sit in a loop over two durability levels.
[ "$reported" -ge "$names" ] || die "the benchmark suite reported $reported throughputs for $names benchmarks"
log "bench-smoke: OK ($rows table rows, $reported benchmark results)"
