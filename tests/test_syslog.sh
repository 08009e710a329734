#!/bin/bash
# test_syslog.sh: a real rsyslogd gets one key=value line per event with the configured facility
# and ident, odd names come out escaped, and a syslog daemon that goes away costs only its lines;
# in batch mode with agent state the lines carry call_status=, direction=, media=, state=.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

RSYSLOGD=${RSYSLOGD:-$(command -v rsyslogd || echo /usr/sbin/rsyslogd)}
if [ ! -x "$RSYSLOGD" ]; then
    fail "rsyslogd not found (apt-get install rsyslog): this test needs a real syslog daemon"
    aw_done
fi

A=1:170:1099 B=1:170:1100

# --- rsyslogd of our own: a socket in the temp dir, our ident's lines to a file, one per line.
sock=$AW_TMP/log.sock
cat > "$AW_TMP/rsyslog.conf" <<EOF
global(workDirectory="$AW_TMP")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$sock" CreatePath="on" RateLimit.Interval="0")
template(name="aw" type="string"
         string="%syslogfacility-text% %syslogseverity-text% %programname% %procid%%msg%\n")
if \$programname == "aw-test" then {
    action(type="omfile" file="$AW_TMP/syslog.log" template="aw")
    stop
}
if \$programname == "aw-batch" then {
    action(type="omfile" file="$AW_TMP/batch.log" template="aw")
    stop
}
action(type="omfile" file="$AW_TMP/syslog.other")
EOF
RS_PID=
start_rsyslog() {
    rm -f "$AW_TMP/rsyslog.pid"
    "$RSYSLOGD" -n -f "$AW_TMP/rsyslog.conf" -i "$AW_TMP/rsyslog.pid" 2>>"$AW_TMP/rsyslog.err" &
    RS_PID=$!
    aw_pids+=("$RS_PID")
    wait_for 10 test -S "$sock" || { echo "rsyslogd did not start:"; cat "$AW_TMP/rsyslog.err"; exit 99; }
}
stop_rsyslog() {
    aw_stop "$RS_PID" 5 || true
    wait_for 5 test ! -e "$sock"
}
start_rsyslog

# Compares the syslog lines with the stdout events one by one: SKIP_FROM..SKIP_TO (stdout
# indexes) are the events that happened while rsyslogd was away and cannot be in the file.
cat > "$AW_TMP/cmp.py" <<'EOF'
import json, re, sys

SEVERITY = {"call.started": "info", "call.ended": "info", "call.long": "notice",
            "agent.busy": "info", "agent.idle": "info", "agent.unreachable": "warning",
            "agent.reachable": "info", "call.status": "info", "agent.state": "info",
            "agent.long_state": "notice"}
# Call detail and the CTI state (batch mode): the same names as on stdout.
DETAIL = ("call_status", "previous_call_status", "direction", "media", "state", "previous_state",
          "state_since")
PAIR = re.compile(r' ?([a-z_]+)=("(?:[^"\\]|\\.)*"|[^ "]*)')

def unquote(v):
    if not v.startswith('"'):
        return v
    return re.sub(r'\\(x[0-9a-f]{2}|.)',
                  lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) == 3 else m.group(1),
                  v[1:-1])

def pairs(msg):
    out, pos = [], 0
    while pos < len(msg):
        m = PAIR.match(msg, pos)
        if not m or m.end() == pos:
            raise ValueError("not key=value at %d: %r" % (pos, msg[pos:]))
        out.append((m.group(1), unquote(m.group(2))))
        pos = m.end()
    return out

def expected(ev):
    a = ev["agent"]
    want = [("event", ev["type"]), ("id", ev["id"]), ("time", ev["time"]), ("cc", str(a["cc"])),
            ("vdn", str(a["vdn"])), ("agent", str(a["id"]))]
    if "name" in a:
        want.append(("name", a["name"]))
    if "call_id" in ev:
        want.append(("call_id", ev["call_id"]))
    if "duration" in ev:
        want.append(("duration", "%.3f" % ev["duration"]))
    if ev["type"] == "agent.unreachable":
        want += [("failures", str(ev["failures"])), ("reason", ev["reason"])]
    want += [(k, str(ev[k])) for k in DETAIL if k in ev]
    if ev.get("initial"):
        want.append(("initial", "true"))
    return want

syslog_file, stdout_file, facility, ident, pid, skip_from, skip_to = sys.argv[1:8]
events = [json.loads(l) for l in open(stdout_file)]
events = events[:int(skip_from)] + events[int(skip_to):]
lines = open(syslog_file, encoding="utf-8").read().splitlines()
errors = []
if len(lines) != len(events):
    errors.append("%d syslog lines for %d events" % (len(lines), len(events)))
for i, (line, ev) in enumerate(zip(lines, events)):
    fac, sev, prog, rest = line.split(" ", 3)
    head = "%s %s %s " % (facility, SEVERITY[ev["type"]], ident)
    if not line.startswith(head + "%s " % pid):
        errors.append("line %d: starts %r, want %r" % (i, line[:60], head + pid))
        continue
    got = pairs(line[len(head + pid) + 1:])
    want = expected(ev)
    # Fields may be added, but each once, event first and the free text (msg) last.
    keys = [k for k, _ in got]
    if (len(set(keys)) != len(keys) or keys[0] != "event" or keys[-1] != "msg"
            or any(dict(got).get(k) != v for k, v in want)):
        errors.append("line %d: %r\n      want %r + msg" % (i, got, want))
    who = "agent %s:%s:%s" % (ev["agent"]["cc"], ev["agent"]["vdn"], ev["agent"]["id"])
    if "name" in ev["agent"]:
        who += " (%s)" % ev["agent"]["name"]
    if not got[-1][1].startswith(who):
        errors.append("line %d: msg %r does not start with %r" % (i, got[-1][1], who))
for e in errors[:10]:
    print("    " + e)
sys.exit(1 if errors else 0)
EOF
syslog_matches() {   # syslog_matches SKIP_FROM SKIP_TO
    "$AW_PYTHON" "$AW_TMP/cmp.py" "$AW_TMP/syslog.log" "$AW_TMP/d.out" local3 aw-test "$AW_PID" "$@"
}
lines_are() { [ "$(wc -l < "$AW_TMP/syslog.log")" -eq "$1" ]; }

# An agent name with quotes, spaces, '=', a backslash and a tab (libconfig's "\t").
aw_start_sim sim
sim_set $A '"calls":["c1","odd \"id\" x=1"]'
sim_set $B '"calls":[],"fault":"reset"'
aw_config "$AW_TMP/d.conf" '
  { cc = 1; vdn = 170; id = 1099; name = "O'"'"'Brien \"Bob\" x=1\\y\tz"; },
  { cc = 1; vdn = 170; id = 1100; }' "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; };
alerts = { long_call = 1.0; };
outputs = {
  journal = false;
  stdout = true;
  syslog = { enabled = true; facility = \"local3\"; ident = \"aw-test\"; socket = \"$sock\"; };
};"
aw_start_daemon d "$AW_TMP/d.conf"

# Baseline, call.long (notice), unreachable (warning), reachable. After this no call is new, so
# no call.long can come at a moment the steps below do not expect.
settle 2 $A $B
wait_for 10 ev wait "$AW_TMP/d.out" $A 5 0
wait_for 10 ev wait "$AW_TMP/d.out" $B 1 0
events_are d "stdout: baseline and call.long of A" $A 'call.started:c1+initial' \
    'call.started:odd "id" x=1+initial' 'agent.busy+initial' 'call.long:c1' 'call.long:odd "id" x=1'
events_are d "stdout: B unreachable" $B 'agent.unreachable'
sim_set $B '"fault":null'
settle 2 $B
events_are d "stdout: B reachable" $B 'agent.reachable'
n=$(ev count "$AW_TMP/d.out")
check "rsyslogd got one line per event ($n)" wait_for 5 lines_are "$n"
check "each line: facility local3, the severity of its type, ident, pid, key=value fields as on stdout" \
    syslog_matches "$n" "$n"
expect_grep "the odd name comes out quoted and escaped, the tab as \\x09" \
    "name=\"O'Brien \\\\\"Bob\\\\\" x=1\\\\\\\\y\\\\x09z\" " "$AW_TMP/syslog.log"
expect_grep "a call ID with quotes and '=' comes out quoted and escaped" \
    'call_id="odd \\"id\\" x=1" ' "$AW_TMP/syslog.log"
check "no raw control characters reached rsyslogd (it would show them as #011)" \
    bash -c "! grep -q '#011' '$AW_TMP/syslog.log' && ! grep -qP '\\t' '$AW_TMP/syslog.log'"

# --- rsyslogd goes away: the daemon keeps polling and reporting on stdout, and warns.
stop_rsyslog
gap_from=$(ev count "$AW_TMP/d.out")
sim_set $A '"calls":["odd \"id\" x=1"]'
settle 2 $A
events_are d "rsyslogd down: events still on stdout" $A 'call.ended:c1'
sim_set $B '"fault":"reset"'
wait_for 10 ev wait "$AW_TMP/d.out" $B $((seen[d/$B] + 1)) 0
events_are d "rsyslogd down: the daemon keeps polling" $B 'agent.unreachable'
expect_grep "rsyslogd down: a warning on stderr" \
    "syslog $sock: .*; events for syslog are dropped" "$AW_TMP/d.err"
check "rsyslogd down: the daemon is alive" kill -0 "$AW_PID"

# --- rsyslogd is back: lines arrive again, from the first event on.
start_rsyslog
gap_to=$(ev count "$AW_TMP/d.out")
sim_set $A '"calls":[]'
settle 2 $A
events_are d "rsyslogd back: events on stdout" $A 'call.ended:odd "id" x=1' 'agent.idle'
n=$(ev count "$AW_TMP/d.out")
check "rsyslogd back: their lines arrive" wait_for 5 lines_are $((n - (gap_to - gap_from)))
check "rsyslogd back: every line matches its event" syslog_matches "$gap_from" "$gap_to"

# A restart with no event in between (as on a package upgrade): the next event still arrives.
stop_rsyslog
start_rsyslog
sim_set $B '"fault":null'
settle 2 $B
events_are d "rsyslogd restarted: event on stdout" $B 'agent.reachable'
n=$(ev count "$AW_TMP/d.out")
check "rsyslogd restarted while idle: the first event after it arrives" \
    wait_for 5 lines_are $((n - (gap_to - gap_from)))
check "rsyslogd restarted: every line matches its event" syslog_matches "$gap_from" "$gap_to"

aw_stop "$AW_PID"
expect_eq "SIGTERM -> exit 0" "$?" 0
check "the event stream stayed consistent" ev validate "$AW_TMP/d.out" 2

# --- Batch mode with agent state: state= and previous_state= on agent.state lines, call_status=,
# direction= and media= on call events, previous_call_status= on call.status.
C=1:171:1200 D=1:171:1201
sim_set $C '"calls":[],"state":{"currentState":1,"currentStateTime":5}'
sim_set $D '"calls":[{"callId":"d1","callStatus":5,"mediaType":1}],"state":{"currentState":5,"currentStateTime":5}'
AW_API=batch aw_config "$AW_TMP/b.conf" '{ cc = 1; vdn = 171; ids = [ 1200, 1201 ]; }' "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; agent_state = true; };
outputs = {
  journal = false;
  stdout = true;
  syslog = { enabled = true; facility = \"local3\"; ident = \"aw-batch\"; socket = \"$sock\"; };
};"
aw_start_daemon b "$AW_TMP/b.conf"
settle_state 2 $C $D
sim_set $C '"calls":[],"state":{"currentState":8,"currentStateTime":0}'
sim_set $D '"calls":[{"callId":"d1","callStatus":6,"mediaType":1}],"state":{"currentState":5,"currentStateTime":5}'
settle_state 2 $C $D
events_are b "batch, stdout: idle, then rest" $C 'agent.state+initial' \
    'agent.state,state=rest,previous_state=idle'
events_are b "batch, stdout: a chat, then held" $D 'call.started:d1+initial,media=chat' \
    'agent.busy+initial' 'agent.state+initial' 'call.status:d1,call_status=held'
n=$(ev count "$AW_TMP/b.out")
blines_are() { [ "$(wc -l < "$AW_TMP/batch.log")" -eq "$1" ]; }
check "batch: one line per event ($n)" wait_for 5 blines_are "$n"
check "batch: every line matches its event, call detail and state included" \
    "$AW_PYTHON" "$AW_TMP/cmp.py" "$AW_TMP/batch.log" "$AW_TMP/b.out" local3 aw-batch "$AW_PID" "$n" "$n"
expect_grep "batch: the agent.state line has state=rest previous_state=idle" \
    '^local3 info aw-batch [0-9]+ event=agent\.state .* state=rest previous_state=idle ' \
    "$AW_TMP/batch.log"
expect_grep "batch: the call.status line has call_status=held previous_call_status=talking" \
    'event=call\.status .*call_status=held previous_call_status=talking direction=inbound media=chat' \
    "$AW_TMP/batch.log"
check "per-agent mode: no call_status= or state= on its lines" \
    bash -c "! grep -qE ' (call_status|state)=' '$AW_TMP/syslog.log'"
aw_stop "$AW_PID"
expect_eq "batch: SIGTERM -> exit 0" "$?" 0
check "batch: the event stream stayed consistent" ev validate "$AW_TMP/b.out"
aw_done
