#!/bin/bash
# test_batch_odd.sh: batch polling against an odd CMS and an odd operator: a CMS that leaves
# every agent out of its answers (one log line, not one per agent per poll), and a storm of
# reloads while slow batch and state requests are under way (batch_size, api, agents moved,
# removed and re-added): the daemon survives, staying agents keep their state.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
aw_budget 40

count() {   # count OUT TYPE: events of TYPE in OUT
    grep -c "\"type\":\"$2\"" "$AW_TMP/$1.out"
}
at_least() {   # at_least OUT TYPE N: N or more events of TYPE in OUT
    [ "$(count "$1" "$2")" -ge "$3" ]
}

# --- 300 agents absent from every calls and state answer, polled every 0.3 s ---

printf '{"unknown_agents": "missing"}\n' > "$AW_TMP/missing.json"
aw_start_sim sim --scenario "$AW_TMP/missing.json"
AW_API=batch aw_config "$AW_TMP/absent.conf" '{ cc = 1; vdn = 170; range = [ 1000, 1299 ]; }' '
poll = { interval = 0.3; failure_threshold = 2; backoff_max = 1.0; agent_state = true; };
outputs = { journal = false; stdout = true; };'
aw_start_daemon absent "$AW_TMP/absent.conf" -v    # info: where failed polls are said
until_ok 15 at_least absent agent.unreachable 300 || fail "absent: not every agent unreachable"
pause 3
expect_eq "absent: every agent unreachable, once" "$(count absent agent.unreachable)" 300
lines=$(grep -c 'absent from the CMS answer' "$AW_TMP/absent.err")
check "absent: the log says it in a line or two a minute, not per agent and poll (saw $lines)" \
    [ "$lines" -ge 1 -a "$lines" -le 4 ]
expect_grep "absent: the line counts the agents" '300 of the 300 agents asked failed' "$AW_TMP/absent.err"
aw_stop "$AW_PID" 10
expect_eq "absent: SIGTERM -> exit 0" "$?" 0
aw_stop "$SIM_PID" 5

# --- Reload storm while slow batch and state requests are under way ---

aw_start_sim sim2
for id in 1000 1001 1002 1003 1004 1005 1006 1007 1008 1009; do
    sim_set "1:170:$id" "\"calls\":[\"c$id\"]"
done
sim_config '{"batch_fault": "slow:0.8", "state_fault": "slow:0.6"}'
storm_conf() {   # storm_conf API BATCH_SIZE AGENTS
    AW_API=$1 aw_config "$AW_TMP/storm.conf.new" "$3" '
poll = { interval = 0.5; failure_threshold = 3; backoff_max = 2.0; agent_state = true; };
outputs = { journal = false; stdout = true; };'
    sed -i "s|^  timeout = 2.0;\$|  timeout = 2.0; batch_size = $2; max_in_flight = 2;|" "$AW_TMP/storm.conf.new"
    mv "$AW_TMP/storm.conf.new" "$AW_TMP/storm.conf"
}
ALL='{ cc = 1; vdn = 170; range = [ 1000, 1009 ]; }'
storm_conf batch 1000 "$ALL"
aw_start_daemon storm "$AW_TMP/storm.conf"
until_ok 15 at_least storm call.started 10 || fail "storm: the first polls did not come"
for round in 1 2 3; do
    for step in "agent 7 $ALL" \
        "auto 3 { cc = 1; vdn = 170; range = [ 1000, 1004 ]; }" \
        "batch 7 { cc = 1; vdn = 170; ids = [ 1000, 1001, 1002, 1007, 1008, 1009 ]; }, { cc = 1; vdn = 171; id = 1000; }" \
        "auto 1000 $ALL" "batch 1 $ALL" "batch 1000 $ALL"; do
        # shellcheck disable=SC2086
        storm_conf $step
        kill -HUP "$AW_PID"
        sleep 0.$((RANDOM % 4 + 1))
    done
done
check "storm: the daemon lives" kill -0 "$AW_PID"
pause 3
sim_config '{"batch_fault": null, "state_fault": null}'
sim_set 1:170:1009 '"calls":["c1009","late"]'
until_ok 10 grep -q '"call_id":"late"' "$AW_TMP/storm.out" || fail "storm: polling did not go on after it"
# 1000..1002 stayed all along: one baseline each, their call never ended.
for id in 1000 1001 1002; do
    expect_eq "storm: 1:170:$id kept its state (one call.started, no call.ended)" \
        "$(grep "\"id\":$id[,}]" "$AW_TMP/storm.out" | grep '"vdn":170' | grep -cE '"type":"call.(started|ended)"')" 1
done
aw_stop "$AW_PID" 10
expect_eq "storm: SIGTERM -> exit 0" "$?" 0

expect_no_sanitizer_report "$AW_TMP"/*.err
aw_done
