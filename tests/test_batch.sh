#!/bin/bash
# test_batch.sh: batch polling over TLS against the simulator: 3,000+ agents with random calls and
# states judged event by event from what the CMS served; request counts; auto's fallback to one
# request per agent on a batch 404 (said once, polls go on); an agent absent from the answers goes
# unreachable without a call.ended; a refused state interface goes off for its group only.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
aw_budget 100

# calls_events OUT AGENT [count]: AGENT's events but agent.state/long_state (their order against
# the calls poll's is free: separate requests), as "type[:call_id][+initial][/reason]" words, or
# how many there are.
calls_events() {
    "$AW_PYTHON" -c 'import json, sys
want = sys.argv[2]
out = []
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    a = e.get("agent") or {}
    if "%s:%s:%s" % (a.get("cc"), a.get("vdn"), a.get("id")) != want or e["type"].startswith("agent.") and "state" in e["type"]:
        continue
    w = e["type"] + (":" + e["call_id"] if "call_id" in e else "") + ("+initial" if e.get("initial") else "")
    out.append(w + ("/" + e["reason"] if e["type"] == "agent.unreachable" else ""))
print(len(out) if sys.argv[3:] == ["count"] else " ".join(out))' "$AW_TMP/$1.out" "$2" "${@:3}"
}
calls_events_are() {   # calls_events_are OUT DESCRIPTION AGENT WORDS
    expect_eq "$2" "$(calls_events "$1" "$3")" "$4"
}
has_calls_events() {   # has_calls_events OUT AGENT N: at least N such events
    [ "$(calls_events "$1" "$2" count)" -ge "$3" ]
}
served() {   # served PYTHON-EXPR: evaluated over the lines of $SERVED as L (a list of dicts)
    "$AW_PYTHON" -c 'import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(eval(sys.argv[2]))' "$SERVED" "$1"
}

# --- 3,200 agents in two groups, random calls and states, batch mode, for ~40 s ---

SERVED=$AW_TMP/served.jsonl
aw_start_sim sim --random 7 --served "$SERVED"
AW_API=batch aw_config "$AW_TMP/big.conf" '
  { cc = 1; vdn = 170; range = [ 1000, 3999 ]; },
  { cc = 1; vdn = 171; range = [ 101, 300 ]; }' '
poll = { interval = 1.0; failure_threshold = 3; backoff_max = 4.0; agent_state = true; };
outputs = { journal = false; stdout = true; };'
sed -i 's|^  timeout = 2.0;$|  timeout = 5.0; batch_size = 1000;|' "$AW_TMP/big.conf"
check "big: batch mode configured" grep -q 'api = "batch"' "$AW_TMP/big.conf"
aw_start_daemon big "$AW_TMP/big.conf"
t0=$SECONDS
until_ok 20 grep -q '"type":"call.started"' "$AW_TMP/big.out" || fail "big: no call.started within 20 s"
pause 40
aw_stop "$AW_PID" 10
expect_eq "big: SIGTERM -> exit 0" "$?" 0
elapsed=$((SECONDS - t0))

# 1:170 has 3000 agents (3 batches of 1000), 1:171 200 (1 batch); 1 state request per group.
per_s=$(served 'round(len([l for l in L if l["path"] == "batch"]) / max(1, L[-1]["t"] - L[0]["t"]), 1)')
check "big: 4 calls requests a second (1 s interval, 3 + 1 batches; saw $per_s/s)" \
    awk -v r="$per_s" 'BEGIN { exit !(r >= 3.0 && r <= 4.5) }'
expect_eq "big: no per-agent request at all" "$(served 'len([l for l in L if l["path"] == "agent"])')" 0
expect_eq "big: every calls request asked at most 1000 agents" \
    "$(served 'max(len(l["agents"]) for l in L if l["path"] == "batch") <= 1000')" True
expect_eq "big: state requests went out, one per group" \
    "$(served 'sorted({(l["cc"], l["vdn"]) for l in L if l["path"] == "state"})')" "[(1, 170), (1, 171)]"
if "$AW_PYTHON" "$AW_SRC/tests/judge.py" "$SERVED" "$AW_TMP/big.out" > "$AW_TMP/judge.txt" 2>&1; then
    pass "big: the judge agrees with every event ($(tail -1 "$AW_TMP/judge.txt"))"
else
    fail "big: the judge disagrees:"; head -30 "$AW_TMP/judge.txt" | sed 's/^/    /'
fi
check "big: call detail on call events" grep -q '"call_status":' "$AW_TMP/big.out"
check "big: agent.state events" grep -q '"type":"agent.state"' "$AW_TMP/big.out"
expect_eq "big: no agent unreachable" "$(grep -c '"type":"agent.unreachable"' "$AW_TMP/big.out")" 0
echo "# big: $elapsed s, $(wc -l < "$AW_TMP/big.out") events"

# --- auto: a batch 404 for one group makes it per agent, said once; the others stay batched ---

aw_stop "$SIM_PID" 5
aw_budget 60    # the second half's own bound: the first is a minute of traffic and its judging
SERVED=$AW_TMP/served2.jsonl
aw_start_sim sim2 --served "$SERVED"
A=1:170:1099 B=1:171:2000 X=1:170:1100 S=1:172:500
sim_set $A '"calls":["a1"]'
sim_set $B '"calls":["b1"]'
sim_set $X '"calls":["x1"]'
sim_set $S '"calls":["s1"]'
sim_config '{"batch_404": [[1, 171]], "state_permission": [[1, 172]]}'
AW_API=auto aw_config "$AW_TMP/auto.conf" '
  { cc = 1; vdn = 170; ids = [ 1099, 1100 ]; },
  { cc = 1; vdn = 171; id = 2000; },
  { cc = 1; vdn = 172; id = 500; }' '
poll = { interval = 0.3; failure_threshold = 3; backoff_max = 1.0; agent_state = true; };
outputs = { journal = false; stdout = true; };'
aw_start_daemon auto "$AW_TMP/auto.conf"
until_ok 15 has_calls_events auto $B 2 || fail "auto: 1:171 not polled per agent after the 404"
until_ok 15 has_calls_events auto $A 2 || fail "auto: 1:170 not polled"
calls_events_are auto "auto: the fallen-back group keeps being polled (per agent)" $B \
    "call.started:b1+initial agent.busy+initial"
calls_events_are auto "auto: the batched group is polled" $A "call.started:a1+initial agent.busy+initial"
pause 2
expect_eq "auto: one notice for the fallback" \
    "$(grep -c '1:171: the CMS has no batch interface' "$AW_TMP/auto.err")" 1
expect_eq "auto: per-agent requests only for 1:171:2000" \
    "$(served 'sorted({(l["cc"], l["vdn"]) for l in L if l["path"] == "agent"})')" "[(1, 171)]"
check "auto: 1:170 still batched after the fallback" \
    [ "$(served 'len([l for l in L if l["path"] == "batch" and l["vdn"] == 170])')" -ge 3 ]

# --- State refused for 1:172 (permission resultCode): off for it, said once, calls go on ---

calls_events_are auto "state refused: calls of 1:172 still polled" $S \
    "call.started:s1+initial agent.busy+initial"
expect_eq "state refused: no agent.state for 1:172" \
    "$(grep '"type":"agent.state"' "$AW_TMP/auto.out" | grep -c '"vdn":172')" 0
expect_eq "state refused: one notice" \
    "$(grep -c '1:172: the CMS refuses the agent state interface' "$AW_TMP/auto.err")" 1
n1=$(served 'len([l for l in L if l["path"] == "state" and l["vdn"] == 172])')
pause 2
expect_eq "state refused: no more state requests for 1:172" \
    "$(served 'len([l for l in L if l["path"] == "state" and l["vdn"] == 172])')" "$n1"
check "state refused: state of 1:170 still polled" \
    [ "$(served 'len([l for l in L if l["path"] == "state" and l["vdn"] == 170])')" -ge 2 ]

# --- An agent absent from the answers: unreachable after failure_threshold, no call.ended ---

sim_set $X '"calls":["x1"],"absent":true'
until_ok 15 has_calls_events auto $X 3 || fail "absent: no agent.unreachable within 15 s"
calls_events_are auto "absent: agent.unreachable with the reason, its call left open" $X \
    "call.started:x1+initial agent.busy+initial agent.unreachable/absent from the CMS answer"
sim_set $X '"calls":["x1"],"absent":false'
until_ok 20 has_calls_events auto $X 4 || fail "absent: no agent.reachable within 20 s"
calls_events_are auto "absent: back in the answers, reachable again, still no call.ended" $X \
    "call.started:x1+initial agent.busy+initial agent.unreachable/absent from the CMS answer agent.reachable"
calls_events_are auto "absent: A, asked in the same batch, never went unreachable" $A \
    "call.started:a1+initial agent.busy+initial"

# --- Reload adding agents: staying agents keep their state (no second baseline), the fallen-back
# group stays per agent (remembered), the new agent of 1:171 is polled per agent too ---

b171=$(served 'len([l for l in L if l["path"] == "batch" and l["vdn"] == 171])')
sed -i 's|ids = \[ 1099, 1100 \]|ids = [ 1099, 1100, 1101 ]|; s|{ cc = 1; vdn = 171; id = 2000; }|{ cc = 1; vdn = 171; ids = [ 2000, 2001 ]; }|' \
    "$AW_TMP/auto.conf"
check "reload: the configuration has the new agents" grep -q '2000, 2001' "$AW_TMP/auto.conf"
sim_set 1:171:2001 '"calls":["n1"]'
kill -HUP "$AW_PID"
until_ok 20 has_calls_events auto 1:171:2001 2 || fail "reload: the new agent of 1:171 not polled"
calls_events_are auto "reload: the new agent gets its baseline" 1:171:2001 "call.started:n1+initial agent.busy+initial"
calls_events_are auto "reload: a staying batched agent keeps its state" $A "call.started:a1+initial agent.busy+initial"
calls_events_are auto "reload: a staying per-agent agent keeps its state" $B "call.started:b1+initial agent.busy+initial"
expect_eq "reload: the fallback is remembered (no batch request for 1:171 since)" \
    "$(served 'len([l for l in L if l["path"] == "batch" and l["vdn"] == 171])')" "$b171"
expect_eq "reload: still one notice" "$(grep -c '1:171: the CMS has no batch interface' "$AW_TMP/auto.err")" 1
check "reload: 1:171:2001 is polled per agent" \
    [ "$(served 'len([l for l in L if l["path"] == "agent" and "2001" in l["agents"]])')" -ge 1 ]
aw_stop "$AW_PID" 10
expect_eq "auto: SIGTERM -> exit 0" "$?" 0
expect_no_sanitizer_report "$AW_TMP"/*.err
expect_no_secret "no output shows the secret" "$AW_TMP"/*.out "$AW_TMP"/*.err

aw_done
