#!/bin/bash
# bench/stall.sh: the event loop's longest stall with state_dir on a slow disk (not a test; see
# bench/README.md). For each daemon binary given and each agent count, it runs the daemon against
# the TLS simulator (--random calls) with state_dir and one webhook (bench/sink.py) under
# bench/slowdisk.c, an LD_PRELOAD shim that delays every fdatasync, fsync, rename and renameat by
# BENCH_DISK_DELAY_MS and measures each loop iteration (epoll_wait return to the next call), and
# with NOTIFY_SOCKET/WATCHDOG_USEC set so that the loop's WATCHDOG=1 pings are timed too.
#
#   bench/stall.sh [LABEL=BINARY...]      default: after=build/agentwatchd
#
# Environment:
#   BENCH_STALL_AGENTS    agent counts (default "10000 50000"); each polled every N/2000 s (at
#                         least 5 s), so that the simulator is asked for 2,000 polls/s at most
#   BENCH_SECONDS         seconds per run (default 75: the once-a-minute state file save included)
#   BENCH_DISK_DELAY_MS   the slow disk's delay per sync or rename (default 100)
#   BENCH_WATCHDOG_USEC   WATCHDOG_USEC given to the daemon (default 100000: a ping every ~25 ms)
#   BENCH_KEEP=1          keep the temp dir;  PYTHON3
set -u

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON3:-python3}
DUR=${BENCH_SECONDS:-75}
COUNTS=${BENCH_STALL_AGENTS:-10000 50000}
DELAY=${BENCH_DISK_DELAY_MS:-100}
WD=${BENCH_WATCHDOG_USEC:-100000}
[ $# -gt 0 ] || set -- "after=$SRC/build/agentwatchd"

. "$SRC/bench/lib.sh"
bench_init stall.sh

cc -shared -fPIC -O2 -Wall -o "$TMP/slowdisk.so" "$SRC/bench/slowdisk.c" -ldl -pthread ||
    die "cannot build the shim"
bench_start_sim
"$PY" "$SRC/bench/sink.py" --port-file "$TMP/sink.port" >"$TMP/sink.log" 2>&1 &
pids+=("$!")
"$PY" "$SRC/tests/notifysock.py" "$TMP/notify.sock" "$TMP/notify.log" &
pids+=("$!")
wait_for 15 test -s "$TMP/sink.port" || die "the sink did not start"
wait_for 15 test -e "$TMP/notify.log" || die "the notify listener did not start"

# The longest gap between two WATCHDOG=1 pings of one daemon, after its READY=1, in ms.
watchdog_gap() {
    "$PY" - "$TMP/notify.log" "$1" <<'EOP'
import json, sys
pings = []
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["fields"].get("MAINPID", sys.argv[2]) == sys.argv[2] and m["fields"].get("WATCHDOG") == "1":
        pings.append(m["t"])
gaps = [b - a for a, b in zip(pings, pings[1:])]
print("%.1f %d" % (max(gaps) * 1000 if gaps else -1, len(pings)))
EOP
}

run() {   # run LABEL BINARY AGENTS: one row
    local label=$1 bin=$2 n=$3 interval dpid stall wd
    interval=$(( n / 2000 > 5 ? n / 2000 : 5 ))
    rm -rf "$TMP/state"; mkdir -p "$TMP/state"
    cat > "$TMP/d.conf" <<EOC
cms = {
  url = "https://127.0.0.1:$SIM_PORT";
  app_key = "BENCHAK";
  app_secret_file = "$TMP/cms.secret";
  timeout = 5.0;
  max_in_flight = 32;
  tls = { ca_file = "$TMP/pki/ca.pem"; };
};
poll = { interval = $interval; };
agents = ( { cc = 1; vdn = 1; range = [ 101, $((100 + n)) ]; } );
state_dir = "$TMP/state";
outputs = { journal = false; stdout = true; webhooks = (
  { url = "http://127.0.0.1:$(cat "$TMP/sink.port")/hook"; format = "json"; }
); };
EOC
    : > "$TMP/notify.log"
    rm -f "$TMP/stall.out"
    (
        export NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=$WD WATCHDOG_PID=$BASHPID
        export LD_PRELOAD=$TMP/slowdisk.so BENCH_STALL_OUT=$TMP/stall.out BENCH_DISK_DELAY_MS=$DELAY
        exec "$bin" -c "$TMP/d.conf" >/dev/null 2>"$TMP/$label-$n.err"
    ) &
    dpid=$!
    pids+=("$dpid")
    sleep "$DUR"
    kill -0 "$dpid" 2>/dev/null || { tail "$TMP/$label-$n.err"; die "$label died"; }
    sleep 1.1    # the shim's next once-a-second write
    stall=$(cat "$TMP/stall.out" 2>/dev/null)
    wd=$(watchdog_gap "$dpid")
    kill -TERM "$dpid"
    wait "$dpid" 2>/dev/null
    printf '  %-7s %-6s %-4s %-7s %-7s %-6s %-7s %-6s %-6s %-5s %-9s %s\n' "$label" "$n" \
        "${interval}s" "$(awk '{ print $2 }' <<<"$stall")" \
        "$(awk '{ printf "%.1f", $4 / 1000 }' <<<"$stall")" "$(awk '{ print $8 }' <<<"$stall")" \
        "$(awk '{ printf "%.1f", $16 / 1000 }' <<<"$stall")" "$(awk '{ print $18 }' <<<"$stall")" \
        "$(awk '{ printf "%.1f", $12 / 1000 }' <<<"$stall")" "$(awk '{ print $14 }' <<<"$stall")" \
        "${wd% *}" "$(awk '{ print $10 }' <<<"$stall")/${wd#* }"
}

echo "loop stalls, $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
echo "slow disk: LD_PRELOAD bench/slowdisk.c, +$DELAY ms per fdatasync/fsync/rename/renameat; $DUR s per run; WATCHDOG_USEC=$WD"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-7s %-6s %-4s %-7s %-7s %-6s %-7s %-6s %-6s %-5s %-9s %s\n' daemon agents every \
    iters "max ms" ">10ms" "own ms" ">10ms" "cpu ms" "disk" "wd ms" ">50ms/pings"
for n in $COUNTS; do
    for arg in "$@"; do
        run "${arg%%=*}" "${arg#*=}" "$n"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
