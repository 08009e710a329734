#!/bin/bash
# test_counters.sh: the poller's counters at /metrics and in agentwatchctl status, batch mode: an
# agent left out of successful answers, an entry error and a failed request are failed polls of
# the agents (agent_polls_total, by poll and result), unasked entries are counted, and status says
# how many polls failed and why.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 60
A=1:170:1099 B=1:170:1100 C=1:170:1101
CTL=$AW_BUILD/agentwatchctl

aw_start_sim sim
sim_set $A '"calls":["a1"]'
sim_set $B '"calls":[],"absent":true'
sim_set $C '"calls":[]'
AW_API=batch aw_config "$AW_TMP/main.conf" '{ cc = 1; vdn = 170; ids = [ 1099, 1100, 1101 ]; }' "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; agent_state = true; };
outputs = { journal = false; };
http = { listen = [ \"127.0.0.1:0\" ]; };"
aw_start_daemon main "$AW_TMP/main.conf"
ADDR=$(aw_http_addr main)
aw_need_http main "$ADDR"

metric() {   # metric SAMPLE: its value at /metrics, empty when there is no such line
    curl -sS --max-time 3 "http://$ADDR/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}
positive() { local v; v=$(metric "$1"); [ -n "$v" ] && [ "$v" -gt 0 ]; }
polls() { echo "agentwatchd_agent_polls_total{poll=\"$1\",result=\"$2\"}"; }

# --- B is left out of both batch answers: failed polls of B, though every request succeeded
check "calls polls answered" until_ok 10 positive "$(polls calls ok)"
check "absent from the calls answers: counted" until_ok 10 positive "$(polls calls absent)"
check "absent from the state answers: counted" until_ok 10 positive "$(polls state absent)"
check "state polls answered" until_ok 10 positive "$(polls state ok)"
expect_eq "no request failed" "$(metric "$(polls calls request_failed)")" 0
expect_eq "no entry error" "$(metric "$(polls calls entry_error)")" 0
expect_eq "sd_notify_dropped_total is shown" "$(metric agentwatchd_sd_notify_dropped_total)" 0
"$CTL" -u "http://$ADDR/" status > "$AW_TMP/status" 2>&1
expect_grep "status: polls failed counts the absent agent, and says why" \
    '^polls +[1-9][0-9]* ok, [1-9][0-9]* failed \(0 request failed, [1-9][0-9]* absent, 0 entry errors\)$' \
    "$AW_TMP/status"
expect_grep "status: state polls" '^state polls +[1-9][0-9]* ok, [1-9][0-9]* failed$' "$AW_TMP/status"
"$CTL" -u "http://$ADDR/" -j status > "$AW_TMP/status.json" 2>&1
expect_eq "status -j: every failed poll was an absent agent" "$("$AW_PYTHON" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["polls_failed"] > 0 and s["polls_failed"] == s["polls_absent"])' "$AW_TMP/status.json")" True

# --- an entry for an agent not asked, an entry twice (its agent's poll fails), a failed request
sim_config '{"batch_fault":"unasked"}'
check "unasked entries: counted" until_ok 10 positive agentwatchd_batch_entries_unasked_total
sim_config '{"batch_fault":"duplicate"}'
check "an entry error: counted" until_ok 10 positive "$(polls calls entry_error)"
sim_config '{"batch_fault":"http:500","state_fault":"http:500"}'
check "a failed calls request: counted for its agents" until_ok 10 positive "$(polls calls request_failed)"
check "a failed state request: counted for its agents" until_ok 10 positive "$(polls state request_failed)"
sim_config '{"batch_fault":null,"state_fault":null}'
check "the daemon stops cleanly" aw_stop $AW_PID
aw_done
