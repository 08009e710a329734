#!/bin/bash
# test_restart_state.sh: restarts with state_dir in batch mode with agent state on, over TLS against
# the simulator. After a SIGKILL (state file plus the event log) and with calls and CTI states
# changing while no daemon ran: no agent.state again (no second "initial"), a call.status on the
# first poll for a call whose status changed while down (previous_call_status the one reported
# before), call.ended after_restart for calls that ended, call.started (not initial) for new ones,
# agent.state (not initial, previous_state the one reported before) for states that changed, no
# agent.long_state again for the same stint, a new stint when the agent left the state and came back
# while down (the CMS's time in it went back). After a SIGTERM with nothing changed: no event at all;
# with a status and a state changed: call.status and agent.state from the state file's values.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
aw_budget 60

A=1:170:1099 B=1:170:1100 C=1:170:1101 D=1:170:1102 E=1:170:1103 F=1:170:1104 G=1:170:1105
H=1:170:1106
ALL="$A $B $C $D $E $F $G $H"

# killed PID: SIGKILL without bash's "Killed" notice in the log.
killed() {
    exec 3>&2 2>/dev/null
    kill -KILL "$1"
    wait "$1"
    exec 2>&3 3>&-
}
call() {   # call ID STATUS [INOUT]: a call object of the batch answer
    printf '{"callId":"%s","callStatus":%d,"callInOut":%d,"mediaType":5}' "$1" "$2" "${3:-0}"
}
state() {   # state CODE: a CTI state entry, 30 s in it
    printf '"state":{"currentState":%d,"currentStateTime":30}' "$1"
}

aw_start_sim sim
# Every agent has a fixed CTI state, so each one's state events follow only what the test sets.
sim_set $A "\"calls\":[$(call a1 4)],$(state 4)"          # alerting; answering
sim_set $B "\"calls\":[$(call b1 5)],$(state 5)"          # talking
sim_set $C "\"calls\":[],$(state 1)"                      # idle
sim_set $D "\"calls\":[],$(state 1)"
sim_set $E "\"calls\":[$(call e1 5)],$(state 5)"
sim_set $F "\"calls\":[],$(state 7)"                      # busy
sim_set $G "\"calls\":[],$(state 1)"
sim_set $H "\"calls\":[],$(state 1)"

STATE=$AW_TMP/state
AW_API=batch aw_config "$AW_TMP/main.conf" \
    '{ cc = 1; vdn = 170; range = [ 1099, 1106 ]; }' "
poll = { interval = 0.3; failure_threshold = 2; backoff_max = 1.0; agent_state = true; };
alerts = { long_state = { busy = 3600.0; wrap_up = 20.0; }; };
outputs = { journal = false; stdout = true; };
state_dir = \"$STATE\";"

# --- Run 1: the baseline (saved in the state file), then changes only the event log holds.
aw_start_daemon r1 "$AW_TMP/main.conf"
R1=$AW_PID
settle_state 2 $ALL
events_are r1 "run 1: baseline with call detail and the initial state" $A \
    'call.started:a1+initial,call_status=alerting,direction=inbound,media=phone' \
    'agent.busy+initial' 'agent.state+initial,state=answering'
events_are r1 "run 1: baseline, an idle agent" $C 'agent.state+initial,state=idle,state_code=1'
until_ok 5 test -s "$STATE/agents.state" || fail "run 1: the state file is saved"
sim_set $A "\"calls\":[$(call a1 5)],$(state 5)"          # answered: talking
sim_set $C "\"calls\":[],$(state 8)"                      # rest
sim_set $G "\"calls\":[],$(state 6)"                      # wrap-up for 30 s: past 20
sim_set $H "\"calls\":[],$(state 6)"
settle_state 2 $A $C $G $H
events_are r1 "run 1: a call answered: call.status, then agent.state" $A \
    'call.status:a1,call_status=talking,previous_call_status=alerting' \
    'agent.state,state=talking,previous_state=answering'
events_are r1 "run 1: an agent goes to rest" $C 'agent.state,state=rest,previous_state=idle'
events_are r1 "run 1: an agent in wrap-up past alerts.long_state.wrap_up: agent.long_state" $G \
    'agent.state+initial,state=idle' 'agent.state,state=wrap_up,previous_state=idle' \
    'agent.long_state,state=wrap_up,threshold>=20,threshold<=20,duration>=30'
events_are r1 "run 1: another agent long in wrap-up" $H 'agent.state+initial,state=idle' \
    'agent.state,state=wrap_up,previous_state=idle' 'agent.long_state,state=wrap_up'
killed "$R1"

# While no daemon runs: a1 is held, b1 ends and b2 rings (outbound), C comes back from rest, e1
# ends, F takes a call, D stays as it was.
sim_set $A "\"calls\":[$(call a1 6)],$(state 5)"
sim_set $B "\"calls\":[$(call b2 4 1)],$(state 4)"
sim_set $C "\"calls\":[],$(state 1)"
sim_set $E "\"calls\":[],$(state 6)"                      # wrap-up
sim_set $F "\"calls\":[$(call f1 5)],$(state 5)"
sim_set $H '"calls":[],"state":{"currentState":6,"currentStateTime":22}'   # out and back in

# --- Run 2: the state file of run 1 plus the events logged after it.
aw_start_daemon r2 "$AW_TMP/main.conf"
R2=$AW_PID
settle_state 2 $ALL
check "run 2: events were replayed from the log" \
    grep -qE 'restored agent state from .*state file, [1-9][0-9]* events replayed' "$AW_TMP/r2.err"
events_are r2 "after SIGKILL: a call held while down: call.status on the first poll, nothing else" \
    $A 'call.status:a1,call_status=held,call_status_code=6,previous_call_status=talking'
check "after SIGKILL: ... on the first poll after the restart (the call's first-seen kept)" \
    test "$(ev field "$AW_TMP/r2.out" $A 0 call_first_seen)" = \
         "$(ev field "$AW_TMP/r1.out" $A 0 call_first_seen)"
events_are r2 "after SIGKILL: a call ended and one began while down; the state changed" $B \
    'call.ended:b1,after_restart=True,call_status=talking' \
    'call.started:b2,call_status=alerting,direction=outbound' \
    'agent.state,state=answering,previous_state=talking'
events_are r2 "after SIGKILL: back from rest while down: agent.state, not initial" $C \
    'agent.state,state=idle,previous_state=rest'
events_are r2 "after SIGKILL: nothing changed, nothing reported" $D
events_are r2 "after SIGKILL: the same long stint: no agent.long_state again" $G
events_are r2 "after SIGKILL: left wrap-up and came back while down (its time went back): a new \
stint, long again, no agent.state" $H 'agent.long_state,state=wrap_up,duration>=22,duration<=30'
events_are r2 "after SIGKILL: the last call ended while down; wrap-up, 30 s in it: long" $E \
    'call.ended:e1,after_restart=True' 'agent.idle' 'agent.state,state=wrap_up,previous_state=talking' \
    'agent.long_state,state=wrap_up'
events_are r2 "after SIGKILL: a call began while down: started, busy, talking (none initial)" $F \
    'call.started:f1,call_status=talking' 'agent.busy,calls=1' \
    'agent.state,state=talking,previous_state=busy'
expect_eq "after SIGKILL: no initial event at all" "$(grep -c '"initial":true' "$AW_TMP/r2.out")" 0

# --- Run 3: SIGTERM, nothing changes while down: nothing is reported at all.
aw_stop "$R2"
expect_eq "run 2: SIGTERM -> exit 0" "$?" 0
aw_sim POST /sim/reset-stats >/dev/null
aw_start_daemon r3 "$AW_TMP/main.conf"
R3=$AW_PID
settle_state 3 $ALL
expect_eq "after SIGTERM, nothing changed: no event at all" "$(ev count "$AW_TMP/r3.out")" 0
check "run 3: restored from the state file" grep -q 'restored agent state from' "$AW_TMP/r3.err"
# ... and it goes on reporting, from the restored state.
sim_set $A "\"calls\":[$(call a1 5)],$(state 5)"
settle_state 2 $A
events_are r3 "run 3: a held call taken back" $A \
    'call.status:a1,call_status=talking,previous_call_status=held'

aw_stop "$R3"
expect_eq "run 3: SIGTERM -> exit 0" "$?" 0

# --- Run 4: after SIGTERM (the state file alone), a status and a state changed while down.
sim_set $A "\"calls\":[$(call a1 6)],$(state 5)"
sim_set $D "\"calls\":[],$(state 8)"
aw_start_daemon r4 "$AW_TMP/main.conf"
R4=$AW_PID
settle_state 2 $ALL
events_are r4 "after SIGTERM: a call held while down: call.status, previous status from the state file" \
    $A 'call.status:a1,call_status=held,previous_call_status=talking'
events_are r4 "after SIGTERM: rest while down: agent.state, not initial" $D \
    'agent.state,state=rest,previous_state=idle'
expect_eq "after SIGTERM: nothing else at all" "$(ev count "$AW_TMP/r4.out")" 2
aw_stop "$R4"
expect_eq "run 4: SIGTERM -> exit 0" "$?" 0

cat "$AW_TMP"/r[1234].out > "$AW_TMP/all.out"
check "runs 1-4 together: one consistent stream, ids unique" ev validate "$AW_TMP/all.out"
check "runs 1-4: no warnings" bash -c "! grep -qiE 'warn|error|cannot' '$AW_TMP'/r[1234].err"
expect_no_secret "the CMS secret is never printed" "$AW_TMP"/*.out "$AW_TMP"/*.err

aw_done
