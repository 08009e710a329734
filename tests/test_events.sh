#!/bin/bash
# test_events.sh: a scripted call timeline through the simulator gives exactly the event stream of
# product.md: baselines, per-poll order, durations, call.long once per call, outages that keep
# calls open, several agents at once, unique ids.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

A=1:170:1099 B=1:170:1100 C=1:171:2000 D=1:170:1101 E=1:171:2001 L=1:172:3000

# sim_set AGENT JSON-FIELDS: e.g. sim_set $A '"calls":["a1"]'

# wait_events OUT AGENT N SECONDS: until AGENT has N more events than checked so far.
wait_events() {
    ev wait "$AW_TMP/$1.out" "$2" $(( ${seen[$1/$2]:-0} + $3 )) "$4"
}

aw_start_sim sim
sim_set $A '"calls":["a2","a1"]'
sim_set $B '"calls":[]'
sim_set $C '"calls":["c1"]'
sim_set $D '"calls":["d1"]'
sim_set $E '"calls":["e1"],"fault":"reset"'

aw_config "$AW_TMP/main.conf" '
  { cc = 1; vdn = 170; id = 1099; name = "alice"; },
  { cc = 1; vdn = 170; ids = [ 1100, 1101 ]; },
  { cc = 1; vdn = 171; id = 2000; labels = { team = "billing"; }; },
  { cc = 1; vdn = 171; id = 2001; }' '
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 1.0; };
alerts = { long_call = 600.0; };
outputs = { journal = false; stdout = true; };'
aw_start_daemon main "$AW_TMP/main.conf"

# --- Baseline: calls in progress at start are "initial"; an idle agent says nothing.
settle 2 $A $B $C $D
events_are main "baseline: busy agent's calls and agent.busy are initial" $A \
    'call.started:a1+initial,agent.name=alice' 'call.started:a2+initial,agent.name=alice' \
    'agent.busy+initial,calls=2,agent.name=alice'
events_are main "baseline: idle agent emits nothing" $B
events_are main "baseline: labels travel with the agent" $C \
    'call.started:c1+initial,agent.labels.team=billing' 'agent.busy+initial,calls=1,agent.labels.team=billing'
events_are main "baseline: second busy agent" $D 'call.started:d1+initial' 'agent.busy+initial,calls=1'
wait_events main $E 1 10
events_are main "unreachable from the start: agent.unreachable, no baseline yet" $E \
    'agent.unreachable,failures>=2'

# --- Several agents change at once: each agent's own order is ended, started, busy/idle.
sim_set $A '"calls":["a2","a3"]'
sim_set $B '"calls":["b1"]'
sim_set $C '"calls":[]'
sim_set $E '"fault":null'
settle 2 $A $B $C $E
events_are main "one call ends, another starts: ended then started, no busy" $A \
    'call.ended:a1,duration>=0.2' 'call.started:a3'
events_are main "idle agent gets a call: started then busy" $B 'call.started:b1' 'agent.busy,calls=1'
events_are main "busy agent loses its last call: ended then idle" $C 'call.ended:c1' 'agent.idle'
events_are main "untouched agent stays silent" $D
events_are main "first successful poll after an unreachable start: reachable, then the baseline" $E \
    'agent.reachable' 'call.started:e1+initial' 'agent.busy+initial,calls=1'

sim_set $A '"calls":["a4"]'
sim_set $B '"calls":["b1","b2"]'
settle 2 $A $B
events_are main "two calls replaced by one: both ended, then started" $A \
    'call.ended:a2' 'call.ended:a3' 'call.started:a4'
events_are main "second call: started only" $B 'call.started:b2'

sim_set $A '"calls":[]'
sim_set $C '"calls":["c2","c3"]'
settle 2 $A $C
events_are main "agent goes idle" $A 'call.ended:a4' 'agent.idle'
events_are main "two calls at once: both started, then one agent.busy" $C \
    'call.started:c2' 'call.started:c3' 'agent.busy,calls=2'

sim_set $A '"calls":["a5","a6"]'
settle 2 $A
events_are main "busy again before the outage" $A 'call.started:a5' 'call.started:a6' 'agent.busy,calls=2'

# --- Outage longer than failure_threshold: unreachable with a reason, calls stay open.
out_start=$(date +%s%N)
sim_set $A '"fault":"http:503"'
sim_set $B '"fault":"reset"'
sim_set $C '"fault":"http:503"'
sim_set $D '"fault":"http:503"'
for a in $A $B $C $D; do
    wait_events main $a 1 15 || fail "agent $a: no event within 15 s of its outage"
done
events_are main "503 outage: agent.unreachable with the HTTP status as reason" $A \
    'agent.unreachable,reason~503,failures>=2'
events_are main "connection reset: agent.unreachable with a reason" $B \
    'agent.unreachable,reason~[Rr]eset|connection,failures>=2'
events_are main "503 outage (agent C)" $C 'agent.unreachable,reason~503'
events_are main "503 outage (agent D)" $D 'agent.unreachable,reason~503'

# While unreachable the calls change; failed polls are not hang-ups and report nothing.
sim_set $A '"calls":["a6","a7"]'
sim_set $B '"calls":["b2"]'
sim_set $C '"calls":["c3","c4"]'
sim_set $D '"calls":[]'
settle 2 $A $B $C $D
for a in $A $B $C $D; do
    events_are main "agent $a: failed polls during the outage report nothing" $a
done

sim_set $A '"fault":null'
sim_set $B '"fault":null'
sim_set $C '"fault":null'
sim_set $D '"fault":null'
out_ms=$(( ($(date +%s%N) - out_start) / 1000000 ))
out_secs=$(printf '%d.%03d' $((out_ms / 1000)) $((out_ms % 1000)))
settle 2 $A $B $C $D
events_are main "after the outage: reachable, the call that ended in it, the new one" $A \
    'agent.reachable' "call.ended:a5,duration>=$out_secs" 'call.started:a7'
events_are main "after the outage: no call.ended for the call still present" $B \
    'agent.reachable' "call.ended:b1,duration>=$out_secs"
events_are main "after the outage: reachable, ended, started (still busy)" $C \
    'agent.reachable' 'call.ended:c2' 'call.started:c4'
events_are main "after the outage: reachable, ended, idle" $D \
    'agent.reachable' 'call.ended:d1' 'agent.idle'

# Calls that lived through the outage end normally afterwards, once.
sim_set $A '"calls":[]'
sim_set $B '"calls":[]'
settle 2 $A $B
events_are main "calls kept through the outage end once, then idle" $A \
    "call.ended:a6,duration>=$out_secs" 'call.ended:a7' 'agent.idle'
events_are main "call kept through the reset outage ends once" $B \
    "call.ended:b2,duration>=$out_secs" 'agent.idle'

aw_stop "$AW_PID"
expect_eq "main daemon: SIGTERM -> exit 0" "$?" 0

# --- call.long: once per call, at alerts.long_call, never for a call shorter than that.
sim_set $L '"calls":["l1"]'
aw_config "$AW_TMP/long.conf" '{ cc = 1; vdn = 172; id = 3000; }' '
poll = { interval = 0.2; };
alerts = { long_call = 2.0; };
outputs = { journal = false; stdout = true; };'
aw_start_daemon long "$AW_TMP/long.conf"
settle 2 $L
events_are long "long: baseline" $L 'call.started:l1+initial' 'agent.busy+initial'
wait_events long $L 1 10
events_are long "call.long after long_call seconds" $L 'call.long:l1,duration>=2,duration<=3.5'
sim_set $L '"calls":["l1","l2"]'
settle 2 $L
events_are long "a new call next to a long one: started only" $L 'call.started:l2'
wait_events long $L 1 10
events_are long "the second call gets its own call.long; the first not again" $L \
    'call.long:l2,duration>=2,duration<=3.5'
sim_set $L '"calls":["l1","l2"]'
settle 8 $L
events_are long "no repeated call.long over further polls" $L
sim_set $L '"calls":["l2"]'
settle 2 $L
events_are long "a long call ends with its duration" $L 'call.ended:l1,duration>=4'
sim_set $L '"calls":["l2","l3"]'
settle 2 $L
sim_set $L '"calls":[]'
settle 2 $L
events_are long "a short call gets no call.long" $L 'call.started:l3' 'call.ended:l2' \
    'call.ended:l3,duration<=1.9' 'agent.idle'
aw_stop "$AW_PID"
expect_eq "long daemon: SIGTERM -> exit 0" "$?" 0

# --- The whole streams: well formed, consistent transitions, and every id unique across both.
check "main stream: every event well formed and consistent" ev validate "$AW_TMP/main.out" 2
check "long stream: every event well formed and consistent" ev validate "$AW_TMP/long.out"
cat "$AW_TMP/main.out" "$AW_TMP/long.out" > "$AW_TMP/all.out"
check "event ids are unique UUIDs across both runs ($(ev count "$AW_TMP/all.out") events)" \
    ev validate "$AW_TMP/all.out"
check "no errors on stderr" bash -c "! grep -qiE 'error|warn' '$AW_TMP/main.err' '$AW_TMP/long.err'"

aw_done
