#!/usr/bin/env bash
# Instructions per event for import, sync ingest and rebuild, counted by valgrind's callgrind:
# a figure that does not move with the machine's load (docs/performance.md), where wall-clock
# times on two shared cores do.
#
# Each operation runs twice, as whole release `concord` processes under callgrind, on the first
# SMALL and on all LARGE events of the standard workload (scripts/bench/workload.py); the
# difference of the two totals over the difference in events is the cost of one more event, with
# process start, opening the store and the checkpoint at the end taken out.
#
#   import:  `concord import --new` into a new store (hash, chain, seal, insert, fold)
#   sync:    `concord sync --direction pull` from a native `concord serve` holding the events,
#            the pulling process only (decode, verify, store, fold, checkpoint exchange)
#   rebuild: `concord projections rebuild` of the imported store
#
# The counts are kept in Benchmarks/Callgrind/instructions.json. --check fails (exit 2) when an
# operation takes more than the file's margin above its kept count; --update writes the
# counts measured now. Counts depend on the binary: the toolchain, the build and the CPU
# features valgrind reports (BoringSSL picks its SHA-256 code by them), so update the file
# when one of those changes, and say why in the commit.
#
# Needs valgrind, strip (binutils), python3, curl, and a release build in .build-release (built unless BUILD=0).
#
# Usage: scripts/bench-callgrind.sh [--check | --update]
#   SMALL=1000 LARGE=3000   the two sizes
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source "$root/scripts/bench/lib.sh"
MODE="${1:-}"
case "$MODE" in ""|--check|--update) ;; *) die "usage: scripts/bench-callgrind.sh [--check | --update]" ;; esac
SMALL="${SMALL:-1000}"
LARGE="${LARGE:-3000}"
BUILD="${BUILD:-1}"
kept="$root/Benchmarks/Callgrind/instructions.json"
command -v valgrind >/dev/null || die "valgrind is missing: apt-get install valgrind"
bin="$(release_concord "$root" "$BUILD")"

work="$(mktemp -d "${TMPDIR:-/tmp}/concord-callgrind.XXXXXX")"
# valgrind 3.19 gives up on the Swift toolchain's DWARF ("possibly corrupted debuginfo"): count a
# copy without debug sections (the same code; only callgrind's function names are lost).
strip --strip-debug -o "$work/concord" "$bin" || die "cannot strip a copy of $bin (binutils)"
bin="$work/concord"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
store() { echo "--store $work/$1.sqlite --durability normal"; }

# instructions CMD...: CMD's instructions (callgrind's Ir total, every thread), CMD's output dropped.
# Swift seeds its hashing per process by default, which moves a count by a few percent from run
# to run (collisions in every Dictionary and Set differ): the counted process hashes with a
# fixed seed.
instructions() {
    local out="$work/callgrind.out"
    rm -f "$out"
    SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>"$work/valgrind.err" \
        || die "under valgrind, $* failed: $(tail -5 "$work/valgrind.err")"
    awk '/^summary:/ { print $2 }' "$out"
}

python3 scripts/bench/workload.py "$LARGE" "$work/large.ndjson"
head -n "$SMALL" "$work/large.ndjson" >"$work/small.ndjson"

declare -A ir
for size in small large; do
    log "callgrind: import --new of the $size workload"
    "$bin" init --node "hub-$size" $(store "hub-$size") >/dev/null
    ir[import-$size]=$(instructions "$bin" import --new "$work/$size.ndjson" --actor bench $(store "hub-$size"))
    log "callgrind: projections rebuild of the $size store"
    ir[rebuild-$size]=$(instructions "$bin" projections rebuild $(store "hub-$size"))

    log "callgrind: sync --direction pull of the $size store (the pulling process)"
    "$bin" serve $(store "hub-$size") --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
    server_pid=$!
    url=""
    for _ in $(seq 1 300); do url="$(sed -n '1s/^listening on //p' "$work/serve.out")"; [ -n "$url" ] && break; sleep 0.1; done
    [ -n "$url" ] || die "concord serve did not start: $(cat "$work/serve.err")"
    export CONCORD_PEER_TOKEN="$("$bin" token issue "region-$size" $(store "hub-$size") | tail -1)"
    "$bin" init --node "region-$size" $(store "region-$size") >/dev/null
    ir[sync-$size]=$(instructions "$bin" sync "$url" --direction pull $(store "region-$size"))
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
done

python3 - "$kept" "$MODE" "$SMALL" "$LARGE" \
    "${ir[import-small]}" "${ir[import-large]}" "${ir[sync-small]}" "${ir[sync-large]}" \
    "${ir[rebuild-small]}" "${ir[rebuild-large]}" "$(uname -m)" "$(swift --version 2>/dev/null | head -1)" <<'PY'
import datetime, json, os, sys
kept_path, mode, small, large = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
counts = list(map(int, sys.argv[5:11]))
machine, toolchain = sys.argv[11], sys.argv[12]
names = ["import", "sync", "rebuild"]
measured = {name: round((counts[2 * i + 1] - counts[2 * i]) / (large - small)) for i, name in enumerate(names)}
kept = json.load(open(kept_path)) if os.path.exists(kept_path) else None
margin = kept["margin"] if kept else 0.05
print(f"Instructions per event (callgrind, release, {machine}; events {small:,} and {large:,} of the standard workload)")
print()
print("| operation | instructions per event | kept | change | verdict |")
print("|---|---|---|---|---|")
failed = []
for name in names:
    ours = measured[name]
    base = kept["instructionsPerEvent"].get(name) if kept else None
    if base is None:
        print(f"| {name} | {ours:,} | - | - | - |")
        continue
    change = ours / base - 1
    verdict = "FAIL" if change > margin else ("better: update the kept count" if change < -margin else "PASS")
    if verdict == "FAIL": failed.append(name)
    print(f"| {name} | {ours:,} | {base:,} | {change:+.1%} | {verdict} |")
print()
print(f"margin: {margin:.0%} above the kept count fails --check")
if mode == "--update":
    json.dump({
        "about": "Instructions per event counted by scripts/bench-callgrind.sh; --check fails above (1 + margin) times these.",
        "measured": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "toolchain": toolchain, "machine": machine, "sizes": [small, large], "margin": margin,
        "instructionsPerEvent": measured,
    }, open(kept_path, "w"), indent=2)
    open(kept_path, "a").write("\n")
    print(f"wrote {kept_path}")
elif mode == "--check":
    if kept is None:
        print(f"no kept counts in {kept_path}: run with --update first", file=sys.stderr); sys.exit(2)
    if failed:
        print(f"regression: {', '.join(failed)} took more than {margin:.0%} above the kept count", file=sys.stderr); sys.exit(2)
PY
