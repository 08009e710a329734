#!/bin/bash
# test_alertmanager.sh: a real prometheus-alertmanager on loopback: call.long fires AgentLongCall
# with the agent's labels and call.ended resolves it; agent.unreachable fires AgentUnreachable and
# agent.reachable resolves it; an alert fired while Alertmanager is down and the daemon restarts
# still arrives, a firing alert Alertmanager forgot (restarted) is told again, and a call that ends
# while the daemon is down resolves its alert. In batch mode with agent state: agent.long_state
# fires AgentLongState and the next agent.state resolves it, also after a restart; webhook filters
# on the new types.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 95

AM_BIN=${ALERTMANAGER:-$(command -v prometheus-alertmanager || command -v alertmanager)}
if [ -z "$AM_BIN" ]; then
    echo "SKIP - prometheus-alertmanager is not installed"
    exit 77
fi

A=1:170:1099 B=1:170:1100 C=1:170:1101

has_event() {   # has_event RUN TYPE CALL_OR_AGENT_FIELD: RUN's stdout has such an event
    grep -F "\"type\":\"$2\"" "$AW_TMP/$1.out" | grep -qF "$3"
}

AM_PORT=$("$AW_PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
cat > "$AW_TMP/am.yml" <<'EOF'
route:
  receiver: "null"
receivers:
  - name: "null"
EOF
start_am() {
    "$AM_BIN" --config.file="$AW_TMP/am.yml" --storage.path="$AW_TMP/am-data" \
        --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
        >>"$AW_TMP/am.log" 2>&1 &
    AM_PID=$!
    aw_pids+=("$AM_PID")
    if ! until_ok 15 curl -sf --max-time 1 "http://127.0.0.1:$AM_PORT/-/ready" -o /dev/null; then
        echo "alertmanager did not start:"; tail -20 "$AW_TMP/am.log"; exit 99
    fi
}
stop_am() { kill "$AM_PID"; wait "$AM_PID" 2>/dev/null; }

# am_alert ALERTNAME LABEL=VALUE...: prints the one alert Alertmanager lists (not resolved) with
# these labels; exit 1 when there is none.
am_alert() {
    curl -sf --max-time 2 "http://127.0.0.1:$AM_PORT/api/v2/alerts" |
        "$AW_PYTHON" -c '
import json, sys
want = dict(a.split("=", 1) for a in sys.argv[2:])
want["alertname"] = sys.argv[1]
hits = [a for a in json.load(sys.stdin) if all(a["labels"].get(k) == v for k, v in want.items())]
if len(hits) != 1:
    sys.exit(1)
print(json.dumps(hits[0]))' "$@"
}
am_active() { am_alert "$@" | grep -q '"state": "active"'; }
am_gone() { ! am_alert "$@" >/dev/null; }
am_labels() { am_field "$1" '" ".join("%s=%s" % kv for kv in sorted(a["labels"].items()))'; }
# am_field JSON EXPRESSION-ON-a
am_field() {
    "$AW_PYTHON" -c "import datetime, json, sys, time; a = json.loads(sys.argv[1]); print($2)" "$1"
}

aw_start_sim sim
sim_set $A '"calls":[]'
sim_set $B '"calls":[]'
sim_set $C '"fault":"http:503"'
aw_config "$AW_TMP/d.conf" '
  { cc = 1; vdn = 170; id = 1099; name = "alice"; labels = { team = "billing"; }; },
  { cc = 1; vdn = 170; ids = [ 1100, 1101 ]; }' "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 1.0; };
alerts = { long_call = 2.0; };
state_dir = \"$AW_TMP/state\";
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://127.0.0.1:$AM_PORT/api/v2/alerts\"; format = \"alertmanager\"; timeout = 2.0; }
); };"
start_am
aw_start_daemon d1 "$AW_TMP/d.conf"
D1=$AW_PID

# --- AgentLongCall fires after long_call seconds with the agent's labels; its end resolves it.
sim_set $A '"calls":["a1"]'
check "call.long after 2 s" until_ok 8 has_event d1 call.long '"a1"'
check "AgentLongCall is active in Alertmanager" until_ok 10 am_active AgentLongCall call_id=a1
alert=$(am_alert AgentLongCall call_id=a1)
expect_eq "AgentLongCall labels: cc, vdn, agent, name, call_id and the agent's labels" \
    "$(am_labels "$alert")" \
    "agent=1099 alertname=AgentLongCall call_id=a1 cc=1 name=alice team=billing vdn=170"
summary=$(am_field "$alert" 'a["annotations"].get("summary", "")')
check "AgentLongCall has a human summary naming the call and agent ($summary)" \
    grep -q 'a1.*1099' <<<"$summary"
ends_in=$(am_field "$alert" 'int(datetime.datetime.strptime(a["endsAt"][:19], "%Y-%m-%dT%H:%M:%S")
    .replace(tzinfo=datetime.timezone.utc).timestamp() - time.time())')
check "AgentLongCall is held for minutes (endsAt in $ends_in s): Alertmanager keeps it" \
    test "$ends_in" -ge 120
sim_set $A '"calls":[]'
check "call.ended" until_ok 5 has_event d1 call.ended '"a1"'
check "AgentLongCall is resolved when the call ends" until_ok 10 am_gone AgentLongCall call_id=a1

# --- AgentUnreachable fires on agent.unreachable and resolves on agent.reachable.
check "agent C: AgentUnreachable is active (unreachable since the start)" \
    until_ok 10 am_active AgentUnreachable agent=1101
sim_set $B '"fault":"http:503"'
check "agent.unreachable" until_ok 8 has_event d1 agent.unreachable '"id":1100'
check "AgentUnreachable is active in Alertmanager" until_ok 10 am_active AgentUnreachable agent=1100
alert=$(am_alert AgentUnreachable agent=1100)
expect_eq "AgentUnreachable labels: cc, vdn, agent (no call_id)" \
    "$(am_labels "$alert")" "agent=1100 alertname=AgentUnreachable cc=1 vdn=170"
summary=$(am_field "$alert" 'a["annotations"].get("summary", "")')
check "AgentUnreachable summary gives the reason ($summary)" grep -q 503 <<<"$summary"
sim_set $B '"fault":null'
check "agent.reachable" until_ok 8 has_event d1 agent.reachable '"id":1100'
check "AgentUnreachable is resolved when the agent is reachable again" \
    until_ok 10 am_gone AgentUnreachable agent=1100

# --- Alertmanager down when a call gets long; the daemon restarts; Alertmanager comes back.
stop_am
sim_set $A '"calls":["a2"]'
check "call.long while Alertmanager is down" until_ok 8 has_event d1 call.long '"a2"'
aw_stop "$D1"
expect_eq "d1: SIGTERM -> exit 0" "$?" 0
aw_start_daemon d2 "$AW_TMP/d.conf"
D2=$AW_PID
start_am
check "the alert fired while Alertmanager was down arrives after it is back" \
    until_ok 20 am_active AgentLongCall call_id=a2
check "the restarted Alertmanager hears again of the alert still firing from before (agent C)" \
    until_ok 10 am_active AgentUnreachable agent=1101

# --- The call ends while no daemon runs: the next one resolves its alert.
aw_stop "$D2"
expect_eq "d2: SIGTERM -> exit 0" "$?" 0
sim_set $A '"calls":[]'
aw_start_daemon d3 "$AW_TMP/d.conf"
D3=$AW_PID
check "call.ended after_restart" until_ok 8 has_event d3 call.ended '"after_restart":true'
check "its AgentLongCall is resolved" until_ok 10 am_gone AgentLongCall call_id=a2
sim_set $C '"fault":null'
check "agent C reachable: its AgentUnreachable, fired three daemons ago, is resolved" \
    until_ok 10 am_gone AgentUnreachable agent=1101
check "agent C: agent.reachable once its fault clears" has_event d3 agent.reachable '"id":1101'
expect_eq "agent C: agent.unreachable reported once over three daemons (state kept)" \
    "$(cat "$AW_TMP"/d[123].out | grep -F '"type":"agent.unreachable"' | grep -cF '"id":1101')" 1
aw_stop "$D3"
expect_eq "d3: SIGTERM -> exit 0" "$?" 0
check "d3: no webhook failures" bash -c "! grep -q webhook '$AW_TMP/d3.err'"
expect_no_secret "the CMS secret is never printed" "$AW_TMP"/d*.out "$AW_TMP"/d*.err

# --- One alert Alertmanager refuses in a batch: Alertmanager stores the others and still answers
# 400 for the whole request. Only that alert may be dead-lettered, with Alertmanager's reason in
# the log. A proxy in front of Alertmanager gives agent 1203's alerts a label name it rejects.
cat > "$AW_TMP/amproxy.py" <<'EOF'
import http.server, json, os, sys, urllib.error, urllib.request
target, bad_agent, port_file = sys.argv[1:4]

class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        alerts = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        for a in alerts:
            if a.get("labels", {}).get("agent") == bad_agent:
                a["labels"]["bad-name"] = "x"
        req = urllib.request.Request(target + self.path, json.dumps(alerts).encode(),
                                     {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                status, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[4])), Proxy)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
EOF
PROXY_PORT=$("$AW_PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
for id in 1200 1201 1202 1203 1204 1205; do sim_set 1:170:$id '"fault":"http:503"'; done
aw_config "$AW_TMP/e.conf" '{ cc = 1; vdn = 170; range = [ 1200, 1205 ]; }' "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 1.0; };
state_dir = \"$AW_TMP/state4\";
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://127.0.0.1:$PROXY_PORT/api/v2/alerts\"; format = \"alertmanager\";
    batch_max = 10; timeout = 5.0; }
); };"
aw_start_daemon d4 "$AW_TMP/e.conf"   # the proxy is not up yet: the six alerts queue up
D4=$AW_PID
unreachable6() { [ "$(grep -c '"type":"agent.unreachable"' "$AW_TMP/d4.out")" -ge 6 ]; }
check "six agents unreachable" until_ok 10 unreachable6
"$AW_PYTHON" "$AW_TMP/amproxy.py" "http://127.0.0.1:$AM_PORT" 1203 "$AW_TMP/proxy.port" \
    "$PROXY_PORT" 2>>"$AW_TMP/proxy.log" &
aw_pids+=("$!")
for id in 1200 1201 1202 1204 1205; do
    check "agent $id: AgentUnreachable active" until_ok 15 am_active AgentUnreachable agent=$id
done
check "the refused alert is dead-lettered" until_ok 10 test -s "$AW_TMP/state4/deadletter.jsonl"
dead=$("$AW_PYTHON" - "$AW_TMP/state4/deadletter.jsonl" <<'EOF'
import json, sys
dead = [json.loads(l) for l in open(sys.argv[1])]
alerts = [a for d in dead for a in d["payload"]]
print(len(dead), len(alerts), ",".join(a["labels"]["agent"] for a in alerts),
      int(all(d["http_status"] == 400 and "invalid label set" in d["response"] for d in dead)))
EOF
)
expect_eq "only agent 1203's alert is dead-lettered, alone, with 400 and Alertmanager's reason" \
    "$dead" "1 1 1203 1"
expect_grep "the log line carries Alertmanager's own message" \
    'HTTP 400 refuses 1 event for good \(.*invalid label set' "$AW_TMP/d4.err"
aw_stop "$D4"
expect_eq "d4: SIGTERM -> exit 0" "$?" 0

# --- Batch mode with agent state: an agent in rest past alerts.long_state.rest fires AgentLongState
# (label state="rest"); its next agent.state resolves it. A state without a threshold fires
# nothing. Beside Alertmanager, two webhooks filter the new types: "agent.*" and "call.status".
. "$AW_SRC/tests/receiver.sh"
printf '%s\n' 'hook-Secret-3c1f7a' > "$AW_TMP/hook.secret"
chmod 600 "$AW_TMP/hook.secret"
start_receiver ragent
start_receiver rstatus
R=1:171:1300 S=1:171:1301 T=1:171:1302
sim_set $R '"calls":[],"state":{"currentState":1,"currentStateTime":5}'
sim_set $S '"calls":[],"state":{"currentState":7,"currentStateTime":5}'
sim_set $T '"calls":[{"callId":"t1","callStatus":5}],"state":{"currentState":5,"currentStateTime":5}'
AW_API=batch aw_config "$AW_TMP/s.conf" '
  { cc = 1; vdn = 171; id = 1300; name = "rita"; labels = { team = "care"; }; },
  { cc = 1; vdn = 171; ids = [ 1301, 1302 ]; }' "
poll = { interval = 0.3; failure_threshold = 2; backoff_max = 1.0; agent_state = true; };
alerts = { long_state = { rest = 2.0; }; };
state_dir = \"$AW_TMP/state5\";
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://127.0.0.1:$AM_PORT/api/v2/alerts\"; format = \"alertmanager\"; timeout = 2.0; },
  { url = \"http://127.0.0.1:${RPORT[ragent]}/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; events = [ \"agent.*\" ]; },
  { url = \"http://127.0.0.1:${RPORT[rstatus]}/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; events = [ \"call.status\" ]; }
); };"
aw_start_daemon d5 "$AW_TMP/s.conf"
D5=$AW_PID
settle_state 2 $R $S $T
sim_set $R '"calls":[],"state":{"currentState":8,"currentStateTime":0,"currentStateReason":258}'
sim_set $T '"calls":[{"callId":"t1","callStatus":6}],"state":{"currentState":5,"currentStateTime":5}'
check "agent.state rest" until_ok 5 has_event d5 agent.state '"state":"rest"'
check "agent.long_state after 2 s in rest" until_ok 8 has_event d5 agent.long_state '"id":1300'
long=$(grep -F '"type":"agent.long_state"' "$AW_TMP/d5.out" | head -1)
check "agent.long_state: rest, threshold 2, duration at least 2 s" "$AW_PYTHON" -c '
import json, sys
e = json.loads(sys.argv[1])
sys.exit(not (e["state"] == "rest" and e["threshold"] == 2 and e["duration"] >= 2))' "$long"
check "AgentLongState is active in Alertmanager" until_ok 10 am_active AgentLongState agent=1300
alert=$(am_alert AgentLongState agent=1300 || echo '{"labels": {}, "annotations": {}}')
expect_eq "AgentLongState labels: cc, vdn, agent, name, state and the agent's labels" \
    "$(am_labels "$alert")" "agent=1300 alertname=AgentLongState cc=1 name=rita state=rest team=care vdn=171"
summary=$(am_field "$alert" 'a["annotations"].get("summary", "")')
check "AgentLongState summary names the agent and the state ($summary)" \
    grep -q '1300.*rest' <<<"$summary"
sim_set $R '"calls":[],"state":{"currentState":1,"currentStateTime":0}'
check "agent.state idle after rest" until_ok 5 has_event d5 agent.state '"previous_state":"rest"'
check "AgentLongState is resolved when the state changes" \
    until_ok 10 am_gone AgentLongState agent=1300
check "call.status of the held call" has_event d5 call.status '"call_id":"t1"'
expect_eq "a state without a threshold (busy, for ages) fires nothing" \
    "$(grep -F '"type":"agent.long_state"' "$AW_TMP/d5.out" | grep -cvF '"id":1300')" 0
check "no AgentLongState for the busy agent" am_gone AgentLongState agent=1301
# A second stint in rest fires again; the daemon restarts while it fires, the agent leaves rest
# meanwhile, and the next daemon's agent.state resolves it.
long_states() { [ "$(grep -F '"type":"agent.long_state"' "$AW_TMP/d5.out" | grep -cF '"id":1300')" -ge "$1" ]; }
sim_set $R '"calls":[],"state":{"currentState":8,"currentStateTime":0}'
check "a second stint in rest: agent.long_state again" until_ok 8 long_states 2
check "AgentLongState is active again" until_ok 10 am_active AgentLongState agent=1300
# The agent leaves rest and comes back between two polls: a new stint with no agent.state. The old
# stint's AgentLongState is resolved at once (not left to its endsAt, 5 min on), so that the new
# stint's, 2 s later, is a new alert in Alertmanager, starting at its own event, instead of
# merging into the old one and keeping the old stint's start.
sleep 3     # the stint's counter must go back by more than the time between polls + 2 s
sim_set $R '"calls":[],"state":{"currentState":8,"currentStateTime":0}'
check "the new stint's agent.long_state" until_ok 8 long_states 3
third=$(grep -F '"type":"agent.long_state"' "$AW_TMP/d5.out" | grep -F '"id":1300' | sed -n 3p)
starts_at_third() {
    local alert; alert=$(am_alert AgentLongState agent=1300) || return 1
    "$AW_PYTHON" -c '
import datetime, json, sys
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
sys.exit(abs((t(json.loads(sys.argv[1])["startsAt"]) - t(json.loads(sys.argv[2])["time"])).total_seconds()) > 0.001)' \
        "$alert" "$third"
}
check "AgentLongState in Alertmanager starts at the new stint's agent.long_state" \
    until_ok 10 starts_at_third
check_delivery "webhook agent.*: every agent event (agent.state, agent.long_state too), nothing else" \
    10 ragent "$AW_TMP/d5.out" --types 'agent.*'
check "webhook agent.*: agent.state and agent.long_state delivered" bash -c \
    "grep -q '\"type\": *\"agent.state\"' '$AW_TMP/ragent.jsonl' &&
     grep -q '\"type\": *\"agent.long_state\"' '$AW_TMP/ragent.jsonl'"
check_delivery "webhook call.status: the call.status events, nothing else" \
    10 rstatus "$AW_TMP/d5.out" --types 'call.status'
expect_eq "webhook call.status: one event, the held call" \
    "$(grep -c '"call.status"' "$AW_TMP/rstatus.jsonl")" 1
aw_stop "$D5"
expect_eq "d5: SIGTERM -> exit 0" "$?" 0
sim_set $R '"calls":[],"state":{"currentState":7,"currentStateTime":0}'
aw_start_daemon d6 "$AW_TMP/s.conf"
D6=$AW_PID
check "d6: agent.state busy after rest, not initial" \
    until_ok 8 has_event d6 agent.state '"previous_state":"rest"'
check "d6: the AgentLongState fired before the restart is resolved" \
    until_ok 10 am_gone AgentLongState agent=1300
expect_eq "d6: no agent.long_state again, no initial agent.state" \
    "$(grep -cE '"type":"agent.long_state"|"initial":true' "$AW_TMP/d6.out")" 0
aw_stop "$D6"
expect_eq "d6: SIGTERM -> exit 0" "$?" 0
cat "$AW_TMP/d5.out" "$AW_TMP/d6.out" > "$AW_TMP/d56.out"
check "d5 and d6 together: one consistent stream (each agent.state follows the last one)" \
    ev validate "$AW_TMP/d56.out"

aw_done
