#!/bin/bash
# test_journal.sh: each event is one journald entry with MESSAGE, a fixed MESSAGE_ID per type, a
# PRIORITY and its data as fields; in batch mode with agent state also the call detail and the
# CTI state (journalctl AGENT_STATE=rest finds it). A real systemd-journald runs in a private mount namespace
# (tests/journalns.sh).

. "${srcdir:-$(dirname "$0")/..}/tests/journalns.sh"

A=1:170:1099 B=1:170:1100 C=1:170:1101
# C's name is 26 Chinese characters (78 bytes), its label name the longest journald takes.
wang=$(printf '\xe7\x8e\x8b%.0s' $(seq 26))
label52=$(printf 'l%.0s' $(seq 52))

# --- Every event type once or more: busy agent A, unreachable then reachable agent B.
aw_start_sim sim
sim_set $A '"calls":["c1","c2"]'
sim_set $B '"calls":[],"fault":"http:503"'
sim_set $C '"calls":["c3"]'
aw_config "$AW_TMP/d.conf" '
  { cc = 1; vdn = 170; id = 1099; name = "alice"; },
  { cc = 1; vdn = 170; id = 1100; labels = { team = "billing"; }; },
  { cc = 1; vdn = 170; id = 1101; name = "'"$wang"'"; labels = { '"$label52"' = "\xc3\xa9"; }; }' '
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; };
alerts = { long_call = 1.0; };
outputs = { journal = true; stdout = true; };'
aw_start_daemon d "$AW_TMP/d.conf"

settle 2 $A
wait_for 10 ev wait "$AW_TMP/d.out" $A 5 0
events_are d "stdout: A's baseline and call.long" $A 'call.started:c1+initial' \
    'call.started:c2+initial' 'agent.busy+initial' 'call.long:c1' 'call.long:c2'
wait_for 15 ev wait "$AW_TMP/d.out" $B 1 0
events_are d "stdout: B unreachable" $B 'agent.unreachable,reason~503'
sim_set $A '"calls":[]'
sim_set $B '"fault":null'
settle 2 $A $B
events_are d "stdout: A ends its calls" $A 'call.ended:c1' 'call.ended:c2' 'agent.idle'
events_are d "stdout: B reachable" $B 'agent.reachable'
aw_stop "$AW_PID"
expect_eq "SIGTERM -> exit 0" "$?" 0

# --- The journal holds the same events, one entry each, in order, with the fields.
jq_count() {   # entries of ours in the journal
    [ "$(journalctl --no-pager -o json SYSLOG_IDENTIFIER=agentwatchd | grep -c '"AGENTWATCH_EVENT"')" -ge "$1" ]
}
n=$(ev count "$AW_TMP/d.out")
wait_for 5 jq_count "$n"
journalctl --no-pager -o json SYSLOG_IDENTIFIER=agentwatchd > "$AW_TMP/journal.json"
journalctl --no-pager -o json AGENT_ID=1099 > "$AW_TMP/journal-1099.json"

cat > "$AW_TMP/cmp.py" <<'EOF'
import json, re, sys

# MESSAGE_IDs are a promise to whoever filters or writes a catalog for them: they never change.
MESSAGE_ID = {
    "call.started": "aa2dbd8f745a45558d040a20d5bc44ec",
    "call.ended": "8d46e381926f45c7a365342b3aae3a1c",
    "call.long": "3ffe0cda3ee0465eb6cb06d22df3ce98",
    "agent.busy": "7a6b578135a242d281fac03b77b7b863",
    "agent.idle": "f2a59748efb240998415fcee1aeca5f0",
    "agent.unreachable": "f0cb563ee8d64d4d8f961e8f88e5a2df",
    "agent.reachable": "263ae496da014c6ca9cda3a1e4afd5dd",
}
PRIORITY = {"call.long": "5", "agent.unreachable": "4"}     # the others 6 (info)

def entries(path):
    out = []
    for line in open(path):
        e = json.loads(line)
        if "AGENTWATCH_EVENT" in e:
            out.append(e)
    return out

def want_fields(ev):
    a = ev["agent"]
    w = {"AGENTWATCH_EVENT": ev["type"], "MESSAGE_ID": MESSAGE_ID[ev["type"]],
         "PRIORITY": PRIORITY.get(ev["type"], "6"), "EVENT_ID": ev["id"],
         "EVENT_TIME": ev["time"], "AGENT_CC": str(a["cc"]), "AGENT_VDN": str(a["vdn"]),
         "AGENT_ID": str(a["id"]), "SYSLOG_IDENTIFIER": "agentwatchd"}
    if "name" in a:
        w["AGENT_NAME"] = a["name"]
    for k, v in a.get("labels", {}).items():
        w["AGENT_LABEL_" + k.upper()] = v
    if "call_id" in ev:
        w["CALL_ID"] = ev["call_id"]
    if "duration" in ev:
        w["CALL_DURATION"] = "%.3f" % ev["duration"]
    if ev["type"] == "agent.unreachable":
        w["REASON"] = ev["reason"]
        w["FAILURES"] = str(ev["failures"])
    if ev.get("initial"):
        w["INITIAL"] = "1"
    return w

OPTIONAL = {"AGENT_NAME", "CALL_ID", "CALL_DURATION", "REASON", "FAILURES", "INITIAL"}

def main(journal, stdout, agent_id=None):
    events = [json.loads(l) for l in open(stdout)]
    if agent_id:
        events = [e for e in events if str(e["agent"]["id"]) == agent_id]
    got = entries(journal)
    errors = []
    if len(got) != len(events):
        errors.append("%d journal entries for %d events" % (len(got), len(events)))
    for i, (j, ev) in enumerate(zip(got, events)):
        w = want_fields(ev)
        for k, v in w.items():
            if j.get(k) != v:
                errors.append("entry %d (%s): %s=%r, want %r" % (i, ev["type"], k, j.get(k), v))
        for k in OPTIONAL - set(w):
            if k in j:
                errors.append("entry %d (%s): unexpected %s=%r" % (i, ev["type"], k, j[k]))
        who = "agent %s:%s:%s" % (ev["agent"]["cc"], ev["agent"]["vdn"], ev["agent"]["id"])
        msg = j.get("MESSAGE")
        if not isinstance(msg, str) or not msg.startswith(who) or "\n" in msg:
            errors.append("entry %d: MESSAGE %r is not a one-line text about %s" % (i, msg, who))
    if len(set(MESSAGE_ID.values())) != len(MESSAGE_ID):
        errors.append("MESSAGE_IDs are not distinct")
    for e in errors[:15]:
        print("    " + e)
    return 1 if errors else 0

sys.exit(main(*sys.argv[1:]))
EOF
check "journal: one entry per event, in order, with MESSAGE, MESSAGE_ID, PRIORITY and the fields ($n events)" \
    "$AW_PYTHON" "$AW_TMP/cmp.py" "$AW_TMP/journal.json" "$AW_TMP/d.out"
check "journalctl AGENT_ID=1099 selects exactly that agent's entries" \
    "$AW_PYTHON" "$AW_TMP/cmp.py" "$AW_TMP/journal-1099.json" "$AW_TMP/d.out" 1099
types=$("$AW_PYTHON" -c 'import json,sys; print(len({json.loads(l)["type"] for l in open(sys.argv[1])}))' "$AW_TMP/d.out")
expect_eq "all seven event types went through the journal" "$types" 7
check "the event stream stayed consistent" ev validate "$AW_TMP/d.out" 2
journalctl --no-pager -o json AGENT_ID=1101 > "$AW_TMP/journal-1101.json"
check "a 78-byte name: MESSAGE is text (not a blob) with the whole name, and the 52-byte label is a field" \
    "$AW_PYTHON" -c '
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if "AGENTWATCH_EVENT" in l]
ok = es and all(isinstance(e.get("MESSAGE"), str) and "(" + sys.argv[2] + ")" in e["MESSAGE"]
                and e.get("AGENT_LABEL_" + sys.argv[3].upper()) == "\u00e9" for e in es)
sys.exit(0 if ok else 1)' "$AW_TMP/journal-1101.json" "$wang" "$label52"

# --- Batch mode with agent state: AGENT_STATE and AGENT_PREVIOUS_STATE on agent.state entries (its
# own MESSAGE_ID), CALL_STATUS, CALL_DIRECTION and CALL_MEDIA on call events from a batch answer.
D=1:171:1200 E=1:171:1201
sim_set $D '"calls":[],"state":{"currentState":1,"currentStateTime":5}'
sim_set $E '"calls":[{"callId":"e1","callStatus":5,"callInOut":1,"mediaType":51}],"state":{"currentState":5,"currentStateTime":5}'
AW_API=batch aw_config "$AW_TMP/b.conf" '{ cc = 1; vdn = 171; ids = [ 1200, 1201 ]; }' '
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; agent_state = true; };
outputs = { journal = true; stdout = true; };'
aw_start_daemon b "$AW_TMP/b.conf"
settle_state 2 $D $E
sim_set $D '"calls":[],"state":{"currentState":8,"currentStateTime":0,"currentStateReason":258}'
sim_set $E '"calls":[{"callId":"e1","callStatus":6,"callInOut":1,"mediaType":51}],"state":{"currentState":5,"currentStateTime":5}'
settle_state 2 $D $E
aw_stop "$AW_PID"
expect_eq "batch: SIGTERM -> exit 0" "$?" 0
events_are b "batch, stdout: the state changes to rest" $D \
    'agent.state+initial,state=idle' 'agent.state,state=rest,previous_state=idle,reason_code=258'
events_are b "batch, stdout: a call with detail, then held" $E \
    'call.started:e1+initial,call_status=talking,direction=outbound,media=webchat' \
    'agent.busy+initial' 'agent.state+initial,state=talking' \
    'call.status:e1,call_status=held,previous_call_status=talking'
n_all=$(( $(ev count "$AW_TMP/d.out") + $(ev count "$AW_TMP/b.out") ))
wait_for 5 jq_count "$n_all"
# jfind FIELD=VALUE... PYTHON-CONDITION-ON-e: exactly one entry of journalctl's match, and it
# meets the condition (e: the entry, o: the stdout event with its EVENT_ID).
jfind() {
    local cond=${*: -1}
    journalctl --no-pager -o json "${@:1:$#-1}" | "$AW_PYTHON" -c '
import json, sys
es = [json.loads(l) for l in sys.stdin if "AGENTWATCH_EVENT" in l]
evs = {}
for l in open(sys.argv[2]):
    o = json.loads(l)
    evs[o["id"]] = o
if len(es) != 1:
    print("    %d entries" % len(es))
    sys.exit(1)
e = es[0]
o = evs.get(e.get("EVENT_ID"), {})
try:
    ok = eval("(" + sys.argv[1] + ")")
except KeyError as k:
    ok = False
    print("    no %s" % k)
if not ok:
    print("    " + json.dumps(e))
sys.exit(not ok)' "$cond" "$AW_TMP/b.out"
}
check "journalctl AGENT_STATE=rest: the agent.state entry, its MESSAGE_ID, previous state, reason" \
    jfind AGENT_STATE=rest 'e["AGENTWATCH_EVENT"] == "agent.state" and
    e["MESSAGE_ID"] == "b6a34712fd444431b8e1240a84b6a0fb" and e["AGENT_ID"] == "1200" and
    e["AGENT_PREVIOUS_STATE"] == "idle" and e["AGENT_STATE_CODE"] == "8" and
    e["AGENT_STATE_REASON"] == "258" and e["AGENT_STATE_SINCE"] == o["state_since"] and
    "rest" in e["MESSAGE"] and "\n" not in e["MESSAGE"]'
check "journalctl AGENTWATCH_EVENT=agent.state: initial ones have no AGENT_PREVIOUS_STATE" \
    bash -c "journalctl --no-pager -o json AGENTWATCH_EVENT=agent.state INITIAL=1 AGENT_ID=1201 |
             grep -q '\"AGENT_STATE\":\"talking\"' &&
             ! journalctl --no-pager -o json AGENTWATCH_EVENT=agent.state INITIAL=1 |
             grep -q AGENT_PREVIOUS_STATE"
check "journalctl CALL_ID=e1 AGENTWATCH_EVENT=call.started: CALL_STATUS, CALL_DIRECTION, CALL_MEDIA" \
    jfind CALL_ID=e1 AGENTWATCH_EVENT=call.started 'e["CALL_STATUS"] == "talking" and
    e["CALL_DIRECTION"] == "outbound" and e["CALL_MEDIA"] == "webchat" and
    e["CALL_MEDIA_TYPE"] == "51" and e["MESSAGE_ID"] == "aa2dbd8f745a45558d040a20d5bc44ec"'
check "journalctl CALL_STATUS=held: the call.status entry with its MESSAGE_ID and previous status" \
    jfind CALL_STATUS=held 'e["AGENTWATCH_EVENT"] == "call.status" and e["CALL_ID"] == "e1" and
    e["MESSAGE_ID"] == "7db099a187e54d089079b90475ac3246" and
    e["CALL_PREVIOUS_STATUS"] == "talking" and e["CALL_MEDIA"] == "webchat" and
    e["EVENT_ID"] == o["id"]'
check "batch: the event stream stayed consistent" ev validate "$AW_TMP/b.out"
check "per-agent mode: no CALL_STATUS, CALL_DIRECTION, CALL_MEDIA, AGENT_STATE at all" \
    bash -c "! grep -qE 'CALL_STATUS|CALL_DIRECTION|CALL_MEDIA|AGENT_STATE' '$AW_TMP/journal.json'"
aw_done
