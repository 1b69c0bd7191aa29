#!/usr/bin/env bash
# Concord side by side with what a user would pick instead, in one run on one machine, as ratios
# (docs/performance.md). Not a test: it prints a table and writes it into docs/performance.md.
#
# Measures, on the standard workload (scripts/bench/workload.py: cases, meetings, decisions and
# actions across 8 regions, seeded):
#   - raw SQLite (scripts/bench/raw_sqlite.c): plain inserts of the same rows, the physical limit;
#   - Python's eventsourcing 9.5.6 with SQLite persistence (in a virtual environment this makes),
#     saving 1,000 events a call, and reading and decoding them all;
#   - Concord: bulk import, single appends (normal and full), concurrent writers in one process
#     (group commit), projection rebuild, initial sync over loopback, incremental sync of 100
#     events at 10k and at N events, `concord log --limit 10` on the N-event store, peak RSS;
#   - the cost of need-to-know's payload commitments (format 2): import, rebuild and initial
#     sync of the same events recorded in format 1 (`import --new --event-format 1`, hidden,
#     for benchmarks only), side by side.
#
# Builds concord in release mode into .build-release. Needs swift, gcc, libsqlite3-dev, python3
# (with venv and pip, or an existing eventsourcing) and GNU time (/usr/bin/time).
#
# Usage: scripts/bench.sh
#   N=1000000        events in the big workload
#   ES_EVENTS=200000 events given to eventsourcing (it is slow; rates are per event)
#   SINGLE=5000      single appends timed (full: SINGLE/5)
#   WRITERS=64       concurrent writers, tasks in one process (group commit)
#   CONCURRENT=20000 appends made by the concurrent writers in all
#   WRITE_DOC=1      0: print only, do not update docs/performance.md
#   BUILD=1          0: use the existing .build-release binary
#   KEEP=0           1: keep the temporary stores
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
N="${N:-1000000}"
ES_EVENTS="${ES_EVENTS:-200000}"
SINGLE="${SINGLE:-5000}"
WRITERS="${WRITERS:-64}"
CONCURRENT="${CONCURRENT:-20000}"
WRITE_DOC="${WRITE_DOC:-1}"
BUILD="${BUILD:-1}"
KEEP="${KEEP:-0}"
SMALL=10000
DELTA=100

source "$root/scripts/bench/lib.sh"
for tool in swift gcc python3; do command -v "$tool" >/dev/null || die "$tool is not on PATH"; done
[ -x /usr/bin/time ] || die "GNU time is missing: apt-get install time"
[ -e /usr/include/sqlite3.h ] || die "the SQLite headers are missing: apt-get install libsqlite3-dev"

scratch="$root/.build-release"
if [ "$BUILD" = 1 ]; then
    log "building concord (release, .build-release)"
    swift build -c release --scratch-path "$scratch" --product concord >&2
fi
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/concord"
[ -x "$bin" ] || die "no concord binary at $bin"
mkdir -p "$scratch/bench"
gcc -O2 -o "$scratch/bench/raw_sqlite" scripts/bench/raw_sqlite.c -lsqlite3 || die "cannot build raw_sqlite.c"
raw="$scratch/bench/raw_sqlite"
venv="$scratch/bench/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import eventsourcing' 2>/dev/null; then
    log "making a virtual environment with eventsourcing 9.5.6"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q eventsourcing==9.5.6 >&2 || die "cannot install eventsourcing"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/concord-bench.XXXXXX")"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    if [ "$KEEP" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# timed OUT CMD...: runs CMD, writes "seconds peak_rss_kb" to OUT.
timed() { local out="$1"; shift; /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null; }
secs() { cut -d' ' -f1 "$1"; }
rss_mb() { awk '{ printf "%.0f", $2 / 1024 }' "$1"; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
store() { echo "--store $work/$1.sqlite --durability ${2:-normal}"; }
# settle: writes the page cache's dirty pages to disk first, so that the gigabytes a bulk step
# leaves behind are not flushed in the middle of the next, latency-bound measurement.
settle() { sync; }

log "workload: $N events (and the first $SMALL for the small stores)"
python3 scripts/bench/workload.py "$N" "$work/big.ndjson"
head -n "$SMALL" "$work/big.ndjson" >"$work/small.ndjson"
head -n "$ES_EVENTS" "$work/big.ndjson" >"$work/es.ndjson"
es_n=$(wc -l <"$work/es.ndjson")

log "raw SQLite: bulk insert of $N rows, single-row commits"
read -r raw_rows raw_bulk_s < <("$raw" "$work/raw-bulk.db" "$work/big.ndjson" bulk normal)
settle
read -r _ raw_single_normal_s < <("$raw" "$work/raw-normal.db" "$work/big.ndjson" single normal "$SINGLE")
read -r _ raw_single_full_s < <("$raw" "$work/raw-full.db" "$work/big.ndjson" single full "$((SINGLE / 5))")

log "eventsourcing: save $es_n events 1,000 a call, then read and decode them"
read -r es_events es_save_s es_read_s < <("$venv/bin/python" scripts/bench/eventsourcing_bench.py "$work/es.ndjson" "$work/es.db")

log "concord: bulk import of $N events (hashing, chaining, sealing, read models)"
"$bin" init --node hub $(store hub) >/dev/null
timed "$work/import.t" "$bin" import --new "$work/big.ndjson" --actor bench $(store hub)
log "concord: the same events into a store without read models to fold (generic stream names)"
sed 's/"stream":"\([a-z]*\):/"stream":"bench-\1:/' "$work/big.ndjson" >"$work/big-generic.ndjson"
"$bin" init --node plain $(store plain) >/dev/null
timed "$work/import-plain.t" "$bin" import --new "$work/big-generic.ndjson" --actor bench $(store plain)

log "concord: the same, in format 1 (no payload commitments), with and without read models"
"$bin" init --node plainv1 $(store plainv1) >/dev/null
timed "$work/import-plain-v1.t" "$bin" import --new "$work/big-generic.ndjson" --event-format 1 --actor bench $(store plainv1)
"$bin" init --node hubv1 $(store hubv1) >/dev/null
timed "$work/import-v1.t" "$bin" import --new "$work/big.ndjson" --event-format 1 --actor bench $(store hubv1)

log "concord: $SINGLE single appends (normal), $((SINGLE / 5)) (full)"
settle
"$bin" init --node single $(store single normal) >/dev/null
timed "$work/single-normal.t" "$bin" debug append-loop --count "$SINGLE" $(store single normal)
"$bin" init --node singlefull $(store singlefull full) >/dev/null
timed "$work/single-full.t" "$bin" debug append-loop --count "$((SINGLE / 5))" $(store singlefull full)
# Group commit works within one process (a server, or an application embedding the store):
# WRITERS tasks append one event a call each; their commits are grouped. Separate processes
# cannot share a commit and would serialise on SQLite's write lock.
per_writer=$((CONCURRENT / WRITERS))
for level in normal full; do
    log "concord: $WRITERS concurrent writers in one process, $per_writer appends each ($level)"
    settle
    "$bin" init --node "concurrent$level" $(store "concurrent$level" "$level") >/dev/null
    timed "$work/concurrent-$level.t" "$bin" debug append-loop --count "$per_writer" --writers "$WRITERS" --stream test:writer $(store "concurrent$level" "$level")
done

log "concord: projection rebuild of $N events"
settle
timed "$work/rebuild.t" "$bin" projections rebuild $(store hub)
settle
timed "$work/rebuild-v1.t" "$bin" projections rebuild $(store hubv1)

log "concord: log --limit 10 on the $N-event store (median of 15)"
samples=()
for _ in $(seq 1 15); do t=$(now); "$bin" log --limit 10 $(store hub) >/dev/null; samples+=("$(since "$t")"); done
log_s=$(median "${samples[@]}")

# sync_pair NAME EVENTS_FILE [HUB]: a hub NAME-hub with those events (or the store HUB, holding
# them already), a region pulling all of them, then 5 incremental syncs of $DELTA new events.
# Writes NAME.initial.t and NAME.incremental (median s).
sync_pair() {
    local name="$1" file="$2" hubname="$1-hub" hub_store="$work/$1-hub.sqlite"
    if [ -n "${3:-}" ]; then hubname="$3"; hub_store="$work/$3.sqlite"; else
        "$bin" init --node "$hubname" $(store "$hubname") >/dev/null
        "$bin" import --new "$file" --actor bench $(store "$hubname") >/dev/null
    fi
    settle
    "$bin" serve --store "$hub_store" --durability normal --listen 127.0.0.1:0 >"$work/$name.serve" 2>"$work/$name.serve.err" &
    server_pid=$!
    local url="" token
    for _ in $(seq 1 300); do url="$(sed -n '1s/^listening on //p' "$work/$name.serve")"; [ -n "$url" ] && break; sleep 0.1; done
    [ -n "$url" ] || die "concord serve did not start: $(cat "$work/$name.serve.err")"
    # Given through the environment, as a person should (not on the command line).
    export CONCORD_PEER_TOKEN="$("$bin" token issue "$name-region" $(store "$hubname") | tail -1)"
    "$bin" init --node "$name-region" $(store "$name-region") >/dev/null
    timed "$work/$name.initial.t" "$bin" sync "$url" --direction pull $(store "$name-region")
    local samples=() next=0
    for r in 1 2 3 4 5; do
        python3 scripts/bench/workload.py "$DELTA" "$work/delta.ndjson" "$((9000 + r))"
        # Fresh ids for the delta's new records, notes on existing ones stay where they are.
        sed -i "s/-2016-/-D$r-/g; s/-M0/-DM$r-/g; s/-A0/-DA$r-/g" "$work/delta.ndjson"
        "$bin" import --new "$work/delta.ndjson" --actor bench $(store "$hubname") >/dev/null
        t=$(now)
        "$bin" sync "$url" --direction pull $(store "$name-region") >/dev/null
        samples+=("$(since "$t")")
    done
    median "${samples[@]}" >"$work/$name.incremental"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}
log "concord: sync of $SMALL events, then 5 x $DELTA"
sync_pair small "$work/small.ndjson"
log "concord: initial sync of $N events over loopback, then 5 x $DELTA"
sync_pair big "$work/big.ndjson" hub
log "concord: initial sync of the same $N events in format 1"
sync_pair bigv1 "$work/big.ndjson" hubv1

python3 - "$work" <<PY >"$work/table.md"
import sys
w = sys.argv[1]
def t(name):
    s, k = open(f"{w}/{name}").read().split()
    return float(s), int(k) / 1024
N, SINGLE, es_n = $N, $SINGLE, $es_events
raw_bulk = $raw_rows / $raw_bulk_s
raw_normal = $SINGLE / $raw_single_normal_s
raw_full = ($SINGLE // 5) / $raw_single_full_s
es_save = es_n / $es_save_s
es_read = es_n / $es_read_s
imp, imp_rss = t("import.t"); plain, plain_rss = t("import-plain.t")
sn, _ = t("single-normal.t"); sf, _ = t("single-full.t")
reb, reb_rss = t("rebuild.t")
init, init_rss = t("big.initial.t")
inc_small = float(open(f"{w}/small.incremental").read()); inc_big = float(open(f"{w}/big.incremental").read())
single_normal = SINGLE / sn; single_full = (SINGLE // 5) / sf
WRITERS = $WRITERS
concurrent_total = WRITERS * ($CONCURRENT // WRITERS)
cn, _ = t("concurrent-normal.t"); cf, _ = t("concurrent-full.t")
plain1, _ = t("import-plain-v1.t"); imp1, _ = t("import-v1.t"); reb1, _ = t("rebuild-v1.t"); init1, _ = t("bigv1.initial.t")
rows = [
    ("bulk import, no read models (events/s)", N / plain, raw_bulk, "raw SQLite bulk insert", 0.5, plain_rss),
    ("bulk import, no read models (events/s)", N / plain, es_save, "eventsourcing, 1,000 a save", 25, None),
    ("bulk import with read models (events/s)", N / imp, raw_bulk, "raw SQLite bulk insert", None, imp_rss),
    ("single appends, normal (commits/s)", single_normal, raw_normal, "raw SQLite, 1 insert a commit", 0.9, None),
    ("single appends, full (commits/s)", single_full, raw_full, "raw SQLite, 1 insert a commit", 0.9, None),
    (f"{WRITERS} concurrent writers, normal (appends/s)", concurrent_total / cn, single_normal, "1 Concord writer, normal", 10, None),
    (f"{WRITERS} concurrent writers, full (appends/s)", concurrent_total / cf, single_full, "1 Concord writer, full", 10, None),
    ("projection rebuild (events/s)", N / reb, es_read, "eventsourcing read + decode", 5, reb_rss),
    ("initial sync over loopback (events/s)", N / init, 150000, "target", 1, init_rss),
    ("incremental sync of 100 (s, lower is better)", inc_big, inc_small, f"the same at {10000:,} events", 1 / 1.5, None),
    ("format 2: bulk import, no read models (events/s)", N / plain, N / plain1, "the same in format 1", None, None),
    ("format 2: bulk import with read models (events/s)", N / imp, N / imp1, "the same in format 1", None, None),
    ("format 2: projection rebuild (events/s)", N / reb, N / reb1, "the same in format 1", None, None),
    ("format 2: initial sync over loopback (events/s)", N / init, N / init1, "the same in format 1", None, None),
]
print(f"| measure (N = {N:,}) | Concord | baseline | baseline is | ratio | target | peak RSS |")
print("|---|---|---|---|---|---|---|")
for name, ours, base, what, target, rss in rows:
    lower_better = "lower is better" in name
    ratio = (base / ours) if lower_better else (ours / base)
    shown = (f"{ours:.3f}" if lower_better else f"{ours:,.0f}")
    shownb = (f"{base:.3f}" if lower_better else f"{base:,.0f}")
    goal = "-" if target is None else (f"<= {1/target:.2f}x" if lower_better else f">= {target:g}x")
    verdict = "" if target is None else (" PASS" if ratio >= target else " FAIL")
    ratio_text = f"{(ours / base):.2f}x" if lower_better else f"{ratio:.2f}x"
    print(f"| {name} | {shown} | {shownb} | {what} | {ratio_text}{verdict} | {goal} | {'' if rss is None else f'{rss:.0f} MB'} |")
print(f"| \`log --limit 10\` on the {N:,}-event store (s) | {float('$log_s'):.4f} | | | | | |")
print()
print(f"eventsourcing ran on the first {es_n:,} events (rates are per event). Peak RSS target: <= 150 MB for import, rebuild and sync.")
PY
{
    echo "Concord benchmark (scripts/bench.sh): $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m), $(uname -sr), release build, --durability normal unless stated"
    echo
    cat "$work/table.md"
} | tee "$work/report.md"

if [ "$WRITE_DOC" = 1 ]; then
    python3 - "$work/report.md" docs/performance.md <<'PY'
import sys
report, doc = open(sys.argv[1]).read().strip(), sys.argv[2]
text = open(doc).read()
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
block = f"{begin}\n{report}\n{end}"
if begin in text:
    text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip() + "\n\n## Side by side (scripts/bench.sh)\n\n" + block + "\n"
open(doc, "w").write(text)
PY
    log "wrote the table into docs/performance.md"
fi
