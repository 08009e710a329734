#!/bin/bash
# test_ctl.sh: agentwatchctl against a live daemon: status (healthy, CMS down, daemon gone, a webhook
# backlog past max_backlog) and its exit codes, agents with every filter, tail resuming by --after,
# tail -f seeing new events and resuming across a daemon restart with no gap and no repeat, -j
# JSON, over a unix socket and over TCP with basic auth; usage errors exit 2. Against a batch-mode
# daemon with agent state: status by CTI state, agents --state rest as set at the simulator.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 60
A=1:170:1099 B=1:170:1100 C=1:171:2000
CTL=$AW_BUILD/agentwatchctl
S=(-s "$AW_TMP/http.sock")

ctl() { "$CTL" "$@" 2>"$AW_TMP/ctl.err"; }
code() { "$CTL" "$@" >/dev/null 2>&1; echo $?; }
is_json() { "$AW_PYTHON" -c 'import json, sys; json.load(sys.stdin)' 2>/dev/null; }
first_fields() { cut -f1 | tr '\n' ',' | sed 's/,$//'; }
# seqs FILE: the seq of each JSON line of a tail -j, space-separated
seqs() { "$AW_PYTHON" -c '
import json, sys
print(" ".join(str(json.loads(l)["seq"]) for l in open(sys.argv[1]) if l.strip()))' "$1"; }
contiguous() {   # contiguous FIRST LAST FILE: FILE's seqs are exactly FIRST..LAST
    [ "$(seqs "$3")" = "$(seq -s ' ' "$1" "$2")" ]
}
last_seq() { ctl "${S[@]}" -j tail -n 1 | "$AW_PYTHON" -c 'import json,sys; print(json.loads(sys.stdin.read() or "{\"seq\":0}")["seq"])'; }
has() { grep -q -- "$1" "$2"; }
no_escapes() { ! grep -q $'\033' "$1"; }
status_says() {   # status_says EXIT PATTERN [ctl options]: status exits EXIT and prints PATTERN
    local want=$1 pattern=$2; shift 2
    "$CTL" "$@" status > "$AW_TMP/status" 2>&1
    [ $? = "$want" ] && grep -qE -- "$pattern" "$AW_TMP/status"
}

aw_start_sim sim
sim_set $A '"calls":["a1","a2"]'
sim_set $B '"calls":[]'
sim_set $C '"calls":["c1"]'
mkdir -p "$AW_TMP/state"
agents='
  { cc = 1; vdn = 170; id = 1099; name = "alice"; labels = { team = "billing"; }; },
  { cc = 1; vdn = 170; id = 1100; labels = { team = "billing"; }; },
  { cc = 1; vdn = 171; id = 2000; labels = { team = "sales"; }; }'
aw_config "$AW_TMP/main.conf" "$agents" "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; };
outputs = { journal = false; };
state_dir = \"$AW_TMP/state\";
http = { listen = [ \"unix:$AW_TMP/http.sock\" ]; };"
aw_start_daemon main "$AW_TMP/main.conf"
wait_for 10 test -S "$AW_TMP/http.sock" || { fail "the daemon serves its unix socket"; aw_done; }
settle 2 $A $B $C

# --- usage
expect_eq "no command: exit 2" "$(code)" 2
expect_eq "unknown command: exit 2" "$(code "${S[@]}" frobnicate)" 2
expect_eq "-u that is not http(s): exit 2" "$(code -u ftp://x status)" 2
expect_eq "--user without --password-file: exit 2" "$(code "${S[@]}" --user a status)" 2
expect_eq "--state that is no CTI state: exit 2" "$(code "${S[@]}" agents --state lunch)" 2
expect_eq "--label without =: exit 2" "$(code "${S[@]}" agents --label team)" 2
expect_eq "--busy --idle contradict: exit 2" "$(code "${S[@]}" agents --busy --idle)" 2
"$CTL" "${S[@]}" agents --busy --idle 2> "$AW_TMP/err"
expect_grep "--busy --idle: says why" '^agentwatchctl: agents: --idle: one of --busy and --idle, once$' "$AW_TMP/err"
expect_eq "--busy twice: exit 2" "$(code "${S[@]}" agents --busy --busy)" 2
expect_eq "--state twice: exit 2" "$(code "${S[@]}" agents --state rest --state idle)" 2
expect_eq "--label of one key twice: exit 2" "$(code "${S[@]}" agents --label team=billing --label team=sales)" 2
expect_eq "tail --after not a number: exit 2" "$(code "${S[@]}" tail --after x)" 2

# --- status
check "status: healthy, exit 0" status_says 0 '^health +ok$' "${S[@]}"
expect_grep "status: agents line" '^agents +3 watched, 2 busy, 0 unreachable, 3 calls$' "$AW_TMP/status"
expect_grep "status: the daemon's address" "^daemon +unix:$AW_TMP/http.sock$" "$AW_TMP/status"
expect_grep "status: polls" '^polls +[1-9][0-9]* ok, 0 failed$' "$AW_TMP/status"
expect_grep "status: no webhooks" '^webhooks +none$' "$AW_TMP/status"
expect_grep "status: last error none" '^last error +none$' "$AW_TMP/status"
ctl "${S[@]}" -j status > "$AW_TMP/status.json"
check "status -j: valid JSON" is_json < "$AW_TMP/status.json"
expect_eq "status -j: the numbers" "$("$AW_PYTHON" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["healthy"], s["watched"], s["busy"], s["calls"], sum(s["states"].values()))' "$AW_TMP/status.json")" \
    "True 3 2 3 3"
expect_eq "no daemon at the socket: exit 1" "$(code -s "$AW_TMP/none.sock" status)" 1

# --- agents (stdout is no terminal here: plain tab-separated lines)
expect_eq "agents: every agent, one line each" "$(ctl "${S[@]}" agents | first_fields)" "$A,$B,$C"
expect_eq "agents --busy" "$(ctl "${S[@]}" agents --busy | first_fields)" "$A,$C"
expect_eq "agents --idle" "$(ctl "${S[@]}" agents --idle | first_fields)" "$B"
expect_eq "agents --label team=billing" "$(ctl "${S[@]}" agents --label team=billing | first_fields)" "$A,$B"
expect_eq "agents --label team=billing --busy" \
    "$(ctl "${S[@]}" agents --label team=billing --busy | first_fields)" "$A"
expect_eq "agents --unreachable: none" "$(ctl "${S[@]}" agents --unreachable | first_fields)" ""
expect_eq "agents --state rest: none at rest" "$(ctl "${S[@]}" agents --state rest | first_fields)" ""
expect_eq "agents --state unknown: all (per-agent polling knows no state)" \
    "$(ctl "${S[@]}" agents --state unknown | first_fields)" "$A,$B,$C"
expect_eq "agents ID: one agent, its calls" "$(ctl "${S[@]}" agents $A | awk -F'\t' '{ gsub(/:[^,]*/, "", $6); print $1 "\t" $2 "\t" $5 "\t" $6 }')" \
    "$(printf '%s\talice\tyes\ta1,a2' $A)"
expect_eq "agents of an unknown agent: exit 1" "$(code "${S[@]}" agents 1:170:4242)" 1
check "agents -j: valid JSON" is_json < <(ctl "${S[@]}" -j agents --busy)
expect_eq "agents -j: the API's answer" "$(ctl "${S[@]}" -j agents --busy | "$AW_PYTHON" -c '
import json, sys
print(",".join(a["agent"] for a in json.load(sys.stdin)["agents"]))')" "$A,$C"
COLUMNS=60 script -qec "$CTL ${S[*]} agents" /dev/null > "$AW_TMP/table" 2>&1
expect_grep "agents on a terminal: a table with a header" '^AGENT +NAME +STATE +FOR +REACH +CALLS' "$AW_TMP/table"

# --- tail
last=$(last_seq)
check "the log has events" test "$last" -ge 4
ctl "${S[@]}" -j tail --after 0 > "$AW_TMP/all"
check "tail -j --after 0: every event, in order" contiguous 1 "$last" "$AW_TMP/all"
check "tail -j: each line valid JSON" "$AW_PYTHON" -c '
import json, sys
[json.loads(l) for l in open(sys.argv[1])]' "$AW_TMP/all"
ctl "${S[@]}" -j tail --after 2 > "$AW_TMP/after2"
check "tail --after 2 resumes at 3" contiguous 3 "$last" "$AW_TMP/after2"
ctl "${S[@]}" -j tail -n 2 > "$AW_TMP/last2"
check "tail -n 2: the last two" contiguous $((last - 1)) "$last" "$AW_TMP/last2"
ctl "${S[@]}" tail --after 0 > "$AW_TMP/lines"
expect_grep "tail: readable lines" "^[0-9T:.-]+Z #[0-9]+ $A \(alice\) call.started a1( |$)" "$AW_TMP/lines"
check "tail: no colour when not a terminal" no_escapes "$AW_TMP/lines"
script -qec "$CTL ${S[*]} tail --after 0" /dev/null > "$AW_TMP/tty" 2>&1
check "tail on a terminal: coloured" grep -q $'\033\[32mcall.started' "$AW_TMP/tty"
NO_COLOR=1 script -qec "$CTL ${S[*]} tail --after 0" /dev/null > "$AW_TMP/tty" 2>&1
check "tail on a terminal with NO_COLOR: plain" no_escapes "$AW_TMP/tty"

# --- tail -f: new events within a bound, and across a daemon restart with no gap, no repeat
"$CTL" "${S[@]}" -j tail -f --after "$last" > "$AW_TMP/follow" 2>"$AW_TMP/follow.err" &
FOLLOW=$!
aw_pids+=($FOLLOW)
sim_set $B '"calls":["b1"]'
check "tail -f: a new call shows within 10 s" until_ok 10 has '"call_id":"b1"' "$AW_TMP/follow"
check "the daemon stops" aw_stop $AW_PID
sim_set $B '"calls":[]'
aw_start_daemon again "$AW_TMP/main.conf"
check "tail -f reconnects after the restart and sees b1 end" \
    until_ok 30 grep -q '"type":"call.ended".*"call_id":"b1"' "$AW_TMP/follow"
now=$(last_seq)
check "tail -f: every event after --after once, in order ($((last + 1))..$now)" \
    until_ok 5 contiguous $((last + 1)) "$now" "$AW_TMP/follow"
kill $FOLLOW; wait $FOLLOW 2>/dev/null

# --- the CMS down
for a in $A $B $C; do sim_set $a '"fault":"reset"'; done
check "status: CMS unreachable, exit 1" until_ok 20 status_says 1 '^health +UNHEALTHY: CMS unreachable' "${S[@]}"
check "status: last error says why" status_says 1 '^last error +CMS unreachable' "${S[@]}"
check "agents --unreachable lists them" until_ok 10 holds '[ "$(ctl "${S[@]}" agents --unreachable | first_fields)" = "$A,$B,$C" ]'
expect_grep "agents: unreachable agents say why" "^$A	alice	.*	no	.*	[^-]" <(ctl "${S[@]}" agents)
for a in $A $B $C; do sim_set $a '"fault":null'; done
check "status: healthy again" until_ok 20 status_says 0 '^health +ok$' "${S[@]}"

# --- TCP with basic auth, and a webhook whose backlog passes max_backlog
PW='ctl-pa55'
printf 'alice:%s\n' "$(openssl passwd -6 "$PW")" > "$AW_TMP/http.users"
chmod 600 "$AW_TMP/http.users"
printf '%s\n' "$PW" > "$AW_TMP/pw"
chmod 600 "$AW_TMP/pw"
printf 'wrong\n' > "$AW_TMP/badpw"
chmod 600 "$AW_TMP/badpw"
printf 'hook-secret\n' > "$AW_TMP/hook.secret"
chmod 600 "$AW_TMP/hook.secret"
DEAD=$("$AW_PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
aw_config "$AW_TMP/main.conf" "$agents" "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; };
outputs = { journal = false; webhooks = ( { url = \"http://127.0.0.1:$DEAD/hook\";
  secret_file = \"$AW_TMP/hook.secret\"; timeout = 1.0; max_backlog = 10; } ); };
state_dir = \"$AW_TMP/state\";
http = { listen = [ \"127.0.0.1:0\" ]; users_file = \"$AW_TMP/http.users\"; };"
kill -HUP $AW_PID
ADDR=$(aw_http_addr again)
aw_need_http again "$ADDR"
T=(-u "http://$ADDR/" --user alice --password-file "$AW_TMP/pw")
check "TCP + basic auth: status healthy" until_ok 10 status_says 0 '^health +ok$' "${T[@]}"
expect_grep "status: the webhook's queue" "^webhook +http://127.0.0.1:$DEAD: [0-9]+ queued" "$AW_TMP/status"
expect_eq "TCP + basic auth: agents" "$(ctl "${T[@]}" agents --busy | first_fields)" "$A,$C"
expect_eq "TCP: a wrong password: exit 1" "$(code -u "http://$ADDR" --user alice --password-file "$AW_TMP/badpw" status)" 1
"$CTL" -u "http://$ADDR" --user alice --password-file "$AW_TMP/badpw" agents 2> "$AW_TMP/err"
expect_grep "TCP: a wrong password says 401" 'HTTP 401' "$AW_TMP/err"
expect_eq "TCP: no credentials: exit 1" "$(code -u "http://$ADDR" status)" 1
chmod 644 "$AW_TMP/pw"
expect_eq "a password file readable by others: exit 2" "$(code "${T[@]}" status)" 2
chmod 600 "$AW_TMP/pw"
sim_set $A '"calls":["x1","x2","x3","x4","x5","x6","x7","x8","x9","x10","x11","x12","x13","x14","x15"]'
check "status: a webhook backlog past max_backlog is unhealthy, exit 1" \
    until_ok 20 status_says 1 "^health +UNHEALTHY: webhook http://127.0.0.1:$DEAD: backlog past max_backlog = 10 \([0-9]+ events behind, [1-9][0-9]* dropped" "${T[@]}"
expect_grep "status: the last error is the backlog" "^last error +webhook http://127.0.0.1:$DEAD: backlog" "$AW_TMP/status"
check "the daemon stops cleanly" aw_stop $AW_PID

# --- A batch-mode daemon with agent state: status counts agents by CTI state, agents --state rest
# lists exactly the agents put in rest at the simulator, and follows them.
P=1:172:3000 Q=1:172:3001 R=1:172:3002 U=1:172:3003
sim_set $P '"calls":[],"state":{"currentState":8,"currentStateTime":40,"currentStateReason":258}'
sim_set $Q '"calls":[],"state":{"currentState":8,"currentStateTime":5}'
sim_set $R '"calls":[],"state":{"currentState":1,"currentStateTime":5}'
sim_set $U '"calls":[{"callId":"u1","callStatus":6,"callInOut":1}],"state":{"currentState":5,"currentStateTime":5}'
B=(-s "$AW_TMP/batch.sock")
AW_API=batch aw_config "$AW_TMP/batch.conf" '{ cc = 1; vdn = 172; range = [ 3000, 3003 ]; }' "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; agent_state = true; };
outputs = { journal = false; };
http = { listen = [ \"unix:$AW_TMP/batch.sock\" ]; };"
aw_start_daemon batch "$AW_TMP/batch.conf"
wait_for 10 test -S "$AW_TMP/batch.sock" || { fail "the batch daemon serves its unix socket"; aw_done; }
settle_state 2 $P $Q $R $U
expect_eq "batch: agents --state rest: exactly the agents in rest" \
    "$(ctl "${B[@]}" agents --state rest | first_fields)" "$P,$Q"
expect_eq "batch: agents --state talking" "$(ctl "${B[@]}" agents --state talking | first_fields)" "$U"
expect_eq "batch: agents --state idle" "$(ctl "${B[@]}" agents --state idle | first_fields)" "$R"
check "batch: status healthy" status_says 0 '^health +ok$' "${B[@]}"
expect_grep "batch: status counts agents by state" '^states +idle 1, talking 1, rest 2$' "$AW_TMP/status"
expect_grep "batch: status agents line" '^agents +4 watched, 1 busy, 0 unreachable, 1 call$' \
    "$AW_TMP/status"
expect_eq "batch: agents shows the state and the held call" \
    "$(ctl "${B[@]}" agents $U | awk -F'\t' '{ sub(/:[0-9.]+$/, "", $6); print $1 "\t" $3 "\t" $6 }')" \
    "$(printf '%s\ttalking\tu1:held' $U)"
expect_eq "batch: agents -j: state, since, reason of an agent in rest" \
    "$(ctl "${B[@]}" -j agents $P | "$AW_PYTHON" -c '
import json, sys
a = json.load(sys.stdin)
a = a["agents"][0] if "agents" in a else a
print(a["state"], a["state_code"], a["state_reason"], a["state_duration"] >= 40)')" "rest 8 258 True"
sim_set $R '"calls":[],"state":{"currentState":8,"currentStateTime":0}'
sim_set $P '"calls":[],"state":{"currentState":1,"currentStateTime":0}'
settle_state 2 $P $R
expect_eq "batch: one back from rest, one gone to rest: agents --state rest follows" \
    "$(ctl "${B[@]}" agents --state rest | first_fields)" "$Q,$R"
check "batch: status follows" status_says 0 '^states +idle 1, talking 1, rest 2$' "${B[@]}"
check "the batch daemon stops cleanly" aw_stop $AW_PID
aw_done
