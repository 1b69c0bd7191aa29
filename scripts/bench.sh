#!/usr/bin/env bash
# Concord side by side with its baselines, in one run on one machine, as ratios with a PASS/FAIL
# column against the targets of docs/performance.md. Not a test: it prints a table and writes it
# into docs/performance.md.
#
# Measures, on the standard workload (scripts/bench/workload.py: cases, meetings, decisions and
# actions across 8 regions, seeded) unless said:
#   - raw SQLite (scripts/bench/raw_sqlite.c): plain inserts of the same rows and indexes, in
#     bulk and one a commit, the physical limit;
#   - Python's eventsourcing 9.5.6 with SQLite persistence (in a virtual environment this makes),
#     saving 1,000 events a call, and reading and decoding them all;
#   - Concord: bulk import with and without read models, single appends (normal and full),
#     64 concurrent writers in one process (group commit; `full` three times), projection rebuild,
#     initial sync over loopback against the receiving node's own `import --new` of the same
#     events, the bytes the server sent against zlib-6 of the bare NDJSON lines of tiny generic
#     events (scripts/bench/notes.py) and of the standard workload's events as `log --json`
#     prints them, incremental sync of 100 events touching long cases (200 events each;
#     scripts/bench/long_cases.py) at N and at 10,000 events, `log --limit 10`, peak RSS.
#   - FORMAT1=1 adds the cost of payload commitments: import, rebuild and initial sync of the same
#     events recorded in format 1 (`import --new --event-format 1`, hidden, for benchmarks only).
#
#   - a PostgreSQL hub's bulk ingest by COPY against multi-row INSERT (`concord copy` into a
#     throwaway cluster, scripts/postgres-cluster.sh), when a PostgreSQL server is installed.
#
# Builds concord in release mode into .build-release. Needs swift, gcc, libsqlite3-dev, python3
# (with venv and pip, or an existing eventsourcing), curl and GNU time (/usr/bin/time).
#
# Usage: scripts/bench.sh
#   N=1000000        events in the big workloads
#   ES_EVENTS=200000 events given to eventsourcing (it is slow; rates are per event)
#   GENERIC=200000   tiny generic events (scripts/bench/notes.py) synced for a wire-bytes row
#   SINGLE=5000      single appends timed (full: SINGLE/5)
#   WRITERS=64       concurrent writers, tasks in one process (group commit)
#   CONCURRENT=20000 appends made by the concurrent writers in all
#   FORMAT1=0        1: also measure format 1 (no payload commitments) side by side
#   POSTGRES=1       0: leave out the PostgreSQL hub's COPY row (it needs pg_ctl and psql)
#   PG_EVENTS=100000 events copied into PostgreSQL by each path (BENCH_PG_PORT=55436: its port)
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
GENERIC="${GENERIC:-200000}"
FORMAT1="${FORMAT1:-0}"
POSTGRES="${POSTGRES:-1}"
PG_EVENTS="${PG_EVENTS:-100000}"
WRITE_DOC="${WRITE_DOC:-1}"
BUILD="${BUILD:-1}"
KEEP="${KEEP:-0}"
SMALL=10000
DELTA=100

source "$root/scripts/bench/lib.sh"
for tool in swift gcc python3 curl; do command -v "$tool" >/dev/null || die "$tool is not on PATH"; done
[ -x /usr/bin/time ] || die "GNU time is missing: apt-get install time"
[ -e /usr/include/sqlite3.h ] || die "the SQLite headers are missing: apt-get install libsqlite3-dev"

scratch="$root/.build-release"
bin="$(release_concord "$root" "$BUILD")"
mkdir -p "$scratch/bench"
gcc -O2 -o "$scratch/bench/raw_sqlite" scripts/bench/raw_sqlite.c -lsqlite3 || die "cannot build raw_sqlite.c"
raw="$scratch/bench/raw_sqlite"
venv="$scratch/bench/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import eventsourcing' 2>/dev/null; then
    log "making a virtual environment with eventsourcing 9.5.6"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q eventsourcing==9.5.6 >&2 || die "cannot install eventsourcing"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/concord-bench.XXXXXX")"
# A PostgreSQL hub's signing key (made by copy --to postgres://) goes here, not under $HOME.
export XDG_CONFIG_HOME="$work/config"
server_pid=""
pg_started=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    [ -n "$pg_started" ] && scripts/postgres-cluster.sh stop >/dev/null 2>&1 || true
    [ -n "${CONCORD_PG_DIR:-}" ] && [[ "$CONCORD_PG_DIR" == */concord-bench-pg.* ]] && rm -rf "$CONCORD_PG_DIR" || true
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

log "workload: $N events"
python3 scripts/bench/workload.py "$N" "$work/big.ndjson"
head -n "$ES_EVENTS" "$work/big.ndjson" >"$work/es.ndjson"
es_n=$(wc -l <"$work/es.ndjson")
# Generic stream names (bench-case:…): the same events, but no read models to fold.
sed 's/"stream":"\([a-z]*\):/"stream":"bench-\1:/' "$work/big.ndjson" >"$work/big-generic.ndjson"
python3 scripts/bench/notes.py "$GENERIC" "$work/generic.ndjson"
log "workload: long cases ($N events and $SMALL, 200 events a case)"
python3 scripts/bench/long_cases.py "$N" "$work/long-big.ndjson" 200
python3 scripts/bench/long_cases.py "$SMALL" "$work/long-small.ndjson" 200

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
"$bin" init --node plain $(store plain) >/dev/null
timed "$work/import-plain.t" "$bin" import --new "$work/big-generic.ndjson" --actor bench $(store plain)

if [ "$FORMAT1" = 1 ]; then
    log "concord: the same, in format 1 (no payload commitments), with and without read models"
    "$bin" init --node plainv1 $(store plainv1) >/dev/null
    timed "$work/import-plain-v1.t" "$bin" import --new "$work/big-generic.ndjson" --event-format 1 --actor bench $(store plainv1)
    "$bin" init --node hubv1 $(store hubv1) >/dev/null
    timed "$work/import-v1.t" "$bin" import --new "$work/big.ndjson" --event-format 1 --actor bench $(store hubv1)
fi

log "concord: $SINGLE single appends (normal), $((SINGLE / 5)) (full)"
settle
"$bin" init --node single $(store single normal) >/dev/null
timed "$work/single-normal.t" "$bin" debug append-loop --count "$SINGLE" $(store single normal)
"$bin" init --node singlefull $(store singlefull full) >/dev/null
timed "$work/single-full.t" "$bin" debug append-loop --count "$((SINGLE / 5))" $(store singlefull full)
# Group commit works within one process (a server, or an application embedding the store):
# WRITERS tasks append one event a call each; their commits are grouped. Separate processes
# cannot share a commit and would serialise on SQLite's write lock. `full` runs three times: its
# target must hold in each.
per_writer=$((CONCURRENT / WRITERS))
for run in normal full-1 full-2 full-3; do
    level="${run%%-*}"
    log "concord: $WRITERS concurrent writers in one process, $per_writer appends each ($run)"
    settle
    "$bin" init --node "concurrent$run" $(store "concurrent$run" "$level") >/dev/null
    timed "$work/concurrent-$run.t" "$bin" debug append-loop --count "$per_writer" --writers "$WRITERS" --stream test:writer $(store "concurrent$run" "$level")
done

log "concord: projection rebuild of $N events"
settle
timed "$work/rebuild.t" "$bin" projections rebuild $(store hub)
if [ "$FORMAT1" = 1 ]; then settle; timed "$work/rebuild-v1.t" "$bin" projections rebuild $(store hubv1); fi

log "concord: log --limit 10 on the $N-event store (median of 15)"
samples=()
for _ in $(seq 1 15); do t=$(now); "$bin" log --limit 10 $(store hub) >/dev/null; samples+=("$(since "$t")"); done
log_s=$(median "${samples[@]}")

# sync_pair NAME EVENTS_FILE HUB DELTA_KIND: serves the store HUB.sqlite (made from EVENTS_FILE
# unless it exists), a region NAME-region pulls everything, then (DELTA_KIND standard or long)
# 5 incremental syncs of $DELTA new events, or none (DELTA_KIND none). Writes NAME.initial.t,
# NAME.bytes (what the server sent, compressed: concord_bytes_out_total) and NAME.incremental
# (median s).
sync_pair() {
    local name="$1" file="$2" hubname="$3" kind="$4" hub_store="$work/$3.sqlite"
    if [ ! -e "$hub_store" ]; then
        "$bin" init --node "$hubname" $(store "$hubname") >/dev/null
        "$bin" import --new "$file" --actor bench $(store "$hubname") >/dev/null
    fi
    settle
    "$bin" serve --store "$hub_store" --durability normal --listen 127.0.0.1:0 >"$work/$name.serve" 2>"$work/$name.serve.err" &
    server_pid=$!
    local url=""
    for _ in $(seq 1 300); do url="$(sed -n '1s/^listening on //p' "$work/$name.serve")"; [ -n "$url" ] && break; sleep 0.1; done
    [ -n "$url" ] || die "concord serve did not start: $(cat "$work/$name.serve.err")"
    # Given through the environment, as a person should (not on the command line).
    export CONCORD_PEER_TOKEN="$("$bin" token issue "$name-region" $(store "$hubname") | tail -1)"
    "$bin" init --node "$name-region" $(store "$name-region") >/dev/null
    timed "$work/$name.initial.t" "$bin" sync "$url" --direction pull $(store "$name-region")
    curl -sf "$url/metrics" | awk '/^concord_bytes_out_total/ { b = $NF } END { printf "%.0f\n", b }' >"$work/$name.bytes"
    local samples=() cases
    cases=$(( $(wc -l <"$file") / 200 ))
    if [ "$kind" != none ]; then
        for r in 1 2 3 4 5; do
            if [ "$kind" = long ]; then
                python3 scripts/bench/long_cases.py --delta "$DELTA" "$work/delta.ndjson" "$cases" "$r"
            else
                python3 scripts/bench/workload.py "$DELTA" "$work/delta.ndjson" "$((9000 + r))"
                # Fresh ids for the delta's new records, notes on existing ones stay where they are.
                sed -i "s/-2016-/-D$r-/g; s/-M0/-DM$r-/g; s/-A0/-DA$r-/g" "$work/delta.ndjson"
            fi
            "$bin" import --new "$work/delta.ndjson" --actor bench $(store "$hubname") >/dev/null
            t=$(now)
            "$bin" sync "$url" --direction pull $(store "$name-region") >/dev/null
            samples+=("$(since "$t")")
        done
        median "${samples[@]}" >"$work/$name.incremental"
    fi
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}
log "concord: initial sync of $N events over loopback"
sync_pair big "$work/big.ndjson" hub none
log "concord: initial sync of $GENERIC generic events (wire bytes)"
sync_pair generic "$work/generic.ndjson" generic-hub none
log "concord: long cases, $SMALL events: initial sync, then 5 x $DELTA touching $((DELTA / 2)) cases"
sync_pair longsmall "$work/long-small.ndjson" long-small-hub long
log "concord: long cases, $N events: initial sync, then 5 x $DELTA touching $((DELTA / 2)) cases"
sync_pair longbig "$work/long-big.ndjson" long-big-hub long
if [ "$FORMAT1" = 1 ]; then
    log "concord: initial sync of the same $N events in format 1"
    sync_pair bigv1 "$work/big.ndjson" hubv1 none
fi
# A PostgreSQL hub's bulk ingest (docs/postgres.md): `concord copy` of the big workload's first
# $PG_EVENTS events from a store file into new databases, by COPY and by multi-row INSERT (the
# copy's own "copied in" rate: reading, verifying and storing), in a throwaway cluster with fsync
# on and synchronous_commit off. Skipped (and said so in the table) without a PostgreSQL server.
pg_insert="" pg_copy=""
if [ "$POSTGRES" = 1 ] && { command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; }; then
    log "concord: a PostgreSQL hub's bulk ingest of $PG_EVENTS events, INSERT path and COPY path"
    head -n "$PG_EVENTS" "$work/big.ndjson" >"$work/pg.ndjson"
    "$bin" init --node pgsource $(store pgsource) >/dev/null
    "$bin" import --new "$work/pg.ndjson" --actor bench $(store pgsource) >/dev/null
    # Its own directory beside $work: the cluster's unprivileged owner cannot enter $work.
    export CONCORD_PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/concord-bench-pg.XXXXXX")" CONCORD_PG_PORT="${BENCH_PG_PORT:-55436}" CONCORD_PG_DURABLE=1
    eval "$(scripts/postgres-cluster.sh start)"
    pg_started=1
    pg_server="${CONCORD_TEST_POSTGRES_URL%/*}"
    for path in insert copy; do
        psql "$pg_server/postgres" -qc "CREATE DATABASE bench_$path"
        threshold=$([ "$path" = copy ] && echo 1 || echo 1000000000)
        line="$(CONCORD_PG_COPY_THRESHOLD=$threshold "$bin" copy --from "$work/pgsource.sqlite" --to "$pg_server/bench_$path" | grep '^copied in')"
        rate="$(sed -E 's/.*\(([0-9.]+) events\/s\).*/\1/' <<<"$line")"
        if [ "$path" = copy ]; then pg_copy="$rate"; else pg_insert="$rate"; fi
    done
    scripts/postgres-cluster.sh stop; pg_started=""
fi

# The baseline of the wire rows: zlib level 6 of the bare NDJSON lines given to `import --new`.
zlib6() { python3 -c 'import sys, zlib; print(len(zlib.compress(open(sys.argv[1], "rb").read(), 6)))' "$1"; }
# The standard workload's row is held against its events as whole lines (`concord log --json`:
# everything an event is, hashes included), the generic row against the bare lines themselves.
"$bin" log --json --limit "$N" $(store hub) >"$work/big-log.ndjson"
zlib_big=$(zlib6 "$work/big-log.ndjson"); zlib_generic=$(zlib6 "$work/generic.ndjson")
line_big=$(( $(wc -c <"$work/big-log.ndjson") / N )); line_generic=$(( $(wc -c <"$work/generic.ndjson") / $(wc -l <"$work/generic.ndjson") ))
generic_n=$(wc -l <"$work/generic.ndjson")

python3 - "$work" <<PY >"$work/table.md"
import os, sys
w = sys.argv[1]
def t(name):
    s, k = open(f"{w}/{name}").read().split()
    return float(s), int(k) / 1024
def number(name):
    return float(open(f"{w}/{name}").read())
N, SINGLE, es_n, WRITERS, SMALL = $N, $SINGLE, $es_events, $WRITERS, $SMALL
raw_bulk = $raw_rows / $raw_bulk_s
raw_normal = $SINGLE / $raw_single_normal_s
raw_full = ($SINGLE // 5) / $raw_single_full_s
es_save = es_n / $es_save_s
es_read = es_n / $es_read_s
imp, imp_rss = t("import.t"); plain, plain_rss = t("import-plain.t")
sn, _ = t("single-normal.t"); sf, _ = t("single-full.t")
reb, reb_rss = t("rebuild.t")
init, init_rss = t("big.initial.t")
single_normal = SINGLE / sn; single_full = (SINGLE // 5) / sf
concurrent_total = WRITERS * ($CONCURRENT // WRITERS)
cn, _ = t("concurrent-normal.t")
full_runs = [concurrent_total / t(f"concurrent-full-{i}.t")[0] for i in (1, 2, 3)]
long_small, long_big = number("longsmall.incremental"), number("longbig.incremental")
_, long_init_rss = t("longbig.initial.t")
wire_big, wire_generic = number("big.bytes"), number("generic.bytes")
rss_peak = max(imp_rss, plain_rss, reb_rss, init_rss, long_init_rss)

# (measure, Concord, baseline, baseline is, ratio, target text, verdict); higher is better unless
# the target reads "<=".
rows = []
def row(name, ours, base, what, target, fmt="{:,.0f}", lower=False):
    ratio = ours / base
    if target is None: verdict, goal = "", "-"
    elif lower: verdict, goal = ("PASS" if ratio <= target else "FAIL"), f"<= {target:g}x"
    else: verdict, goal = ("PASS" if ratio >= target else "FAIL"), f">= {target:g}x"
    rows.append((name, fmt.format(ours), fmt.format(base), what, f"{ratio:.2f}x", goal, verdict))
row("bulk import, no read models (events/s)", N / plain, raw_bulk, "raw SQLite C, the same rows and indexes", 0.70)
row("bulk import, no read models (events/s)", N / plain, es_save, "eventsourcing, 1,000 a save", 2.5)
row("bulk import with read models (events/s)", N / imp, raw_bulk, "raw SQLite C, the same rows and indexes", None)
row("initial sync over loopback, end to end (events/s)", N / init, N / imp, "the receiving node's own import --new", 0.80)
row(f"bytes on the wire, initial sync of tiny generic events ({$generic_n:,}, ~{$line_generic} B lines) (B/event)",
    wire_generic / $generic_n, $zlib_generic / $generic_n, "zlib-6 of the bare NDJSON lines", 1.6, "{:.1f}", lower=True)
row(f"bytes on the wire, initial sync of the standard workload (~{$line_big} B log --json lines) (B/event)",
    wire_big / N, $zlib_big / N, "zlib-6 of the events' lines (log --json)", 1.0, "{:.1f}", lower=True)
row("projection rebuild (events/s)", N / reb, es_read, "eventsourcing read + decode", 3)
row("incremental sync of 100 touching 50 long cases (200 events each) (s)", long_big, long_small,
    f"the same at {SMALL:,} events", 1.3, "{:.3f}", lower=True)
row("single durable append, full (commits/s)", single_full, raw_full, "raw SQLite, 1 insert a commit, FULL", 0.80)
row("single append, normal (commits/s)", single_normal, raw_normal, "raw SQLite, 1 insert a commit, NORMAL", 0.60)
for i, rate in enumerate(full_runs, 1):
    rows.append((f"{WRITERS} concurrent writers, full, run {i} of 3 (appends/s)", f"{rate:,.0f}", f"{single_full:,.0f}",
                 "1 Concord writer, full", f"{rate / single_full:.2f}x", ">= 12x, each run",
                 "PASS" if rate / single_full >= 12 else "FAIL"))
row(f"{WRITERS} concurrent writers, normal (appends/s)", concurrent_total / cn, single_normal, "1 Concord writer, normal", None)
if "$pg_copy" and "$pg_insert":
    row(f"PostgreSQL hub bulk ingest, COPY path ({min(N, $PG_EVENTS):,} events, concord copy) (events/s)",
        float("$pg_copy"), float("$pg_insert"), "multi-row INSERT path of the same backend", 3)
else:
    rows.append(("PostgreSQL hub bulk ingest, COPY path", "not measured (no PostgreSQL server; POSTGRES=1 and pg_ctl needed)", "-",
                 "multi-row INSERT path of the same backend", "-", ">= 3x", "FAIL"))
rows.append(("peak RSS of N: import / import, no read models / rebuild / initial sync / initial sync of long cases (MB)",
             f"{imp_rss:.0f} / {plain_rss:.0f} / {reb_rss:.0f} / {init_rss:.0f} / {long_init_rss:.0f}", "-",
             "-", f"max {rss_peak:.0f} MB", "<= 150 MB", "PASS" if rss_peak <= 150 else "FAIL"))
if os.path.exists(f"{w}/import-v1.t"):
    plain1, _ = t("import-plain-v1.t"); imp1, _ = t("import-v1.t"); reb1, _ = t("rebuild-v1.t"); init1, _ = t("bigv1.initial.t")
    row("format 2: bulk import, no read models (events/s)", N / plain, N / plain1, "the same in format 1", None)
    row("format 2: bulk import with read models (events/s)", N / imp, N / imp1, "the same in format 1", None)
    row("format 2: projection rebuild (events/s)", N / reb, N / reb1, "the same in format 1", None)
    row("format 2: initial sync over loopback (events/s)", N / init, N / init1, "the same in format 1", None)
print(f"| measure (N = {N:,}) | Concord | baseline | baseline is | ratio | target | verdict |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print(f"| \`log --limit 10\` on the {N:,}-event store (s) | {float('$log_s'):.4f} | | | | | |")
print()
passed = sum(1 for r in rows if r[6] == "PASS"); failed = sum(1 for r in rows if r[6] == "FAIL")
print(f"{passed} targets met, {failed} not. eventsourcing ran on the first {es_n:,} events (rates are per event). "
      f"Wire bytes are what the server sent (compressed bodies, no HTTP headers) over what zlib-6 makes of the lines imported.")
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
