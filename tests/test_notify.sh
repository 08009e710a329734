#!/bin/bash
# test_notify.sh: the sd_notify protocol as systemd's Type=notify and WatchdogSec= see it:
# READY, STATUS, RELOADING with MONOTONIC_USEC, STOPPING, and WATCHDOG=1 pings from the event loop.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

ev() { "$AW_PYTHON" "$AW_SRC/tests/events.py" "$@"; }
nq() { "$AW_PYTHON" "$AW_SRC/tests/notifysock.py" --read "$AW_TMP/notify.log" "$1"; }
nq_true() { [ "$(nq "$1")" = True ]; }
mono() { "$AW_PYTHON" -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))'; }

A=1:170:1099 B=1:170:1100 C=1:170:1101
sim_set() {
    local r
    r=$(aw_sim POST /sim/agent "{\"agent\":\"$1\",$2}")
    [ "$r" = '{"ok":true}' ] || { echo "simulator refused $1 $2: $r"; exit 99; }
}

aw_start_sim sim
sim_set $A '"calls":["a1"]'
sim_set $B '"calls":[],"fault":"reset"'
sim_set $C '"calls":[]'
aw_config "$AW_TMP/d.conf" '{ cc = 1; vdn = 170; ids = [ 1099, 1100, 1101 ]; }' '
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 0.4; };
outputs = { journal = false; stdout = true; };'

"$AW_PYTHON" "$AW_SRC/tests/notifysock.py" "$AW_TMP/notify.sock" "$AW_TMP/notify.log" &
aw_pids+=("$!")
wait_for 10 test -e "$AW_TMP/notify.log" || { echo "notify listener did not start"; exit 99; }

# WATCHDOG_PID names the daemon itself: the subshell's pid is the one exec keeps.
(
    export NOTIFY_SOCKET=$AW_TMP/notify.sock WATCHDOG_USEC=400000 WATCHDOG_PID=$BASHPID
    exec "$AW_BIN" -c "$AW_TMP/d.conf" >"$AW_TMP/d.out" 2>"$AW_TMP/d.err"
) &
AW_PID=$!
aw_pids+=("$AW_PID")

STATUS_RE='^(\d+) agents watched, (\d+) busy, (\d+) unreachable; (\d+) polls, (\d+) failed; (\d+) batch and (\d+) state requests$'
check "READY=1 after start" wait_for 10 nq_true "any(m['fields'].get('READY') == '1' for m in msgs)"
check "STATUS at start: 3 agents watched, none busy or unreachable yet" nq_true "
__import__('re').match(r'^3 agents watched, 0 busy, 0 unreachable; \d+ polls, \d+ failed; 0 batch and 0 state requests$',
    [m['fields']['STATUS'] for m in msgs if 'STATUS' in m['fields']][0]) is not None"

# --- STATUS counts what the event stream says: one busy, one unreachable, polls made.
wait_for 10 ev wait "$AW_TMP/d.out" $B 1 0 || fail "agent B unreachable within 10 s"
ev expect "$AW_TMP/d.out" $B 0 'agent.unreachable' >/dev/null && ev expect "$AW_TMP/d.out" $A 0 \
    'call.started:a1+initial' 'agent.busy+initial' || fail "events before the STATUS check"
t_events=$(mono)
status_counts() {
    nq_true "any(m['t'] > $t_events and (lambda g: g is not None and
    g.group(1, 2, 3) == ('3', '1', '1') and int(g.group(4)) >= 6 and int(g.group(5)) >= 2)(
    __import__('re').match(r'$STATUS_RE', m['fields'].get('STATUS', ''))) for m in msgs)"
}
if wait_for 8 status_counts; then
    pass "periodic STATUS: 3 watched, 1 busy, 1 unreachable, polls and failures counted"
else
    fail "periodic STATUS: 3 watched, 1 busy, 1 unreachable, polls and failures counted; got:"
    nq "'\n'.join('    %+.3f s %s' % (m['t'] - $t_events, m['fields']['STATUS'])
        for m in msgs if 'STATUS' in m['fields'])"
fi

# --- WATCHDOG=1: regular, never a gap as long as WATCHDOG_USEC.
sleep 2
check "WATCHDOG=1 arrives regularly (at least 4 in 2 s, gaps under 400 ms)" nq_true "
(lambda ts: len(ts) >= 4 and max(b - a for a, b in zip(ts, ts[1:])) < 0.4)(
    [m['t'] for m in msgs if m['fields'].get('WATCHDOG') == '1' and m['t'] > now - 2])"

# --- SIGHUP: RELOADING=1 with MONOTONIC_USEC of the moment, then READY=1.
n0=$(nq 'len(msgs)')
t_hup=$(mono)
kill -HUP "$AW_PID"
check "SIGHUP: READY=1 again" wait_for 10 nq_true "any(m['fields'].get('READY') == '1' for m in msgs[$n0:])"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC between the signal and its receipt" nq_true "
(lambda r: r and $t_hup <= int(r[0]['fields'].get('MONOTONIC_USEC', 0)) / 1e6 <= r[0]['t'])(
    [m for m in msgs[$n0:] if m['fields'].get('RELOADING') == '1'])"
check "SIGHUP: READY=1 after RELOADING=1, then a STATUS" nq_true "
(lambda f: f.index('RELOADING') < f.index('READY') < len(f) - 1 - f[::-1].index('STATUS'))(
    [k for m in msgs[$n0:] for k in m['fields'] if k in ('RELOADING', 'READY', 'STATUS')])"

# --- A stopped process sends no pings: that is what lets systemd notice a hung daemon.
kill -STOP "$AW_PID"
t_stop=$(mono)
sleep 1.5
t_cont=$(mono)
kill -CONT "$AW_PID"
check "SIGSTOP: no WATCHDOG=1 for more than 1 s" nq_true "
not any(m['fields'].get('WATCHDOG') == '1' and $t_stop + 0.05 < m['t'] < $t_cont for m in msgs)"
check "SIGCONT: WATCHDOG=1 resumes within 1 s" wait_for 1 nq_true "
any(m['fields'].get('WATCHDOG') == '1' and m['t'] > $t_cont for m in msgs)"

# --- SIGTERM: STOPPING=1, exit 0 in good time. The run lasts 11 s at least, for the STATUS check.
wait_for 12 nq_true "now - [m['t'] for m in msgs if 'READY' in m['fields']][0] >= 11"
t0=$(date +%s%N)
aw_stop "$AW_PID" 5
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "SIGTERM: exit status" "$rc" 0
check "SIGTERM: exit within 3 s (took $ms ms)" [ "$ms" -lt 3000 ]
check "SIGTERM: STOPPING=1 sent" nq_true "any(m['fields'].get('STOPPING') == '1' for m in msgs)"
# Periodic updates: the STATUS datagrams other than the one sent right after each READY=1 (start,
# reload) and those that come with RELOADING=1 or STOPPING=1. The gap allows for the 1.5 s SIGSTOP.
status_refreshed() {
    nq_true "(lambda ts: len(ts) >= 4 and max(b - a for a, b in zip(ts, ts[1:])) <= 9)(
    [m['t'] for m in msgs if 'READY' in m['fields']][:1] +
    [m['t'] for i, m in enumerate(msgs) if 'STATUS' in m['fields'] and len(m['fields']) == 1
     and not (i and msgs[i - 1]['fields'].get('READY') == '1')] +
    [m['t'] for m in msgs if 'STOPPING' in m['fields']])"
}
if status_refreshed; then
    pass "STATUS is refreshed every 5 s, not just once (twice or more in 11 s, no gap over 9 s)"
else
    fail "STATUS is refreshed every 5 s, not just once (twice or more in 11 s, no gap over 9 s); got:"
    nq "'\n'.join('    %.3f %r' % (m['t'] - msgs[0]['t'], m['raw'])
        for m in msgs if 'WATCHDOG' not in m['fields'])"
fi
check "the event stream stayed consistent" ev validate "$AW_TMP/d.out" 2

# --- WATCHDOG_PID unset: the pings still go out.
: > "$AW_TMP/notify.log"
NOTIFY_SOCKET=$AW_TMP/notify.sock WATCHDOG_USEC=400000 aw_start_daemon d2 "$AW_TMP/d.conf"
check "WATCHDOG_PID unset: WATCHDOG=1 arrives" wait_for 5 nq_true "
len([m for m in msgs if m['fields'].get('WATCHDOG') == '1']) >= 3"
aw_stop "$AW_PID" 5
expect_eq "second daemon: SIGTERM -> exit 0" "$?" 0

aw_done
