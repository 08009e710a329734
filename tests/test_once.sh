#!/bin/bash
# test_once.sh: agentwatchd --once against the CMS simulator over real TLS: the JSON line of
# every agent, --agent, auth/TLS/connect failures, each simulator fault, -vv's signing trace
# (never the secret nor the signing key), max_in_flight and keep-alive reuse.
source "${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

# run NAME COMMAND...: stdout in $AW_TMP/NAME.out, stderr in $AW_TMP/NAME.err, status in $rc,
# wall time in $elapsed (seconds). Bounded; every run's output is checked for the secret at the end.
run() {
    local name=$1 t0=$EPOCHREALTIME; shift
    timeout 30 "$@" >"$AW_TMP/$name.out" 2>"$AW_TMP/$name.err"
    rc=$?
    elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}

# once_config FILE AGENTS [CMS-SETTINGS]: aw_config, with these settings in the cms group
# instead of its timeout; by default a timeout long enough for a loaded machine.
# cms.api is "agent" (one request per agent, as in 1.0) unless AW_API says otherwise.
once_config() {
    aw_config "$1" "$2"
    sed -i "s|^  timeout = 2.0;\$|  ${3:-timeout = 10.0;}|" "$1"
    grep -qF "  ${3:-timeout = 10.0;}" "$1" || { echo "once_config: $1 is not as intended"; exit 99; }
}

# verdicts WHAT FILE: each line of a checker's FILE, "ok<TAB>text" or "FAIL<TAB>text", as a check.
verdicts() {
    local line
    while IFS= read -r line; do
        case $line in
            ok$'\t'*) pass "$1: ${line#ok$'\t'}" ;;
            FAIL$'\t'*) fail "$1: ${line#FAIL$'\t'}" ;;
            *) fail "$1: checker: $line" ;;
        esac
    done < "$2"
}

# The expected lines of a run, one JSON object per agent in the order expected:
#   {"agent": {...exactly...}, "calls": [...]}  a success with exactly these calls, which the
#       daemon prints once each and sorted (agentwatchd(8), ONE-SHOT OUTPUT)
#   {"agent": {...}, "status": S, "http_status": N or null (absent), "error": REGEX (full match)}
# An entry with a "label" is checked on its own line; the others together.
# check_lines DESCRIPTION OUTPUT EXPECTED.json: one ok/FAIL line per aspect, prefixed DESCRIPTION.
check_lines() {
    local what=$1 line
    "$AW_PYTHON" - "$2" "$3" >"$AW_TMP/verdict" 2>&1 <<'EOF'
import json, re, sys

out, want = sys.argv[1], json.load(open(sys.argv[2]))

def verdict(name, problem):
    print(("FAIL\t%s: %s" % (name, problem)) if problem else "ok\t" + name)

lines, problem = [], None
for n, text in enumerate(open(out, encoding="utf-8"), 1):
    try:
        obj = json.loads(text)
    except ValueError as e:
        problem = "line %d is not JSON (%s): %r" % (n, e, text[:200])
        break
    if not isinstance(obj, dict):
        problem = "line %d is not an object: %r" % (n, text[:200])
        break
    lines.append(obj)
verdict("every line is one JSON object", problem)
if problem:
    sys.exit()

verdict("one line per agent", None if len(lines) == len(want) else
        "%d lines for %d agents" % (len(lines), len(want)))

def ident(a):
    return "%s:%s:%s" % (a.get("cc"), a.get("vdn"), a.get("id")) if isinstance(a, dict) else repr(a)

got_ids, want_ids = [ident(l.get("agent")) for l in lines], [ident(w["agent"]) for w in want]
problem = None
if got_ids != want_ids:
    i = next((i for i, (g, w) in enumerate(zip(got_ids, want_ids)) if g != w),
             min(len(got_ids), len(want_ids)))
    problem = "line %d is agent %s, expected %s" % (
        i + 1, got_ids[i] if i < len(got_ids) else "(none)", want_ids[i] if i < len(want_ids) else "(none)")
# The order of cc, vdn and id, as documented; the test configurations list agents that way too.
verdict("every agent, in the configuration's cc:vdn:id order", problem)

def mismatch(got, w):
    w = {k: v for k, v in w.items() if k != "label"}
    if got.get("agent") != w["agent"]:
        return "agent is %s, expected %s" % (json.dumps(got.get("agent")), json.dumps(w["agent"]))
    if "calls" in w:
        if set(got) != {"agent", "ok", "calls"} or got["ok"] is not True:
            return "not a plain success: %s" % json.dumps(got)
        calls = got["calls"]
        if not isinstance(calls, list) or len(set(calls)) != len(calls):
            return "calls %s is not a list of distinct IDs" % json.dumps(calls)
        if set(calls) != set(w["calls"]):
            return "calls %s, the simulator gave %s" % (json.dumps(calls), json.dumps(w["calls"]))
        if calls != sorted(calls, key=lambda c: c.encode()):
            return "calls %s are not sorted" % json.dumps(calls)
        return None
    keys = {"agent", "ok", "status", "error"} | ({"http_status"} if w["http_status"] is not None else set())
    if set(got) != keys or got["ok"] is not False:
        return "keys %s, expected %s: %s" % (sorted(got), sorted(keys), json.dumps(got))
    if got["status"] != w["status"]:
        return "status %r, expected %r (error %r)" % (got["status"], w["status"], got["error"])
    if got.get("http_status") != w["http_status"]:
        return "http_status %r, expected %r" % (got.get("http_status"), w["http_status"])
    if not isinstance(got["error"], str) or not re.fullmatch(w["error"], got["error"]):
        return "error %r does not match %r" % (got["error"], w["error"])
    return None

problems, plain = [], False
for g, w in zip(lines, want):
    p = mismatch(g, w)
    if "label" in w:
        verdict(w["label"], p)
    else:
        plain = True
        if p:
            problems.append("%s: %s" % (ident(w["agent"]), p))
if plain:
    verdict("each line as expected", "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))
EOF
    if ! grep -q . "$AW_TMP/verdict"; then
        fail "$what: the checker printed nothing"
    fi
    verdicts "$what" "$AW_TMP/verdict"
}

# sim_stat PYTHON-EXPR: evaluated on /sim/stats as d.
sim_stat() {
    aw_sim GET /sim/stats | "$AW_PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
sim_reset() { aw_sim POST /sim/reset-stats '{}' >/dev/null; }

# A port nothing listens on: bound, then closed.
closed_port() {
    "$AW_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- The simulator, scripted by a scenario ---

big_agents='{ cc = 1; vdn = 170; id = 1099; name = "alice"; },
  { cc = 1; vdn = 170; ids = [ 1100, 1101 ]; },
  { cc = 1; vdn = 171; range = [ 2000, 2319 ]; labels = { team = "billing"; }; }'
# Calls for a few of them (out of order, and one listed twice); every other agent has none.
scripted='{"1:170:1099": ["1605492949-1447"],
           "1:171:2000": ["1605493000-2002", "1605492999-1001"],
           "1:171:2150": ["1605493100-77", "1605493100-77"],
           "1:171:2319": ["1605493200-1", "1605493200-10", "1605493200-100"]}'

# Agents of vdn 172 answer with a fault each; 1:172:1900 has none, between them.
faults='{"1001": "http:500", "1002": "http:429", "1003": "http:503", "1004": "http:403",
         "1005": "nonjson", "1006": "wrongshape", "1007": "badids", "1008": "cmserror:0100002",
         "1009": "cmserror:0100999", "1010": "huge", "1011": "truncated", "1012": "reset",
         "1013": "slow:8", "1014": "hang", "1015": "legacy"}'

"$AW_PYTHON" - "$scripted" "$faults" > "$AW_TMP/scenario.json" <<'EOF'
import json, sys
agents = {k: {"calls": v} for k, v in json.loads(sys.argv[1]).items()}
agents.update({"1:172:%s" % k: {"fault": v, "calls": ["1605493300-5"]}
               for k, v in json.loads(sys.argv[2]).items()})
agents["1:172:1900"] = {"calls": ["1605493300-9"]}
# max_in_flight: every agent of vdn 173 answers after 0.6 s.
agents.update({"1:173:%d" % i: {"fault": "slow:0.6"} for i in range(101, 113)})
# Batch mode: call detail and agent states of vdn 174; 104 is left out of the batch answers.
agents["1:174:101"] = {"calls": [{"callId": "1605494261-1449", "callStatus": 6, "callInOut": 1,
                                  "mediaType": 53, "submediaType": "WhatsApp"}],
                       "state": {"currentState": 8, "currentStateTime": 100, "currentStateReason": 258}}
agents["1:174:102"] = {"calls": [{"callId": "1605494261-2", "callStatus": 77, "mediaType": 99}],
                       "state": {"currentState": 5, "currentStateTime": 7}}
agents["1:174:103"] = {"calls": [], "state": {"currentState": 1, "currentStateTime": 0}}
agents["1:174:104"] = {"calls": ["1605494261-3"], "absent": True}
print(json.dumps({"agents": agents, "default": {"calls": [], "fault": None}}))
EOF
aw_start_sim sim --scenario "$AW_TMP/scenario.json"
echo "# simulator on 127.0.0.1:$SIM_PORT"

# --- 323 agents: each one's line, in order, with exactly its calls ---

conf=$AW_TMP/big.conf
once_config "$conf" "$big_agents"
"$AW_PYTHON" - "$scripted" > "$AW_TMP/big.want" <<'EOF'
import json, sys
scripted = json.loads(sys.argv[1])
want = [{"agent": {"cc": 1, "vdn": 170, "id": 1099, "name": "alice"}}]
want += [{"agent": {"cc": 1, "vdn": 170, "id": i}} for i in (1100, 1101)]
want += [{"agent": {"cc": 1, "vdn": 171, "id": i, "labels": {"team": "billing"}}}
         for i in range(2000, 2320)]
for w in want:
    a = w["agent"]
    w["calls"] = scripted.get("%d:%d:%d" % (a["cc"], a["vdn"], a["id"]), [])
print(json.dumps(want))
EOF
sim_reset
run big "$AW_BIN" -c "$conf" --once
expect_eq "323 agents: exit 0" "$rc" 0
check_lines "323 agents" "$AW_TMP/big.out" "$AW_TMP/big.want"
expect_eq "323 agents: nothing on stderr" "$(head -c 300 "$AW_TMP/big.err")" ""
expect_eq "323 agents: the simulator answered 323 requests" "$(sim_stat 'd["requests"]')" 323
expect_eq "323 agents: each agent polled exactly once" \
    "$(sim_stat 'sorted({v["polls"] for v in d["by_agent"].values()}), len(d["by_agent"])')" "([1], 323)"

# --- --agent CC:VDN:ID: that agent only ---

sim_reset
run one "$AW_BIN" -c "$conf" --once --agent 1:171:2000
expect_eq "--agent: exit 0" "$rc" 0
echo '[{"agent": {"cc": 1, "vdn": 171, "id": 2000, "labels": {"team": "billing"}},
        "calls": ["1605493000-2002", "1605492999-1001"]}]' > "$AW_TMP/one.want"
check_lines "--agent" "$AW_TMP/one.out" "$AW_TMP/one.want"
expect_eq "--agent: one request, for that agent" "$(sim_stat 'list(d["by_agent"]), d["requests"]')" "(['1:171:2000'], 1)"

sim_reset
run unknown "$AW_BIN" -c "$conf" --once --agent 1:171:2320
expect_eq "--agent not in the configuration: exit 2" "$rc" 2
expect_eq "--agent not in the configuration: says so" "$(cat "$AW_TMP/unknown.err")" \
    "agentwatchd: agent 1:171:2320 is not in $conf"
expect_eq "--agent not in the configuration: nothing on stdout" "$(cat "$AW_TMP/unknown.out")" ""
n=0
for bad in 1:171 1:171:2000:1 1:171: :171:2000 a:b:c 1:171:-2000 1:171:+2000 ' 1:171:2000' 1:171:2000x 1/171/2000 ''; do
    n=$((n + 1))
    run "malformed$n" "$AW_BIN" -c "$conf" --once --agent "$bad"
    expect_eq "--agent '$bad': exit 2" "$rc" 2
    expect_eq "--agent '$bad': says what is wanted" "$(cat "$AW_TMP/malformed$n.err")" \
        "agentwatchd: --agent wants CC:VDN:ID (three numbers), not '$bad'"
    expect_eq "--agent '$bad': nothing on stdout" "$(cat "$AW_TMP/malformed$n.out")" ""
done
expect_eq "unknown or malformed --agent: no request reached the simulator" "$(sim_stat 'd["requests"]')" 0

# --- Faults: each maps to its status and a precise reason ---

conf=$AW_TMP/faults.conf
once_config "$conf" '{ cc = 1; vdn = 172; range = [ 1001, 1015 ]; }, { cc = 1; vdn = 172; id = 1900; }' \
    'timeout = 4.0;'
# Expected errors: literal text, or a regular expression where libcurl words the detail.
"$AW_PYTHON" - "$SIM_PORT" "$faults" > "$AW_TMP/faults.want" <<'EOF'
import json, re, sys
host = re.escape("127.0.0.1:%s" % sys.argv[1])
lit = re.escape
timeout = lit("no answer within 4.0 s (cms.timeout)")
faults = [
    (1001, "http", 500, lit("HTTP 500: server error")),
    (1002, "backoff", 429, lit("HTTP 429: too many requests: backing off")),
    (1003, "backoff", 503, lit("HTTP 503: service unavailable: backing off")),
    (1004, "http", 403, lit("HTTP 403: forbidden: is this host's address allow-listed on the CMS?")),
    (1005, "reply", 200, lit("bad response: the response is not JSON (unexpected character at byte 0)")),
    (1006, "reply", 200, lit("bad response: success response without a call list "
                             "(resultDesc is int, resultDatas is int)")),
    (1007, "reply", 200, lit("bad response: resultDesc[0] is int, not a call ID string")),
    (1008, "cms", 200, lit('CMS resultCode 0100002 (invalid parameter): "Invalid parameter"')),
    (1009, "backoff", 200, lit('CMS resultCode 0100999 (unknown error): "Unknown error"')),
    (1010, "reply", 200, lit("bad response: the body is larger than 65536 bytes")),
    (1011, "reply", 200, lit("bad response: the connection closed before the whole body arrived (")
                         + r"transfer closed with [0-9]+ bytes remaining to read\)"),
    (1012, "connect", None, "connection to %s failed: .*[Rr]eset by peer.*" % host),
    (1013, "timeout", None, timeout),
    (1014, "timeout", None, timeout),
]
names = json.loads(sys.argv[2])
want = [{"agent": {"cc": 1, "vdn": 172, "id": i}, "status": st, "http_status": code, "error": err,
         "label": "%s -> %s%s" % (names[str(i)], st, "" if code is None else " (HTTP %d)" % code)}
        for i, st, code, err in faults]
want.append({"agent": {"cc": 1, "vdn": 172, "id": 1015}, "calls": ["1605493300-5"],
             "label": "legacy (resultDatas only) -> its calls"})
want.append({"agent": {"cc": 1, "vdn": 172, "id": 1900}, "calls": ["1605493300-9"],
             "label": "an agent without a fault, among them -> its calls"})
print(json.dumps(want))
EOF
run faults "$AW_BIN" -c "$conf" --once
expect_eq "faults: exit 1 (some polls failed)" "$rc" 1
check_lines "faults" "$AW_TMP/faults.out" "$AW_TMP/faults.want"
check "faults: slow and hung answers end at cms.timeout (took ${elapsed}s)" \
    awk -v t="$elapsed" 'BEGIN { exit !(t >= 3.9 && t < 15) }'

# --- Authentication: a wrong secret; -vv shows what was signed, never the secret or key ---

printf 'not-the-secret-0b7e\n' > "$AW_TMP/wrong.secret"
chmod 600 "$AW_TMP/wrong.secret"
conf=$AW_TMP/wrong.conf
once_config "$conf" '{ cc = 1; vdn = 170; range = [ 1099, 1101 ]; }'
sed -i "s|\"$AW_TMP/cms.secret\"|\"$AW_TMP/wrong.secret\"|" "$conf"
check "wrong secret: the configuration names the wrong secret" grep -qF "$AW_TMP/wrong.secret" "$conf"
"$AW_PYTHON" -c '
import json, re
error = re.escape("HTTP 401: authentication rejected: check cms.app_key, the secret and this host\x27s "
                  "clock (NTP); run with -vv to see the signed canonical request")
print(json.dumps([{"agent": {"cc": 1, "vdn": 170, "id": i}, "status": "auth", "http_status": 401,
                   "error": error} for i in (1099, 1100, 1101)]))' > "$AW_TMP/wrong.want"
sim_reset
run wrong "$AW_BIN" -c "$conf" --once -vv
expect_eq "wrong secret: exit 1" "$rc" 1
check_lines "wrong secret" "$AW_TMP/wrong.out" "$AW_TMP/wrong.want"
expect_eq "wrong secret: the simulator refused 3 signatures" "$(sim_stat 'd["auth_failures"]')" 3

sim_reset
run vv "$AW_BIN" -c "$AW_TMP/big.conf" --once --agent 1:170:1099 -vv
expect_eq "-vv, right secret: exit 0" "$rc" 0
echo '[{"agent": {"cc": 1, "vdn": 170, "id": 1099, "name": "alice"}, "calls": ["1605492949-1447"]}]' \
    > "$AW_TMP/vv.want"
check_lines "-vv, right secret (stdout is only JSON)" "$AW_TMP/vv.out" "$AW_TMP/vv.want"

# Each traced request: the canonical request is exactly what cms-api.md section 3 makes of this
# request (the simulator's own code computes it), the Authorization prefix names AK, timestamp
# and signed headers, and neither the secret nor the signing key HMAC(SK, prefix) appears.
# trace_check DESCRIPTION NAME SECRET-FILE AGENT-IDS...
trace_check() {
    local what=$1 name=$2 sk=$3; shift 3
    "$AW_PYTHON" - "$AW_SRC/tests" "$AW_TMP/$name.out" "$AW_TMP/$name.err" "$sk" "$SIM_PORT" "$AW_AK" "$@" \
        >"$AW_TMP/trace.verdict" 2>&1 <<'EOF'
import hashlib, hmac, re, sys
sys.path.insert(0, sys.argv[1])
import cmssim

out, err, skfile, port, ak, ids = sys.argv[2:7] + [sys.argv[7:]]
secret = cmssim.read_secret(skfile)
text = open(out).read() + open(err).read()
# Each log line may carry a prefix ("agentwatchd: " on a terminal, "<7>" under systemd):
#   ...signed request for agent CC:VDN:ID, canonical request:
#   ...  | one line of the canonical request        (as many as it has)
#   ...Authorization prefix: auth-v2/AK/TIMESTAMP/SIGNED-HEADERS/<signature>
found, agent, canon = {}, None, []
for line in open(err).read().split("\n"):
    if m := re.search(r"signed request for agent 1:170:(\d+), canonical request:$", line):
        agent, canon = m.group(1), []
    elif agent and (m := re.search(r"  \| (.*)$", line)):
        canon.append(m.group(1))
    elif agent and (m := re.search(r"Authorization prefix: (\S+)/<signature>$", line)):
        found[agent] = ("\n".join(canon), m.group(1))
        agent = None
if sorted(found) != sorted(ids):
    print("FAIL\ttraced agents %s, expected %s" % (sorted(found), sorted(ids)))
    sys.exit()
problems = []
for aid, (canon, prefix) in sorted(found.items()):
    body = '{"ccId":1,"vdn":170,"agentId":%s}' % aid
    headers = {"host": "127.0.0.1:%s" % port, "content-type": "application/json;charset=UTF-8",
               "content-length": str(len(body))}
    want = cmssim.canonical_request("POST", cmssim.CMS_PATH, "", headers, body)
    if canon != want:
        problems.append("agent %s: canonical request %r, expected %r" % (aid, canon, want))
    m = re.fullmatch(r"auth-v2/%s/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)/content-length;content-type;host"
                     % re.escape(ak), prefix)
    if not m:
        problems.append("agent %s: Authorization prefix %r" % (aid, prefix))
    key = hmac.new(secret.encode(), prefix.encode(), hashlib.sha256).hexdigest()
    if key in text or key.upper() in text:
        problems.append("agent %s: the signing key appears" % aid)
print(("FAIL\t" + "; ".join(problems)) if problems else
      "ok\tstderr traces each request: the canonical request of cms-api.md, the Authorization prefix, "
      "no signing key (%d checked)" % len(found))
if secret in text:
    print("FAIL\tthe secret appears")
else:
    print("ok\tthe secret in use does not appear")
EOF
    verdicts "$what" "$AW_TMP/trace.verdict"
}
trace_check "-vv, wrong secret" wrong "$AW_TMP/wrong.secret" 1099 1100 1101
trace_check "-vv, right secret" vv "$AW_TMP/cms.secret" 1099

# --- TLS: a CA that did not sign the simulator's certificate ---

conf=$AW_TMP/ca.conf
once_config "$conf" '{ cc = 1; vdn = 170; range = [ 1099, 1101 ]; }'
sed -i "s|pki/ca.pem|pki/other-ca.pem|" "$conf"
check "wrong CA: the configuration names other-ca.pem" grep -qF "pki/other-ca.pem" "$conf"
"$AW_PYTHON" -c '
import json, sys
print(json.dumps([{"agent": {"cc": 1, "vdn": 170, "id": i}, "status": "tls", "http_status": None,
                   "error": "TLS error with 127\\.0\\.0\\.1:%s: .*certificate.*" % sys.argv[1]}
                  for i in (1099, 1100, 1101)]))' "$SIM_PORT" > "$AW_TMP/ca.want"
sim_reset
run ca "$AW_BIN" -c "$conf" --once
expect_eq "wrong CA: exit 1" "$rc" 1
check_lines "wrong CA" "$AW_TMP/ca.out" "$AW_TMP/ca.want"
expect_eq "wrong CA: no request got through" "$(sim_stat 'd["requests"]')" 0

# --- Nobody listening ---

port=$(closed_port)
conf=$AW_TMP/down.conf
once_config "$conf" '{ cc = 1; vdn = 170; range = [ 1099, 1101 ]; }'
sed -i "s|127.0.0.1:$SIM_PORT|127.0.0.1:$port|" "$conf"
"$AW_PYTHON" -c '
import json, sys
print(json.dumps([{"agent": {"cc": 1, "vdn": 170, "id": i}, "status": "connect", "http_status": None,
                   "error": "connection to 127\\.0\\.0\\.1:%s failed: .*([Cc]onnection refused|[Cc]ould.?n.t connect).*" % sys.argv[1]}
                  for i in (1099, 1100, 1101)]))' "$port" > "$AW_TMP/down.want"
run down "$AW_BIN" -c "$conf" --once
expect_eq "simulator down: exit 1" "$rc" 1
check_lines "simulator down" "$AW_TMP/down.out" "$AW_TMP/down.want"
check "simulator down: fails at once (took ${elapsed}s)" awk -v t="$elapsed" 'BEGIN { exit !(t < 5) }'

# --- max_in_flight = 4: 12 agents answering after 0.6 s take at least 3 rounds ---

conf=$AW_TMP/slow.conf
once_config "$conf" '{ cc = 1; vdn = 173; range = [ 101, 112 ]; }' 'timeout = 10.0; max_in_flight = 4;'
"$AW_PYTHON" -c '
import json
print(json.dumps([{"agent": {"cc": 1, "vdn": 173, "id": i}, "calls": []} for i in range(101, 113)]))' \
    > "$AW_TMP/slow.want"

sim_reset

# The daemon's TCP connections to the simulator, sampled from /proc while it runs: each lives
# at least 0.6 s (one slow answer), far longer than the sampling period, so none is missed.
"$AW_PYTHON" - "$SIM_PORT" "$AW_TMP/sampler" > "$AW_TMP/conns" 2>&1 <<'EOF' &
import os, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
seen, readable, end = set(), False, time.monotonic() + 25
while time.monotonic() < end and not os.path.exists(stop + ".stop"):
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for row in rows:
            f = row.split()
            # remote port is the simulator's, state 01 is ESTABLISHED: the client's end
            if int(f[2].rsplit(":", 1)[1], 16) == port and f[3] == "01":
                seen.add(f[1])
    if not os.path.exists(stop + ".ready"):
        open(stop + ".ready", "w").close()
    time.sleep(0.02)
print(len(seen) if readable else "unreadable")
EOF
sampler=$!
aw_pids+=("$sampler")
wait_for 10 test -e "$AW_TMP/sampler.ready"
run slow "$AW_BIN" -c "$conf" --once
touch "$AW_TMP/sampler.stop"
wait "$sampler"     # it stops within 20 ms of the file, or after 25 s in any case
conns=$(cat "$AW_TMP/conns")
expect_eq "max_in_flight: exit 0" "$rc" 0
check_lines "max_in_flight" "$AW_TMP/slow.out" "$AW_TMP/slow.want"
expect_eq "max_in_flight: 12 requests" "$(sim_stat 'd["requests"]')" 12
# Each request takes at least 0.6 s, so more than 4 arriving within 0.3 s would be more than
# 4 in flight at once; whatever the machine's load, a correct daemon never shows that.
max_window=$(aw_sim GET '/sim/windows?width=0.3' | "$AW_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["max_window"])')
check "max_in_flight: never more than 4 requests in flight (at most $max_window arrived within 0.3 s)" \
    [ "$max_window" -le 4 ]
check "max_in_flight: at least 3 rounds of 0.6 s (took ${elapsed}s)" \
    awk -v t="$elapsed" 'BEGIN { exit !(t >= 1.8) }'
check "max_in_flight: requests do run in parallel (took ${elapsed}s; one at a time takes 7.2 s)" \
    awk -v t="$elapsed" 'BEGIN { exit !(t < 6) }'
case $conns in
    unreadable) echo "# SKIP keep-alive: /proc/net/tcp is not readable here" ;;
    ''|*[!0-9]*) fail "keep-alive: the connection sampler failed: $conns" ;;
    0) fail "keep-alive: the sampler saw no connection at all" ;;
    *) check "keep-alive: 12 requests over at most 4 TLS connections (saw $conns)" [ "$conns" -le 4 ] ;;
esac

# --- Batch mode: one request per (cc, vdn) for calls and one for states; detail and state shown ---

# batch_check DESCRIPTION NAME WANT.json: each line equals its expected object but state_since, a
# time: the simulator counts currentStateTime (state_seconds) from its start, so every
# state_since + state_seconds must be one instant (within 2 s).
batch_check() {
    "$AW_PYTHON" - "$AW_TMP/$2.out" "$3" > "$AW_TMP/verdict" 2>&1 <<'EOF'
import datetime, json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = json.load(open(sys.argv[2]))
if len(got) != len(want):
    print("FAIL\t%d lines, want %d" % (len(got), len(want)))
origin = None
for g, w in zip(got, want):
    label, secs = w.pop("label"), w.pop("state_seconds", None)
    since = g.pop("state_since", None)
    problem = None if g == w else "got %s, want %s" % (json.dumps(g), json.dumps(w))
    if not problem and secs is not None:
        try:
            t = datetime.datetime.strptime(since, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() + secs
        except (TypeError, ValueError):
            t = None
        origin = t if origin is None else origin
        if t is None or abs(t - origin) > 2:
            problem = "state_since %r is not %d s before the others' origin" % (since, secs)
    elif not problem and since is not None:
        problem = "state_since %r where none was expected" % since
    print(("FAIL\t%s: %s" % (label, problem)) if problem else "ok\t" + label)
EOF
    verdicts "$1" "$AW_TMP/verdict"
}

conf=$AW_TMP/batch.conf
AW_API=batch once_config "$conf" '{ cc = 1; vdn = 174; range = [ 101, 104 ]; }'
cat > "$AW_TMP/batch.want" <<'EOF'
[{"label": "detail names and codes, submedia, a rest state with its reason",
  "agent": {"cc": 1, "vdn": 174, "id": 101}, "ok": true,
  "calls": [{"id": "1605494261-1449", "status": "held", "status_code": 6, "direction": "outbound",
             "media": "social", "media_type": 53, "submedia": "WhatsApp"}],
  "state": "rest", "state_code": 8, "state_reason": 258, "state_seconds": 100},
 {"label": "unknown codes are shown as numbers; the simulator's default direction",
  "agent": {"cc": 1, "vdn": 174, "id": 102}, "ok": true,
  "calls": [{"id": "1605494261-2", "status": 77, "status_code": 77, "direction": "inbound",
             "media": 99, "media_type": 99}],
  "state": "talking", "state_code": 5, "state_seconds": 7},
 {"label": "no calls, idle", "agent": {"cc": 1, "vdn": 174, "id": 103}, "ok": true, "calls": [],
  "state": "idle", "state_code": 1, "state_seconds": 0},
 {"label": "absent from both answers: a failed poll, never an empty call list",
  "agent": {"cc": 1, "vdn": 174, "id": 104}, "ok": false, "status": "reply", "http_status": 200,
  "error": "absent from the CMS answer", "state_error": "absent from the CMS answer"}]
EOF
sim_reset
run batch "$AW_BIN" -c "$conf" --once
expect_eq "batch: exit 1 (one agent absent)" "$rc" 1
batch_check "batch" batch "$AW_TMP/batch.want"
expect_eq "batch: one calls and one state request, none per agent" \
    "$(sim_stat '[d["by_path"].get(p, {}).get("requests", 0) for p in ("batch", "state", "agent")]')" "[1, 1, 0]"
expect_eq "batch: nothing on stderr" "$(head -c 300 "$AW_TMP/batch.err")" ""

# auto, the batch path answering 404: per agent for that group, said once; states still polled.
conf=$AW_TMP/auto.conf
AW_API=auto once_config "$conf" '{ cc = 1; vdn = 174; range = [ 101, 103 ]; }'
aw_sim POST /sim/config '{"batch_404": true}' >/dev/null
cat > "$AW_TMP/auto.want" <<'EOF'
[{"label": "per-agent answers: call IDs without detail; the state from the state path",
  "agent": {"cc": 1, "vdn": 174, "id": 101}, "ok": true, "calls": ["1605494261-1449"],
  "state": "rest", "state_code": 8, "state_reason": 258, "state_seconds": 100},
 {"label": "second agent", "agent": {"cc": 1, "vdn": 174, "id": 102}, "ok": true,
  "calls": ["1605494261-2"], "state": "talking", "state_code": 5, "state_seconds": 7},
 {"label": "third agent", "agent": {"cc": 1, "vdn": 174, "id": 103}, "ok": true, "calls": [],
  "state": "idle", "state_code": 1, "state_seconds": 0}]
EOF
sim_reset
run auto "$AW_BIN" -c "$conf" --once
aw_sim POST /sim/config '{"batch_404": false}' >/dev/null
expect_eq "auto, batch 404: exit 0" "$rc" 0
batch_check "auto, batch 404" auto "$AW_TMP/auto.want"
expect_eq "auto, batch 404: one notice" "$(grep -c '1:174: the CMS has no batch interface' "$AW_TMP/auto.err")" 1
expect_eq "auto, batch 404: 1 batch (refused), 3 per agent, 1 state request" \
    "$(sim_stat '[d["by_path"].get(p, {}).get("requests", 0) for p in ("batch", "agent", "state")]')" "[1, 3, 1]"

# --- The secret, whatever happened ---

expect_no_secret "no run printed the secret" "$AW_TMP"/*.out "$AW_TMP"/*.err
if grep -qF not-the-secret-0b7e "$AW_TMP"/*.out "$AW_TMP"/*.err; then
    fail "a run printed the wrong secret"
else
    pass "no run printed the wrong secret either"
fi

aw_done
