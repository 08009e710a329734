#!/bin/bash
# test_stdout_pipe.sh: stdout is a pipe whose reader stalls, then takes a few bytes at a time,
# then catches up: every event arrives on it once, whole and in the event log's order, nothing
# is dropped, and the loop goes on meanwhile (the buffered writer's partial writes, the moves
# of what is left to the buffer's front, and its growth).
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
aw_budget 45

N=2000      # agents: their initial agent.state events make about 700 KB, ten pipes' worth
aw_start_sim sim --random 7
mkdir -p "$AW_TMP/state"
AW_API=batch aw_config "$AW_TMP/d.conf" "{ cc = 1; vdn = 170; range = [ 1000, $((1000 + N - 1)) ]; }" "
poll = { interval = 1.0; agent_state = true; };
outputs = { journal = false; stdout = true; };
state_dir = \"$AW_TMP/state\";
http = { listen = [ \"unix:$AW_TMP/http.sock\" ]; };"

# The reader: nothing for 3 s, then 1 KiB every 2 ms for 2 s, then everything to the end.
mkfifo "$AW_TMP/out.fifo"
"$AW_PYTHON" -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
out = open(sys.argv[2], "wb")
time.sleep(3)
end = time.monotonic() + 2
while time.monotonic() < end:
    out.write(os.read(fd, 1024))
    time.sleep(0.002)
while True:
    b = os.read(fd, 65536)
    if not b:
        break
    out.write(b)
out.close()' "$AW_TMP/out.fifo" "$AW_TMP/d.out" &
READER=$!
aw_pids+=("$READER")
"$AW_BIN" -c "$AW_TMP/d.conf" >"$AW_TMP/out.fifo" 2>"$AW_TMP/d.err" &
AW_PID=$!
aw_pids+=("$AW_PID")

api() { curl -sS --max-time 5 --unix-socket "$AW_TMP/http.sock" "http://x$1"; }
events_at_least() {
    [ "$(api /metrics | awk '$1 ~ /^agentwatchd_events_total/ { n += $2 } END { print n + 0 }')" -ge "$1" ]
}
pause 1
check "the loop answers while the reader stalls" until_ok 5 events_at_least $N
pause 6
kill -USR1 "$AW_PID"
until_ok 5 grep -q 'counters: events' "$AW_TMP/d.err"
# The event log, oldest first, by pages of the API's largest limit: the ids in order.
"$AW_PYTHON" -c '
import json, subprocess, sys
after, ids = 0, []
while True:
    page = json.loads(subprocess.run(["curl", "-sS", "--max-time", "5", "--unix-socket", sys.argv[1],
        "http://x/api/v1/events?after=%d&limit=1000" % after], capture_output=True, check=True).stdout)
    events = page["events"] if isinstance(page, dict) else page
    if not events:
        break
    ids += [e["id"] for e in events]
    after = events[-1]["seq"]
print("\n".join(ids))' "$AW_TMP/http.sock" > "$AW_TMP/log.ids"
aw_stop "$AW_PID" 10
expect_eq "SIGTERM -> exit 0" "$?" 0
for ((i = 0; i < 100; i++)); do kill -0 "$READER" 2>/dev/null || break; sleep 0.1; done

expect_grep "nothing dropped on stdout" 'counters: events [0-9]+ stdout_dropped 0 ' "$AW_TMP/d.err"
check "the log holds the burst (at least $N events)" [ "$(wc -l < "$AW_TMP/log.ids")" -ge "$N" ]
expect_eq "every line on the pipe is one whole JSON event" "$("$AW_PYTHON" -c '
import json, sys
bad = 0
for line in open(sys.argv[1], "rb"):
    try:
        json.loads(line)["id"]
    except (ValueError, KeyError):
        bad += 1
print(bad)' "$AW_TMP/d.out")" 0
# The pipe may carry a few more (emitted after the log was read): the log's ids come first.
expect_eq "the pipe carries the log's events, each once, in its order" \
    "$("$AW_PYTHON" -c '
import json, sys
pipe = [json.loads(l)["id"] for l in open(sys.argv[1], "rb")]
log = open(sys.argv[2]).read().split()
print("same" if pipe[:len(log)] == log and len(set(pipe)) == len(pipe) else
      "differ: %d on the pipe, %d in the log" % (len(pipe), len(log)))' "$AW_TMP/d.out" "$AW_TMP/log.ids")" same
aw_done
