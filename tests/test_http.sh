#!/bin/bash
# test_http.sh: the HTTP endpoint against a live daemon: every path and its errors, filters,
# IPv4, IPv6 and unix socket listeners, malformed and oversized requests, /healthz following the
# CMS (auth rejected, unreachable, back), a reload that moves the listeners, then TLS with basic
# auth accepted and refused.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 90
A=1:170:1099 B=1:170:1100 C=1:171:2000

# get URL [curl options]: prints "STATUS BODY" (the body's first line)
get() {
    local url=$1; shift
    curl -sS --max-time 5 -o "$AW_TMP/body" -w '%{http_code}' "$@" "$url" > "$AW_TMP/code" 2>/dev/null
    echo "$(cat "$AW_TMP/code") $(head -1 "$AW_TMP/body")"
}
status() { get "$@" | cut -d' ' -f1; }
answers() {   # answers WANT URL [curl options]: get's output starts with WANT
    local want=$1; shift
    [[ "$(get "$@")" == "$want"* ]]
}
refused() { ! curl -s --max-time 2 "$1" -o /dev/null; }
# json_agents URL: the agent keys of an /api/v1/agents answer, comma-separated
json_agents() {
    curl -sS --max-time 5 "$1" | "$AW_PYTHON" -c '
import json, sys
print(",".join(a["agent"] for a in json.load(sys.stdin)["agents"]))'
}

aw_start_sim sim
sim_set $A '"calls":["a1","a2"]'
sim_set $B '"calls":[]'
sim_set $C '"calls":["c1"]'
have_v6=0
"$AW_PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null && have_v6=1
listen='"127.0.0.1:0", "unix:'$AW_TMP'/http.sock"'
[ $have_v6 = 1 ] && listen="$listen, \"[::1]:0\""
aw_config "$AW_TMP/main.conf" '
  { cc = 1; vdn = 170; id = 1099; name = "alice"; labels = { team = "billing"; }; },
  { cc = 1; vdn = 170; id = 1100; labels = { team = "billing"; }; },
  { cc = 1; vdn = 171; id = 2000; labels = { team = "sales"; }; }' "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; };
outputs = { journal = false; };
http = { listen = [ $listen ]; agent_metrics = true; timeout = 2; };"
aw_start_daemon main "$AW_TMP/main.conf"
ADDR=$(aw_http_addr main)
aw_need_http main "$ADDR"
U=http://$ADDR
settle 2 $A $B $C

# --- paths
expect_eq "/healthz: 200 ok once polls reach the CMS" "$(get $U/healthz)" "200 ok"
expect_eq "HEAD /healthz" "$(status $U/healthz -I)" 200
expect_eq "POST is refused with 405" "$(get $U/metrics -X POST)" "405 405 POST: only GET and HEAD are served"
check "405 names the allowed methods" grep -q . <(curl -sS -i -X DELETE "$U/healthz" | grep -i '^Allow: GET, HEAD')
expect_eq "unknown path: 404" "$(status $U/nope)" 404
expect_eq "/metrics: 200" "$(status $U/metrics)" 200
curl -sS -D "$AW_TMP/mh" "$U/metrics" > "$AW_TMP/metrics"
expect_grep "/metrics: exposition 0.0.4 content type" 'Content-Type: text/plain; version=0.0.4' "$AW_TMP/mh"
check "/metrics: promtool check metrics accepts it" promtool check metrics < "$AW_TMP/metrics"
expect_grep "/metrics: polls by result" '^agentwatchd_polls_total\{api="agent",result="ok"\} [1-9]' "$AW_TMP/metrics"
expect_eq "/metrics: calls_active by direction and media" \
    "$(awk '/^agentwatchd_calls_active\{direction="[a-z0-9_]*",media="[a-z0-9_]*"\} / { n += $2 } END { print n }' "$AW_TMP/metrics")" 3
expect_eq "/metrics: agents by state: every state and unknown, each agent once" \
    "$(grep -c '^agentwatchd_agents{state="[a-z_]*"} [0-9]*$' "$AW_TMP/metrics") $(awk '/^agentwatchd_agents\{state=/ { n += $2 } END { print n }' "$AW_TMP/metrics")" "12 3"
expect_grep "/metrics: per-agent series with agent_metrics" \
    '^agentwatchd_agent_calls\{cc="1",vdn="170",agent="1099",name="alice"\} 2$' "$AW_TMP/metrics"
expect_grep "/metrics: events by type" '^agentwatchd_events_total\{type="call.started"\} 3$' "$AW_TMP/metrics"

expect_eq "/api/v1/agents: every agent" "$(json_agents $U/api/v1/agents)" "$A,$B,$C"
expect_eq "?busy=1" "$(json_agents "$U/api/v1/agents?busy=1")" "$A,$C"
expect_eq "?busy=0" "$(json_agents "$U/api/v1/agents?busy=0")" "$B"
expect_eq "?label.team=billing" "$(json_agents "$U/api/v1/agents?label.team=billing")" "$A,$B"
expect_eq "?label.team=billing&busy=1" "$(json_agents "$U/api/v1/agents?label.team=billing&busy=1")" "$A"
expect_eq "?unreachable=1: none yet" "$(json_agents "$U/api/v1/agents?unreachable=1")" ""
expect_eq "unknown filter: 400 with the reason" "$(get "$U/api/v1/agents?status=idle")" \
    "400 400 status: is not a filter (busy, unreachable, state, label.NAME)"
expect_eq "?state=NAME not a CTI state: 400 naming it" "$(get "$U/api/v1/agents?state=lunch")" \
    "400 400 state: 'lunch' is not an agent state (signed_out, idle, preoccupied, occupied, answering, talking, wrap_up, busy, rest, study, adjusting, unknown)"
expect_eq "?state=unknown: every agent (per-agent polling knows no state)" \
    "$(json_agents "$U/api/v1/agents?state=unknown")" "$A,$B,$C"
expect_eq "?state=unreachable is no CTI state: 400" "$(status "$U/api/v1/agents?state=unreachable")" 400
expect_eq "bad flag: 400" "$(status "$U/api/v1/agents?busy=maybe")" 400
expect_eq "?busy=1&busy=0: a repeated filter, 400 naming it" "$(get "$U/api/v1/agents?busy=1&busy=0")" \
    "400 400 busy: given more than once (each filter takes one value)"
expect_eq "?label.team= twice: 400 naming it" \
    "$(get "$U/api/v1/agents?label.team=billing&label.team=sales")" \
    "400 400 label.team: given more than once (each filter takes one value)"
expect_eq "?state= twice: 400" "$(status "$U/api/v1/agents?state=idle&state=idle")" 400
curl -sS "$U/api/v1/agents/$A" > "$AW_TMP/one"
expect_eq "one agent: its calls" "$("$AW_PYTHON" -c '
import json, sys
a = json.load(open(sys.argv[1]))
print(a["name"], a["reachable"], [c["id"] for c in a["calls"]], all(c["duration"] >= 0 and c["since"].endswith("Z") for c in a["calls"]))' "$AW_TMP/one")" \
    "alice True ['a1', 'a2'] True"
expect_eq "unknown agent: 404" "$(get "$U/api/v1/agents/1:170:4242")" "404 404 agent 1:170:4242 is not watched"
expect_eq "malformed agent id: 400" "$(status "$U/api/v1/agents/1:170")" 400
expect_eq "agent id out of range: 400" "$(status "$U/api/v1/agents/99999:1:1")" 400

curl -sS "$U/api/v1/events?after=1&limit=2" > "$AW_TMP/ev"
expect_eq "/api/v1/events: after and limit" "$("$AW_PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print([e["seq"] for e in d["events"]], d["next_after"], d["last_seq"] >= 5)' "$AW_TMP/ev")" "[2, 3] 3 True"
expect_eq "after not a number: 400" "$(get "$U/api/v1/events?after=x")" "400 400 after: must be a sequence number"
expect_eq "limit 0: 400" "$(status "$U/api/v1/events?limit=0")" 400
expect_eq "limit too large: 400" "$(status "$U/api/v1/events?limit=100000")" 400
expect_eq "unknown parameter: 400" "$(status "$U/api/v1/events?befor=3")" 400

# --- other listeners
expect_eq "unix socket listener" "$(get http://x/healthz --unix-socket "$AW_TMP/http.sock")" "200 ok"
if [ $have_v6 = 1 ]; then
    expect_eq "IPv6 listener" "$(get "http://$(aw_http_addr main 6)/healthz")" "200 ok"
fi

# --- malformed and oversized requests: an answer, never a crash
raw() {   # raw TEXT: sends TEXT over TCP, prints the status line
    "$AW_PYTHON" - "$ADDR" "$1" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
try:
    print(s.recv(200).decode("latin-1").split("\r\n")[0])  # "" when closed
except Exception as e:
    print("no answer:", e)
EOF
}
# libmicrohttpd closes on a request line without a URL, answers 400 to one it can split.
check "garbage request line: closed" grep -q '^$' <<<"$(raw 'GARBAGE\r\n\r\n')"
check "request line with a bad version: 505" grep -q ' 505 ' <<<"$(raw 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n')"
check "HTTP/1.1 without Host: 400" grep -q ' 400 ' <<<"$(raw 'GET /healthz HTTP/1.1\r\n\r\n')"
long=$(head -c 70000 /dev/zero | tr '\0' a)
code=$(status "$U/healthz?x=$long")
check "a 70 KB URL is refused with 4xx (got $code)" test "${code:0:1}" = 4
code=$(status "$U/healthz" -H "X-Big: $long")
check "a 70 KB header is refused with 4xx (got $code)" test "${code:0:1}" = 4
expect_eq "a request body on GET is read and dropped" "$(get $U/healthz --data-binary "@$AW_TMP/metrics" -X GET)" "200 ok"
# 80 clients that send half a request and wait: more than max_connections (64). Each is closed
# after http.timeout (2 s here), those beyond the limit once they are accepted, and the endpoint
# then serves again.
"$AW_PYTHON" - "$ADDR" > "$AW_TMP/slowloris" <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
socks = []
for i in range(80):
    s = socket.create_connection((host, int(port)), timeout=15)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    socks.append(s)
closed, deadline = 0, time.time() + 20   # bounded, even when nothing is closed
for s in socks:
    try:
        s.settimeout(max(0.1, deadline - time.time()))
        closed += s.recv(100) == b""
    except socket.timeout:
        pass
    except OSError:
        closed += 1
print(closed)
PY
slow_pid=$!
aw_pids+=($slow_pid)
pause 1
polls_before=$(aw_polls_since_set $B)
check "with 80 half-sent requests /healthz still answers (within http.timeout)" \
    until_ok 15 answers '200 ok' $U/healthz
wait $slow_pid
expect_eq "every half-sent request was closed by the timeout" "$(cat "$AW_TMP/slowloris")" 80
check "polling went on meanwhile" test "$(aw_polls_since_set $B)" -gt $((polls_before + 5))
check "the daemon is still running" kill -0 $AW_PID
expect_eq "and still healthy" "$(get $U/healthz)" "200 ok"

# --- /healthz follows the CMS
for a in $A $B $C; do sim_set $a '"fault":"http:401"'; done
check "/healthz: 503 with the reason when authentication is rejected" \
    until_ok 20 answers '503 503 CMS authentication rejected: HTTP 401' $U/healthz
for a in $A $B $C; do sim_set $a '"fault":"reset"'; done
check "/healthz: 503 when the CMS cannot be reached" \
    until_ok 20 answers '503 503 CMS unreachable' $U/healthz
expect_eq "?unreachable=1 lists them" "$(json_agents "$U/api/v1/agents?unreachable=1")" "$A,$B,$C"
curl -sS "$U/api/v1/agents/$B" > "$AW_TMP/one"
expect_eq "an unreachable agent says why" "$("$AW_PYTHON" -c '
import json, sys
a = json.load(open(sys.argv[1]))
print(a["reachable"], a["failures"] >= 2, bool(a["reason"]))' "$AW_TMP/one")" "False True True"
for a in $A $B $C; do sim_set $a '"fault":null'; done
check "/healthz: 200 again once the CMS answers" until_ok 20 answers '200 ok' $U/healthz

# --- reload moves the listeners
aw_config "$AW_TMP/main.conf" '
  { cc = 1; vdn = 170; id = 1099; name = "alice"; labels = { team = "billing"; }; }' "
poll = { interval = 0.2; };
outputs = { journal = false; };
http = { listen = [ \"127.0.0.1:0\", \"unix:$AW_TMP/other.sock\" ]; };"
kill -HUP $AW_PID
check "reload: the new unix socket answers" \
    until_ok 10 answers '200 ok' http://x/healthz --unix-socket "$AW_TMP/other.sock"
check "reload: the old unix socket is gone" test ! -e "$AW_TMP/http.sock"
check "reload: the old TCP port is closed" refused "$U/healthz"
U2=http://$(aw_http_addr main)
expect_eq "reload: the new TCP port answers" "$(get $U2/healthz)" "200 ok"
expect_eq "reload: agent_metrics off now" "$(curl -sS $U2/metrics | grep -c '^agentwatchd_agent_calls')" 0
check "the daemon stops cleanly" aw_stop $AW_PID
check "the unix socket is removed at exit" test ! -e "$AW_TMP/other.sock"

# --- TLS and basic auth
PW='pa55-w0rd'
printf 'alice:%s\n' "$(openssl passwd -6 "$PW")" > "$AW_TMP/http.users"
chmod 600 "$AW_TMP/http.users"
aw_config "$AW_TMP/tls.conf" '{ cc = 1; vdn = 170; id = 1099; }' "
poll = { interval = 0.2; };
outputs = { journal = false; };
http = { listen = [ \"127.0.0.1:0\" ]; users_file = \"$AW_TMP/http.users\";
  tls = { cert_file = \"$AW_TMP/pki/server.pem\"; key_file = \"$AW_TMP/pki/server.key\"; }; };"
aw_start_daemon tls "$AW_TMP/tls.conf"
ADDR=$(aw_http_addr tls)
aw_need_http tls "$ADDR"
T=https://$ADDR
settle 2 $A
ca=(--cacert "$AW_TMP/pki/ca.pem")
expect_eq "TLS + auth: the right password" "$(get $T/healthz "${ca[@]}" -u "alice:$PW")" "200 ok"
expect_eq "TLS + auth: no credentials: 401" "$(status $T/healthz "${ca[@]}")" 401
check "401 asks for basic auth" grep -qi '^WWW-Authenticate: Basic realm="agentwatchd"' <(curl -sS -i "${ca[@]}" $T/metrics)
expect_eq "TLS + auth: wrong password: 401" "$(status $T/healthz "${ca[@]}" -u alice:nope)" 401
expect_eq "TLS + auth: unknown user: 401" "$(status $T/healthz "${ca[@]}" -u bob:"$PW")" 401
expect_eq "TLS: a client that does not trust the CA fails" "$(status $T/healthz -u "alice:$PW")" 000
expect_eq "TLS: plain HTTP to the TLS port gets no answer" "$(status "http://${T#https://}/healthz")" 000
curl -sS "${ca[@]}" -u "alice:$PW" $T/metrics > "$AW_TMP/metrics"
expect_grep "the refusals are counted" '^agentwatchd_http_unauthorized_total [3-9]' "$AW_TMP/metrics"
check "the TLS daemon stops cleanly" aw_stop $AW_PID

# --- a users file readable by others is refused at start
chmod 644 "$AW_TMP/http.users"
"$AW_BIN" -t -c "$AW_TMP/tls.conf" > "$AW_TMP/t.out" 2>&1
expect_grep "-t refuses a users file readable by others" 'http.users_file .* has mode 0644' "$AW_TMP/t.out"
aw_done
