#!/usr/bin/env bash
# A hub on PostgreSQL: bulk ingest by COPY against multi-row INSERT, the same events into new
# databases in one run, alternating, release build (docs/postgres.md, "Ingest cost, and COPY").
#
# Usage: scripts/bench-postgres.sh          N = 100000 events of one origin, two rounds
#        N=20000 ROUNDS=3 scripts/bench-postgres.sh
#
# The events are made by `concord import --new` into a store file, then moved by
# `concord copy`, whose "copied" line times the copying alone (read, verify, store), not the
# verification of the copy nor its read models. PostgreSQL runs in a throwaway cluster with fsync
# on and synchronous_commit off (scripts/postgres-cluster.sh, CONCORD_PG_DURABLE=1). Needs psql.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${N:-100000}"
ROUNDS="${ROUNDS:-2}"
swift build -c release --scratch-path .build-release --product concord
bin="$PWD/.build-release/release/concord"
work="$(mktemp -d /tmp/concord-bench-pg.XXXXXX)"
# A PostgreSQL hub's signing key (made by copy --to postgres://) goes here, not under $HOME.
export XDG_CONFIG_HOME="$work/config"
export CONCORD_PG_DIR="$(mktemp -d /tmp/concord-bench-pgdata.XXXXXX)" CONCORD_PG_PORT="${CONCORD_PG_PORT:-55435}" CONCORD_PG_DURABLE=1
trap 'scripts/postgres-cluster.sh stop; rm -rf "$work" "$CONCORD_PG_DIR"' EXIT
cluster="$(scripts/postgres-cluster.sh start)"
eval "$cluster"
server="${CONCORD_TEST_POSTGRES_URL%/*}"

"$bin" init --node source --store "$work/source.sqlite" >/dev/null
python3 - "$N" >"$work/new.ndjson" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"stream": f"case:B-{i % 5000}", "type": "case.note-added",
                      "data": {"note": f"note {i} seen at the site " + "x" * 40}}, separators=(",", ":")))
PY
CONCORD_ACTOR=bench "$bin" import --new "$work/new.ndjson" --store "$work/source.sqlite" >/dev/null

echo "| round | path | events/s (copying alone) |"
echo "|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
    for path in insert copy; do
        database="bench_${path}_${round}_$$"
        psql "$server/postgres" -qc "CREATE DATABASE $database"
        threshold=$([ "$path" = copy ] && echo 1 || echo 1000000000)
        line="$(CONCORD_PG_COPY_THRESHOLD=$threshold "$bin" copy --from "$work/source.sqlite" --to "$server/$database" | grep '^copied in')"
        echo "| $round | $path | $(echo "$line" | sed -E 's/.*\(([0-9.]+) events\/s\).*/\1/') |"
    done
done
