#!/bin/bash
# test_notify_stall.sh: a service manager that stops reading its notify socket never stalls the
# loop: polls and events go on, messages that do not fit are dropped and counted, pings resume
# once it reads again. (libsystemd's sd_notify blocks on a full socket.)
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
aw_budget 60

nq() { "$AW_PYTHON" "$AW_SRC/tests/notifysock.py" --read "$AW_TMP/notify.log" "$1"; }
nq_true() { [ "$(nq "$1")" = True ]; }
mono() { "$AW_PYTHON" -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))'; }
A=1:170:1099

aw_start_sim sim
sim_set $A '"calls":[]'
aw_config "$AW_TMP/d.conf" '{ cc = 1; vdn = 170; id = 1099; }' '
poll = { interval = 0.2; };
outputs = { journal = false; stdout = true; };'

"$AW_PYTHON" "$AW_SRC/tests/notifysock.py" "$AW_TMP/notify.sock" "$AW_TMP/notify.log" &
LISTENER=$!
aw_pids+=("$LISTENER")
wait_for 10 test -e "$AW_TMP/notify.log" || { echo "notify listener did not start"; exit 99; }

# A 40 ms watchdog: a ping every 10 ms fills the stopped listener's socket within seconds.
(
    export NOTIFY_SOCKET=$AW_TMP/notify.sock WATCHDOG_USEC=40000 WATCHDOG_PID=$BASHPID
    exec "$AW_BIN" -c "$AW_TMP/d.conf" >"$AW_TMP/d.out" 2>"$AW_TMP/d.err"
) &
AW_PID=$!
aw_pids+=("$AW_PID")
check "READY=1 after start" until_ok 10 nq_true "any(m['fields'].get('READY') == '1' for m in msgs)"
settle 1 $A

kill -STOP "$LISTENER"
check "a stopped manager's full socket is logged once" until_ok 15 \
    grep -q 'service manager .*notify.sock: Resource temporarily unavailable' "$AW_TMP/d.err"
# The socket is full now: a poll result must still come through.
sim_set $A '"calls":["s1"]'
check "a call started while the manager does not read is reported" \
    until_ok 10 grep -q '"call_id":"s1"' "$AW_TMP/d.out"
kill -HUP "$AW_PID"
check "a reload while it does not read is done" until_ok 10 grep -q 'reloaded' "$AW_TMP/d.err"

t_cont=$(mono)
kill -CONT "$LISTENER"
check "pings resume once it reads again" until_ok 10 \
    nq_true "any(m['t'] > $t_cont and m['fields'].get('WATCHDOG') == '1' for m in msgs)"
check "READY=1 after the reload reaches it, sent again" until_ok 10 \
    nq_true "any(m['t'] > $t_cont and m['fields'].get('READY') == '1' for m in msgs)"
check "the recovery is logged with the count" until_ok 10 \
    grep -qE 'service manager .* takes events again; [1-9][0-9]* dropped so far' "$AW_TMP/d.err"
aw_stop "$AW_PID" 5
expect_eq "SIGTERM: exit status" "$?" 0
aw_done
