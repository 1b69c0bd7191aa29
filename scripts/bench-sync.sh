#!/usr/bin/env bash
# Benchmarks incremental sync between two Concord nodes (not a timed test: it prints figures).
#
# For each size N it builds a hub holding N events and a region that has synced them all, then
# REPEAT times appends DELTA new events to the hub and times `concord sync --direction pull` on the
# region. The goal (sync issue): the incremental sync at the largest size takes at most 1.5x the
# time at the smallest, i.e. its cost grows with the delta, not the log. It also measures the
# bytes of a gzip-compressed pull answer carrying DELTA events against the zlib (level 6) size of
# the same events as plain JSON lines (`concord log --json`); target ratio <= 1.25.
#
# concord is built in release mode into .build-release (never the main .build). Needs the Swift
# toolchain, python3 and curl.
#
# Usage: scripts/bench-sync.sh
#   SIZES="10000 1000000"  log sizes to compare (the first is the reference for the ratio)
#   DELTA=100              new events per incremental sync
#   REPEAT=5               incremental syncs timed per size (the median is reported)
#   STREAMS=5000           events are spread over this many streams
#   STREAM_EVENTS=         if set, STREAMS is N / STREAM_EVENTS for each size N instead (streams of
#                          about that many events, as when a growing log holds ever more cases)
#   WORKLOAD=notes         notes: note.added on notes:region-K streams (no read-model rows);
#                          cases: case.opened per stream, then case.note-added (fills read models)
#   KEEP=0                 1: keep the temporary stores (the path is printed)
#   BUILD=1                0: skip the build and use the existing .build-release binary
#   TMPDIR=/tmp            where the temporary stores go (a 1M-event store is ~1 GB per node)
# e.g. SIZES="10000 100000" REPEAT=3 scripts/bench-sync.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

SIZES="${SIZES:-10000 1000000}"
DELTA="${DELTA:-100}"
REPEAT="${REPEAT:-5}"
STREAMS="${STREAMS:-5000}"
STREAM_EVENTS="${STREAM_EVENTS:-}"
WORKLOAD="${WORKLOAD:-notes}"
KEEP="${KEEP:-0}"
BUILD="${BUILD:-1}"
scratch="$root/.build-release"
durability=(--durability normal)

source "$root/scripts/bench/lib.sh"

for tool in swift python3 curl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not on PATH"
done
case "$WORKLOAD" in notes|cases) ;; *) die "WORKLOAD must be notes or cases" ;; esac

if [ "$BUILD" = 1 ]; then
    log "building concord (release, --scratch-path .build-release)"
    swift build -c release --scratch-path "$scratch" --product concord >&2
fi
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/concord"
[ -x "$bin" ] || die "no concord binary at $bin (run with BUILD=1)"

work="$(mktemp -d "${TMPDIR:-/tmp}/concord-bench-sync.XXXXXX")"
server_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    stop_server
    if [ "$KEEP" = 1 ]; then log "kept the stores in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# gen FILE COUNT FIRST: COUNT events as NDJSON for `concord import --new`, numbered from FIRST.
# Notes are ~100 bytes of words picked by a fixed LCG (compressible like real text, not trivially).
gen() {
    python3 - "$1" "$2" "$3" "$streams" "$WORKLOAD" <<'PY'
import json, sys
path, count, first, streams, workload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
words = ("visit referral premises officer agency partner housing welfare interview evidence statement "
         "safeguarding review address vehicle worker employer payslip passport translator shift wages "
         "council inspection licence landlord contact follow-up outcome risk assessment").split()
x = (first * 2654435761 + 12345) & 0x7FFFFFFF
with open(path, "w") as out:
    for i in range(first, first + count):
        k = i % streams
        if workload == "cases":
            stream = f"case:BM-{k}"
            if i < streams:
                line = {"stream": stream, "type": "case.opened",
                        "data": {"reference": f"BM-{k}", "title": f"Bench case {k}", "region": "Bench"}}
                out.write(json.dumps(line, separators=(",", ":")) + "\n")
                continue
            kind = "case.note-added"
        else:
            stream, kind = f"notes:region-{k}", "note.added"
        note = [f"note {i}:"]
        size = len(note[0])
        while size < 100:
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            word = words[(x >> 16) % len(words)]
            note.append(word)
            size += len(word) + 1
        line = {"stream": stream, "type": kind, "data": {"note": " ".join(note)}}
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
PY
}

# vector STORE: the store's version vector as a JSON object.
vector() {
    "$bin" status --json --store "$1" "${durability[@]}" \
        | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["versionVector"], separators=(",", ":")))'
}

# pull_metrics URL: "SECONDS COUNT" spent by the server answering /v1/pull so far (GET /metrics).
pull_metrics() {
    curl -s "$1/metrics" | awk '
        /^concord_request_duration_sum\{path="\/v1\/pull"\}/ { s = $NF }
        /^concord_request_duration_count\{path="\/v1\/pull"\}/ { c = $NF }
        END { printf "%.3f %d\n", s, c }'
}


# pulled OUTPUT: the count from "pulled N new event(s)".
pulled() { sed -n 's/.*pulled \([0-9]*\) new event.*/\1/p' <<<"$1" | head -1; }

results="$work/results.tsv"
: >"$results"

for n in $SIZES; do
    dir="$work/n$n"
    mkdir -p "$dir"
    hub="$dir/hub.sqlite"
    region="$dir/region.sqlite"
    log "== size $n: init hub and region"
    "$bin" init --node hub --store "$hub" "${durability[@]}" >/dev/null
    "$bin" init --node region --store "$region" "${durability[@]}" >/dev/null

    streams="$STREAMS"
    [ -n "$STREAM_EVENTS" ] && streams=$(( n / STREAM_EVENTS ))
    log "generating $n events ($WORKLOAD, $streams streams)"
    t=$(now); gen "$dir/base.ndjson" "$n" 0; t_gen=$(since "$t")
    log "  generated in ${t_gen}s ($(wc -c <"$dir/base.ndjson") bytes)"

    log "importing $n events into the hub (one commit, then projection catch-up)"
    t=$(now)
    "$bin" import --new "$dir/base.ndjson" --actor bench --store "$hub" "${durability[@]}" >/dev/null
    t_import=$(since "$t")
    log "  imported in ${t_import}s"
    t=$(now); "$bin" projections status --store "$hub" "${durability[@]}" >/dev/null; t_catch=$(since "$t")
    log "  projections status (catch-up left, if any) ${t_catch}s"

    "$bin" serve --store "$hub" "${durability[@]}" --listen 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.err" &
    server_pid=$!
    url=""
    for _ in $(seq 1 300); do
        url="$(sed -n '1s/^listening on //p' "$dir/serve.out")"
        [ -n "$url" ] && break
        kill -0 "$server_pid" 2>/dev/null || die "concord serve exited: $(cat "$dir/serve.err")"
        sleep 0.1
    done
    [ -n "$url" ] || die "concord serve did not print its URL"
    # Given through the environment, as a person should (not on the command line).
    export CONCORD_PEER_TOKEN="$("$bin" token issue region --store "$hub" "${durability[@]}" | tail -1)"
    log "  serving $url"

    log "initial sync of $n events to the region"
    t=$(now)
    out="$("$bin" sync "$url" --store "$region" "${durability[@]}")"
    t_init=$(since "$t")
    [ "$(pulled "$out")" = "$n" ] || die "initial sync pulled $(pulled "$out"), expected $n: $out"
    init_rate=$(awk -v n="$n" -v s="$t_init" 'BEGIN { printf "%.0f", n / s }')
    log "  initial sync ${t_init}s (${init_rate} events/s): $(head -1 <<<"$out")"
    # Server-side time spent answering pulls (Prometheus summary/histogram sums, if exported).
    read -r server_pull pulls_init < <(pull_metrics "$url")
    log "  server time answering /v1/pull during the initial sync: ${server_pull}s over $pulls_init request(s)"

    next=$n
    times=()
    imports=()
    for r in $(seq 1 "$REPEAT"); do
        gen "$dir/delta.ndjson" "$DELTA" "$next"; next=$((next + DELTA))
        t=$(now)
        "$bin" import --new "$dir/delta.ndjson" --actor bench --store "$hub" "${durability[@]}" >/dev/null
        imports+=("$(since "$t")")
        t=$(now)
        out="$("$bin" sync "$url" --store "$region" "${durability[@]}" --direction pull)"
        times+=("$(since "$t")")
        [ "$(pulled "$out")" = "$DELTA" ] || die "incremental sync pulled $(pulled "$out"), expected $DELTA: $out"
        log "  incremental sync $r: ${times[-1]}s (hub import of $DELTA: ${imports[-1]}s)"
    done
    read -r server_after pulls_after < <(pull_metrics "$url")
    server_inc=$(awk -v a="$server_after" -v b="$server_pull" -v n="$REPEAT" 'BEGIN { printf "%.4f", (a - b) / n }')
    log "  server time per incremental sync (mean): ${server_inc}s, $(( (pulls_after - pulls_init) / REPEAT )) pull request(s) each"
    # The fixed cost: a sync with nothing to pull (process start, open, vector, digest).
    noop=()
    for _ in 1 2 3; do
        t=$(now)
        "$bin" sync "$url" --store "$region" "${durability[@]}" --direction pull >/dev/null
        noop+=("$(since "$t")")
    done
    t_noop=$(median "${noop[@]}")
    log "  sync with nothing new (median of 3): ${t_noop}s"
    t_inc=$(median "${times[@]}")
    t_inc_import=$(median "${imports[@]}")

    # Wire size: one more delta, pulled with curl from the region's vector before it syncs.
    gen "$dir/delta.ndjson" "$DELTA" "$next"; next=$((next + DELTA))
    "$bin" import --new "$dir/delta.ndjson" --actor bench --store "$hub" "${durability[@]}" >/dev/null
    have="$(vector "$region")"
    request="{\"have\":$have,\"maxEvents\":5000}"
    curl -sf -H "Authorization: Bearer $token" -H "Accept-Encoding: gzip" -H "Content-Type: application/json" \
        -X POST --data-binary "$request" -D "$dir/pull.headers" -o "$dir/pull.gz" "$url/v1/pull" \
        || die "curl /v1/pull failed"
    grep -qi '^content-encoding: *gzip' "$dir/pull.headers" || die "the pull answer was not gzip-encoded"
    curl -sf -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
        -X POST --data-binary "$request" -o "$dir/pull.ndjson" "$url/v1/pull" || die "curl /v1/pull failed"
    wire=$(wc -c <"$dir/pull.gz")
    plain=$(wc -c <"$dir/pull.ndjson")
    served=$(grep -c '"kind":"event"' "$dir/pull.ndjson" || true)
    [ "$served" = "$DELTA" ] || log "  warning: the pull answer carried $served events, not $DELTA"
    "$bin" log --json --limit "$DELTA" --store "$hub" "${durability[@]}" >"$dir/delta-log.ndjson"
    baseline=$(python3 -c 'import sys, zlib; print(len(zlib.compress(open(sys.argv[1], "rb").read(), 6)))' "$dir/delta-log.ndjson")
    baseline_plain=$(wc -c <"$dir/delta-log.ndjson")
    out="$("$bin" sync "$url" --store "$region" "${durability[@]}" --direction pull)"
    [ "$(pulled "$out")" = "$DELTA" ] || die "wire-check sync pulled $(pulled "$out"), expected $DELTA"
    log "  pull answer: ${plain} B plain, ${wire} B gzip; log --json: ${baseline_plain} B plain, ${baseline} B zlib-6"
    stop_server

    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$n" "$t_gen" "$t_import" "$t_init" "$init_rate" "$server_pull" "$t_inc" "$t_inc_import" \
        "$wire" "$baseline" "$plain" "$baseline_plain" "${times[*]}" "$server_inc" "$t_noop" >>"$results"
done

echo
echo "Concord sync benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m), $(uname -sr)"
if [ -n "$STREAM_EVENTS" ]; then spread="N/$STREAM_EVENTS streams (about $STREAM_EVENTS events each)"; else spread="$STREAMS streams"; fi
echo "workload $WORKLOAD over $spread, DELTA=$DELTA, REPEAT=$REPEAT, --durability normal, release build"
python3 - "$results" "$DELTA" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
delta = int(sys.argv[2])
head = ["events", "import s", "initial sync s", "events/s", "incr. sync s (median)", "vs first",
        "wire B/event", "zlib JSON B/event", "wire/zlib"]
table = []
first = float(rows[0][6])
for r in rows:
    n, gen, imp, init, rate, spull, inc, inc_imp, wire, base, plain, base_plain, samples, sinc, noop = r
    table.append([f"{int(n):,}", imp, init, f"{int(rate):,}", inc, f"{float(inc) / first:.2f}x",
                  f"{int(wire) / delta:.1f}", f"{int(base) / delta:.1f}", f"{int(wire) / int(base):.2f}"])
widths = [max(len(str(c)) for c in col) for col in zip(head, *table)]
fmt = lambda cells: "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths)) + " |"
print(fmt(head))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for row in table:
    print(fmt(row))
print()
for r in rows:
    print(f"{int(r[0]):,}: incremental samples {r[12]} s (server part {r[13]} s, a sync with nothing new {r[14]} s); "
          f"hub import of the delta {r[7]} s; server time in /v1/pull during the initial sync {r[5]} s; "
          f"plain bytes/event: pull answer {int(r[10]) / delta:.1f}, log --json {int(r[11]) / delta:.1f}")
last = rows[-1]
ratio = float(last[6]) / first
wire = int(last[8]) / int(last[9])
print()
print(f"incremental sync {int(last[0]):,} vs {int(rows[0][0]):,}: {ratio:.2f}x (target <= 1.5): {'PASS' if ratio <= 1.5 else 'FAIL'}")
print(f"wire/zlib bytes per event at {int(last[0]):,}: {wire:.2f} (target <= 1.25): {'PASS' if wire <= 1.25 else 'FAIL'}")
PY
