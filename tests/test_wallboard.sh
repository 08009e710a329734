#!/bin/bash
# test_wallboard.sh: the wallboard at GET / in a real browser (Debian's chromium, headless, driven
# by tests/cdp.py) against a live daemon behind basic auth: its headers (CSP, ETag), agents as
# tiles grouped by a label, a call started at the simulator on the page within two poll
# intervals, the tile's colour class following the call and reachability, the timer ticking, the
# "disconnected" marker while the daemon is down and the re-sync after it restarts, no script
# error nor CSP refusal; against a batch-mode daemon with agent state, the CTI states and call
# statuses it polls from the simulator on the tiles within two intervals. The screenshots are kept
# in build/test-artifacts/wallboard.png and wallboard-batch.png.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 60
A=1:170:1099 B=1:170:1100 C=1:171:2000
INTERVAL=2
ARTIFACTS=$AW_BUILD/test-artifacts

aw_start_sim sim
sim_set $A '"calls":["a1"]'
sim_set $B '"calls":[]'
sim_set $C '"calls":[]'
PW='wall-b0ard'
printf 'sup:%s\n' "$(openssl passwd -6 "$PW")" > "$AW_TMP/http.users"
chmod 600 "$AW_TMP/http.users"
# A fixed port, so the page finds the daemon again after its restart.
PORT=$("$AW_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
aw_config "$AW_TMP/main.conf" '
  { cc = 1; vdn = 170; id = 1099; name = "alice"; labels = { team = "billing"; }; },
  { cc = 1; vdn = 170; id = 1100; name = "bob"; labels = { team = "billing"; }; },
  { cc = 1; vdn = 171; id = 2000; name = "carol"; labels = { team = "sales"; }; }' "
poll = { interval = $INTERVAL; failure_threshold = 2; backoff_max = 2.0; };
outputs = { journal = false; };
http = { listen = [ \"127.0.0.1:$PORT\" ]; users_file = \"$AW_TMP/http.users\"; };"
aw_start_daemon one "$AW_TMP/main.conf"
ADDR=$(aw_http_addr one)
aw_need_http one "$ADDR"
U=http://$ADDR
auth=(-u "sup:$PW")

# --- the files and their headers
curl -sS --max-time 5 -D "$AW_TMP/h" -o "$AW_TMP/page" "${auth[@]}" "$U/"
expect_grep "GET /: 200" '^HTTP/1.1 200' "$AW_TMP/h"
expect_grep "GET /: text/html in UTF-8" '^Content-Type: text/html; charset=utf-8' "$AW_TMP/h"
expect_grep "GET /: a CSP that allows script only from the daemon" \
    "^Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'" "$AW_TMP/h"
check "GET /: the CSP allows no inline script" bash -c "! grep -qi 'unsafe-inline' '$AW_TMP/h'"
expect_grep "GET /: revalidated, not stored stale" '^Cache-Control: no-cache' "$AW_TMP/h"
check "GET /: the page is the source file" cmp -s "$AW_TMP/page" "$AW_SRC/src/wallboard.html"
check "GET /: no inline script or style in the page" bash -c "! grep -qiE '<script>|<style|style=|[[:space:]]on[a-z]+=' '$AW_TMP/page'"
etag=$(sed -n 's/^ETag: \(.*\)\r$/\1/p' "$AW_TMP/h")
check "GET /: an ETag ($etag)" test -n "$etag"
expect_eq "If-None-Match with it: 304" \
    "$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "${auth[@]}" -H "If-None-Match: $etag" "$U/")" 304
expect_eq "/wallboard.js: JavaScript" \
    "$(curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{content_type}' "${auth[@]}" "$U/wallboard.js")" \
    "200 text/javascript; charset=utf-8"
expect_eq "/wallboard.css: CSS" \
    "$(curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{content_type}' "${auth[@]}" "$U/wallboard.css")" \
    "200 text/css; charset=utf-8"
expect_eq "GET / without credentials: 401" \
    "$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$U/")" 401

# --- the browser
coproc CDP { "$AW_PYTHON" "$AW_SRC/tests/cdp.py" 2>"$AW_TMP/cdp.err"; }
aw_pids+=("$CDP_PID")
# cdp COMMAND...: one command to the browser, its one-line answer on stdout (bounded).
cdp() {
    local line
    echo "${*//$'\n'/ }" >&"${CDP[1]}"
    if read -r -t 45 line <&"${CDP[0]}"; then echo "$line"; else echo "fail no answer"; fi
}
# see DESCRIPTION SECONDS EXPR: EXPR becomes truthy in the page within SECONDS.
see() {
    local r
    r=$(cdp wait "$(budget "$2")" "$3")
    if [[ $r == ok* ]]; then pass "$1"; else fail "$1: $r"; fi
}
# tile AGENT, text AGENT CLASS: expressions, in parentheses so that "=== ..." compares the whole.
tile() { echo "((document.querySelector('[data-agent=\"$1\"]') || {}).className || '')"; }
text() { echo "((document.querySelector('[data-agent=\"$1\"] .$2') || {}).textContent || '')"; }
shoot() {   # shoot [NAME]: a screenshot kept as $ARTIFACTS/NAME.png (wallboard.png)
    local name=${1:-wallboard}
    cdp shot "$AW_TMP/$name.png" >/dev/null
    mkdir -p "$ARTIFACTS" && cp "$AW_TMP/$name.png" "$ARTIFACTS/$name.png" 2>/dev/null
}

settle 1 $A $B $C
cdp header Authorization "Basic $(printf 'sup:%s' "$PW" | base64)" >/dev/null
r=$(cdp open "$U/?group=team" 1280 720)
[[ $r == ok* ]] || { fail "the browser opens the page: $r"; tail -5 "$AW_TMP/cdp.err"; shoot; aw_done; }
see "the page follows the stream" 10 "wallboard.connected && document.querySelector('#conn').textContent === 'live'"
see "three tiles" 5 "document.querySelectorAll('.tile').length === 3"
expect_eq "grouped by team (?group=team)" \
    "$(cdp eval "[...document.querySelectorAll('section.group h2')].map(h => h.firstChild.textContent).join(',')")" \
    'ok "billing,sales"'
expect_eq "the selector shows the label" "$(cdp eval "document.querySelector('#group').value")" 'ok "team"'
see "alice is on a call: talking" 5 "/st-talking/.test($(tile $A))"
see "bob is idle" 5 "/st-idle/.test($(tile $B))"
see "the header counts them" 5 \
    "document.querySelector('#counts [data-state=talking] b').textContent === '1' && document.querySelector('#counts [data-state=idle] b').textContent === '2'"

# A call started at the simulator shows up within two poll intervals.
sim_set $B '"calls":["b1"]'
start=$SECONDS
r=$(cdp wait $((2 * INTERVAL)) "/st-talking/.test($(tile $B))")
if [[ $r == ok* ]]; then pass "bob's new call is on the page within two intervals ($((SECONDS - start)) s)"
else fail "bob's new call is on the page within two intervals: $r"; fi
see "the latest events list it" 5 \
    "[...document.querySelectorAll('#events li')].some(li => /call.started bob/.test(li.textContent) && /call b1/.test(li.textContent))"
t1=$(cdp eval "$(text $B tm)")
see "bob's call timer ticks in the page ($t1)" 5 "$(text $B tm) !== ${t1#ok }"
expect_eq "one snapshot so far: events are applied one by one" \
    "$(cdp eval "wallboard.stats.resyncs")" "ok 1"
shoot

# The call ends: the colour class goes back.
sim_set $B '"calls":[]'
see "bob's tile turns idle when the call ends" $((3 * INTERVAL)) "/st-idle/.test($(tile $B))"

# An agent the daemon cannot reach shows as such, with the reason; then comes back.
sim_set $C '"fault":"reset"'
see "carol shows unreachable" 15 "/st-unreachable/.test($(tile $C))"
see "the tile says why" 2 "/unreachable/.test($(text $C lb)) && $(text $C cl) !== ''"
see "counted as unreachable" 2 "document.querySelector('#counts [data-state=unreachable] b').textContent === '1'"
shoot
sim_set $C '"fault":null'
see "carol is reachable again" 15 "/st-idle/.test($(tile $C))"

# The filter box.
cdp eval "(f => { f.value = 'sales'; f.dispatchEvent(new Event('input')); })(document.querySelector('#filter'))" >/dev/null
expect_eq "the filter keeps carol only" \
    "$(cdp eval "[...document.querySelectorAll('.tile')].filter(t => !t.hidden).map(t => t.dataset.agent).join()")" \
    "ok \"$C\""
cdp eval "(f => { f.value = ''; f.dispatchEvent(new Event('input')); })(document.querySelector('#filter'))" >/dev/null

# The daemon goes away: the page says so; it comes back with a new log: the page re-syncs.
aw_stop $AW_PID >/dev/null
see "'disconnected' while the daemon is down" 10 \
    "!wallboard.connected && /disconnected/.test(document.querySelector('#conn').textContent)"
sim_set $A '"calls":[]'
sim_set $B '"calls":["b2"]'
aw_start_daemon two "$AW_TMP/main.conf"
aw_need_http two "$(aw_http_addr two)"
see "the page reconnects by itself" 20 "wallboard.connected"
see "and re-syncs: bob on a call, alice idle" 15 \
    "/st-talking/.test($(tile $B)) && /st-idle/.test($(tile $A))"
shoot

# The CTI state and call detail fields (SPEC.md: events and the agent object), as the page takes
# them from the stream and the snapshot, whether or not this build's poller asks the CMS for them.
ago() { date -u -d "@$(($(date +%s) - $1))" +%Y-%m-%dT%H:%M:%S.000Z; }
inject() {   # inject TYPE [JSON-FIELDS]: an event for carol into the page, as the stream has them
    cdp eval "wallboard.apply({\"type\":\"$1\",\"time\":\"$(ago 0)\",\"agent\":{\"cc\":1,\"vdn\":171,\"id\":2000,\"name\":\"carol\"}${2:+,$2}}), true" >/dev/null
}
inject agent.state '"state":"rest","state_code":8,"state_since":"'"$(ago 65)"'","previous_state":"idle","reason_code":258'
see "agent.state rest: the tile turns rest" 2 "/st-rest/.test($(tile $C)) && $(text $C lb) === 'rest'"
see "the state timer counts from state_since" 3 "/^1:0[5-9]$/.test($(text $C tm))"
inject agent.long_state '"state":"rest","state_code":8,"state_since":"'"$(ago 65)"'","threshold":60.0,"duration":65.0'
see "agent.long_state: highlighted" 2 "/ long/.test($(tile $C))"
detail='"call_id":"c9","call_first_seen":"'$(ago 5)'","direction":"inbound","media":"phone","media_type":5'
inject call.started "$detail"',"call_status":"held","call_status_code":6'
see "call.started held: the tile turns held, with direction and media" 2 \
    "/st-held/.test($(tile $C)) && $(text $C cl) === 'inbound · phone'"
inject call.status "$detail"',"call_status":"talking","call_status_code":5,"previous_call_status":"held"'
see "call.status talking: the tile turns talking" 2 "/st-talking/.test($(tile $C)) && $(text $C lb) === 'talking'"
inject call.ended "$detail"',"duration":5.0'
inject agent.state '"state":"idle","state_code":1,"state_since":"'"$(ago 0)"'","previous_state":"rest"'
see "a new state ends the long-state highlight" 2 "$(tile $C) === 'tile st-idle'"
cdp eval "wallboard.applySnapshot({agents: [
  {cc: 1, vdn: 170, id: 1099, name: 'alice', labels: {team: 'billing'}, agent: '$A', reachable: true,
   failures: 0, reason: null, polled: true, state: 'wrap_up', state_code: 6, state_since: '$(ago 42)',
   state_duration: 42.5, long_state: false, calls: []},
  {cc: 1, vdn: 170, id: 1100, name: 'bob', labels: {team: 'billing'}, agent: '$B', reachable: true,
   failures: 0, reason: null, polled: true, state: 'talking', state_code: 5, state_since: '$(ago 700)',
   state_duration: 700, long_state: false, calls: [{id: 'x1', since: '$(ago 700)', duration: 700.25,
   status: 'held', status_code: 6, direction: 'outbound', media: 77, long: true}]},
  {cc: 1, vdn: 171, id: 2000, name: 'carol', labels: {team: 'sales'}, agent: '$C', reachable: true,
   failures: 0, reason: null, polled: true, state: null, state_code: null, state_since: null,
   state_duration: null, long_state: false, calls: []}]}), true" >/dev/null
see "snapshot: wrap_up with its duration" 2 "$(tile $A) === 'tile st-wrap_up' && /^0:4[2-5]$/.test($(text $A tm))"
see "snapshot: a long held call, an unknown media code shown as the number" 2 \
    "$(tile $B) === 'tile st-held long' && /^11:4[0-3]$/.test($(text $B tm)) && $(text $B cl) === 'outbound · 77'"
see "snapshot: no state known: idle" 2 "$(tile $C) === 'tile st-idle'"

# --- A batch-mode daemon with agent state: the tiles show the CTI states it polls from the
# simulator, a state set there shows within two intervals, a held call shows as held, a state
# past alerts.long_state is highlighted.
BI=1
D=1:172:3000 E=1:172:3001 F=1:172:3002
sim_set $D '"calls":[],"state":{"currentState":8,"currentStateTime":65,"currentStateReason":258}'
sim_set $E '"calls":[],"state":{"currentState":1,"currentStateTime":5}'
sim_set $F '"calls":[{"callId":"f1","callStatus":5,"callInOut":1,"mediaType":5}],"state":{"currentState":5,"currentStateTime":5}'
AW_API=batch aw_config "$AW_TMP/batch.conf" '
  { cc = 1; vdn = 172; id = 3000; name = "dan"; labels = { team = "care"; }; },
  { cc = 1; vdn = 172; id = 3001; name = "eve"; labels = { team = "care"; }; },
  { cc = 1; vdn = 172; id = 3002; name = "fay"; labels = { team = "care"; }; }' "
poll = { interval = $BI; failure_threshold = 2; backoff_max = 2.0; agent_state = true; };
alerts = { long_state = { rest = 60.0; }; };
outputs = { journal = false; };
http = { listen = [ \"127.0.0.1:0\" ]; };"
aw_start_daemon batch "$AW_TMP/batch.conf"
BATCH_PID=$AW_PID
BADDR=$(aw_http_addr batch)
aw_need_http batch "$BADDR"
settle_state 1 $D $E $F
r=$(cdp open "http://$BADDR/?group=team" 1280 720)
[[ $r == ok* ]] || { fail "batch: the browser opens the page: $r"; shoot wallboard-batch; aw_done; }
see "batch: the page follows the stream" 10 "wallboard.connected"
see "batch: dan in rest as polled, its timer from the CMS's currentStateTime, highlighted (long)" 5 \
    "$(tile $D) === 'tile st-rest long' && $(text $D lb) === 'rest' && /^1:0[5-9]$/.test($(text $D tm))"
see "batch: eve idle as polled" 5 "$(tile $E) === 'tile st-idle'"
see "batch: fay talking, outbound phone" 5 \
    "$(tile $F) === 'tile st-talking' && $(text $F cl) === 'outbound · phone'"
sim_set $E '"calls":[],"state":{"currentState":6,"currentStateTime":0}'
start=$SECONDS
r=$(cdp wait $((2 * BI + 1)) "$(tile $E) === 'tile st-wrap_up'")
if [[ $r == ok* ]]; then pass "batch: wrap-up set at the simulator is on eve's tile within two intervals ($((SECONDS - start)) s)"
else fail "batch: wrap-up set at the simulator is on eve's tile within two intervals: $r"; fi
sim_set $F '"calls":[{"callId":"f1","callStatus":6,"callInOut":1,"mediaType":5}],"state":{"currentState":5,"currentStateTime":5}'
start=$SECONDS
r=$(cdp wait $((2 * BI + 1)) "$(tile $F) === 'tile st-held' && $(text $F lb) === 'held'")
if [[ $r == ok* ]]; then pass "batch: fay's call held at the simulator is on the tile within two intervals ($((SECONDS - start)) s)"
else fail "batch: fay's call held at the simulator is on the tile within two intervals: $r"; fi
sim_set $D '"calls":[],"state":{"currentState":1,"currentStateTime":0}'
see "batch: dan back from rest: idle, no highlight" $((3 * BI)) "$(tile $D) === 'tile st-idle'"
see "batch: the header counts the polled states" 3 \
    "document.querySelector('#counts [data-state=held] b').textContent === '1' && document.querySelector('#counts [data-state=wrap_up] b').textContent === '1'"
shoot wallboard-batch
check "batch: the daemon stops cleanly" aw_stop $BATCH_PID
check "batch: the screenshot is kept ($ARTIFACTS/wallboard-batch.png)" test -s "$ARTIFACTS/wallboard-batch.png"

expect_eq "no script error, no CSP refusal" "$(cdp errors)" "ok []"
# ?group= shows in the selector before any snapshot: the page from its source file has no API.
r=$(cdp open "file://$AW_SRC/src/wallboard.html?group=team" 640 480)
expect_eq "the selector shows ?group= before the snapshot comes" \
    "$r $(cdp eval "document.querySelector('#group').value + ':' + wallboard.agents.size")" 'ok true ok "team:0"'
cdp quit >/dev/null
check "the screenshot is kept ($ARTIFACTS/wallboard.png)" test -s "$ARTIFACTS/wallboard.png"
check "the daemon stops cleanly" aw_stop $AW_PID
aw_done
