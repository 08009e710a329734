#!/bin/bash
# test_retention.sh: what state_dir keeps is bounded. A receiver more than max_backlog events
# behind loses the oldest, and every event emitted is either delivered or counted as dropped in
# the log (for Alertmanager, an alert whose resolve was dropped is not kept firing); deadletter.jsonl is rotated past outputs.deadletter_max, keeping four older files; the
# cursor of a receiver no longer configured is removed at start and at reload, so one added again
# starts at the log's end instead of resuming a stale backlog (even when it comes back before a
# slow disk has removed the file).
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 90

RCV=$AW_SRC/tests/receiver.py
declare -A RPORT=()
start_receiver() {   # start_receiver NAME MODE
    "$AW_PYTHON" "$RCV" serve --out "$AW_TMP/$1.jsonl" --port-file "$AW_TMP/$1.port" --mode "$2" \
        2>>"$AW_TMP/$1.log" &
    aw_pids+=("$!")
    until_ok 10 test -s "$AW_TMP/$1.port" || { echo "receiver $1 did not start"; exit 99; }
    RPORT[$1]=$(cat "$AW_TMP/$1.port")
}
rmode() {
    curl -sS --max-time 5 --data "{\"mode\":\"$2\"}" "http://127.0.0.1:${RPORT[$1]}/ctl/mode" >/dev/null
}
received() { [ -f "$AW_TMP/$1.jsonl" ] && wc -l < "$AW_TMP/$1.jsonl" || echo 0; }

A=1:170:1099
aw_start_sim sim
sim_set $A '"calls":[]'
start_receiver behind down
start_receiver refusing 400
start_receiver later ok
STATE=$AW_TMP/state
mkdir -p "$STATE"
hook() { echo "{ url = \"http://127.0.0.1:${RPORT[$1]}/hook/$1\"; ${2:-} }"; }
config() {   # config RECEIVER...
    local hooks= sep= r
    for r in "$@"; do
        case $r in
        behind) hooks+="$sep$(hook behind 'max_backlog = 10;')" ;;
        *) hooks+="$sep$(hook "$r")" ;;
        esac
        sep=", "
    done
    aw_config "$AW_TMP/main.conf" '{ cc = 1; vdn = 170; id = 1099; }' "
poll = { interval = 0.2; };
outputs = { journal = false; stdout = true; deadletter_max = 4096; webhooks = ( $hooks ); };
state_dir = \"$STATE\";"
}
round=0
calls_round() {   # five new calls replace the five of the last round: ten events
    local i sep= list=
    round=$((round + 1))
    for i in 1 2 3 4 5; do list+="$sep\"r$round-$i\""; sep=,; done
    sim_set $A "\"calls\":[$list]"
    settle 2 $A
}

# A stale cursor left by a receiver configured long ago.
STALE=$STATE/webhook-0123456789abcdef.cursor
echo '{"receiver":"json http://127.0.0.1:9/old/T0KEN-stale","seq":1,"segment":0,"offset":0}' > "$STALE"
config behind refusing later
# The writer thread removes a cursor file only once $HOLD is gone (a slow disk).
PRELOAD=$(aw_preload slowunlink) || { echo "cannot build the slowunlink shim"; exit 99; }
HOLD=$AW_TMP/hold
LD_PRELOAD=$PRELOAD SLOWUNLINK_HOLD=$HOLD aw_start_daemon d "$AW_TMP/main.conf"
D=$AW_PID
settle 2 $A
check "at start, a cursor no receiver uses is removed" bash -c "! test -e '$STALE'"
expect_grep "... and logged, naming its receiver by scheme://host:port" \
    "webhook-0123456789abcdef.cursor: removed, its receiver \\(http://127.0.0.1:9\\) is no longer configured" \
    "$AW_TMP/d.err"
for i in 1 2 3 4 5 6 7 8; do calls_round; done

# --- max_backlog: the receiver comes back; every event is delivered or counted as dropped.
rmode behind ok
balance() {   # emitted = delivered (distinct ids) + dropped (summed from the log)
    "$AW_PYTHON" - "$AW_TMP/d.out" "$AW_TMP/behind.jsonl" "$AW_TMP/d.err" "${RPORT[behind]}" <<'PY'
import json, re, sys
emitted = [json.loads(l)["id"] for l in open(sys.argv[1])]
got = [json.loads(l)["event"]["id"] for l in open(sys.argv[2])]
dropped = sum(int(n) for n in re.findall(r":%s: (\d+) undelivered events dropped" % sys.argv[4],
                                         open(sys.argv[3]).read()))
ok = len(set(got)) + dropped == len(emitted) and dropped > 0
# The dropped ones are the oldest: what arrived is the tail of what was emitted, in order.
ok = ok and [i for i in emitted if i in set(got)] == emitted[dropped:] and \
    list(dict.fromkeys(got)) == emitted[dropped:]
print("emitted %d, delivered %d, dropped %d" % (len(emitted), len(set(got)), dropped), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
until_ok 25 balance
check "max_backlog: every event emitted was delivered or counted as dropped, the oldest dropped" \
    balance
expect_grep "max_backlog: the drop is logged as an error, with the cap and the running count" \
    "webhook http://127.0.0.1:${RPORT[behind]}: [0-9]+ undelivered events dropped, the oldest of a backlog past max_backlog = 10 \\([0-9]+ dropped since start\\)" \
    "$AW_TMP/d.err"

# --- Dead-letter rotation: over 70 refused events of some 500 bytes each, in 4 KiB files.
DL=$STATE/deadletter.jsonl
until_ok 15 bash -c "[ \$(cat '$DL'* 2>/dev/null | wc -l) -ge 20 ]"
check "deadletter: rotated files .1 to .4 exist" test -s "$DL.1" -a -s "$DL.2" -a -s "$DL.3" -a -s "$DL.4"
check "deadletter: no fifth one is kept" bash -c "! test -e '$DL.5'"
for f in "$DL.1" "$DL.2" "$DL.3" "$DL.4"; do
    size=$(stat -c %s "$f")
    check "deadletter: $(basename "$f") was rotated once it reached 4096 bytes, not far past ($size)" \
        test "$size" -ge 4096 -a "$size" -lt 6144
done
expect_grep "deadletter: the rotation is logged" "deadletter.jsonl: [0-9]+ bytes, rotated to .*deadletter.jsonl.1 \\(4 older files kept" \
    "$AW_TMP/d.err"
expect_eq "deadletter: every kept line is a whole JSON entry" \
    "$(cat "$DL"* | "$AW_PYTHON" -c 'import json,sys; print(all(json.loads(l)["http_status"] == 400 for l in sys.stdin))')" True

# --- A receiver removed by a reload loses its cursor; added again, it starts afresh.
later_cursor=$(grep -l ":${RPORT[later]}" "$STATE"/webhook-*.cursor)
check "the receiver to be removed has a cursor file" test -n "$later_cursor"
until_ok 10 bash -c "[ \$(wc -l < '$AW_TMP/later.jsonl') -eq \$(wc -l < '$AW_TMP/d.out') ]" ||
    fail "receiver later has every event before it is removed"
reloads() { grep -c '^agentwatchd: reloaded' "$AW_TMP/d.err"; }
config behind refusing
touch "$HOLD"
kill -HUP "$D"
until_ok 10 holds '[ "$(reloads)" -ge 1 ]'
expect_grep "... and logged" "removed, its receiver \\(http://127.0.0.1:${RPORT[later]}\\) is no longer configured" \
    "$AW_TMP/d.err"
expect_eq "... once, by the writer, after the saves it has queued" \
    "$(grep -c "removed, its receiver (http://127.0.0.1:${RPORT[later]}) is no longer configured" \
    "$AW_TMP/d.err")" 1
rm -f "$HOLD"
until_ok 10 bash -c "! test -e '$later_cursor'"
check "reload without a receiver: its cursor file is removed" bash -c "! test -e '$later_cursor'"
none_from() {   # none_from FIRST END: later got none of the events emitted [FIRST, END)
    "$AW_PYTHON" - "$AW_TMP/d.out" "$AW_TMP/later.jsonl" "$1" "$2" <<'PY'
import json, sys
emitted = [json.loads(l)["id"] for l in open(sys.argv[1])]
got = {json.loads(l)["event"]["id"] for l in open(sys.argv[2])}
sys.exit(1 if got & set(emitted[int(sys.argv[3]):int(sys.argv[4])]) else 0)
PY
}
before=$(received later)
calls_round
gap_end=$(wc -l < "$AW_TMP/d.out")
config behind refusing later
kill -HUP "$D"
until_ok 10 holds '[ "$(reloads)" -ge 2 ]'
calls_round
until_ok 10 holds '[ "$(received later)" -ge $((before + 10)) ]'
expect_eq "added again: it gets the events after it came back, not the stale backlog" \
    "$(received later)" $((before + 10))
check "... none of those emitted while it was not configured" none_from "$before" "$gap_end"

# --- Removed, then added back while the writer is still removing its file: it starts afresh too.
config behind refusing
touch "$HOLD"
kill -HUP "$D"
until_ok 10 holds '[ "$(reloads)" -ge 3 ]'
gap_start=$(wc -l < "$AW_TMP/d.out")
calls_round
gap_end=$(wc -l < "$AW_TMP/d.out")
check "removed and added back at once: its file is still there (a slow disk)" test -e "$later_cursor"
before=$(received later)
config behind refusing later
kill -HUP "$D"
until_ok 10 holds '[ "$(reloads)" -ge 4 ]'
rm -f "$HOLD"
calls_round
until_ok 10 holds '[ "$(received later)" -ge $((before + 10)) ]'
check "... none of the events emitted while it was not configured" none_from "$gap_start" "$gap_end"
aw_stop "$D"
expect_eq "SIGTERM -> exit 0" "$?" 0

# --- max_backlog for Alertmanager: a resolve among the dropped events must not leave its alert
# firing (and re-sent every minute for ever); the firing alerts that no longer hold are forgotten.
B=1:170:1100
STATE2=$AW_TMP/state2
mkdir -p "$STATE2"
start_receiver am ok
sim_set $B '"fault":"http:503"'
aw_config "$AW_TMP/am.conf" '{ cc = 1; vdn = 170; ids = [ 1099, 1100 ]; }' "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.5; };
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://127.0.0.1:${RPORT[am]}/api/v2/alerts\"; format = \"alertmanager\"; max_backlog = 10; }
); };
state_dir = \"$STATE2\";"
aw_start_daemon d2 "$AW_TMP/am.conf"
D=$AW_PID
firing() {   # the alerts the Alertmanager receiver's cursor file holds as firing
    "$AW_PYTHON" -c 'import json, sys; print(len(json.load(open(sys.argv[1])).get("firing", [])))' \
        "$STATE2"/webhook-*.cursor 2>/dev/null || echo -1
}
until_ok 15 holds '[ "$(firing)" = 1 ]'
expect_eq "alertmanager: AgentUnreachable is acknowledged as firing" "$(firing)" 1
rmode am down
sim_set $B '"calls":[],"fault":null'
until_ok 10 grep -q '"type":"agent.reachable"' "$AW_TMP/d2.out" || fail "agent B recovers"
calls_round
calls_round
until_ok 10 grep -q "undelivered events dropped" "$AW_TMP/d2.err" ||
    fail "alertmanager: the backlog past max_backlog is dropped"
until_ok 5 holds '[ "$(firing)" = 0 ]'
expect_eq "alertmanager: after the drop, the alert whose resolve was dropped is no longer firing" \
    "$(firing)" 0
aw_stop "$D"

aw_done
