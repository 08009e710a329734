# bench/lib.sh: what the benches share: a temp dir, the processes to stop at exit, bounded waits,
# the TLS simulator and its control API, the build, /proc figures, the daemon's stop and exit line,
# histogram quantiles from /metrics. Not tests/lib.sh: a bench wants none of a test's checks,
# budgets or traps.
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

# bench_start_sim [CMSSIM-ARGS...]: the TLS simulator with --no-verify (it skips the signature check, so that it is
# not the bottleneck; the daemon still signs every request) and --random 1 (agents have calls
# coming and going, so the daemon parses real answers and emits events; BENCH_RANDOM=off leaves it
# out: every agent idle with no calls, so that only polling is measured). Test PKI in TMP/pki, the
# secret in TMP/cms.secret; sets SIM_PID, SIM_PORT and SIM_URL. Further arguments go to cmssim.py.
bench_start_sim() {
    local random=()
    [ "${BENCH_RANDOM:-1}" = off ] || random=(--random "${BENCH_RANDOM:-1}")
    bash "$SRC/tests/mkcerts.sh" "$TMP/pki" >/dev/null || die "mkcerts.sh failed"
    printf 'bench-secret-not-checked\n' > "$TMP/cms.secret"
    chmod 600 "$TMP/cms.secret"
    "$PY" "$SRC/tests/cmssim.py" --listen 127.0.0.1:0 --cert "$TMP/pki/server.pem" \
        --key "$TMP/pki/server.key" --no-verify "${random[@]}" --port-file "$TMP/sim.port" \
        "$@" >"$TMP/sim.log" 2>&1 &
    SIM_PID=$!
    pids+=("$SIM_PID")
    # up to a minute: --random-agents builds 50,000 timelines first (4 s on a quiet machine)
    wait_for 60 test -s "$TMP/sim.port" || { cat "$TMP/sim.log"; die "the simulator did not start"; }
    SIM_PORT=$(cat "$TMP/sim.port")
    SIM_URL="https://127.0.0.1:$SIM_PORT"
}

sim() {   # sim METHOD PATH [BODY]: the simulator's control API
    curl -sS --max-time 30 --cacert "$TMP/pki/ca.pem" -X "$1" ${3+--data "$3"} "$SIM_URL$2"
}
sim_alive() { kill -0 "$SIM_PID" 2>/dev/null || die "the simulator died: $(tail -5 "$TMP/sim.log")"; }
json() {   # json KEY[.KEY...] < object -> value
    "$PY" -c 'import functools, json, sys
print(functools.reduce(lambda o, k: o[k], sys.argv[1].split("."), json.load(sys.stdin)))' "$1"
}

calc() { awk "BEGIN { printf \"%s\", $* }"; }   # calc 'EXPR': awk arithmetic, e.g. sprintf(...)
fmt() { awk -v f="$1" -v x="$2" 'BEGIN { printf f, x }'; }   # fmt FORMAT NUMBER

# nap SECONDS: sleep, but let SIGINT/SIGTERM stop the script at once (a foreground sleep
# would hold the trap back until it ends).
nap() { sleep "$1" & NAP=$!; wait "$NAP"; NAP=""; }

# bench_build DIR: make DIR/agentwatchd, configuring DIR with CFLAGS=-O2 -g if it has no Makefile;
# warns when DIR is not optimised.
bench_build() {
    if [ ! -f "$1/Makefile" ]; then
        echo "== configuring $1 with CFLAGS=-O2 -g"
        mkdir -p "$1"
        (cd "$1" && "$SRC/configure" -q CFLAGS="-O2 -g") || die "configure failed"
    fi
    grep -qE '^CFLAGS = .*-O[23s]' "$1/Makefile" ||
        echo "$BENCH_NAME: warning: $1 is not configured with -O2; figures will be pessimistic" >&2
    make -s -C "$1" agentwatchd >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; die "make failed"; }
}

# ---- the machine and processes (jiffies: 1/HZ s) ----

HZ=$(getconf CLK_TCK)
busy_jiffies() {   # all CPUs' non-idle time (user nice system irq softirq steal) from /proc/stat
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}
proc_jiffies() {   # utime + stime of one process (fields 14 and 15 of /proc/PID/stat)
    sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}
proc_state() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
proc_status() {   # proc_status PID FIELD -> the value (kB for the Vm* fields)
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}
load1() { cut -d' ' -f1 /proc/loadavg; }
# other_pct BUSY OURS SIM [SECONDS] (jiffies over SECONDS, default DUR): the CPU the rest of the
# machine used, in % of one core. Approximate (process and system times are sampled differently):
# within ~10% of a core; a small negative result means none and is shown as 0.
other_pct() { awk -v b="$1" -v o="$2" -v s="$3" -v hz="$HZ" -v d="${4:-$DUR}" \
    'BEGIN { x = (b - o - s) / hz / d * 100; printf "%.0f", x < 0 ? 0 : x }'; }
cpu_model() { awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo; }
machine() { echo "$(nproc) CPUs, $(cpu_model), kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"; }

# ---- the daemon (its stderr, with -v, in TMP/NAME.err) ----

stop_daemon() {   # stop_daemon PID: SIGTERM, at most 15 s until it exits, then SIGKILL
    local i state
    kill -TERM "$1" 2>/dev/null
    for ((i = 0; i < 150; i++)); do
        state=$(proc_state "$1")
        [ -z "$state" ] || [ "$state" = Z ] && break
        sleep 0.1
    done
    [ "$i" -lt 150 ] || { echo "$BENCH_NAME: the daemon ignored SIGTERM; killing it" >&2; kill -KILL "$1"; }
    wait "$1" 2>/dev/null
}

exit_stat() {   # exit_stat NAME FIELD: a number from the daemon's exit log line in TMP/NAME.err
    local re
    case $2 in
        started) re='polls started ([0-9]+)' ;;
        p50) re='lateness p50 ([0-9.]+) ms' ;;
        p99) re='p99 ([0-9.]+) ms' ;;
        max) re='max ([0-9.]+) ms' ;;
        skipped) re='slots skipped ([0-9]+)' ;;
        failed) re='polls failed ([0-9]+)' ;;
        events) re='; events ([0-9]+)' ;;
    esac
    grep -m1 'polls started' "$TMP/$1.err" | sed -nE "s/.*$re.*/\\1/p"
}
need_stats() {
    grep -q 'polls started' "$TMP/$1.err" || { tail -20 "$TMP/$1.err"; die "no statistics line from the daemon ($1)"; }
}

# hist_quantile BEFORE AFTER METRIC Q: from two /metrics scrapes (files), the bucket bound (in ms)
# that holds quantile Q of the histogram METRIC's observations between them: "<= 50 ms", "> 5000 ms"
# (past the last bound) or "none" (no observations).
hist_quantile() {
    "$PY" - "$@" <<'PYEOF'
import re, sys
def hist(path, name):
    b = {}
    for line in open(path):
        m = re.match(r'agentwatchd_%s_bucket\{le="([^"]+)"\} (\d+)' % name, line)
        if m:
            b[m.group(1)] = int(m.group(2))
    return b
h0, h1 = hist(sys.argv[1], sys.argv[3]), hist(sys.argv[2], sys.argv[3])
d = {k: h1[k] - h0.get(k, 0) for k in h1}
bounds = sorted((float(k) for k in d if k != "+Inf"))
total = d.get("+Inf", 0)
if not total:
    print("none")
else:
    for k in bounds:
        if d["%g" % k] >= float(sys.argv[4]) * total:
            print("<= %g ms" % (k * 1000))
            break
    else:
        print("> %g ms" % (bounds[-1] * 1000))
PYEOF
}
