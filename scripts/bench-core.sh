#!/usr/bin/env bash
# Runs Concord's core benchmarks (the separate package in Benchmarks/, built with
# ordo-one/benchmark) and prints the results as text tables.
#
# Needs only the Swift toolchain and the Debian packages libsqlite3-dev and zlib1g-dev. The
# benchmark package's malloc statistics come from its MallocInterposer trait (a Swift package),
# so no jemalloc is needed. The benchmarks build in release mode (the plugin's default) into
# Benchmarks/.build, never into the main package's .build; the first build takes several
# minutes on two cores.
#
# Usage: scripts/bench-core.sh [benchmark options...]
#   e.g. scripts/bench-core.sh --filter 'SQLite.*'
#        scripts/bench-core.sh --format markdown --path stdout
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v swift >/dev/null 2>&1; then
    echo "bench-core: swift is not on PATH; install a Swift 6.1+ toolchain" >&2
    exit 1
fi
if [ ! -e /usr/include/sqlite3.h ] && ! pkg-config --exists sqlite3 2>/dev/null; then
    echo "bench-core: the SQLite headers are missing; install them with: apt-get install libsqlite3-dev" >&2
    exit 1
fi

# --disable-sandbox: the SQLite benchmarks write their stores to the temporary directory (the
# plugin sandbox only exists on macOS, where it would refuse that).
set -x
swift package --package-path Benchmarks --disable-sandbox benchmark --no-progress "$@"
