#!/bin/bash
# bench/webhook.sh: webhook delivery throughput, unbatched and batched, and the cost of the disk
# spool (events accepted per second while no receiver takes them). See bench/README.md.
set -eu

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${AW_BUILD:-$SRC/build}
EVENTS=${BENCH_EVENTS:-10000}   # below the memory ring (16384), so the memory spool loses none
TMP=$(mktemp -d "${TMPDIR:-/tmp}/aw-webhook-bench.XXXXXX")
sink=
trap '[ -n "$sink" ] && kill $sink 2>/dev/null; rm -rf "$TMP"' EXIT

make -C "$BUILD" -s bench/webhook >/dev/null
python3 "$SRC/bench/sink.py" --port-file "$TMP/port" & sink=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$TMP/port")/hook

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
for batch in 1 10 100; do
	for spool in memory disk; do
		dir=-
		[ "$spool" = disk ] && { dir=$TMP/state-$batch; mkdir -p "$dir"; }
		"$BUILD/bench/webhook" "$EVENTS" "$batch" "$dir" "$url"
	done
done
