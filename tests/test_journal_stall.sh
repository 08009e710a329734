#!/bin/bash
# test_journal_stall.sh: journald never stalls the daemon nor gets an event twice. With journald
# SIGSTOPped and its socket full, polls and stdout go on, journal entries are dropped, counted
# and logged once; after SIGCONT the journal gets events again. With stdout as the journal stream
# ($JOURNAL_STREAM naming fd 1) events are not written to stdout a second time. A start-up baseline
# that can exceed the journal's rate limit is warned about, at start and at reload. With stderr as
# the journal stream, a stopped journald costs diagnostics, not the loop.
. "${srcdir:-$(dirname "$0")/..}/tests/journalns.sh"
aw_budget 80

A=1:170:1099
aw_start_sim sim
sim_set $A '"calls":["c0"]'
aw_config "$AW_TMP/d.conf" '{ cc = 1; vdn = 170; ids = [ 1099, 1100 ]; }' '
poll = { interval = 0.2; };
outputs = { journal = true; stdout = true; };'
jlines() { journalctl --no-pager -o cat "$@" 2>/dev/null; }
jcount() { jlines "$@" | wc -l; }

# --- journald stalls: SIGSTOP, and its socket filled to the brim by the test.
aw_start_daemon d "$AW_TMP/d.conf"
until_ok 10 ev wait "$AW_TMP/d.out" $A 2 0 || fail "A's baseline within 10 s"
kill -STOP "$JOURNALD_PID"
filled=$("$AW_PYTHON" -c '
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setblocking(False)
n = 0
try:
    while n < 100000:
        s.sendto(b"MESSAGE=filler\n", "/run/systemd/journal/socket")
        n += 1
except BlockingIOError:
    pass
print(n)')
check "the stopped journald's socket is full ($filled datagrams)" [ "$filled" -lt 100000 ]
for i in 1 2 3 4 5; do
    sim_set $A "\"calls\":[\"s$i\"]"
    until_ok 5 ev wait "$AW_TMP/d.out" $A $((2 + 2 * i)) 0 || break
done
check "stdout events go on while journald is stopped (5 call changes seen)" \
    ev wait "$AW_TMP/d.out" $A 12 0
check "polls go on while journald is stopped" until_ok 5 polled $A 3
expect_eq "the drops are logged once" \
    "$(grep -c 'journal /run/systemd/journal/socket: .*events for journal are dropped' "$AW_TMP/d.err")" 1
kill -CONT "$JOURNALD_PID"
pause 1
sim_set $A '"calls":["after"]'
check "after SIGCONT the journal gets events again" until_ok 10 eval \
    '[ "$(jcount CALL_ID=after)" -ge 1 ]'
expect_grep "the recovery is logged with the count of drops" \
    'journal /run/systemd/journal/socket takes events again; [1-9][0-9]* dropped so far' "$AW_TMP/d.err"
aw_stop "$AW_PID"
expect_eq "SIGTERM -> exit 0" "$?" 0

# --- stdout as the journal stream: JSON lines on it only when $JOURNAL_STREAM does not name it.
stream_daemon() {   # stream_daemon NAME MODE FD CONF [options]: the daemon with fd FD on a journal stream
    "$AW_PYTHON" -c '
import os, socket, sys
fd = int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/run/systemd/journal/stdout")
s.sendall(b"%s\n\n6\n1\n0\n0\n0\n" % sys.argv[1].encode())
s.shutdown(socket.SHUT_RD)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)    # full within a second when unread
os.dup2(s.fileno(), fd)
st = os.fstat(fd)
env = dict(os.environ)
env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino) if sys.argv[2] == "match" else "0:0"
os.execve(sys.argv[4], sys.argv[4:], env)' "aw-$1" "$2" "$3" "$AW_BIN" -c "$4" "${@:5}" \
        >"$AW_TMP/$1.out" 2>"$AW_TMP/$1.err" &
    AW_PID=$!
    aw_pids+=("$AW_PID")
}
sim_set $A '"calls":["j1"]'
stream_daemon other nomatch 1 "$AW_TMP/d.conf"
stream_events() { jlines SYSLOG_IDENTIFIER="aw-$1" | grep -c '"type":"call.started"'; }
check "control: stdout that is not the named stream carries the JSON lines" until_ok 10 eval \
    '[ "$(stream_events other)" -ge 1 ]'
aw_stop "$AW_PID"
stream_daemon same match 1 "$AW_TMP/d.conf"
SAME_PID=$AW_PID
check "the journal gets the events as entries" until_ok 10 eval \
    '[ "$(jcount _PID=$SAME_PID AGENTWATCH_EVENT=call.started)" -ge 1 ]'
pause 1
aw_stop "$AW_PID"
expect_eq "stdout named by JOURNAL_STREAM carries no event a second time" \
    "$(stream_events same)" 0
expect_grep "the daemon says why stdout stays quiet" 'stdout is the journal stream' "$AW_TMP/same.err"

# --- stderr is the journal stream and journald stops: diagnostics (-vv, many) are dropped, not
# waited for; the drops are told once journald reads again.
aw_config "$AW_TMP/diag.conf" '{ cc = 1; vdn = 170; range = [ 1099, 1108 ]; }' '
poll = { interval = 0.1; };
outputs = { journal = true; stdout = true; };'
stream_daemon diag match 2 "$AW_TMP/diag.conf" -vv
DIAG_PID=$AW_PID
until_ok 10 ev wait "$AW_TMP/diag.out" $A 2 0 || fail "diag: A's baseline within 10 s"
kill -STOP "$JOURNALD_PID"
n=$(ev count "$AW_TMP/diag.out" $A)
for i in 1 2 3; do
    sim_set $A "\"calls\":[\"d$i\"]"
    until_ok 5 ev wait "$AW_TMP/diag.out" $A $((n + 2 * i)) 0 || break
done
check "stdout events go on while journald, reader of stderr, is stopped" \
    ev wait "$AW_TMP/diag.out" $A $((n + 6)) 0
pause 3    # -vv writes about 70 kB/s: past the 64 kB held back
n=$(aw_polls_since_set $A)
check "polls go on while stderr is full" until_ok 5 polled $A $((n + 3))
kill -CONT "$JOURNALD_PID"
check "the dropped diagnostics are told once journald reads again" until_ok 10 eval \
    'jlines _PID=$DIAG_PID | grep -qE "^[0-9]+ diagnostics dropped: standard error did not take them"'
aw_stop "$AW_PID"
expect_eq "diag: SIGTERM -> exit 0" "$?" 0

# --- The rate limit: 2 agents x 2 events x 1 entry = 4 at start.
AGENTWATCHD_LOG_RATE_LIMIT_BURST=3 aw_start_daemon low "$AW_TMP/d.conf"
until_ok 10 grep -q 'more than the journal.s rate limit of 3' "$AW_TMP/low.err"
expect_grep "a baseline over the burst is warned about at start" \
    'start-up can write 4 journal entries at once \(2 agents x 2 events x 1 entries each\), more than the journal.s rate limit of 3 per interval' \
    "$AW_TMP/low.err"
kill -HUP "$AW_PID"
until_ok 10 eval '[ "$(grep -c "rate limit of 3" "$AW_TMP/low.err")" -ge 2 ]'
expect_eq "and at reload" "$(grep -c 'rate limit of 3' "$AW_TMP/low.err")" 2
aw_stop "$AW_PID"
AGENTWATCHD_LOG_RATE_LIMIT_BURST=4 aw_start_daemon ok "$AW_TMP/d.conf"
until_ok 10 ev wait "$AW_TMP/ok.out" $A 1 0
aw_stop "$AW_PID"
if grep -q 'rate limit' "$AW_TMP/ok.err"; then fail "no warning when the baseline fits"; else
    pass "no warning when the baseline fits"; fi
aw_done
