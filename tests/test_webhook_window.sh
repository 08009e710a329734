#!/bin/bash
# test_webhook_window.sh: receivers as they are in production. A receiver 50 ms away keeps up with
# the default settings (several requests in flight, never two of one agent's at once); a receiver
# that refuses bodies over N bytes with 413 gets every batch in parts, and only an event that is
# too big alone goes to the dead-letter file; an event whose acknowledgement never comes keeps the
# saved cursor at it across a SIGKILL while later events of other agents are delivered.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 100

. "$AW_SRC/tests/receiver.sh"
printf '%s\n' 'hook-Secret-0c41-window' > "$AW_TMP/hook.secret"
chmod 600 "$AW_TMP/hook.secret"

aw_start_sim sim --random 11

# hook NAME [settings]: one json webhook group for receiver NAME (timeout 5 s unless settings say).
hook() {
    echo "{ url = \"http://127.0.0.1:${RPORT[$1]}/hook\"; secret_file = \"$AW_TMP/hook.secret\";
        ${2:-timeout = 5.0;} }"
}
dead_report() {   # dead_report DEADLETTER ORIGIN (scheme://host:port, as logged): entries, single-event ones, 413s with reason
    "$AW_PYTHON" - "$1" "$2" <<'EOF'
import json, sys
dead = [json.loads(l) for l in open(sys.argv[1])] if __import__("os").path.exists(sys.argv[1]) else []
mine = [d for d in dead if d.get("webhook", "") == sys.argv[2]]
single = [d for d in mine if isinstance(d.get("payload"), dict) and "events" in d["payload"]
          and len(d["payload"]["events"]) == 1]
why = [d for d in single if d.get("http_status") == 413 and "exceeds the limit" in d.get("response", "")]
agents = sorted({"%s:%s:%s" % (e["agent"]["cc"], e["agent"]["vdn"], e["agent"]["id"])
                 for d in single for e in d["payload"]["events"]})
print(len(mine), len(single), len(why), ",".join(agents) or "-")
EOF
}

# ---------------------------------------------------------------------------
# (1) 400 agents with random calls (a baseline of some hundreds of events, then tens per second)
# and a receiver answering each request 50 ms after it came, with the default settings. One
# request at a time delivers under 20 events/s: the baseline alone would take half a minute.
start_receiver far --latency 0.05
aw_config "$AW_TMP/far.conf" '{ cc = 1; vdn = 170; range = [ 1100, 1499 ]; }' "
poll = { interval = 2.0; };
outputs = { journal = false; stdout = true; webhooks = ( $(hook far) ); };"
aw_start_daemon far "$AW_TMP/far.conf"
FAR=$AW_PID
until_ok 20 emitted_at_least far 400 || fail "(1) 400 agents emitted 400 events within 20 s"
n=$(nevents far)
check_delivery "(1) 50 ms away, defaults: the first $n events all arrived within 10 s, in order" \
    10 far "$AW_TMP/far.out"
expect_eq "(1) no request held an event of an agent while another request held one" \
    "$(rstats far 's["agent_overlaps"]')" 0
conc=$(rstats far 's["max_concurrent"]')
check "(1) several requests were under way at once ($conc), at most max_in_flight (32)" \
    test "$conc" -gt 1 -a "$conc" -le 32
expect_eq "(1) single events by default (no batch body)" \
    "$("$AW_PYTHON" -c 'import json,sys; print(sum(json.loads(l)["batch"] for l in open(sys.argv[1])))' \
       "$AW_TMP/far.jsonl")" 0
aw_stop "$FAR"
expect_eq "(1) SIGTERM -> exit 0" "$?" 0

# ---------------------------------------------------------------------------
# (2) batch_max = 100 to a receiver that refuses bodies over 1,600 bytes with 413. One agent's
# events are bigger than that alone (its labels): only those may be dead-lettered, each on its
# own, with the status and the receiver's reason; everything else arrives in order.
BIG=1:171:2000
labels=$(for i in 1 2 3 4 5 6 7 8; do printf 'l%d = "%s"; ' $i "$(printf 'v%.0s' $(seq 250))"; done)
start_receiver small --max-bytes 1600
aw_config "$AW_TMP/small.conf" "{ cc = 1; vdn = 170; range = [ 1100, 1119 ]; },
  { cc = 1; vdn = 171; id = 2000; labels = { $labels }; }" "
poll = { interval = 0.2; };
state_dir = \"$AW_TMP/state2\";
outputs = { journal = false; stdout = true; webhooks = ( $(hook small 'batch_max = 100; timeout = 5.0;') ); };"
sim_set $BIG '"calls":["b1"]'
aw_start_daemon small "$AW_TMP/small.conf"
SMALL=$AW_PID
until_ok 15 emitted_at_least small 20 || fail "(2) 20 events within 15 s"
sim_set $BIG '"calls":[]'
pause 3
check_delivery "(2) 413: every event arrived or is dead-lettered, in order" 20 small \
    "$AW_TMP/small.out" --deadletter "$AW_TMP/state2/deadletter.jsonl" --batch-max 100
read -r d_all d_single d_why d_agents <<<"$(dead_report "$AW_TMP/state2/deadletter.jsonl" \
    "http://127.0.0.1:${RPORT[small]}")"
big_events=$(grep -cF '"id":2000' "$AW_TMP/small.out")
check "(2) the big agent's events ($big_events) were emitted" test "$big_events" -ge 2
expect_eq "(2) dead-lettered: only the big agent's events, each alone" \
    "$d_all $d_single $d_agents" "$big_events $big_events $BIG"
expect_eq "(2) each with status 413 and the receiver's reason" "$d_why" "$big_events"
expect_grep "(2) the log says why, in the receiver's words" \
    'HTTP 413 refuses 1 event for good \(.*exceeds the limit of 1600 bytes' "$AW_TMP/small.err"
check "(2) batches were sent in halves" grep -q 'HTTP 413 refuses a batch of' "$AW_TMP/small.err"
got=$(rstats small 's["accepted"]')
check "(2) accepted requests held several events ($(wc -l < "$AW_TMP/small.jsonl") in $got)" \
    test "$(wc -l < "$AW_TMP/small.jsonl")" -gt "$got"
aw_stop "$SMALL"

# ---------------------------------------------------------------------------
# (3) One agent's request is never acknowledged while the others' are; the daemon is SIGKILLed.
# Its event must not be skipped: the saved cursor stays at the oldest unacknowledged event. (The
# timeout is long so that the held request is still under way at the SIGKILL.)
K=1:171:2000
start_receiver held --hold-agent $K
aw_config "$AW_TMP/held.conf" "{ cc = 1; vdn = 170; range = [ 1100, 1119 ]; },
  { cc = 1; vdn = 171; id = 2000; }" "
poll = { interval = 0.2; };
state_dir = \"$AW_TMP/state3\";
outputs = { journal = false; stdout = true; webhooks = ( $(hook held 'timeout = 60.0;') ); };"
sim_set $K '"calls":[]'
aw_start_daemon held1 "$AW_TMP/held.conf"
HELD=$AW_PID
until_ok 10 emitted_at_least held1 10 || fail "(3) 10 events within 10 s"
sim_set $K '"calls":["k1"]'
until_ok 10 grep -q '"call_id":"k1"' "$AW_TMP/held1.out" || fail "(3) k1 started"
k_line=$(grep -n '"call_id":"k1"' "$AW_TMP/held1.out" | head -1 | cut -d: -f1)
after_k() {   # events of other agents emitted after k1's start that arrived
    "$AW_PYTHON" - "$AW_TMP/held1.out" "$AW_TMP/held.jsonl" "$k_line" <<'EOF'
import json, sys
later = {json.loads(l)["id"] for l in list(open(sys.argv[1]))[int(sys.argv[3]):]}
got = {json.loads(l)["event"]["id"] for l in open(sys.argv[2])}
print(len(later & got))
EOF
}
enough_after_k() { [ "$(after_k)" -ge 10 ]; }
until_ok 30 enough_after_k
n_after=$(after_k)
check "(3) while k1's request waits, later events of other agents are delivered ($n_after)" \
    test "$n_after" -ge 10
check "(3) k1 has not arrived" bash -c "! grep -q '\"call_id\":\"k1\"' '$AW_TMP/held.jsonl'"
exec 3>&2 2>/dev/null
kill -KILL "$HELD"
wait "$HELD"
exec 2>&3 3>&-
rmode held down     # the held request ends with 503, unrecorded
stop_receiver held
start_receiver held
aw_start_daemon held2 "$AW_TMP/held.conf"
HELD=$AW_PID
pause 2
check_delivery "(3) after the SIGKILL every event of both runs arrived, k1 too, in order" 20 \
    held "$AW_TMP/held1.out" "$AW_TMP/held2.out"
expect_eq "(3) no agent had two requests under way" "$(rstats held 's["agent_overlaps"]')" 0
aw_stop "$HELD"

aw_done
