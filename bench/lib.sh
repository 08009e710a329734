# bench/lib.sh: what the benches share: a temp dir, the processes to stop at exit, bounded waits,
# the TLS simulator. Not tests/lib.sh: a bench wants none of a test's checks, budgets or traps.
# Sourced by bench/*.sh after `set -u`; needs SRC (the source tree) and PY (python3).

# bench_init NAME: a temp dir in TMP (kept at exit with BENCH_KEEP=1), pids to stop at exit, and
# die/wait_for that name NAME. NAP is a sleep the caller may run in the background (nap below).
bench_init() {
    BENCH_NAME=$1
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/aw-$1.XXXXXX")
    pids=()
    NAP=""
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local p
    [ -n "$NAP" ] && kill "$NAP" 2>/dev/null
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

wait_for() {   # wait_for SECONDS COMMAND...: retries every 0.1 s until it succeeds or time runs out
    local limit=$(($1 * 10)) i; shift
    for ((i = 0; i < limit; i++)); do "$@" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# bench_start_sim: the TLS simulator with --no-verify (it skips the signature check, so that it is
# not the bottleneck; the daemon still signs every request) and --random 1 (agents have calls
# coming and going, so the daemon parses real answers and emits events). Test PKI in TMP/pki, the
# secret in TMP/cms.secret; sets SIM_PID and SIM_PORT.
bench_start_sim() {
    bash "$SRC/tests/mkcerts.sh" "$TMP/pki" >/dev/null || die "mkcerts.sh failed"
    printf 'bench-secret-not-checked\n' > "$TMP/cms.secret"
    chmod 600 "$TMP/cms.secret"
    "$PY" "$SRC/tests/cmssim.py" --listen 127.0.0.1:0 --cert "$TMP/pki/server.pem" \
        --key "$TMP/pki/server.key" --no-verify --random 1 --port-file "$TMP/sim.port" \
        >"$TMP/sim.log" 2>&1 &
    SIM_PID=$!
    pids+=("$SIM_PID")
    wait_for 15 test -s "$TMP/sim.port" || { cat "$TMP/sim.log"; die "the simulator did not start"; }
    SIM_PORT=$(cat "$TMP/sim.port")
}
