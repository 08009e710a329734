#!/bin/bash
# test_corrupt_state.sh: a state file that is empty, half written or random bytes, with the event
# log intact: the file is moved aside (agents.state.corrupt-TIME, logged as an error) and the state
# is rebuilt as a missing file's would be: from the previous state file plus the log after it, or
# from the whole log. So no call.started is repeated for a call already reported, and a call that
# ended while no daemon ran gets its call.ended (after_restart). Only when the log no longer
# reaches back to its first event is there a fresh baseline, and the log says why.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 60

A=1:170:1099 B=1:170:1100
aw_start_sim sim
sim_set $A '"calls":["a0","a1"]'
sim_set $B '"calls":[]'
STATE=$AW_TMP/state
aw_config "$AW_TMP/main.conf" '{ cc = 1; vdn = 170; ids = [ 1099, 1100 ]; }' "
poll = { interval = 0.2; };
outputs = { journal = false; stdout = true; };
state_dir = \"$STATE\";"

# Run 0: the baseline is saved at once; a later change makes the save at stop the second one,
# so the first becomes agents.state.prev.
aw_start_daemon r0 "$AW_TMP/main.conf"
settle 2 $A $B
events_are r0 "run 0: baseline" $A 'call.started:a0+initial' 'call.started:a1+initial' \
    'agent.busy+initial'
pause 1.5
sim_set $B '"calls":["b1"]'
settle 2 $B
events_are r0 "run 0: a call starts" $B 'call.started:b1' 'agent.busy'
aw_stop "$AW_PID"
expect_eq "run 0: SIGTERM -> exit 0" "$?" 0
check "run 0: the previous state file is kept" test -s "$STATE/agents.state.prev"

corrupt() {   # corrupt FILE KIND
    case $2 in
    empty) : > "$1" ;;
    half) truncate -s $(($(stat -c %s "$1") / 2)) "$1" ;;
    random) head -c 400 /dev/urandom > "$1" ;;
    esac
}
moved() { ls "$STATE"/$1.corrupt-* 2>/dev/null | wc -l; }

# restart N KIND PREV: a1 (aN) ends and aN+1 begins while no daemon runs; then the state file is
# corrupted as KIND, and the previous one is left (keep), removed (gone) or corrupted too.
restart() {
    local n=$1 kind=$2 prev=$3 next=$(($1 + 1)) before
    sim_set $A "\"calls\":[\"a0\",\"a$next\"]"
    before=$(moved agents.state)
    corrupt "$STATE/agents.state" "$kind"
    case $prev in
    gone) rm -f "$STATE/agents.state.prev" ;;
    random) corrupt "$STATE/agents.state.prev" random ;;
    esac
    aw_start_daemon c$n "$AW_TMP/main.conf"
    settle 2 $A $B
    check "$kind state file ($prev previous): the daemon runs" kill -0 "$AW_PID"
    expect_grep "$kind state file: an error, moved aside" \
        "agents.state: .*; moved aside to $STATE/agents.state.corrupt-[0-9]{8}T[0-9]{6}Z" \
        "$AW_TMP/c$n.err"
    expect_eq "$kind state file: one more agents.state.corrupt-TIME" "$(moved agents.state)" \
        $((before + 1))
    events_are c$n "$kind state file ($prev previous): no call.started again, the call that ended meanwhile ends (after_restart), the new one starts" \
        $A "call.ended:a$n,after_restart=True" "call.started:a$next"
    events_are c$n "$kind state file ($prev previous): nothing for an agent whose call goes on" $B
    check "$kind state file: no fresh baseline" bash -c "! grep -q 'fresh baseline' '$AW_TMP/c$n.err'"
    aw_stop "$AW_PID"
    expect_eq "$kind state file: SIGTERM -> exit 0" "$?" 0
}
restart 1 empty keep
expect_grep "empty state file: restored from the previous one" \
    'restored agent state from .*previous state file agents.state.prev' "$AW_TMP/c1.err"
restart 2 half gone
expect_grep "half state file, no previous one: the whole log replayed" \
    'restored agent state from .*no state file, [1-9][0-9]* events replayed' "$AW_TMP/c2.err"
restart 3 random random
expect_grep "random bytes in both state files: the previous one is moved aside too" \
    "agents.state.prev: .*; moved aside to $STATE/agents.state.prev.corrupt-" "$AW_TMP/c3.err"
expect_grep "random bytes in both state files: the whole log replayed" \
    'restored agent state from .*no state file, [1-9][0-9]* events replayed' "$AW_TMP/c3.err"

# The log's oldest segment no longer starts at event 1 (as after trimming) and no state file is
# usable: nothing can rebuild the state, so a fresh baseline, with the reason.
sim_set $A '"calls":["a0","a5"]'
corrupt "$STATE/agents.state" random
rm -f "$STATE/agents.state.prev"
segs=("$STATE"/events-*.log)
mv "${segs[0]}" "$STATE/events-00000000000000000003.log"
aw_start_daemon t "$AW_TMP/main.conf"
settle 2 $A $B
expect_grep "log trimmed past its start, no state file: the reason is logged" \
    'no usable state file, and the event log holds events from 3 on only: it cannot rebuild .*fresh baseline' \
    "$AW_TMP/t.err"
events_are t "log trimmed past its start: a fresh baseline (initial)" $A \
    'call.started:a0+initial' 'call.started:a5+initial' 'agent.busy+initial'
aw_stop "$AW_PID"
expect_eq "log trimmed past its start: SIGTERM -> exit 0" "$?" 0
expect_no_secret "the CMS secret is never printed" "$AW_TMP"/*.out "$AW_TMP"/*.err

aw_done
