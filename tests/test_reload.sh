#!/bin/bash
# test_reload.sh: SIGHUP. A broken file keeps the old configuration running and says why, line by
# line; a good one adds and removes agents while those that stay keep their calls.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

nq() { "$AW_PYTHON" "$AW_SRC/tests/notifysock.py" --read "$AW_TMP/notify.log" "$1"; }
nq_true() { [ "$(nq "$1")" = True ]; }

A=1:170:1099 B=1:170:1100 C=1:170:1101

total_polls() {   # every answered poll of AGENT, from the simulator
    aw_sim GET "/sim/stats?agent=$1" | "$AW_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["polls"])'
}
# reloaded N: from notification N on, RELOADING=1 came and a READY=1 after it.
reloaded() {
    nq_true "(lambda f: 'RELOADING' in f and 'READY' in f[f.index('RELOADING'):])(
        [k for m in msgs[$1:] for k in m['fields'] if m['fields'][k] == '1'])"
}
started() { nq_true "any(m['fields'].get('READY') == '1' for m in msgs)"; }

conf=$AW_TMP/agentwatchd.conf
settings='
poll = { interval = 0.2; failure_threshold = 2; backoff_max = 1.0; };
outputs = { journal = false; stdout = true; };'
write_conf() { aw_config "$conf" "$1" "$settings"; }

aw_start_sim sim
sim_set $A '"calls":["a1"]'
sim_set $B '"calls":["b1"]'
sim_set $C '"calls":["c1"]'

"$AW_PYTHON" "$AW_SRC/tests/notifysock.py" "$AW_TMP/notify.sock" "$AW_TMP/notify.log" &
aw_pids+=("$!")
wait_for 10 test -e "$AW_TMP/notify.log" || { echo "notify listener did not start"; exit 99; }

write_conf '{ cc = 1; vdn = 170; id = 1099; name = "alice"; }, { cc = 1; vdn = 170; id = 1100; }'
NOTIFY_SOCKET=$AW_TMP/notify.sock aw_start_daemon d "$conf"
check "READY=1 after start" wait_for 10 started
settle 2 $A $B
events_are d "baseline of A" $A 'call.started:a1+initial' 'agent.busy+initial'
events_are d "baseline of B" $B 'call.started:b1+initial' 'agent.busy+initial'
t_base=$(date +%s)

# --- A broken file: every problem logged as FILE:LINE, the old configuration keeps polling.
cat > "$conf.new" <<EOF
$(cat "$conf")
bogus = 1;
alerts = { long_call = -5.0; };
EOF
sed -i 's/id = 1100;/id = 42;/' "$conf.new"
mv "$conf.new" "$conf"
errs=()
for pat in '^bogus' '^alerts' 'id = 42;'; do
    errs+=("$conf:$(grep -n -- "$pat" "$conf" | cut -d: -f1):")
done
n0=$(nq 'len(msgs)')
t_hup=$("$AW_PYTHON" -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))')
kill -HUP "$AW_PID"
check "broken reload: the daemon says it keeps the previous configuration" \
    wait_for 10 grep -q 'reload: 3 errors in .*; still running the previous configuration' "$AW_TMP/d.err"
for e in "${errs[@]}"; do
    expect_grep "broken reload: stderr has ${e#$AW_TMP/}" "^agentwatchd: $e " "$AW_TMP/d.err"
done
check "broken reload: RELOADING=1, then READY=1 again" wait_for 10 reloaded "$n0"
check "broken reload: RELOADING=1 with MONOTONIC_USEC taken at the SIGHUP, then READY=1" nq_true "
(lambda f: 'RELOADING' in f and 'READY' in f and f.index('RELOADING') < f.index('READY'))(
    [k for m in msgs[$n0:] for k in m['fields']]) and
(lambda r: $t_hup <= int(r['fields'].get('MONOTONIC_USEC', 0)) / 1e6 <= r['t'])(
    [m for m in msgs[$n0:] if m['fields'].get('RELOADING') == '1'][0])"
check "broken reload: STATUS says the reload failed" nq_true "
any('reload failed' in m['fields'].get('STATUS', '') for m in msgs[$n0:])"

sim_set $A '"calls":["a1","a2"]'
sim_set $B '"calls":["b1"]'
settle 2 $A $B
events_are d "broken reload: the old configuration still polls A (events keep coming)" $A 'call.started:a2'
events_are d "broken reload: B is still watched (and still has its call)" $B

# --- A good file: B goes (while its poll may be under way), C comes, A stays and is renamed.
sim_set $B '"fault":"slow:1"'
settle 1 $B
write_conf '{ cc = 1; vdn = 170; id = 1099; name = "alice-renamed"; }, { cc = 1; vdn = 170; id = 1101; }'
n1=$(nq 'len(msgs)')
kill -HUP "$AW_PID"
check "good reload: logged" wait_for 10 grep -q "reloaded $conf: 2 agents" "$AW_TMP/d.err"
check "good reload: RELOADING=1 then READY=1" wait_for 10 reloaded "$n1"
check "good reload: STATUS no longer mentions the failure, counts 2 agents" nq_true "
[m['fields']['STATUS'] for m in msgs[$n1:] if 'STATUS' in m['fields']][-1].startswith('2 agents watched')"
b_polls=$(total_polls $B)

settle 2 $C
events_are d "added agent gets its baseline" $C 'call.started:c1+initial' 'agent.busy+initial'
sim_set $A '"calls":["a1","a2"]'
settle 8 $A
events_are d "agent that stays: no baseline again, no repeated call.started" $A
b_after=$(total_polls $B)
check "removed agent: polls stop (simulator saw $b_polls, then $b_after)" \
    [ "$b_after" -le $((b_polls + 1)) ]
events_are d "removed agent: no events after the reload" $B

sim_set $A '"calls":["a2"]'
settle 2 $A
events_are d "agent that stays keeps its calls' first-seen time and takes the new name" $A \
    "call.ended:a1,agent.name=alice-renamed,duration>=$(( $(date +%s) - t_base - 1 ))"

# --- Re-adding B: its state was forgotten with it, so it starts from a fresh baseline.
sim_set $B '"fault":null'
write_conf '{ cc = 1; vdn = 170; id = 1099; name = "alice-renamed"; }, { cc = 1; vdn = 170; ids = [ 1100, 1101 ]; }'
n2=$(nq 'len(msgs)')
kill -HUP "$AW_PID"
check "third reload: RELOADING=1 then READY=1" wait_for 10 reloaded "$n2"
settle 2 $B
events_are d "re-added agent: a fresh baseline" $B 'call.started:b1+initial' 'agent.busy+initial'
events_are d "C untouched by the third reload" $C

aw_stop "$AW_PID"
expect_eq "SIGTERM -> exit 0" "$?" 0
check "the whole stream: well formed, consistent, unique ids" ev validate "$AW_TMP/d.out" 2
aw_done
