#!/bin/bash
# test_sse.sh: the Server-Sent Events stream: a client that reconnects with Last-Event-ID (or
# ?after=) across a daemon restart with state_dir gets every event once, in order, as the event log
# numbers them; a client that stops reading is cut off while a fast one gets everything and polls
# stay on schedule.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 100
A=1:170:1099 B=1:170:1100

# sse_ids FILE: the id: lines of a stream, space-separated
sse_ids() { sed -n 's/^id: //p' "$1" | tr '\n' ' ' | sed 's/ $//'; }
last_id() { sed -n 's/^id: //p' "$1" | tail -1; }
last_seq() { curl -sS --max-time 5 "$1/api/v1/events?limit=1&after=0" | "$AW_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["last_seq"])'; }
got_to() { [ "$(last_id "$1")" = "$2" ]; }
metric() { curl -sS --max-time 5 "$1/metrics" | sed -n "s/^agentwatchd_$2 //p"; }
stream() {   # stream URL OUT [curl options]: follows the stream in the background; sets CURL_PID
    local url=$1 out=$2; shift 2
    curl -sS -N --max-time 60 "$@" "$url/api/v1/events/stream" > "$out" 2>/dev/null &
    CURL_PID=$!
    aw_pids+=("$CURL_PID")
}

aw_start_sim sim
sim_set $A '"calls":["a1"]'
sim_set $B '"calls":[]'
mkdir -p "$AW_TMP/state"
aw_config "$AW_TMP/main.conf" '{ cc = 1; vdn = 170; ids = [ 1099, 1100 ]; }' "
poll = { interval = 0.2; };
outputs = { journal = false; };
state_dir = \"$AW_TMP/state\";
http = { listen = [ \"127.0.0.1:0\" ]; timeout = 2; };"

# --- first run: a client from the start of the log
aw_start_daemon one "$AW_TMP/main.conf"
ADDR=$(aw_http_addr one)
aw_need_http one "$ADDR"
U=http://$ADDR
stream "$U" "$AW_TMP/s1" -G -d after=0
settle 2 $A $B
sim_set $B '"calls":["b1"]'
settle 2 $B
n=$(last_seq "$U")
check "first run: the stream got every event up to $n" until_ok 10 got_to "$AW_TMP/s1" "$n"
expect_eq "first run: ids are the log's, from 1" "$(sse_ids "$AW_TMP/s1")" "$(seq -s ' ' 1 "$n")"
check "the data carries the same seq" grep -q "^data: {\"seq\":$n," "$AW_TMP/s1"
aw_stop $AW_PID >/dev/null
wait "$CURL_PID" 2>/dev/null
L=$(last_id "$AW_TMP/s1")

# --- while the daemon is down the calls change; the restart reports it
sim_set $A '"calls":[]'
sim_set $B '"calls":["b1","b2"]'
aw_start_daemon two "$AW_TMP/main.conf"
ADDR=$(aw_http_addr two)
aw_need_http two "$ADDR"
U=http://$ADDR
stream "$U" "$AW_TMP/s2" -H "Last-Event-ID: $L"
stream "$U" "$AW_TMP/s3" -G -d after="$L"
settle 2 $A $B
sim_set $A '"calls":["a2"]'
settle 2 $A
n=$(last_seq "$U")
check "after the restart the log goes on past $L (to $n)" test "$n" -gt "$((L + 2))"
check "Last-Event-ID: the stream resumes to $n" until_ok 10 got_to "$AW_TMP/s2" "$n"
expect_eq "Last-Event-ID: no gap, no repeat" "$(sse_ids "$AW_TMP/s2")" "$(seq -s ' ' $((L + 1)) "$n")"
check "?after= resumes the same way" until_ok 10 got_to "$AW_TMP/s3" "$n"
expect_eq "?after=: no gap, no repeat" "$(sse_ids "$AW_TMP/s3")" "$(seq -s ' ' $((L + 1)) "$n")"
curl -sS "$U/api/v1/events?after=0&limit=1000" > "$AW_TMP/all"
cat "$AW_TMP/s1" "$AW_TMP/s2" > "$AW_TMP/both"
expect_eq "both sessions together are the log, event for event" "$("$AW_PYTHON" - "$AW_TMP/all" "$AW_TMP/both" <<'EOF'
import json, sys
log = [json.dumps(e, sort_keys=True) for e in json.load(open(sys.argv[1]))["events"]]
seen = [json.dumps(json.loads(l[6:]), sort_keys=True) for l in open(sys.argv[2]) if l.startswith("data: ")]
print("same" if log == seen else "differ: %d vs %d" % (len(log), len(seen)))
EOF
)" same
check "the stream shows what happened while it was down (a1 ended after the restart)" \
    grep -q '"call.ended".*"call_id":"a1".*"after_restart":true' "$AW_TMP/s2"
expect_eq "a bad Last-Event-ID: 400" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Last-Event-ID: x' "$U/api/v1/events/stream")" 400
kill "$CURL_PID" 2>/dev/null
aw_stop $AW_PID >/dev/null

# --- a client that stops reading is cut off; a fast one and the polls are not held up
agents=""
for i in $(seq 3000 3019); do agents="$agents 1:172:$i"; done
aw_config "$AW_TMP/slow.conf" '{ cc = 1; vdn = 170; id = 1099; }, { cc = 1; vdn = 172; range = [ 3000, 3019 ]; }' "
poll = { interval = 0.2; };
outputs = { journal = false; };
http = { listen = [ \"127.0.0.1:0\" ]; timeout = 2; };"
aw_start_daemon slow "$AW_TMP/slow.conf"
ADDR=$(aw_http_addr slow)
aw_need_http slow "$ADDR"
U=http://$ADDR
settle 2 $A
stream "$U" "$AW_TMP/fast"
"$AW_PYTHON" - "$ADDR" <<'EOF' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.connect((host, int(port)))
s.sendall(b"GET /api/v1/events/stream?after=0 HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(60)   # never reads
EOF
aw_pids+=($!)
until_ok 5 holds '[ "$(metric "$U" http_streams)" = 2 ]'
calls() {   # calls PREFIX: 60 call ids
    local k out=""
    for k in $(seq 1 60); do out="$out\"$1-$k\","; done
    echo "${out%,}"
}
polls_before=$(aw_polls_since_set $A)
for round in 1 2 3 4 5 6; do
    for a in $agents; do sim_set "$a" "\"calls\":[$(calls "r$round")]"; done
    pause 0.5
done
check "the stuck client is cut off" until_ok 30 holds '[ "$(metric "$U" http_streams_cut_total)" -ge 1 ]'
expect_eq "only the stuck one" "$(metric "$U" http_streams)" 1
n=$(last_seq "$U")
check "over 10000 events went by ($n)" test "$n" -gt 10000
check "the fast client got all $n" until_ok 20 got_to "$AW_TMP/fast" "$n"
expect_eq "the fast client: no gap, no repeat" "$(sse_ids "$AW_TMP/fast" | tr ' ' '\n' | "$AW_PYTHON" -c '
import sys
ids = [int(l) for l in sys.stdin if l.strip()]
print("ok" if ids == list(range(ids[0], ids[0] + len(ids))) else "gap or repeat")')" ok
polls_after=$(aw_polls_since_set $A)
check "an untouched agent kept being polled ($polls_before -> $polls_after)" test $((polls_after - polls_before)) -ge 10
curl -sS "$U/metrics" > "$AW_TMP/metrics"
late1=$(sed -n 's/^agentwatchd_poll_lateness_seconds_bucket{le="1"} //p' "$AW_TMP/metrics")
count=$(sed -n 's/^agentwatchd_poll_lateness_seconds_count //p' "$AW_TMP/metrics")
skipped=$(sed -n 's/^agentwatchd_poll_slots_skipped_total //p' "$AW_TMP/metrics")
expect_eq "every poll started within 1 s of its deadline" "$late1" "$count"
# A slot is skipped when the previous poll is still under way (0.2 s here): rare on a loaded
# machine, never a stalled loop, which would skip every agent's slots.
check "hardly a poll slot skipped ($skipped of $count polls)" test $((skipped * 10)) -le "$count"
check "the daemon stops cleanly" aw_stop $AW_PID
aw_done
