#!/bin/bash
# test_secrets.sh: secrets around delivery. A webhook URL's path and query (where Slack- and
# Teams-style URLs keep their token) never reach the daemon's diagnostics, whatever happens to
# the delivery (retries, refusals, a resumed backlog) nor a -t error; only scheme://host:port.
# -t and the daemon warn when header values sit in a config readable by group or others. The
# running daemon is not dumpable, and the CMS secret lies only in pages core dumps leave out.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 50

RCV=$AW_SRC/tests/receiver.py
PATH_TOKEN=T0PATH-secret-4f1a
QUERY_TOKEN=QRY-secret-88c2
HEADER_TOKEN=HDR-secret-19be
A=1:170:1099

aw_start_sim sim
sim_set $A '"calls":["a1"]'
"$AW_PYTHON" "$RCV" serve --out "$AW_TMP/rcv.jsonl" --port-file "$AW_TMP/rcv.port" --mode down \
    2>>"$AW_TMP/rcv.log" &
aw_pids+=("$!")
until_ok 10 test -s "$AW_TMP/rcv.port" || { echo "receiver did not start"; exit 99; }
RPORT=$(cat "$AW_TMP/rcv.port")
rmode() {
    curl -sS --max-time 5 --data "{\"mode\":\"$1\"}" "http://127.0.0.1:$RPORT/ctl/mode" >/dev/null
}
URL="http://127.0.0.1:$RPORT/services/$PATH_TOKEN/x?token=$QUERY_TOKEN&v=1"
# The preload records prctl(PR_GET_DUMPABLE) as the daemon exits.
PRELOAD=$(aw_preload dumpable) || { echo "cannot build the dumpable shim"; exit 99; }

aw_config "$AW_TMP/main.conf" '{ cc = 1; vdn = 170; id = 1099; }' "
poll = { interval = 0.2; };
outputs = { journal = false; stdout = true;
  webhooks = ( { url = \"$URL\"; headers = { Authorization = \"Bearer $HEADER_TOKEN\"; }; } ); };
state_dir = \"$AW_TMP/state\";"

# --- -t: a warning for header values in a file others can read; none once it is private.
chmod 644 "$AW_TMP/main.conf"
"$AW_BIN" -t -c "$AW_TMP/main.conf" >"$AW_TMP/t644.out" 2>"$AW_TMP/t644.err"
expect_eq "-t, header values in a 0644 config: still OK (exit 0)" "$?" 0
expect_grep "-t, 0644: a warning naming the file, the line and the setting" \
    "$AW_TMP/main.conf:[0-9]+: warning: outputs.webhooks\\[0\\].headers holds header values.*readable by all users \\(mode 0644\\)" \
    "$AW_TMP/t644.err"
chmod 640 "$AW_TMP/main.conf"
"$AW_BIN" -t -c "$AW_TMP/main.conf" >/dev/null 2>"$AW_TMP/t640.err"
expect_grep "-t, 0640: readable by its group, warned too" 'readable by its group \(mode 0640\)' \
    "$AW_TMP/t640.err"
chmod 600 "$AW_TMP/main.conf"
"$AW_BIN" -t -c "$AW_TMP/main.conf" >/dev/null 2>"$AW_TMP/t600.err"
expect_eq "-t, 0600: no warning" "$(cat "$AW_TMP/t600.err")" ""
aw_config "$AW_TMP/bad.conf" '{ cc = 1; vdn = 170; id = 1099; }' "
outputs = { webhooks = ( { url = \"http://127.0.0.1:$RPORT/services/$PATH_TOKEN#$QUERY_TOKEN\"; } ); };"
"$AW_BIN" -t -c "$AW_TMP/bad.conf" >/dev/null 2>"$AW_TMP/tbad.err"
expect_eq "-t, a bad webhook URL: an error (exit 1)" "$?" 1
expect_grep "... showing scheme://host:port only" "'http://127.0.0.1:$RPORT\\.\\.\\.' is not a URL" \
    "$AW_TMP/tbad.err"

# --- The daemon: the receiver refuses (503, retried), then refuses for good (400, dead letter),
# then is down while the daemon restarts (resumed backlog), then accepts.
chmod 644 "$AW_TMP/main.conf"
LD_PRELOAD=$PRELOAD AW_DUMPABLE_OUT=$AW_TMP/dumpable.1 \
    aw_start_daemon d1 "$AW_TMP/main.conf"
D1=$AW_PID
settle 2 $A
expect_grep "the daemon warns of the readable header values at start" \
    'warning: outputs.webhooks\[0\].headers holds header values' "$AW_TMP/d1.err"
until_ok 10 grep -q 'retry' "$AW_TMP/d1.err" || fail "a retry is logged"
expect_grep "a retry names the receiver as scheme://host:port" \
    "webhook http://127.0.0.1:$RPORT: HTTP 503( \(.*\))?; retry" "$AW_TMP/d1.err"
scan=$("$AW_PYTHON" "$AW_SRC/tests/secretscan.py" "$D1" "$AW_SECRET")
case $? in
0)  expect_eq "the CMS secret is in memory only in MADV_DONTDUMP pages" \
        "$(echo "$scan" | awk '/^dumpable/ { print $2 }')" 0
    check "... and it is there (the scan finds it)" \
        test "$(echo "$scan" | awk '/^excluded/ { print $2 }')" -ge 1 ;;
*)  echo "# SKIP secret pages: $scan" ;;
esac
rmode 400
sim_set $A '"calls":["a2"]'
until_ok 20 grep -q 'for good' "$AW_TMP/d1.err" || fail "a refusal is logged"
expect_grep "a refusal names the receiver as scheme://host:port" \
    "webhook http://127.0.0.1:$RPORT: HTTP 400 refuses" "$AW_TMP/d1.err"
rmode down
sim_set $A '"calls":["a3"]'
settle 2 $A
aw_stop "$D1"
expect_eq "SIGTERM -> exit 0" "$?" 0
expect_eq "the daemon ran non-dumpable (prctl PR_GET_DUMPABLE at exit)" \
    "$(cat "$AW_TMP/dumpable.1" 2>/dev/null)" 0
aw_start_daemon d2 "$AW_TMP/main.conf"
until_ok 10 grep -q 'resuming' "$AW_TMP/d2.err" || fail "the resumed backlog is logged"
expect_grep "a resumed backlog names the receiver as scheme://host:port" \
    "webhook http://127.0.0.1:$RPORT: resuming with" "$AW_TMP/d2.err"
rmode ok
until_ok 15 test -s "$AW_TMP/rcv.jsonl" || fail "the receiver gets the backlog"
aw_stop "$AW_PID"
expect_eq "restart: SIGTERM -> exit 0" "$?" 0

check "the dead-letter file names the receiver by scheme://host:port" \
    grep -qF "\"webhook\":\"http://127.0.0.1:$RPORT\"" "$AW_TMP/state/deadletter.jsonl"
check "... and by the name of its cursor file" grep -qE \
    "\"receiver\":\"webhook-[0-9a-f]{16}\"" "$AW_TMP/state/deadletter.jsonl"
check "... which exists" test -e "$AW_TMP/state/$(grep -oE 'webhook-[0-9a-f]{16}' "$AW_TMP/state/deadletter.jsonl" | head -1).cursor"
for token in "$PATH_TOKEN" "$QUERY_TOKEN" "$HEADER_TOKEN"; do
    check "no diagnostics, no -t output hold the URL's or a header's token ($token)" \
        bash -c "! grep -qF -- '$token' '$AW_TMP'/*.err '$AW_TMP'/*.out"
    check "... nor the dead-letter file" \
        bash -c "! grep -qF -- '$token' '$AW_TMP/state/deadletter.jsonl'"
done
expect_no_secret "the CMS secret is never printed" "$AW_TMP"/*.out "$AW_TMP"/*.err

aw_done
