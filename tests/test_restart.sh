#!/bin/bash
# test_restart.sh: restart semantics with state_dir: no call.started again for calls already
# reported, call.ended (after_restart) for calls that ended while no daemon ran, call.started (not
# initial) for calls that began then; after SIGTERM (state file) and SIGKILL (state file plus the
# event log). A torn event log, an unusable state_dir and a full disk are logged and never stop
# polling (a corrupt state file: test_corrupt_state.sh).
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 95

A=1:170:1099 B=1:170:1100 C=1:170:1101 D=1:170:1102 E=1:170:1103 F=1:170:1104

alive() { kill -0 "$1" 2>/dev/null; }
# killed PID: SIGKILL without bash's "Killed" notice in the log.
killed() {
    exec 3>&2 2>/dev/null
    kill -KILL "$1"
    wait "$1"
    exec 2>&3 3>&-
}

aw_start_sim sim
sim_set $A '"calls":["a1","a2"]'
sim_set $B '"calls":["b1"]'
sim_set $C '"calls":[]'
sim_set $D '"calls":[]'
sim_set $E '"calls":["e1"]'
sim_set $F '"calls":["f1"],"fault":"http:503"'

STATE=$AW_TMP/state
AGENTS='{ cc = 1; vdn = 170; ids = [ 1099, 1100, 1101, 1102, 1104 ]; }'
OPTS='poll = { interval = 0.2; failure_threshold = 2; backoff_max = 1.0; };
outputs = { journal = false; stdout = true; };'
aw_config "$AW_TMP/main.conf" "$AGENTS" "$OPTS
state_dir = \"$STATE\";"

# --- Run 1: baseline, one more call; SIGTERM saves the state file.
aw_start_daemon r1 "$AW_TMP/main.conf"
settle 2 $A $B $C $D
events_are r1 "run 1: baseline" $A \
    'call.started:a1+initial' 'call.started:a2+initial' 'agent.busy+initial'
events_are r1 "run 1: baseline (B)" $B 'call.started:b1+initial' 'agent.busy+initial'
sim_set $C '"calls":["c1"]'
settle 2 $C
events_are r1 "run 1: a call starts" $C 'call.started:c1' 'agent.busy'
ev wait "$AW_TMP/r1.out" $F 1 "$(budget 10)"
events_are r1 "run 1: an agent unreachable from the start" $F 'agent.unreachable,reason~503'
aw_stop "$AW_PID"
expect_eq "run 1: SIGTERM -> exit 0" "$?" 0
check "run 1: $STATE/agents.state written" test -s "$STATE/agents.state"

# While no daemon runs: a1 and c1 end, a3 and d1 begin, b1 and a2 go on.
sim_set $A '"calls":["a2","a3"]'
sim_set $C '"calls":[]'
sim_set $D '"calls":["d1"]'

# --- Run 2: restored from the state file.
aw_start_daemon r2 "$AW_TMP/main.conf"
R2=$AW_PID
settle 2 $A $B $C $D
events_are r2 "after SIGTERM: one call ended while down (call.ended after_restart), one began" \
    $A 'call.ended:a1,after_restart=True' 'call.started:a3'
events_are r2 "after SIGTERM: a call present before and after gets nothing" $B
events_are r2 "after SIGTERM: the last call ended while down: call.ended after_restart, idle" \
    $C 'call.ended:c1,after_restart=True' 'agent.idle'
events_are r2 "after SIGTERM: a call that started while down: call.started, busy, not initial" \
    $D 'call.started:d1' 'agent.busy,calls=1'
same_first=$("$AW_PYTHON" - "$AW_TMP/r1.out" "$AW_TMP/r2.out" <<'EOF'
import json, sys
def find(path, t, c):
    return [json.loads(l) for l in open(path) if '"%s"' % c in l and '"%s"' % t in l][0]
s, e = find(sys.argv[1], "call.started", "a1"), find(sys.argv[2], "call.ended", "a1")
print(int(s["call_first_seen"] == e["call_first_seen"] and e["duration"] >= 0.5))
EOF
)
expect_eq "after SIGTERM: call.ended keeps the first-seen time from before the restart" \
    "$same_first" 1
check "run 2: the restore is logged" grep -q 'restored agent state from' "$AW_TMP/r2.err"
pause 1
events_are r2 "after SIGTERM: an agent unreachable since before is not reported again" $F
sim_set $F '"fault":null'
settle 2 $F
events_are r2 "... and when it answers: agent.reachable, then its first baseline" $F \
    'agent.reachable' 'call.started:f1+initial' 'agent.busy+initial'

# Run 2 goes on: its first change is saved (the state file is written at most once a minute), the
# later ones are only in the event log when SIGKILL comes.
sim_set $A '"calls":["a3"]'
settle 2 $A
events_are r2 "run 2: a call ends normally" $A 'call.ended:a2'
check "run 2: ... without after_restart (only the first poll after a restart has it)" \
    bash -c "grep '\"call_id\":\"a2\"' '$AW_TMP/r2.out' | grep '\"call.ended\"' |
             grep -qv after_restart"
pause 1.5
sim_set $B '"calls":["b1","b2"]'
sim_set $D '"calls":[]'
settle 2 $B $D
events_are r2 "run 2: a call starts" $B 'call.started:b2'
events_are r2 "run 2: a call ends" $D 'call.ended:d1' 'agent.idle'
killed "$R2"

# While no daemon runs: a4 begins, b1 ends, d2 begins.
sim_set $A '"calls":["a3","a4"]'
sim_set $B '"calls":["b2"]'
sim_set $D '"calls":["d2"]'

# --- Run 3: the state file of run 2 plus the events logged after it.
aw_start_daemon r3 "$AW_TMP/main.conf"
R3=$AW_PID
settle 2 $A $B $C $D
events_are r3 "after SIGKILL: no call.started again, the new call started" $A 'call.started:a4'
events_are r3 "after SIGKILL: a call started after the last state save ended while down" \
    $B 'call.ended:b1,after_restart=True'
events_are r3 "after SIGKILL: idle agent, nothing" $C
events_are r3 "after SIGKILL: an agent idle at the kill (per the log): call.started, not initial" \
    $D 'call.started:d2' 'agent.busy'
check "run 3: events were replayed from the log" \
    grep -qE 'restored agent state from .*state file, [1-9][0-9]* events replayed' "$AW_TMP/r3.err"
cat "$AW_TMP"/r[123].out > "$AW_TMP/all.out"
check "runs 1-3 together: one consistent stream, ids unique" ev validate "$AW_TMP/all.out"
check "runs 1-3: no warnings" bash -c "! grep -qiE 'warn|error|cannot' '$AW_TMP'/r[123].err"
aw_stop "$R3"
expect_eq "run 3: SIGTERM -> exit 0" "$?" 0

# --- A torn last record in the event log (a crash in mid-write) is cut, with a warning.
seg=$(ls "$STATE"/events-*.log | tail -1)
printf '999999 {"id":"torn' >> "$seg"
sim_set $E '"calls":["e1"]'
aw_start_daemon torn "$AW_TMP/main.conf"
settle 2 $A $B $C $D
check "torn event log: the daemon runs" alive "$AW_PID"
expect_grep "torn event log: the torn record is cut, with a warning" 'cutting a torn record' \
    "$AW_TMP/torn.err"
events_are torn "torn event log: state restored, nothing repeated" $A
expect_eq "torn event log: the segment ends with a whole line again" \
    "$(tail -c 1 "$seg" | od -An -c | tr -d ' ')" '\n'
aw_stop "$AW_PID"
expect_eq "torn event log: SIGTERM -> exit 0" "$?" 0

# --- An unusable state_dir: logged, events in memory only, polling and stdout go on.
# unusable NAME STATE_DIR DESCRIPTION
unusable() {
    local name=$1 dir=$2 what=$3
    aw_config "$AW_TMP/$name.conf" '{ cc = 1; vdn = 170; id = 1103; }' "$OPTS
state_dir = \"$dir\";"
    sim_set $E '"calls":["e1"]'
    aw_start_daemon "$name" "$AW_TMP/$name.conf"
    settle 2 $E
    sim_set $E '"calls":["e2"]'
    settle 2 $E
    check "$what: the daemon runs" alive "$AW_PID"
    expect_grep "$what: logged" 'state_dir .* is not usable' "$AW_TMP/$name.err"
    events_are "$name" "$what: baseline and changes on stdout" $E \
        'call.started:e1+initial' 'agent.busy+initial' 'call.ended:e1' 'call.started:e2'
    aw_stop "$AW_PID"
    expect_eq "$what: SIGTERM -> exit 0" "$?" 0
}
echo plain > "$AW_TMP/plainfile"
unusable u1 "$AW_TMP/plainfile/state" "state_dir under a regular file"
unusable u2 "$AW_TMP/plainfile" "state_dir is a regular file"
mkdir "$AW_TMP/frozen"
if chattr +i "$AW_TMP/frozen" 2>/dev/null; then
    unusable u3 "$AW_TMP/frozen" "immutable state_dir (chattr +i)"
    chattr -i "$AW_TMP/frozen"
else
    echo "SKIP - immutable state_dir: chattr +i is not supported here"
fi

# --- The disk fills up under a running daemon (a 256 KiB tmpfs in a private mount namespace):
# writes fail and are logged, events still reach stdout, polling goes on; a restart after a SIGKILL
# in that state starts cleanly.
if unshare -m --propagation private true 2>/dev/null && command -v nsenter >/dev/null; then
    unshare -m --propagation private sleep 110 &
    HOLDER=$!
    aw_pids+=("$HOLDER")
    SMALL=$AW_TMP/small
    mkdir -p "$SMALL"
    in_ns() { nsenter -t "$HOLDER" -m -- "$@"; }
    ns_ready() { [ "$(readlink /proc/$HOLDER/ns/mnt)" != "$(readlink /proc/$$/ns/mnt)" ]; }
    until_ok 5 ns_ready || fail "the mount namespace is ready"
    in_ns mount -t tmpfs -o size=256k tmpfs "$SMALL"
    aw_config "$AW_TMP/full.conf" '{ cc = 1; vdn = 170; id = 1103; }' "$OPTS
state_dir = \"$SMALL/state\";"
    start_in_ns() {   # start_in_ns NAME: the daemon inside the namespace; sets AW_PID
        nsenter -t "$HOLDER" -m -- "$AW_BIN" -c "$AW_TMP/full.conf" \
            >"$AW_TMP/$1.out" 2>"$AW_TMP/$1.err" &
        AW_PID=$!
        aw_pids+=("$AW_PID")
    }
    # calls_json PREFIX: 30 call ids, enough events to need new pages of the full disk.
    calls_json() {
        local i sep=
        printf '"calls":['
        for i in $(seq -w 1 30); do printf '%s"%s%s"' "$sep" "$1" "$i"; sep=,; done
        printf ']'
    }
    sim_set $E '"calls":["e1"]'
    start_in_ns full1
    settle 2 $E
    pause 1.5    # the state file is saved
    in_ns dd if=/dev/zero of="$SMALL/fill" bs=4k 2>/dev/null
    sim_set $E "$(calls_json f)"
    settle 2 $E
    # The log's preallocated reserve takes what a full disk refuses to other files.
    check "full disk: the event log still reaches the disk" \
        in_ns sh -c "cat '$SMALL'/state/events-*.log | grep -q '\"call_id\":\"f30\"'"
    pause 1.5    # past the pause before the held records are tried again
    sim_set $E "$(calls_json g)"
    settle 2 $E
    check "full disk: the daemon runs" alive "$AW_PID"
    expect_eq "full disk: every event still on stdout" "$(ev count "$AW_TMP/full1.out" $E)" \
        $((2 + 1 + 30 + 30 + 30))
    killed "$AW_PID"
    start_in_ns full2
    settle 2 $E
    check "full disk, SIGKILL, restart on the full disk: the daemon runs" alive "$AW_PID"
    sim_set $E '"calls":["e4"]'
    settle 2 $E
    check "full disk, restart: it polls and reports" grep -q '"call_id":"e4"' "$AW_TMP/full2.out"
    aw_stop "$AW_PID"
    expect_eq "full disk, restart: SIGTERM -> exit 0" "$?" 0
    expect_grep "full disk: the state file that cannot be saved is logged" \
        'agents.state: cannot write: No space left on device' \
        "$AW_TMP/full2.err"
    in_ns rm -f "$SMALL/fill"
    start_in_ns full3
    settle 2 $E
    check "space freed, restart: the daemon runs" alive "$AW_PID"
    sim_set $E '"calls":["e5"]'
    settle 2 $E
    check "space freed, restart: it polls and reports" grep -q '"call_id":"e5"' "$AW_TMP/full3.out"
    check "space freed, restart: the event log is written again" \
        in_ns sh -c "cat '$SMALL'/state/events-*.log | grep -q '\"call_id\":\"e5\"'"
    aw_stop "$AW_PID"
    expect_eq "space freed: SIGTERM -> exit 0" "$?" 0
    check "space freed: the state file is saved" in_ns test -s "$SMALL/state/agents.state"
    kill "$HOLDER"
else
    echo "SKIP - full disk: no unshare -m (needs CAP_SYS_ADMIN)"
fi
expect_no_secret "the CMS secret is never printed" "$AW_TMP"/*.out "$AW_TMP"/*.err

aw_done
