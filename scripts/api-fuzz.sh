#!/usr/bin/env bash
# Runs schemathesis (PyPI) with all its checks against a live `concord serve`, using
# docs/openapi.yaml: every operation, positive and negative data, unsupported methods, missing
# authentication, and the stateful links between operations. Exits non-zero on any failure.
# CI runs it (.ci/run) after the tests.
#
# Usage: scripts/api-fuzz.sh
#   CONCORD_BIN=.build/debug/concord   the binary to serve (built by swift build if missing)
#   EXAMPLES=50                        examples per operation
#   SEED=1                             the same seed sends the same requests
#   WALL=600                           hard bound on the run, in seconds
#   ST_VENV=$TMPDIR/concord-st-venv    where schemathesis is installed (needs Python 3.11+)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/bench/lib.sh

ST_VERSION=4.32.5
EXAMPLES="${EXAMPLES:-50}"
SEED="${SEED:-1}"
WALL="${WALL:-600}"
CONCORD_BIN="${CONCORD_BIN:-$root/.build/debug/concord}"
VENV="${ST_VENV:-${TMPDIR:-/tmp}/concord-st-venv}"

if [ ! -x "$CONCORD_BIN" ]; then
    log "building concord"
    swift build --product concord >&2
fi
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
    log "installing schemathesis $ST_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$ST_VERSION"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/concord-api-fuzz.XXXXXX")"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# A hub holding events of two origins, so that pulls answer with real batches.
hub="$work/hub.sqlite"
region="$work/region.sqlite"
"$CONCORD_BIN" init --node hub --store "$hub" >/dev/null
"$CONCORD_BIN" init --node region --store "$region" >/dev/null
"$CONCORD_BIN" case open API-1 --title "Served to the fuzzer" --region "Test" --store "$hub" >/dev/null
for n in 1 2 3; do "$CONCORD_BIN" append notes:api note.added --data "{\"n\":$n}" --store "$region" >/dev/null; done
"$CONCORD_BIN" export --out "$work/region.ndjson" --store "$region" 2>/dev/null
"$CONCORD_BIN" import "$work/region.ndjson" --store "$hub" >/dev/null
export CONCORD_TOKEN="$("$CONCORD_BIN" token issue fuzzer --store "$hub" | tail -n 1)"

# Long polls answer within a second: the fuzzer's pulls often ask for events the hub holds.
"$CONCORD_BIN" serve --store "$hub" --listen 127.0.0.1:0 --read-timeout 5 --max-wait-seconds 1 > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$work/serve.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || die "concord serve did not start: $(cat "$work/serve.err")"
    sleep 0.1  # polling for the server's first line, not a synchronisation of the test itself
done
url="$(sed -n 's/^listening on //p' "$work/serve.out" | head -n 1)"
[ -n "$url" ] || die "concord serve printed no address"
log "schemathesis $ST_VERSION against $url ($EXAMPLES examples per operation, seed $SEED)"

cd "$work"  # schemathesis writes .hypothesis/ and .schemathesis/ where it runs
status=0
SCHEMATHESIS_HOOKS="$root/scripts/api-fuzz/hooks.py" timeout --kill-after=10 "$WALL" \
    "$VENV/bin/st" --config-file "$root/scripts/api-fuzz/config.toml" run "$root/docs/openapi.yaml" \
        --url "$url" --checks all --phases examples,coverage,fuzzing,stateful --mode all \
        --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 --request-timeout 20 --no-color || status=$?
if ! kill -0 "$server_pid" 2>/dev/null; then
    log "concord serve died during the run:"
    cat "$work/serve.err" >&2
    status=1
fi
exit "$status"
