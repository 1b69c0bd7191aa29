# Helpers the benchmark scripts share (sourced, not run).
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$(basename "$0" .sh): $*"; exit 1; }
now() { date +%s.%N; }
# since START: seconds from START (a `now` value) until now.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.4f", b - a }'; }
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(float(a) for a in sys.argv[1:]):.4f}")' "$@"; }
