#!/bin/bash
# test_dns.sh: a name lookup that hangs never stalls the loop. An LD_PRELOAD shim (tests/slowdns.c)
# makes getaddrinfo("slow.invalid") take SLOWDNS_DELAY seconds; the daemon must keep pinging the
# watchdog, answer SIGHUP and SIGTERM promptly, fail the polls after cms.timeout with a name-lookup
# reason, run one lookup at a time for the name, and poll normally once the lookup comes back.
# A webhook to the same name waits on the same lookup.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
aw_budget 75

nq() { "$AW_PYTHON" "$AW_SRC/tests/notifysock.py" --read "$AW_TMP/notify.log" "$1"; }
nq_true() { [ "$(nq "$1")" = True ]; }
mono() { "$AW_PYTHON" -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))'; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

PRELOAD=$(aw_preload slowdns) || { echo "cannot build the slowdns shim"; exit 99; }
A=1:170:1099 B=1:170:1100 C=1:170:1101
aw_start_plain_sim sim
RCV=$AW_SRC/tests/receiver.py
printf 'hook-secret\n' > "$AW_TMP/hook.secret"; chmod 600 "$AW_TMP/hook.secret"
"$AW_PYTHON" "$RCV" serve --out "$AW_TMP/r.jsonl" --port-file "$AW_TMP/r.port" \
    --secret-file "$AW_TMP/hook.secret" 2>"$AW_TMP/r.log" &
aw_pids+=("$!")
until_ok 10 test -s "$AW_TMP/r.port" || { echo "receiver did not start"; exit 99; }
aw_config "$AW_TMP/d.conf" '{ cc = 1; vdn = 170; ids = [ 1099, 1100, 1101 ]; }' "
poll = { interval = 0.3; failure_threshold = 1; backoff_max = 0.5; };
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://slow.invalid:$(cat "$AW_TMP/r.port")/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; timeout = 1.5; }
); };"
sed -i "s|https://127.0.0.1:$SIM_PORT|http://slow.invalid:$SIM_PORT|; s|timeout = 2.0;|timeout = 2.0; allow_insecure_http = true;|" \
    "$AW_TMP/d.conf"

"$AW_PYTHON" "$AW_SRC/tests/notifysock.py" "$AW_TMP/notify.sock" "$AW_TMP/notify.log" &
aw_pids+=("$!")
wait_for 10 test -e "$AW_TMP/notify.log" || { echo "notify listener did not start"; exit 99; }

# --- The lookup takes 12 s; cms.timeout is 2 s.
t0=$(mono)
(
    export NOTIFY_SOCKET=$AW_TMP/notify.sock WATCHDOG_USEC=2000000 WATCHDOG_PID=$BASHPID
    export LD_PRELOAD=$PRELOAD SLOWDNS_DELAY=12 SLOWDNS_LOG=$AW_TMP/dns.log
    exec "$AW_BIN" -c "$AW_TMP/d.conf" >"$AW_TMP/d.out" 2>"$AW_TMP/d.err"
) &
AW_PID=$!
aw_pids+=("$AW_PID")

check "READY=1 at start" until_ok 10 nq_true "any(m['fields'].get('READY') == '1' for m in msgs)"
expect_grep "the log names libcurl's resolver kind" 'libcurl 7\.[0-9.]+ .*resolver (threaded|c-ares|synchronous)' "$AW_TMP/d.err"
until_ok 8 ev wait "$AW_TMP/d.out" $A 1 0
events_are d "a poll fails with a name-lookup reason" $A \
    'agent.unreachable,reason~name lookup (of slow\.invalid took longer than 2\.0 s|failed)'
t_fail=$(nq now)
check "the first poll failed after about cms.timeout (2 s), not after the 12 s lookup" \
    "$AW_PYTHON" -c "import sys; sys.exit(not ($t_fail - $t0 < 6))"
check "every agent's poll fails the same way" until_ok 5 eval \
    "ev wait '$AW_TMP/d.out' $B 1 0 && ev wait '$AW_TMP/d.out' $C 1 0"

# --- Reload while the lookup still hangs: RELOADING=1 then READY=1, both within 2 s.
pause 1
n0=$(nq 'len(msgs)')
t_hup=$(mono)
kill -HUP "$AW_PID"
check "SIGHUP during the hung lookup: READY=1 again within 3 s" until_ok 3 nq_true \
    "any(m['fields'].get('READY') == '1' and m['t'] < $t_hup + 3 for m in msgs[$n0:])"

pause 2
check "WATCHDOG=1 kept coming while the lookup hung (gaps under 1.5 s)" nq_true "
(lambda ts: len(ts) >= 5 and max(b - a for a, b in zip(ts, ts[1:])) < 1.5)(
    [m['t'] for m in msgs if m['fields'].get('WATCHDOG') == '1' and m['t'] > $t0 + 1])"
expect_eq "one lookup of slow.invalid under way, however many polls wait on it" \
    "$(grep -c start "$AW_TMP/dns.log")" 1
n=$(threads "$AW_PID")
check "threads stay bounded: at most 3 (loop, one lookup, slack), got $n" [ "${n:-99}" -le 3 ]

# --- The lookup returns at 12 s: the address goes to libcurl, the agents are polled again.
check "after the lookup returns every agent is reachable" until_ok 15 eval \
    "ev expect '$AW_TMP/d.out' $A 1 agent.reachable >/dev/null &&
     ev expect '$AW_TMP/d.out' $C 1 agent.reachable >/dev/null"
expect_grep "the webhook's deliveries wait on the same lookup and fail after its timeout" \
    'webhook http://slow\.invalid:[0-9]+: name lookup of slow\.invalid took longer than 1\.5 s; retry' \
    "$AW_TMP/d.err"
check "once the lookup is back the webhook gets every event" "$AW_PYTHON" "$RCV" check --wait 10 \
    "$AW_TMP/r.jsonl" "$AW_TMP/d.out"
n_ok=$(aw_plain_sim GET "/sim/stats?agent=$A" | "$AW_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["polls_since_set"])')
check "the simulator answered polls for slow.invalid ($n_ok)" [ "${n_ok:-0}" -ge 1 ]
aw_stop "$AW_PID" 5
expect_eq "SIGTERM -> exit 0" "$?" 0
check "the event stream stayed consistent" ev validate "$AW_TMP/d.out" 1

# --- SIGTERM while one agent's lookup hangs (30 s): exit within 2 s, well inside a 3 s grace.
aw_config "$AW_TMP/one.conf" '{ cc = 1; vdn = 170; id = 1099; }' '
outputs = { journal = false; stdout = true; };'
sed -i "s|https://127.0.0.1:$SIM_PORT|http://slow.invalid:$SIM_PORT|; s|timeout = 2.0;|timeout = 2.0; allow_insecure_http = true;|" \
    "$AW_TMP/one.conf"
LD_PRELOAD=$PRELOAD SLOWDNS_DELAY=30 aw_start_daemon one "$AW_TMP/one.conf"
until_ok 8 ev wait "$AW_TMP/one.out" $A 1 0
pause 0.5
t1=$(date +%s%N)
aw_stop "$AW_PID" 10
rc=$?
ms=$(( ($(date +%s%N) - t1) / 1000000 ))
expect_eq "SIGTERM with a hung lookup: exit status" "$rc" 0
check "SIGTERM with a hung lookup: exit within 2 s (took $ms ms)" [ "$ms" -lt 2000 ]
expect_no_secret "no secret in the logs" "$AW_TMP/d.err" "$AW_TMP/one.err"
aw_done
