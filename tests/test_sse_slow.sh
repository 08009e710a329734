#!/bin/bash
# test_sse_slow.sh: 200 slow event-stream clients and a few stuck ones (tests/sseslow.py, one
# process) while thousands of events flow from batch polls: polls stay on schedule, the stuck ones
# are cut off, the daemon's memory stays bounded, /healthz answers, a fast client misses nothing.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 45
export AW_API=batch
SLOW=200 STUCK=5 AGENTS=30 CALLS=40 ROUNDS=4
U0=1:170:1099
metric() { curl -sS --max-time 5 "$1/metrics" | sed -n "s/^agentwatchd_$2 //p"; }
last_seq() { curl -sS --max-time 5 "$1/api/v1/events?limit=1&after=0" | "$AW_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["last_seq"])'; }
last_id() { sed -n 's/^id: //p' "$1" | tail -1; }
got_to() { [ "$(last_id "$1")" = "$2" ]; }
at_least() { [ "$(metric "$1" "$2")" -ge "$3" ]; }   # at_least URL METRIC N
kib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }

# Per connection the daemon holds at most HTTP_MEMORY_PER_CONNECTION (64 KiB: headers and output
# buffer, http.h), one STREAM_BLOCK (8 KiB, http.c) and one pending frame (an event, < 4 KiB):
# under 80 KiB, so 206 streams take under 17 MiB; events wait in the kernel's send buffer (64 KiB,
# httplisten.c, not the daemon's RSS) or in the event log on disk. 32 MiB of growth leaves room for
# the allocator; a stream that buffered what its client has not read (10,000 events of ~400 bytes)
# would take 4 MiB each, 800 MiB for 200. Seen: 18 MiB; 108 MiB with 1 MiB per connection.
# ASan's shadow, redzones and quarantine (kept small here) add more: seen 66 MiB; 160 MiB with 1 MiB.
RSS_MAX_MIB=32
if [ -n "$(aw_asan_runtime)" ]; then
    RSS_MAX_MIB=128
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
fi

aw_start_sim sim
sim_set $U0 '"calls":["u1"]'
mkdir -p "$AW_TMP/state"
aw_config "$AW_TMP/slow.conf" "{ cc = 1; vdn = 170; id = 1099; }, { cc = 1; vdn = 172; range = [ 3000, $((3000 + AGENTS - 1)) ]; }" "
poll = { interval = 0.3; };
outputs = { journal = false; };
state_dir = \"$AW_TMP/state\";
http = { listen = [ \"127.0.0.1:0\" ]; timeout = 5; max_connections = 300; };"
aw_start_daemon slow "$AW_TMP/slow.conf"
ADDR=$(aw_http_addr slow)
aw_need_http slow "$ADDR"
U=http://$ADDR
settle 3 $U0
rss0=$(kib $AW_PID VmRSS)
start=$SECONDS

curl -sS -N --max-time 60 "$U/api/v1/events/stream?after=0" > "$AW_TMP/fast" 2>/dev/null &
FAST_PID=$!
aw_pids+=("$FAST_PID")
"$AW_PYTHON" "$AW_SRC/tests/sseslow.py" "$ADDR" $SLOW $STUCK 25 300 > "$AW_TMP/clients.json" &
CLIENTS_PID=$!
aw_pids+=("$CLIENTS_PID")
check "all $((SLOW + STUCK + 1)) streams are open" \
    until_ok 15 at_least "$U" http_streams $((SLOW + STUCK + 1))

# /healthz, every half second for the whole run: the slowest answer
( while kill -0 "$CLIENTS_PID" 2>/dev/null; do
      curl -sS -o /dev/null --max-time 10 -w '%{http_code} %{time_total}\n' "$U/healthz" || echo "000 10"
      sleep 0.5
  done ) > "$AW_TMP/healthz" 2>/dev/null &
aw_pids+=($!)

polls_before=$(aw_polls_since_set $U0)
calls() {   # calls PREFIX: CALLS call ids
    local k out=""
    for k in $(seq 1 $CALLS); do out="$out\"$1-$k\","; done
    echo "${out%,}"
}
for round in $(seq 1 $ROUNDS); do
    for i in $(seq 3000 $((3000 + AGENTS - 1))); do sim_set "1:172:$i" "\"calls\":[$(calls "r$round")]"; done
    pause 0.6
done
n=$(last_seq "$U")
check "thousands of events went by ($n)" test "$n" -gt 5000
check "the stuck clients are cut off" until_ok 20 at_least "$U" http_streams_cut_total $STUCK
check "the fast client got all $n" until_ok 15 got_to "$AW_TMP/fast" "$n"
expect_eq "the fast client: no gap, no repeat" "$(sed -n 's/^id: //p' "$AW_TMP/fast" | "$AW_PYTHON" -c '
import sys
ids = [int(l) for l in sys.stdin if l.strip()]
print("ok" if ids == list(range(1, len(ids) + 1)) else "gap or repeat")')" ok
polls_after=$(aw_polls_since_set $U0)
check "an untouched agent kept being polled ($polls_before -> $polls_after)" \
    test $((polls_after - polls_before)) -ge 10

wait "$CLIENTS_PID"
hwm=$(kib $AW_PID VmHWM)
growth=$(( (hwm - rss0) / 1024 ))
check "peak RSS grew by $growth MiB ($rss0 -> $hwm KiB), under $RSS_MAX_MIB MiB" test "$growth" -lt $RSS_MAX_MIB
cat "$AW_TMP/clients.json"
field() { "$AW_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$AW_TMP/clients.json" "$1"; }
expect_eq "every slow client got the stream" "$(field slow_ok)" $SLOW
expect_eq "every stuck client got the stream" "$(field stuck_ok)" $STUCK
expect_eq "every stuck client was closed by the daemon" "$(field stuck_closed)" $STUCK
check "the slow clients read on ($(field slow_bytes_min) bytes at least)" test "$(field slow_bytes_min)" -gt 1000

worst=$(sort -k2 -g "$AW_TMP/healthz" | tail -1)
check "/healthz answered 200 every time, within 2 s (slowest: $worst; $(wc -l < "$AW_TMP/healthz") asked)" \
    awk '$1 != 200 || $2 > 2 { bad = 1 } END { exit bad || NR < 10 }' "$AW_TMP/healthz"
curl -sS "$U/metrics" > "$AW_TMP/metrics"
late1=$(sed -n 's/^agentwatchd_poll_lateness_seconds_bucket{le="1"} //p' "$AW_TMP/metrics")
count=$(sed -n 's/^agentwatchd_poll_lateness_seconds_count //p' "$AW_TMP/metrics")
skipped=$(sed -n 's/^agentwatchd_poll_slots_skipped_total //p' "$AW_TMP/metrics")
grep '^agentwatchd_poll_lateness_seconds_bucket' "$AW_TMP/metrics" | tr '\n' ' '; echo
expect_eq "every poll started within 1 s of its deadline" "$late1" "$count"
check "hardly a poll slot skipped ($skipped of $count polls)" test $((skipped * 10)) -le "$count"
echo "the run took $((SECONDS - start)) s; $n events"
check "the daemon stops cleanly" aw_stop $AW_PID
aw_done
