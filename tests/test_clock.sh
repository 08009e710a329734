#!/bin/bash
# test_clock.sh: the wall clock steps while the daemon runs (tests/clockshift.c shifts only its
# CLOCK_REALTIME, gettimeofday and time; its timers run on). A step back 10 min does not make a
# call long, and call.long comes after long_call seconds of observed time, once; a step forward
# 2 h leaves durations at observed time while `time` jumps; and a real Alertmanager accepts the
# re-send and the resolve of an alert that fired before a step back, which resolves it; and a
# restart across a step keeps an open call's observed time.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 90

AM_BIN=${ALERTMANAGER:-$(command -v prometheus-alertmanager || command -v alertmanager)}
if [ -z "$AM_BIN" ]; then
    echo "SKIP - prometheus-alertmanager is not installed"
    exit 77
fi

A=1:170:1099 B=1:170:1100 C=1:170:1101
SHIFT=$AW_TMP/shift
export AW_CLOCKSHIFT_FILE=$SHIFT
PRELOAD=$(aw_preload clockshift) || { echo "cannot build the clockshift shim"; exit 99; }

step_to() {   # step_to SECONDS: the daemon's wall clock reads real time + SECONDS from now on
    echo "$1" > "$SHIFT.new" && mv "$SHIFT.new" "$SHIFT"
}
now() { echo "$EPOCHREALTIME"; }
sleep_until() {   # sleep_until EPOCH SECONDS: sleeps until SECONDS after EPOCH
    "$AW_PYTHON" -c 'import sys, time; time.sleep(max(0.0, float(sys.argv[1]) + float(sys.argv[2]) - time.time()))' "$1" "$2"
}

# q EXPRESSION: evaluates EXPRESSION over the daemons' events (ev: the list; the helpers below).
q() {
    cat "$AW_TMP"/d*.out | "$AW_PYTHON" -c '
import datetime, json, sys
ev = [json.loads(l) for l in sys.stdin if l.endswith("\n")]
def t(s): return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
def of(typ, call): return [e for e in ev if e["type"] == typ and e.get("call_id") == call]
def one(typ, call): return of(typ, call)[0]
def real(e, shift): return t(e["time"]) - shift
print(eval(sys.argv[1]))' "$1"
}
has() { [ "$(q "len(of('$1', '$2'))")" -ge 1 ]; }
is_true() { [ "$(q "$1")" = True ]; }

# --- Alertmanager on loopback, as tests/test_alertmanager.sh starts it.
AM_PORT=$("$AW_PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
printf 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n' > "$AW_TMP/am.yml"
"$AM_BIN" --config.file="$AW_TMP/am.yml" --storage.path="$AW_TMP/am-data" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$AW_TMP/am.log" 2>&1 &
aw_pids+=($!)
if ! until_ok 15 curl -sf --max-time 1 "http://127.0.0.1:$AM_PORT/-/ready" -o /dev/null; then
    echo "alertmanager did not start:"; tail -20 "$AW_TMP/am.log"; exit 99
fi
# am_unreachable KEY: KEY of agent C's AgentUnreachable as Alertmanager lists it (exit 1: none)
am_unreachable() {
    curl -sf --max-time 2 "http://127.0.0.1:$AM_PORT/api/v2/alerts" | "$AW_PYTHON" -c '
import json, sys
hits = [a for a in json.load(sys.stdin) if a["labels"].get("alertname") == "AgentUnreachable"
        and a["labels"].get("agent") == "1101"]
if len(hits) != 1:
    sys.exit(1)
print(hits[0]["status"]["state"] if sys.argv[1] == "state" else hits[0][sys.argv[1]])' "$1"
}
am_active() { [ "$(am_unreachable state)" = active ]; }
am_gone() { ! am_unreachable state >/dev/null; }
am_updated_after() {   # am_updated_after EPOCH: Alertmanager heard of the alert since then
    "$AW_PYTHON" -c '
import datetime, sys
u = datetime.datetime.fromisoformat(sys.argv[1][:26].rstrip("Z") + "+00:00").timestamp()
sys.exit(0 if u > float(sys.argv[2]) else 1)' "$(am_unreachable updatedAt)" "$1"
}

# The CMS checks request timestamps against its own clock: allow the daemon's steps.
aw_start_sim sim --skew 100000
sim_set $A '"calls":[]'
sim_set $B '"calls":[]'
sim_set $C '"fault":"http:503"'
aw_config "$AW_TMP/d.conf" '{ cc = 1; vdn = 170; ids = [ 1099, 1100, 1101 ]; }' "
poll = { interval = 0.5; failure_threshold = 2; backoff_max = 1.0; };
alerts = { long_call = 8.0; };
state_dir = \"$AW_TMP/state\";
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://127.0.0.1:$AM_PORT/api/v2/alerts\"; format = \"alertmanager\"; timeout = 2.0; }
); };"

# The host's clock runs 10 min fast at the start; it is stepped back to the right time later.
step_to 600
start_daemon() { LD_PRELOAD=$PRELOAD aw_start_daemon "$1" "$AW_TMP/d.conf"; }
start_daemon d1
D1=$AW_PID
settle 2 $A $B
check "agent C: AgentUnreachable active in Alertmanager (started 10 min in its future)" \
    until_ok 10 am_active

# --- (1) A call is 3 s old when the wall clock steps back 10 min: call.long after 8 s, once.
# Event times are the daemon's wall clock; minus the shift in force, they are real times.
sim_set $A '"calls":["x1"]'
check "(1) call.started x1" until_ok 5 has call.started x1
t0=$(q "real(one('call.started', 'x1'), 600)")
sleep_until "$t0" 3
step_to 0
sleep_until "$t0" 5
expect_eq "(1) no call.long 5 s into the call, 2 s after the step back" \
    "$(q "len(of('call.long', 'x1'))")" 0
check "(1) call.long once the call has been seen for 8 s" until_ok 15 has call.long x1
pause 1.5
expect_eq "(1) exactly one call.long" "$(q "len(of('call.long', 'x1'))")" 1
d=$(q "one('call.long', 'x1')['duration']")
check "(1) its duration is observed time: 8 s, not 0 (got $d)" is_true "8.0 <= $d < 20"
check "(1) ... exactly the real time between the two polls; its time is the stepped wall clock" \
    is_true "abs($d - (real(one('call.long', 'x1'), 0) - $t0)) < 0.1"
check "(1) call_first_seen is the call.started's time" \
    is_true "one('call.long', 'x1')['call_first_seen'] == one('call.started', 'x1')['time']"

# --- (3) Alertmanager: AgentUnreachable fired before the step back (startsAt is now 10 min in
# the future). The restarted daemon re-sends it at once: accepted, the alert stays active.
aw_stop "$D1"
expect_eq "d1: SIGTERM -> exit 0" "$?" 0
t_restart=$(now)
start_daemon d2
D2=$AW_PID
check "(3) the re-send after the step back is accepted by Alertmanager" \
    until_ok 10 am_updated_after "$t_restart"
check "(3) ... and the alert stays active" am_active
sim_set $C '"fault":null'
check "(3) agent.reachable" until_ok 8 is_true "any(e['type'] == 'agent.reachable' for e in ev)"
check "(3) the resolve is accepted: Alertmanager no longer lists the alert as active" \
    until_ok 10 am_gone
check "(3) nothing was refused (no dead letters)" test ! -e "$AW_TMP/state/deadletter.jsonl"
check "(3) no webhook failure logged" bash -c "! grep -iE 'webhook|HTTP 4' '$AW_TMP/d1.err' '$AW_TMP/d2.err'"

# --- (2) Calls seen 3 and 5 s; the wall clock steps 2 h forward 1.5 s into them.
sim_set $B '"calls":["b1","b2"]'
check "(2) call.started b1 and b2" until_ok 5 has call.started b2
t0=$(q "real(one('call.started', 'b2'), 0)")
sleep_until "$t0" 1.5
step_to 7200
sleep_until "$t0" 3
sim_set $B '"calls":["b2"]'
sleep_until "$t0" 5
sim_set $B '"calls":[]'
check "(2) call.ended b2" until_ok 10 has call.ended b2
for c in b1 b2; do
    d=$(q "one('call.ended', '$c')['duration']")
    check "(2) $c's duration is observed time, seconds, not 2 h (got $d)" is_true "2.0 <= $d < 60"
    check "(2) ... exactly the real time between the polls, while its time jumped 2 h" \
        is_true "abs($d - (real(one('call.ended', '$c'), 7200) - real(one('call.started', '$c'), 0))) < 0.1"
done
expect_eq "(2) no call.long: neither call lasted 8 s" \
    "$(q "len(of('call.long', 'b1') + of('call.long', 'b2'))")" 0

# --- (4) A restart while the wall clock is stepped 2 h back: the open call keeps its observed time.
sim_set $B '"calls":["y1"]'
check "(4) call.started y1" until_ok 5 has call.started y1
t0=$(q "real(one('call.started', 'y1'), 7200)")
sleep_until "$t0" 3
aw_stop "$D2"
expect_eq "d2: SIGTERM -> exit 0" "$?" 0
step_to 0
start_daemon d3
D3=$AW_PID
settle 2 $B
sleep_until "$t0" 6
sim_set $B '"calls":[]'
check "(4) call.ended y1" until_ok 10 has call.ended y1
d=$(q "one('call.ended', 'y1')['duration']")
check "(4) its duration spans the restart: observed time, not 2 h less nor clamped to 0 (got $d)" \
    is_true "abs($d - (real(one('call.ended', 'y1'), 0) - $t0)) < 0.1 and $d >= 5.5"
expect_eq "(4) still open after the restart: no after_restart" \
    "$(q "one('call.ended', 'y1').get('after_restart', False)")" False

aw_stop "$D3"
expect_eq "d3: SIGTERM -> exit 0" "$?" 0
aw_done
