#!/bin/bash
# bench/webhook.sh: webhook delivery with receivers 0, 10 and 50 ms away (bench/sink.py answers each
# request that long after it came), with the default settings (one event per request, several
# requests in flight) and with batch_max = 100; the drain time of a 100,000-event backlog on
# disk; and 10,000 agents unreachable then reachable again, delivered to an Alertmanager-like
# sink (one alert each: 20,000 alerts), with the CPU it took. See bench/README.md.
set -eu

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${AW_BUILD:-$SRC/build}
BENCH=${AW_BENCH:-$BUILD/bench/webhook}   # another build's bench/webhook, e.g. of the base commit
EVENTS=${BENCH_EVENTS:-10000}             # per rate row; below the memory ring, so none is lost
SLOW_EVENTS=${BENCH_SLOW_EVENTS:-$EVENTS}  # rows with a far receiver and batch_max 1
BACKLOG=${BENCH_BACKLOG:-100000}
AGENTS=${BENCH_AGENTS:-10000}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/aw-webhook-bench.XXXXXX")
sink=
trap '[ -n "$sink" ] && kill $sink 2>/dev/null; rm -rf "$TMP"' EXIT

[ -n "${AW_BENCH:-}" ] || make -C "$BUILD" -s bench/webhook >/dev/null
# start_sink LATENCY: sets url
start_sink() {
	[ -n "$sink" ] && { kill $sink; wait $sink 2>/dev/null || true; }
	rm -f "$TMP/port"
	python3 "$SRC/bench/sink.py" --port-file "$TMP/port" --latency "$1" & sink=$!
	for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
	url=http://127.0.0.1:$(cat "$TMP/port")/hook
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
for latency in 0 0.01 0.05; do
	start_sink $latency
	echo "receiver $latency s away:"
	for batch in 1 100; do
		n=$EVENTS
		[ "$batch" = 1 ] && [ "$latency" != 0 ] && n=$SLOW_EVENTS
		"$BENCH" "$n" "$batch" - "$url"
	done
done
start_sink 0.05
echo "backlog of $BACKLOG events on disk, receiver 0.05 s away:"
for batch in 1 100; do
	rm -rf "$TMP/state"; mkdir "$TMP/state"
	"$BENCH" "$BACKLOG" "$batch" "$TMP/state" "$url"
done
start_sink 0
echo "$AGENTS agents unreachable, then reachable: alerts to an Alertmanager-like sink:"
rm -rf "$TMP/state"; mkdir "$TMP/state"
"$BENCH" $((2 * AGENTS)) 1 "$TMP/state" "$url" 32 alertmanager
