#!/bin/bash
# test_lock.sh: two daemons on one state_dir: the second refuses to start and names the first's
# PID, before it reads or writes anything there; a reload of the first keeps the lock; once the
# first has stopped, a new one starts on the same directory.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 40

A=1:170:1099
aw_start_sim sim
sim_set $A '"calls":["a1"]'
STATE=$AW_TMP/state
aw_config "$AW_TMP/main.conf" '{ cc = 1; vdn = 170; id = 1099; }' "
poll = { interval = 0.2; };
outputs = { journal = false; stdout = true; };
state_dir = \"$STATE\";"

aw_start_daemon first "$AW_TMP/main.conf"
FIRST=$AW_PID
settle 2 $A
events_are first "the first daemon reports the baseline" $A 'call.started:a1+initial' \
    'agent.busy+initial'
seg_before=$(cat "$STATE"/events-*.log | wc -l)

# second NAME: a second daemon on the same state_dir; its exit status (bounded).
second() {
    aw_start_daemon "$1" "$AW_TMP/main.conf"
    local pid=$AW_PID
    until_ok 10 bash -c "! kill -0 $pid" || kill -KILL "$pid"
    wait "$pid"
}
second second
expect_eq "a second daemon on the same state_dir exits 1" "$?" 1
expect_grep "... saying the directory is in use, by the first daemon's PID" \
    "state_dir $STATE is in use by another agentwatchd \\(PID $FIRST, " "$AW_TMP/second.err"
expect_eq "... reporting nothing" "$(wc -l < "$AW_TMP/second.out")" 0
expect_eq "... and writing nothing to the event log" "$(cat "$STATE"/events-*.log | wc -l)" \
    "$seg_before"

kill -HUP "$FIRST"
until_ok 10 grep -q 'reloaded' "$AW_TMP/first.err" || fail "the first daemon reloads"
second third
expect_eq "after a reload of the first, a second one still refuses" "$?" 1
expect_grep "... naming the first's PID" "in use by another agentwatchd \\(PID $FIRST, " \
    "$AW_TMP/third.err"
check "the first daemon still runs" kill -0 "$FIRST"

aw_stop "$FIRST"
expect_eq "the first daemon stops cleanly" "$?" 0
aw_start_daemon fourth "$AW_TMP/main.conf"
FOURTH=$AW_PID
settle 2 $A
check "after the first stopped, a new daemon starts on the directory" kill -0 "$FOURTH"
events_are fourth "... restoring its state (no call.started again)" $A
aw_stop "$FOURTH"
expect_eq "... and stops cleanly" "$?" 0
check "no lock message when nothing competes" bash -c "! grep -q 'in use' '$AW_TMP/fourth.err'"

aw_done
