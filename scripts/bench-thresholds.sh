#!/usr/bin/env bash
# The package-benchmark suite's kept malloc counts (Benchmarks/Thresholds/, one file a
# benchmark): `check` runs the suite and fails (exit 2) when a benchmark's p90 malloc count is
# more than its tolerance above the kept one (CoreBenchmarks.swift: 5%, or 20, whichever comes first);
# `update` runs it and keeps the counts measured now.
#
# Only mallocs are kept: they are counted, so they hold on a loaded machine, where times on two
# shared cores do not (those are read as ratios, docs/performance.md). The tool writes every
# metric; `update` keeps `mallocCountTotal` alone, so that `check` compares nothing else.
#
# Usage: scripts/bench-thresholds.sh check|update [benchmark options...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kept="Benchmarks/Thresholds"
mode="${1:-}"
shift || true
case "$mode" in
check)
    output="$(mktemp)"
    trap 'rm -f "$output"' EXIT
    set +e
    swift package --package-path Benchmarks --disable-sandbox benchmark thresholds check --path "$root/$kept" --no-progress "$@" 2>&1 | tee "$output"
    status=${PIPESTATUS[0]}
    set -e
    # benchmark 1.38.1 exits 1 both when a count regressed and when counts only improved; its
    # error names which (benchmarkThresholdRegression, benchmarkThresholdImprovement).
    if [ "$status" != 0 ]; then
        if grep -q "benchmarkThresholdImprovement" "$output" && ! grep -q "benchmarkThresholdRegression\|WORSE" "$output"; then
            echo "bench-thresholds: mallocs fell below the kept counts: keep the new ones with scripts/bench-thresholds.sh update" >&2
        else
            echo "bench-thresholds: the malloc counts regressed past their thresholds, or the check failed (exit $status)" >&2
            exit 2
        fi
    fi
    ;;
update)
    rm -rf "$root/$kept"
    mkdir -p "$root/$kept"
    swift package --package-path Benchmarks --disable-sandbox --allow-writing-to-directory "$root/$kept" \
        benchmark thresholds update --path "$root/$kept" --no-progress "$@"
    python3 - "$root/$kept" <<'PY'
import glob, json, os, sys
for path in glob.glob(f"{sys.argv[1]}/*.json"):
    kept = {"mallocCountTotal": json.load(open(path))["mallocCountTotal"]}
    # benchmark 1.38.1 writes a name's spaces as underscores but reads the name as it is:
    # the file is renamed to what `check` opens (no benchmark name here holds an underscore).
    directory, name = os.path.split(path)
    os.remove(path)
    with open(os.path.join(directory, name.replace("_", " ")), "w") as out:
        json.dump(kept, out, indent=2, sort_keys=True)
        out.write("\n")
PY
    echo "bench-thresholds: kept $(ls "$root/$kept" | wc -l) benchmarks' malloc counts in $kept" >&2
    ;;
*)
    echo "usage: scripts/bench-thresholds.sh check|update [benchmark options...]" >&2
    exit 2
    ;;
esac
