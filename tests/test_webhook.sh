#!/bin/bash
# test_webhook.sh: signed JSON webhooks deliver every event the daemon emitted, at least once and in
# each agent's order: with the receiver up, down for a while, losing acknowledgements, with the
# daemon SIGKILLed during an outage; 429 with Retry-After, 400 to the dead-letter file, batches,
# event filters, and one receiver's outage delaying no other.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 95

. "$AW_SRC/tests/receiver.sh"
HOOK_SECRET='hook-Secret-5b2e9d-never-printed'

aw_start_sim sim --random 7
printf '%s\n' "$HOOK_SECRET" > "$AW_TMP/hook.secret"
chmod 600 "$AW_TMP/hook.secret"
# Twenty agents with random calls, and one whose calls the test sets.
K=1:171:2000
AGENTS='{ cc = 1; vdn = 170; range = [ 1100, 1119 ]; labels = { site = "lab"; }; },
  { cc = 1; vdn = 171; id = 2000; name = "kim"; }'
sim_set $K '"calls":["k1","k2"]'

# ---------------------------------------------------------------------------
# Phase 1: R1 is the receiver under test; R2 is down (503) from the daemon's first moment until
# after the SIGKILL, so it never acknowledges anything in the first run.
start_receiver r1
start_receiver r2 --mode down
aw_config "$AW_TMP/p1.conf" "$AGENTS" "
poll = { interval = 0.2; failure_threshold = 2; };
alerts = { long_call = 0.0; };
state_dir = \"$AW_TMP/state1\";
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://127.0.0.1:${RPORT[r1]}/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; timeout = 1.5; },
  { url = \"http://127.0.0.1:${RPORT[r2]}/late\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; timeout = 1.5; }
); };"
aw_start_daemon run1 "$AW_TMP/p1.conf"
RUN1_PID=$AW_PID

# --- (a) receiver up.
until_ok 10 emitted_at_least run1 10 || fail "run 1 emitted 10 events within 10 s"
pause 2
check_delivery "(a) receiver up: every emitted event arrived once, in each agent's order" 15 \
    r1 "$AW_TMP/run1.out"
expect_eq "(a) every signature verified (no 401)" "$(rstats r1 's["bad_signature"]')" 0
expect_eq "(a) every request answered 200" "$(rstats r1 'sorted(s["status"])')" "['200']"
ua=$(rstats r1 '" ".join(s["user_agents"])')
check "(a) User-Agent agentwatchd/VERSION ($ua)" grep -qxE 'agentwatchd/[0-9][^ ]*' <<<"$ua"
expect_eq "(a) Content-Type" "$(rstats r1 's["content_types"]')" "['application/json']"
a_duplicates=$("$AW_PYTHON" -c '
import json, sys
ids = [json.loads(l)["event"]["id"] for l in open(sys.argv[1])]
print(len(ids) - len(set(ids)))' "$AW_TMP/r1.jsonl")
expect_eq "(a) no duplicates while the receiver is healthy" "$a_duplicates" 0
forged=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "X-Agentwatch-Timestamp: $(date +%s)" \
    -H 'X-Agentwatch-Signature: sha256=00' --data "$(head -1 "$AW_TMP/run1.out")" \
    "http://127.0.0.1:${RPORT[r1]}/hook")
expect_eq "(a) the receiver's check has teeth: a forged signature gets 401" "$forged" 401

# --- (b) acknowledgements lost (the receiver records, then never answers), then down.
rmode r1 ackloss
pause 3
stop_receiver r1
b_from=$(nevents run1)
pause 6
b_during=$(( $(nevents run1) - b_from ))
start_receiver r1
check "(b) events were emitted during the outage ($b_during)" test "$b_during" -gt 0
check_delivery "(b) after the outage: every event arrived, in order, duplicates identical" 30 \
    r1 "$AW_TMP/run1.out"
check "(b) the daemon logged the failed deliveries" \
    grep -qE "webhook http://127.0.0.1:${RPORT[r1]}: .*retry" "$AW_TMP/run1.err"
b_dups=$("$AW_PYTHON" -c '
import json, sys
ids = [json.loads(l)["event"]["id"] for l in open(sys.argv[1])]
print(len(ids) - len(set(ids)))' "$AW_TMP/r1.jsonl")
echo "    (lost acknowledgements led to $b_dups re-sent events)"
expect_eq "(b) R2 (503) has received nothing yet" "$(wc -l < "$AW_TMP/r2.jsonl")" 0

# --- (c) the receivers are down and the daemon is SIGKILLed; a new daemon delivers it all.
stop_receiver r1
pause 2
exec 3>&2 2>/dev/null    # not bash's "Killed" notice in the log
kill -KILL "$RUN1_PID"
wait "$RUN1_PID"
exec 2>&3 3>&-
sim_set $K '"calls":["k2","k3"]'    # while no daemon runs: k1 ends, k3 starts
aw_start_daemon run2 "$AW_TMP/p1.conf"
RUN2_PID=$AW_PID
pause 3
start_receiver r1
rmode r2 ok
check_delivery "(c) R1: every event of both runs arrived, in order, duplicates identical" 40 \
    r1 "$AW_TMP/run1.out" "$AW_TMP/run2.out"
check_delivery "(c) R2 (never acknowledged before the SIGKILL): every event of both runs" 40 \
    r2 "$AW_TMP/run1.out" "$AW_TMP/run2.out"
expect_eq "(c) R2: every signature verified" "$(rstats r2 's["bad_signature"]')" 0
check "(c) the restart resumed R2's undelivered events" \
    grep -q "127.0.0.1:${RPORT[r2]}: resuming with" "$AW_TMP/run2.err"
restart_report=$("$AW_PYTHON" - "$AW_TMP/run1.out" "$AW_TMP/run2.out" <<'EOF'
import json, sys
def load(p):
    return [json.loads(l) for l in open(p) if l.endswith("\n")]
one, two = load(sys.argv[1]), load(sys.argv[2])
started1 = {e["call_id"] for e in one if e["type"] == "call.started"}
again = [e["call_id"] for e in two if e["type"] == "call.started" and e["call_id"] in started1]
initial = [e["type"] for e in two if e.get("initial")]
late = [e for e in two if e.get("after_restart")]
wrong = [e["call_id"] for e in late if e["type"] != "call.ended" or e["call_id"] not in started1]
print(len(again), len(initial), len(late), len(wrong))
EOF
)
read -r again initial late wrong <<<"$restart_report"
expect_eq "(c) no call.started repeated for calls reported before the SIGKILL" "$again" 0
expect_eq "(c) no 'initial' events after the restart (state restored)" "$initial" 0
expect_eq "(c) after_restart only on call.ended of calls from run 1 ($late flagged)" "$wrong" 0
check "(c) a call that ended while no daemon ran: call.ended after_restart; a new one started" \
    ev expect "$AW_TMP/run2.out" $K 0 'call.ended:k1,after_restart=True' 'call.started:k3'
cat "$AW_TMP/run1.out" "$AW_TMP/run2.out" > "$AW_TMP/both.out"
check "(c) both runs together are one consistent event stream" ev validate "$AW_TMP/both.out" 2
aw_stop "$RUN2_PID"
expect_eq "run 2: SIGTERM -> exit 0" "$?" 0
expect_no_secret "phase 1: the CMS secret is never printed" "$AW_TMP"/run*.out "$AW_TMP"/run*.err
check "phase 1: the webhook secret is never printed" \
    bash -c "! grep -qF '$HOOK_SECRET' '$AW_TMP'/run*.out '$AW_TMP'/run*.err"

# ---------------------------------------------------------------------------
# Phase 2: four receivers on one daemon, each with its own trouble.
start_receiver r429 --mode 429 --retry-after 3
start_receiver r400 --mode 400
start_receiver rbatch --mode down
start_receiver ragent
aw_config "$AW_TMP/p2.conf" "$AGENTS" "
poll = { interval = 0.2; failure_threshold = 2; };
state_dir = \"$AW_TMP/state2\";
outputs = { journal = false; stdout = true; webhooks = (
  { url = \"http://127.0.0.1:${RPORT[r429]}/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; timeout = 2.0; },
  { url = \"http://127.0.0.1:${RPORT[r400]}/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; timeout = 2.0; },
  { url = \"http://127.0.0.1:${RPORT[rbatch]}/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; batch_max = 5; batch_linger = 0.5; },
  { url = \"http://127.0.0.1:${RPORT[ragent]}/hook\"; format = \"json\";
    secret_file = \"$AW_TMP/hook.secret\"; events = [ \"agent.*\" ]; }
); };"
aw_start_daemon run3 "$AW_TMP/p2.conf"
RUN3_PID=$AW_PID
until_ok 10 emitted_at_least run3 10 || fail "run 3 emitted 10 events within 10 s"
pause 2

# --- A receiver in trouble delays no other: R-agent is up to date while the others fail.
check "while three receivers fail, the fourth has every agent.* event so far" \
    delivered ragent --wait "$(budget 3)" --first "$(wc -l < "$AW_TMP/run3.out")" \
    --types 'agent.*' "$AW_TMP/run3.out"
rmode rbatch ok
pause 5

# --- (d) 429 with Retry-After: 3 is honoured, then the backlog goes through.
gaps=$(rstats r429 '" ".join("%.2f" % (b["t"] - a["t"]) for a, b in zip(s["log"], s["log"][1:]))')
rmode r429 ok
check "(d) several 429 answers before the receiver recovers (gaps: $gaps)" test -n "$gaps"
# The first two backoffs (0.5-1.5 s, 1-3 s) are below Retry-After, so those retries come at 3 s.
check "(d) Retry-After: 3 honoured: no retry sooner, the first ones within 4.5 s" \
    "$AW_PYTHON" -c '
import sys
g = [float(x) for x in sys.argv[1:]]
sys.exit(not g or min(g) < 2.9 or max(g[:2]) > 4.5)' $gaps
check_delivery "(d) after the 429s every event arrived, in order" 20 r429 "$AW_TMP/run3.out"

# --- (e) 400 is permanent: dead-lettered once each, and the daemon moves on.
rmode r400 ok
dead=$AW_TMP/state2/deadletter.jsonl
check "(e) $dead exists" test -s "$dead"
e_from=$(nevents run3)
until_ok 15 emitted_at_least run3 $((e_from + 3)) || fail "(e) 3 more events within 15 s"
check_delivery "(e) every event was delivered or dead-lettered, later ones delivered" 20 \
    r400 "$AW_TMP/run3.out" --deadletter "$dead"
e_report=$("$AW_PYTHON" - "$dead" "$AW_TMP/r400.jsonl" "${RPORT[r400]}" <<'EOF'
import json, sys
dead = [json.loads(l) for l in open(sys.argv[1])]
got = {json.loads(l)["event"]["id"] for l in open(sys.argv[2])}
mine = [d for d in dead if d.get("webhook") == "http://127.0.0.1:%s" % sys.argv[3]]
ids = [d["payload"]["id"] for d in mine]
ok = all(d.get("http_status") == 400 and "refused for good" in d.get("response", "") for d in mine)
print(len(mine), len(ids) - len(set(ids)), len(set(ids) & got), int(ok), len(dead) - len(mine))
EOF
)
read -r e_dead e_twice e_both e_ok e_other <<<"$e_report"
check "(e) events refused with 400 are in the dead-letter file ($e_dead)" test "$e_dead" -gt 0
expect_eq "(e) entries carry http_status 400 and the response" "$e_ok" 1
expect_eq "(e) no event dead-lettered twice (400 is not retried)" "$e_twice" 0
expect_eq "(e) no dead-lettered event delivered as well" "$e_both" 0
check "(e) the daemon moved on: events after the 400s were delivered" test -s "$AW_TMP/r400.jsonl"
expect_eq "(e) other receivers dead-lettered nothing" "$e_other" 0
expect_eq "(e) the 400s were answered once per event" \
    "$(rstats r400 's["status"].get("400", 0)')" "$e_dead"
check "(e) the refusal is logged" grep -q 'HTTP 400 refuses' "$AW_TMP/run3.err"

# --- (f) batches of at most 5 with a linger of 0.5 s.
check_delivery "(f) batching: every event arrived, in order, at most 5 per request" 20 \
    rbatch "$AW_TMP/run3.out" --batch-max 5
f_report=$("$AW_PYTHON" - "$AW_TMP/rbatch.jsonl" <<'EOF'
import datetime, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
reqs = {}
for r in recs:
    reqs.setdefault(r["req"], []).append(r)
def secs(t):
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
full = sum(1 for v in reqs.values() if len(v) == 5)
unbatched = sum(1 for v in reqs.values() if not v[0]["batch"])
# A partial batch waited at least the linger after its first event was emitted.
hasty = sum(1 for v in reqs.values()
            if len(v) < 5 and v[0]["t"] - secs(v[0]["event"]["time"]) < 0.45)
print(full, unbatched, hasty, len(reqs))
EOF
)
read -r f_full f_unbatched f_hasty f_reqs <<<"$f_report"
check "(f) the backlog went in full batches of 5 ($f_full of $f_reqs requests)" test "$f_full" -gt 0
expect_eq "(f) every request is {\"events\":[...]}" "$f_unbatched" 0
expect_eq "(f) partial batches waited batch_linger" "$f_hasty" 0

# --- (g) events = [ "agent.*" ].
check_delivery "(g) filter agent.*: every agent event arrived, nothing else" 20 \
    ragent "$AW_TMP/run3.out" --types 'agent.*'
check "(g) the filter let some agent events through" test -s "$AW_TMP/ragent.jsonl"
for r in r429 r400 rbatch ragent; do
    expect_eq "receiver $r: no bad signature" "$(rstats $r 's["bad_signature"]')" 0
done
aw_stop "$RUN3_PID"
expect_eq "run 3: SIGTERM -> exit 0" "$?" 0

aw_done
