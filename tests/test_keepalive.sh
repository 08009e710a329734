#!/bin/bash
# test_keepalive.sh: a server that closes a kept-alive connection just as the next request goes out
# on it (tests/dropproxy.py does that to every reused connection) never causes a failed poll or a
# failed webhook delivery: the request is retried on a fresh connection. 50 agents every second
# for 20 s; the timeouts are generous, so that only the race can fail a request.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
aw_budget 70
RCV=$AW_SRC/tests/receiver.py
nq() { "$AW_PYTHON" "$AW_SRC/tests/notifysock.py" --read "$AW_TMP/notify.log" "$1"; }
pstat() { "$AW_PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['$2'])" "$AW_TMP/$1.stats"; }

start_proxy() {   # start_proxy NAME UPSTREAM-PORT: sets PPORT
    "$AW_PYTHON" "$AW_SRC/tests/dropproxy.py" --upstream "127.0.0.1:$2" \
        --port-file "$AW_TMP/$1.port" --stats "$AW_TMP/$1.stats" 2>"$AW_TMP/$1.log" &
    aw_pids+=("$!")
    until_ok 10 test -s "$AW_TMP/$1.port" || { echo "proxy $1 did not start"; exit 99; }
    PPORT=$(cat "$AW_TMP/$1.port")
}

aw_start_plain_sim sim --random 7
start_proxy cmsproxy "$SIM_PORT"
CMS_PROXY=$PPORT
printf 'hook-secret\n' > "$AW_TMP/hook.secret"; chmod 600 "$AW_TMP/hook.secret"
"$AW_PYTHON" "$RCV" serve --out "$AW_TMP/r.jsonl" --port-file "$AW_TMP/r.port" \
    --secret-file "$AW_TMP/hook.secret" 2>"$AW_TMP/r.log" &
aw_pids+=("$!")
until_ok 10 test -s "$AW_TMP/r.port" || { echo "receiver did not start"; exit 99; }
start_proxy hookproxy "$(cat "$AW_TMP/r.port")"
HOOK_PROXY=$PPORT

aw_config "$AW_TMP/d.conf" '{ cc = 1; vdn = 170; range = [ 1000, 1049 ]; }' "
poll = { interval = 1.0; failure_threshold = 1; backoff_max = 2.0; };
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://127.0.0.1:$HOOK_PROXY/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; timeout = 3.0; }
); };"
sed -i "s|https://127.0.0.1:$SIM_PORT|http://127.0.0.1:$CMS_PROXY|; s|timeout = 2.0;|timeout = 5.0; allow_insecure_http = true;|" \
    "$AW_TMP/d.conf"

"$AW_PYTHON" "$AW_SRC/tests/notifysock.py" "$AW_TMP/notify.sock" "$AW_TMP/notify.log" &
aw_pids+=("$!")
until_ok 10 test -e "$AW_TMP/notify.log" || { echo "notify listener did not start"; exit 99; }
NOTIFY_SOCKET=$AW_TMP/notify.sock aw_start_daemon d "$AW_TMP/d.conf" -v
sleep 20
aw_stop "$AW_PID" 10
expect_eq "SIGTERM -> exit 0" "$?" 0

cms_drops=$(pstat cmsproxy dropped)
hook_drops=$(pstat hookproxy dropped)
check "the race happened on CMS connections (dropped $cms_drops reused connections)" \
    [ "$cms_drops" -ge 100 ]
check "the race happened on webhook connections (dropped $hook_drops)" [ "$hook_drops" -ge 5 ]
last_status=$(nq "[m['fields']['STATUS'] for m in msgs if 'STATUS' in m['fields']
    and 'polls' in m['fields']['STATUS']][-1]")
check "no failed poll: $last_status" grep -qE '; [0-9]{3,} polls, 0 failed; 0 batch and 0 state requests$' <<<"$last_status"
expect_eq "no agent.unreachable" "$(grep -c '"agent.unreachable"' "$AW_TMP/d.out")" 0
if grep -qE 'Connection died|agent [0-9:]+: ' "$AW_TMP/d.err"; then
    fail "no poll error in the log:"; grep -E 'Connection died|agent [0-9:]+: ' "$AW_TMP/d.err" | head -5
else
    pass "no poll error in the log"
fi
if grep -q '^agentwatchd: webhook .*retry' "$AW_TMP/d.err"; then
    fail "no webhook delivery retried:"; grep 'webhook .*retry' "$AW_TMP/d.err" | head -5
else
    pass "no webhook delivery retried"
fi
check "some events were emitted ($(ev count "$AW_TMP/d.out"))" [ "$(ev count "$AW_TMP/d.out")" -ge 20 ]
check "every emitted event reached the receiver" "$AW_PYTHON" "$RCV" check --wait 5 \
    "$AW_TMP/r.jsonl" "$AW_TMP/d.out"
check "the event stream stayed consistent" ev validate "$AW_TMP/d.out" 1
aw_done
