#!/usr/bin/env bash
# What an erasure costs a hub on PostgreSQL, now that its dead row versions are vacuumed at once
# (docs/postgres.md, "Erasure and the table files"): the import of one region's erasure against
# the import of one ordinary event, into the same hub of N events, in one run, release build.
#
# Usage: scripts/bench-erasure-postgres.sh            N = 200000 events of one origin, 3 rounds
#        N=50000 ROUNDS=2 scripts/bench-erasure-postgres.sh
#
# Each round: the region (a SQLite store syncing with `concord serve` on the PostgreSQL hub)
# records one more note (the baseline) and erases one case (a case holds N / 2000 notes); each
# is pushed on its own with `concord sync --direction push`, timed whole (the push runs the hub's
# ingest: verify, store, and for the erasure the catch-up and the VACUUM before it answers).
# Then VACUUM of the same tables again, timed by psql: what a vacuum costs once nothing is dead.
# PostgreSQL runs in a throwaway cluster with fsync on (CONCORD_PG_DURABLE=1). Needs psql.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${N:-200000}"
ROUNDS="${ROUNDS:-3}"
swift build -c release --scratch-path .build-release --product concord >/dev/null
bin="$PWD/.build-release/release/concord"
work="$(mktemp -d /tmp/concord-bench-erasure.XXXXXX)"
export CONCORD_PG_DIR="$(mktemp -d /tmp/concord-bench-pgdata.XXXXXX)" CONCORD_PG_PORT="${CONCORD_PG_PORT:-55436}" CONCORD_PG_DURABLE=1
trap 'scripts/postgres-cluster.sh stop >/dev/null; rm -rf "$work" "$CONCORD_PG_DIR"' EXIT
eval "$(scripts/postgres-cluster.sh start)"
server="${CONCORD_TEST_POSTGRES_URL%/*}"
hub="$server/erasure_$$"
psql "$server/postgres" -qc "CREATE DATABASE erasure_$$"
export CONCORD_ACTOR=bench

"$bin" init --node wy --store "$work/wy.sqlite" >/dev/null
python3 - "$N" >"$work/new.ndjson" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"stream": f"case:B-{i % 2000}", "type": "case.note-added",
                      "data": {"note": f"note {i} names a victim seen at the site " + "x" * 40}}, separators=(",", ":")))
PY
"$bin" import --new "$work/new.ndjson" --store "$work/wy.sqlite" >/dev/null
"$bin" init --hub --node hub --share-default full --store "$hub" >/dev/null
"$bin" token issue wy --out "$work/wy.token" --store "$hub" >/dev/null
"$bin" serve --store "$hub" --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null; wait $serve 2>/dev/null; scripts/postgres-cluster.sh stop >/dev/null; rm -rf "$work" "$CONCORD_PG_DIR"' EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
url=$(sed -nE 's/^listening on (.*)$/\1/p' "$work/serve.log" | head -1)
"$bin" peer add hub "$url" --token-file "$work/wy.token" --store "$work/wy.sqlite" >/dev/null
"$bin" sync hub --store "$work/wy.sqlite" >/dev/null
# The hub folds pushed events into its read models in the background: caught up here, so that the
# first round does not pay for it.
"$bin" digest --store "$hub" >/dev/null
# The bulk load's first vacuum visits every page (it sets the visibility map): autovacuum's, or this.
first=$( { /usr/bin/time -f %e psql "$hub" -qc "VACUUM" ; } 2>&1 | tail -1)
echo "hub of $N events; first VACUUM after the bulk load: ${first} s"

tables="events, cases, case_notes, case_links, meetings, attendees, agenda_items, decisions, actions, action_progress, conflicts, undisclosed"
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
echo "| round | sync of one note (s) | sync of an erasure of $((N / 2000)) notes (s) | ratio | VACUUM after, nothing dead (ms) |"
echo "|---|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
    "$bin" append "case:B-$round" case.note-added --data '{"note":"one more"}' --store "$work/wy.sqlite" >/dev/null
    note=$(seconds "$bin" sync hub --direction push --store "$work/wy.sqlite")
    "$bin" erase "case:B-$((round + 100))" --reason "retention review" --store "$work/wy.sqlite" >/dev/null
    erase=$(seconds "$bin" sync hub --direction push --store "$work/wy.sqlite")
    again=$(psql "$hub" -qAt -c '\timing on' -c "VACUUM $tables" | sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p')
    echo "| $round | $note | $erase | $(echo "scale=2; $erase / $note" | bc) | $again |"
done
