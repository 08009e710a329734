#!/bin/bash
# test_diskfull.sh: a state_dir that fills up (a 512 KiB tmpfs in a private mount namespace) under
# a daemon delivering to a webhook: each failing file is logged once (not per write), STATUS= and
# the counters say so, no empty segments pile up; once space returns the events held in memory are
# written out in order and delivered; a restart while full repeats and loses nothing the log had.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 80

if ! unshare -m --propagation private true 2>/dev/null || ! command -v nsenter >/dev/null; then
    echo "SKIP - full disk: no unshare -m (needs CAP_SYS_ADMIN)"
    aw_done
fi

E=1:170:1103 AGENTS4=(1:170:1103 1:170:1104 1:170:1105 1:170:1106)
RCV=$AW_SRC/tests/receiver.py
printf '%s\n' 'hook-Secret-disk-never-printed' > "$AW_TMP/hook.secret"
chmod 600 "$AW_TMP/hook.secret"

aw_start_sim sim
"$AW_PYTHON" "$RCV" serve --out "$AW_TMP/r.jsonl" --port-file "$AW_TMP/r.port" \
    --secret-file "$AW_TMP/hook.secret" 2>>"$AW_TMP/r.log" &
aw_pids+=("$!")
until_ok 10 test -s "$AW_TMP/r.port" || { echo "the receiver did not start"; exit 99; }
"$AW_PYTHON" "$AW_SRC/tests/notifysock.py" "$AW_TMP/notify.sock" "$AW_TMP/notify.log" &
aw_pids+=("$!")
until_ok 10 test -e "$AW_TMP/notify.log" || { echo "notify listener did not start"; exit 99; }
nq_true() { [ "$("$AW_PYTHON" "$AW_SRC/tests/notifysock.py" --read "$AW_TMP/notify.log" "$1")" = True ]; }

unshare -m --propagation private sleep 100 &
HOLDER=$!
aw_pids+=("$HOLDER")
SMALL=$AW_TMP/small
STATE=$SMALL/state
mkdir -p "$SMALL"
in_ns() { nsenter -t "$HOLDER" -m -- "$@"; }
ns_ready() { [ "$(readlink /proc/$HOLDER/ns/mnt)" != "$(readlink /proc/$$/ns/mnt)" ]; }
until_ok 5 ns_ready || { echo "the mount namespace is not ready"; exit 99; }
in_ns mount -t tmpfs -o size=512k tmpfs "$SMALL"
aw_config "$AW_TMP/d.conf" '{ cc = 1; vdn = 170; range = [ 1103, 1106 ]; }' "
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 1.0; };
state_dir = \"$STATE\";
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://127.0.0.1:$(cat "$AW_TMP/r.port")/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; timeout = 2.0; batch_max = 50; }
); };"
start_in_ns() {   # start_in_ns NAME: the daemon inside the namespace; sets AW_PID
    NOTIFY_SOCKET=$AW_TMP/notify.sock nsenter -t "$HOLDER" -m -- "$AW_BIN" -c "$AW_TMP/d.conf" \
        >"$AW_TMP/$1.out" 2>"$AW_TMP/$1.err" &
    AW_PID=$!
    aw_pids+=("$AW_PID")
}
calls_json() {   # calls_json PREFIX N: N call ids (at most 64, the reply's bound)
    local i sep=
    printf '"calls":['
    for i in $(seq -w 1 "$2"); do printf '%s"%s%s"' "$sep" "$1" "$i"; sep=,; done
    printf ']'
}
fill() { in_ns dd if=/dev/zero of="$SMALL/fill" bs=4k 2>/dev/null; in_ns sync; }
segments() { in_ns sh -c "ls '$STATE' | grep -c '^events-'"; }
# The seqs on disk, in file order: consecutive from the first, and as many as the daemon emitted.
log_complete() {   # log_complete N
    in_ns sh -c "cat '$STATE'/events-*.log" | "$AW_PYTHON" -c "
import sys
seqs = [int(l.split(' ', 1)[0]) for l in sys.stdin]
ok = seqs == list(range(seqs[0], seqs[0] + len(seqs))) and len(seqs) == $1
print('    %d records on disk, %d emitted, consecutive: %s' % (len(seqs), $1,
      seqs == list(range(seqs[0], seqs[0] + len(seqs)))))
sys.exit(0 if ok else 1)"
}
delivered() {   # delivered SECONDS EMITTED...: every event emitted so far reached the receiver
    local n=0 a
    for a in "${@:2}"; do n=$((n + $(wc -l < "$a"))); done
    "$AW_PYTHON" "$RCV" check --wait "$(budget "$1")" --first "$n" "$AW_TMP/r.jsonl" "${@:2}"
}

# --- The disk fills under a running daemon; more events than the log's reserve takes.
all_calls() {   # all_calls PREFIX: 60 calls on each of the four agents, about 100 KB of events
    local a
    for a in "${AGENTS4[@]}"; do sim_set "$a" "$(calls_json "$1${a##*:}-" 60)"; done
    settle 3 "${AGENTS4[@]}"
}
for a in "${AGENTS4[@]}"; do sim_set "$a" '"calls":["e1"]'; done
start_in_ns d1
settle 2 "${AGENTS4[@]}"
pause 1.5    # the state file is saved
fill
all_calls f
all_calls g
pause 10.5   # deliveries (each one saves the cursor), and many retries of the log
all_calls k
check "full disk: the daemon runs" kill -0 "$AW_PID"
n=$(grep -c '\.cursor: ' "$AW_TMP/d1.err")
check "full disk: the cursor's failure is logged once, not per delivery ($n lines)" \
    test "$n" -eq 1
n=$(grep -cE 'events-\*\.log: |cannot write event' "$AW_TMP/d1.err")
check "full disk: the event log's failure is logged once ($n lines)" test "$n" -eq 1
check "full disk: no empty segments pile up (one segment file)" test "$(segments)" -eq 1
check "full disk: STATUS= names the failing files and the reason" until_ok 8 nq_true \
    "any('state_dir: ' in m['fields'].get('STATUS', '') and
         'No space left on device' in m['fields'].get('STATUS', '') for m in msgs)"
check "full disk: the receiver still gets every event" delivered 10 "$AW_TMP/d1.out"

# --- Space returns: what was held in memory reaches the log, in order, with no gap.
in_ns rm -f "$SMALL/fill"
check "space back: every emitted event is in the log, consecutive" \
    until_ok 5 log_complete "$(wc -l < "$AW_TMP/d1.out")"

# --- Full again, then a restart while full: nothing the log had is repeated or lost.
fill
sim_set $E "$(calls_json h 20)"
settle 3 "${AGENTS4[@]}"
aw_stop "$AW_PID"
expect_eq "full disk: SIGTERM -> exit 0" "$?" 0
expect_grep "full disk: the counters count the failed writes" \
    'state_dir: [1-9][0-9]* failed writes' "$AW_TMP/d1.err"
start_in_ns d2
settle 3 "${AGENTS4[@]}"
expect_eq "restart while full: no call is reported again" "$(ev count "$AW_TMP/d2.out")" 0
sim_set $E "$(calls_json h 19)"
settle 2 $E
events_are d2 "restart while full: the call that ended meanwhile ends" $E 'call.ended:h20'
check "restart while full: the receiver gets every event of both runs" \
    delivered 15 "$AW_TMP/d1.out" "$AW_TMP/d2.out"
in_ns rm -f "$SMALL/fill"
aw_stop "$AW_PID"
expect_eq "space back: SIGTERM -> exit 0" "$?" 0
check "space back: the state file is saved" in_ns test -s "$STATE/agents.state"
kill "$HOLDER"
expect_no_secret "no secret is printed" "$AW_TMP"/*.out "$AW_TMP"/*.err

aw_done
