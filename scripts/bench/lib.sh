# Helpers the benchmark scripts share (sourced, not run).
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$(basename "$0" .sh): $*"; exit 1; }
now() { date +%s.%N; }
# since START: seconds from START (a `now` value) until now.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.4f", b - a }'; }
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(float(a) for a in sys.argv[1:]):.4f}")' "$@"; }
# release_concord ROOT BUILD: builds concord in release mode into ROOT/.build-release when BUILD
# is 1, then prints the binary's path (dies when there is none).
release_concord() {
    local scratch="$1/.build-release" bin
    if [ "$2" = 1 ]; then
        log "building concord (release, .build-release)"
        swift build -c release --scratch-path "$scratch" --product concord >&2
    fi
    bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/concord"
    [ -x "$bin" ] || die "no concord binary at $bin"
    echo "$bin"
}
