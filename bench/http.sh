#!/bin/bash
# bench/http.sh: what the HTTP endpoint costs the event loop at scale (not a test; see README.md).
#
# 10,000 agents every 5 s against the TLS simulator (--no-verify --random 1), the daemon with
# -vv so that it logs each request's handler time on the loop ("http: GET /metrics: 200 in X ms").
# After a warm-up of two intervals it times REQS requests of each path (one at a time, over the
# unix socket), then for BENCH_SECONDS follows the stream with 50 SSE clients while /metrics is
# scraped every second, and reports the poll lateness of that stretch from /metrics.
#
# Environment: AW_BUILD (default ../build), BENCH_AGENTS (10000), BENCH_INTERVAL (5),
# BENCH_SECONDS (30), REQS (20), SSE_CLIENTS (50), PYTHON3. Everything it starts is stopped on exit.
set -u

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${AW_BUILD:-$SRC/build}
DAEMON=$BUILD/agentwatchd
AGENTS=${BENCH_AGENTS:-10000}
INTERVAL=${BENCH_INTERVAL:-5}
DUR=${BENCH_SECONDS:-30}
REQS=${REQS:-20}
SSE=${SSE_CLIENTS:-50}
PY=${PYTHON3:-python3}
. "$SRC/bench/lib.sh"
bench_init http.sh

[ -x "$DAEMON" ] || die "no daemon at $DAEMON"
echo "== machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== daemon: $DAEMON; CFLAGS: $(sed -n 's/^CFLAGS = //p' "$BUILD/Makefile")"

bench_start_sim

mkdir -p "$TMP/state"
cat > "$TMP/bench.conf" <<EOF
cms = { url = "https://127.0.0.1:$SIM_PORT"; app_key = "BENCH";
  app_secret_file = "$TMP/cms.secret"; tls = { ca_file = "$TMP/pki/ca.pem"; }; };
poll = { interval = $INTERVAL; };
agents = ( { cc = 1; vdn = 170; range = [ 101, $((100 + AGENTS)) ]; labels = { team = "bench"; }; } );
outputs = { journal = false; stdout = true; };
state_dir = "$TMP/state";
http = { listen = [ "unix:$TMP/http.sock" ]; max_connections = 100; };
EOF
"$DAEMON" -vv -c "$TMP/bench.conf" >/dev/null 2>"$TMP/daemon.err" &
DPID=$!
pids+=("$DPID")
wait_for 10 test -S "$TMP/http.sock" || die "the daemon did not listen: $(tail -3 "$TMP/daemon.err")"
echo "== $AGENTS agents every $INTERVAL s; warming up for $((2 * INTERVAL)) s"
sleep $((2 * INTERVAL))

get() { curl -sS --max-time 10 --unix-socket "$TMP/http.sock" -o /dev/null -w '%{size_download}\n' "http://x$1"; }

# stats PATH-PATTERN: n, median, p90 and max of the handler times the daemon logged for it
stats() {
    grep -F "http: GET $1: 200 in" "$TMP/daemon.err" | sed 's/.* in \([0-9.]*\) ms$/\1/' | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) printf "n=%d median %.2f ms, p90 %.2f ms, max %.2f ms", NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }'
}

for path in /metrics /api/v1/agents /healthz; do
    size=0
    for ((i = 0; i < REQS; i++)); do size=$(get "$path"); done
    printf '%-24s %9s bytes   handler on the loop: %s\n' "$path" "$size" "$(stats "$path")"
done

echo "== $DUR s with $SSE SSE clients and a /metrics scrape every second"
cpu() { sed 's/^.*) //' "/proc/$DPID/stat" | awk '{ print $12 + $13 }'; }
curl -sS --unix-socket "$TMP/http.sock" http://x/metrics > "$TMP/m0"
cpu0=$(cpu)
for ((i = 0; i < SSE; i++)); do
    curl -sS -N --max-time $((DUR + 10)) --unix-socket "$TMP/http.sock" \
        http://x/api/v1/events/stream -o "$TMP/sse.$i" 2>/dev/null &
    pids+=($!)
done
for ((s = 0; s < DUR; s++)); do get /metrics >/dev/null; sleep 1; done
curl -sS --unix-socket "$TMP/http.sock" http://x/metrics > "$TMP/m1"
echo "daemon CPU: $(awk -v a="$cpu0" -v b="$(cpu)" -v hz="$(getconf CLK_TCK)" -v d="$DUR" \
    'BEGIN { printf "%.1f%% of a core", (b - a) / hz / d * 100 }')"
count() { sed -n 's/^agentwatchd_poll_lateness_seconds_count //p' "$1"; }
echo "polls started $(($(count "$TMP/m1") - $(count "$TMP/m0"))); lateness p50" \
    "$(hist_quantile "$TMP/m0" "$TMP/m1" poll_lateness_seconds 0.5)," \
    "p99 $(hist_quantile "$TMP/m0" "$TMP/m1" poll_lateness_seconds 0.99) (bucket bounds)"
"$PY" - "$TMP" <<'EOF'
import glob, sys
events = [sum(1 for l in open(f) if l.startswith("id: ")) for f in glob.glob(sys.argv[1] + "/sse.*")]
if events:
    print("SSE clients %d, events each: min %d max %d" % (len(events), min(events), max(events)))
EOF
printf '%-24s handler on the loop during the run: %s\n' /metrics "$(stats /metrics)"
