#!/bin/bash
# test_status.sh: what an operator reads of a running daemon. SIGUSR1 logs every counter and the
# daemon runs on; STATUS= names why a reload failed (FILE:LINE) until a good reload; after
# STOPPING=1 no periodic STATUS= overwrites "Stopping", however long polls take to end.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
aw_budget 70

nq() { "$AW_PYTHON" "$AW_SRC/tests/notifysock.py" --read "$AW_TMP/notify.log" "$1"; }
nq_true() { [ "$(nq "$1")" = True ]; }
mono() { "$AW_PYTHON" -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))'; }

A=1:170:1099 H=1:170:1100
aw_start_sim sim
sim_set $A '"calls":["a1"]'
sim_set $H '"calls":[],"fault":"hang"'
aw_config "$AW_TMP/d.conf" '{ cc = 1; vdn = 170; ids = [ 1099, 1100 ]; }' '
poll = { interval = 0.3; };
outputs = { journal = false; stdout = true; };'
# H's first poll hangs for the whole test: a poll is always under way when SIGTERM comes.
sed -i 's/timeout = 2.0;/timeout = 60.0;/' "$AW_TMP/d.conf"
cp "$AW_TMP/d.conf" "$AW_TMP/good.conf"

"$AW_PYTHON" "$AW_SRC/tests/notifysock.py" "$AW_TMP/notify.sock" "$AW_TMP/notify.log" &
aw_pids+=("$!")
until_ok 10 test -e "$AW_TMP/notify.log" || { echo "notify listener did not start"; exit 99; }
NOTIFY_SOCKET=$AW_TMP/notify.sock aw_start_daemon d "$AW_TMP/d.conf"
check "READY=1" until_ok 10 nq_true "any(m['fields'].get('READY') == '1' for m in msgs)"
settle 3 $A

# --- SIGUSR1: the counters in the log; the daemon goes on.
kill -USR1 "$AW_PID"
check "SIGUSR1: the counters are logged" until_ok 5 grep -qE \
    'counters: agents 2 busy 1 unreachable 0; polls [0-9]+ failed 0 in_flight 1; requests agent [0-9]+ batch 0 \(failed 0\) state 0 \(failed 0\) state_errors 0 unasked 0; reload ok' \
    "$AW_TMP/d.err"
expect_grep "SIGUSR1: the sinks' and webhooks' counters too" \
    'counters: events [0-9]+ stdout_dropped 0 journal_dropped 0 syslog_dropped 0; eventlog appended [0-9]+ .*webhooks delivered 0' \
    "$AW_TMP/d.err"
expect_grep "SIGUSR1: the schedule's line" 'polls started [0-9]+, lateness p50' "$AW_TMP/d.err"
n=$(aw_polls_since_set $A)
check "SIGUSR1: the daemon runs on and polls" until_ok 5 polled $A $((n + 2))

# --- A failed reload: STATUS= says where and what, also in the periodic refresh.
printf 'bogus_key = 1;\n' >> "$AW_TMP/d.conf"
line=$(wc -l < "$AW_TMP/d.conf")
n0=$(nq 'len(msgs)')
kill -HUP "$AW_PID"
reason_re="^reload failed \\(.*d\\.conf:$line: .*bogus_key.*\\), running the previous configuration; 2 agents watched"
status_has() {   # status_has REGEX FROM [periodic]: a STATUS after message FROM matches
    nq_true "any(__import__('re').search(r'''$1''', m['fields'].get('STATUS', '')) and
        (not '${3:-}' or len(m['fields']) == 1) for m in msgs[$2:])"
}
check "failed reload: STATUS names FILE:LINE and the error" until_ok 5 status_has "$reason_re" "$n0"
n1=$(nq 'len(msgs)')
check "failed reload: the periodic STATUS keeps the reason" until_ok 8 status_has "$reason_re" "$n1" periodic
cp "$AW_TMP/good.conf" "$AW_TMP/d.conf"
n2=$(nq 'len(msgs)')
kill -HUP "$AW_PID"
check "good reload: STATUS without the failure" until_ok 5 status_has '^2 agents watched' "$n2"

# --- Stop while H's poll hangs: SIGTERM 2.5 s after a periodic STATUS, so the next periodic one
# would fall inside the 3 s grace; none may come after STOPPING=1.
periodic_after() {
    nq_true "any('STATUS' in m['fields'] and len(m['fields']) == 1 for m in msgs[$1:])"
}
n3=$(nq 'len(msgs)')
until_ok 8 periodic_after "$n3" || fail "a periodic STATUS within 8 s"
sleep 2.5
t0=$(date +%s%N)
aw_stop "$AW_PID" 10
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "SIGTERM -> exit 0" "$rc" 0
check "the stop waited for the hung poll (${ms} ms, at least 2.5 s)" [ "$ms" -ge 2500 ]
check "no STATUS refresh after STOPPING=1" nq_true "
(lambda i: i is not None and not any('agents watched' in m['fields'].get('STATUS', '')
    for m in msgs[i + 1:]))(next((i for i, m in enumerate(msgs) if 'STOPPING' in m['fields']), None))"
aw_done
