#!/bin/bash
# test_cmssim.sh: checks the CMS simulator on its own (signing, auth failures, scenario, faults, TLS,
# the batch paths, the random model, --served) and runs judge.py --selftest.
# Run by automake's harness with $srcdir set to the source tree (the simulator is $srcdir/tests/cmssim.py).
set -u

top=${srcdir:-.}
sim=$top/tests/cmssim.py
[ -f "$sim" ] || sim=$(dirname "$0")/cmssim.py
mkcerts=$(dirname "$sim")/mkcerts.sh
judge=$(dirname "$sim")/judge.py
CMS_PATH=/rest/cmsapp/v1/openapi/agent/queryagentcalls
BATCH_PATH=/rest/cmsapp/v1/openapi/agentgroup/queryagentcalls
STATE_PATH=/rest/cmsapp/v1/openapi/agentgroup/agentstatusinfobyagentids
SIGN_PATH=$CMS_PATH     # the path cms() signs and posts to
CT='application/json;charset=UTF-8'
AK=TESTAK

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_cmssim.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
check() {   # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
expect_eq() {   # expect_eq DESCRIPTION ACTUAL EXPECTED
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# --- An independent auth-v2 signer (cms-api.md section 3), in bash + openssl ---

pct() {     # RFC 3986 percent-encoding, upper-case hex
    local LC_ALL=C s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [A-Za-z0-9._~-]) out+=$c ;;
            *) printf -v c '%%%02X' "'$c"; out+=$c ;;
        esac
    done
    printf '%s' "$out"
}

hmac_hex() {    # hmac_hex KEY DATA
    printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | awk '{print $NF}'
}

# authorization AK SK TIMESTAMP HOST CONTENT-TYPE BODY
authorization() {
    local ak=$1 sk=$2 ts=$3 host=$4 ct=$5 body=$6 signed=content-length\;content-type\;host
    local prefix="auth-v2/$ak/$ts/$signed" key canon
    key=$(hmac_hex "$sk" "$prefix")
    canon=$(printf 'POST\n%s\n\n%s\ncontent-length:%s\ncontent-type:%s\nhost:%s\n%s' \
        "$SIGN_PATH" "$signed" "$(pct "${#body}")" "$(pct "$ct")" "$(pct "$host")" "$(pct "$body")")
    printf '%s/%s' "$prefix" "$(hmac_hex "$key" "$canon")"
}

now_ts() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%3NZ; }

# --- Helpers to talk to a running simulator ---

wait_for_file() {   # wait_for_file FILE: up to 10 s
    local i
    for ((i = 0; i < 100; i++)); do [ -s "$1" ] && return 0; sleep 0.1; done
    return 1
}

start_sim() {   # start_sim NAME ARGS...: sets $port, $base, appends to pids
    local name=$1; shift
    python3 "$sim" --listen 127.0.0.1:0 --port-file "$tmp/$name.port" "$@" \
        > "$tmp/$name.out" 2> "$tmp/$name.err" &
    pids+=($!)
    simpid=$!
    if ! wait_for_file "$tmp/$name.port"; then
        echo "simulator $name did not start:"; cat "$tmp/$name.err"; exit 1
    fi
    port=$(cat "$tmp/$name.port")
}

# cms BODY [SK [TIMESTAMP [CURL-ARGS...]]]: signed query; sets $code, body in $tmp/resp, headers in $tmp/hdr
cms() {
    local body=$1 sk=${2:-$SK} ts=${3:-$(now_ts "$(date +%s.%N)")}
    shift 3 2>/dev/null || shift $#
    local auth
    auth=$(authorization "$AK" "$sk" "$ts" "127.0.0.1:$port" "$CT" "$body")
    code=$(curl -sS --max-time 10 -o "$tmp/resp" -D "$tmp/hdr" -w '%{http_code}' \
        --cacert "$tmp/certs/ca.pem" "$@" \
        -H "Content-Type: $CT" -H "Authorization: $auth" --data-binary "$body" \
        "https://127.0.0.1:$port$SIGN_PATH" 2>"$tmp/curl.err")
    curl_rc=$?
}

# at PATH BODY [SK...]: cms() on another path
at() {
    SIGN_PATH=$1; shift
    cms "$@"
    SIGN_PATH=$CMS_PATH
}

ctl() {     # ctl PATH [JSON]: control API call, prints the response
    if [ $# -gt 1 ]; then
        curl -sS --max-time 10 --cacert "$tmp/certs/ca.pem" -H 'Content-Type: application/json' \
            --data-binary "$2" "https://127.0.0.1:$port$1"
    else
        curl -sS --max-time 10 --cacert "$tmp/certs/ca.pem" "https://127.0.0.1:$port$1"
    fi
}

json_get() {    # json_get FILE PYTHON-EXPR-ON-d
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(eval(sys.argv[2]), separators=(",",":")))' "$@" 2>/dev/null
}

# --- The checks ---

echo "# simulator: $sim"
check "selftest passes (cms-api.md test vector)" eval 'python3 "$sim" --selftest >/dev/null'

vector=$(authorization TESTAK TESTSK 2024-01-02T03:04:05.678Z 192.0.2.10:28443 "$CT" \
    '{"ccId":1,"vdn":170,"agentId":1099}')
check "bash/openssl signer reproduces the test vector" \
    [ "$vector" = "auth-v2/TESTAK/2024-01-02T03:04:05.678Z/content-length;content-type;host/d59060858351c90fd5100914d05d369c2739c927cdb9374729f8e68b6cab454d" ]

bash "$mkcerts" "$tmp/certs" || { echo "mkcerts.sh failed"; exit 1; }
check "mkcerts.sh wrote all files" \
    test -s "$tmp/certs/ca.pem" -a -s "$tmp/certs/server.key" -a -s "$tmp/certs/client.pem" \
         -a -s "$tmp/certs/other-ca.pem"

SK=sim-secret
printf '%s\n' "$SK" > "$tmp/sk"
cat > "$tmp/scenario.json" <<'EOF'
{"agents": {"1:170:1099": {"calls": ["1605492949-1447"], "fault": null},
            "1:170:1100": {"calls": [], "fault": "http:503"},
            "1:170:1101": {"fault": "reset"},
            "1:170:1102": {"fault": "cmserror:0100999"},
            "1:170:1103": {"calls": [{"callId": "5-5", "callStatus": 6, "callInOut": 1,
                                      "mediaType": 53, "submediaType": "WhatsApp"}, "6-6"],
                           "state": {"currentState": 8, "currentStateTime": 100,
                                     "currentStateReason": 258}},
            "1:170:1104": {"absent": true, "calls": ["7-7"]},
            "1:170:1105": {"state": {"currentState": 0, "currentStateTime": 50}}},
 "default": {"calls": [], "fault": null},
 "unknown_agents": "empty"}
EOF
start_sim main --cert "$tmp/certs/server.pem" --key "$tmp/certs/server.key" \
    --ak "$AK" --sk-file "$tmp/sk" --scenario "$tmp/scenario.json" --log "$tmp/sim.log" \
    --served "$tmp/served.jsonl"
mainpid=$simpid
check "startup line printed" grep -q "^cmssim listening on 127.0.0.1:$port\$" "$tmp/main.out"

cms '{"ccId":1,"vdn":170,"agentId":1099}'
check "signed request -> 200" [ "$code" = 200 ]
expect_eq "scenario calls returned" "$(json_get "$tmp/resp" '[d["resultCode"], d["resultDesc"], d["resultDatas"]]')" '["0100000",["1605492949-1447"],["1605492949-1447"]]'

cms '{"ccId":1,"vdn":170,"agentId":1099}' wrong-secret
check "wrong key -> 401" [ "$code" = 401 ]
check "401 body is not JSON" grep -q Unauthorized "$tmp/resp"

cms '{"ccId":1,"vdn":170,"agentId":1099}' "$SK" "$(now_ts $(( $(date +%s) - 600 )))"
check "stale timestamp -> 401" [ "$code" = 401 ]

cms '{"ccId":1,"vdn":170,"agentId":1099}' "$SK" "2024-13-45T99:00:00.000Z"
check "unparsable timestamp -> 401" [ "$code" = 401 ]

cms '{"ccId":1,"vdn":170,"agentId":4242}'
expect_eq "unknown agent -> empty call list" "$(json_get "$tmp/resp" 'd["resultDesc"]')" '[]'

cms '{"ccId":1,"vdn":170,"agentId":100}'
check "out-of-range agentId -> 0100002" \
    [ "$code" = 200 -a "$(json_get "$tmp/resp" 'd["resultCode"]')" = '"0100002"' ]

cms '{"ccId":1,"vdn":170,"agentId":1100}'
expect_eq "fault http:503 -> 503" "$code" 503
check "fault http:503 carries Retry-After: 2" grep -qi '^Retry-After: 2' "$tmp/hdr"

cms '{"ccId":1,"vdn":170,"agentId":1102}'
expect_eq "fault cmserror:0100999 -> that resultCode" "$(json_get "$tmp/resp" 'd["resultCode"]')" '"0100999"'

cms '{"ccId":1,"vdn":170,"agentId":1101}'
check "fault reset -> connection reset (curl rc 35/56, got $curl_rc)" \
    [ "$curl_rc" = 56 -o "$curl_rc" = 35 ]

expect_eq "control: set calls" "$(ctl /sim/agent '{"agent":"1:170:1099","calls":["1-1001","2-1002"]}')" '{"ok":true}'
expect_eq "control: polls_since_set is 0 after a set" "$(ctl '/sim/stats?agent=1:170:1099')" '{"polls":1,"polls_since_set":0,"state_polls":0,"state_polls_since_set":0}'
cms '{"ccId":1,"vdn":170,"agentId":1099}'
expect_eq "control: new calls returned" "$(json_get "$tmp/resp" 'd["resultDesc"]')" '["1-1001","2-1002"]'
expect_eq "control: polls_since_set counts" "$(ctl '/sim/stats?agent=1:170:1099')" '{"polls":2,"polls_since_set":1,"state_polls":0,"state_polls_since_set":0}'
expect_eq "control: set a fault" "$(ctl /sim/agent '{"agent":"1:170:1099","fault":"nonjson"}')" '{"ok":true}'
cms '{"ccId":1,"vdn":170,"agentId":1099}'
expect_eq "fault nonjson -> 200" "$code" 200
check "fault nonjson -> <html>oops</html>" grep -q '<html>oops' "$tmp/resp"
ctl /sim/agent '{"agent":"1:170:1099","fault":null}' >/dev/null
cms '{"ccId":1,"vdn":170,"agentId":1099}'
expect_eq "control: fault cleared" "$(json_get "$tmp/resp" 'd["resultDesc"]')" '["1-1001","2-1002"]'
expect_eq "control: bad fault -> 400" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/certs/ca.pem" --data-binary '{"agent":"1:170:1099","fault":"bogus"}' "https://127.0.0.1:$port/sim/agent")" 400

ctl /sim/stats > "$tmp/stats"
expect_eq "stats: auth_failures = 3" "$(json_get "$tmp/stats" 'd["auth_failures"]')" 3
expect_eq "stats: requests = 12" "$(json_get "$tmp/stats" 'd["requests"]')" 12
ctl '/sim/windows?width=0.1' > "$tmp/win"
expect_eq "windows: counts all CMS requests" "$(json_get "$tmp/win" 'd["requests"]')" 12
reset_t=$(date +%s.%N)
ctl /sim/reset-stats '{}' >/dev/null
expect_eq "reset-stats zeroes the counters" "$(ctl /sim/stats)" '{"requests":0,"auth_failures":0,"by_path":{"agent":{"requests":0,"agents":0},"batch":{"requests":0,"agents":0},"state":{"requests":0,"agents":0}},"by_agent":{},"answer_ms":{"agent":{"n":0,"mean":0,"p99":0,"max":0},"batch":{"n":0,"mean":0,"p99":0,"max":0},"state":{"n":0,"mean":0,"p99":0,"max":0}}}'

# Two requests on one connection: the second must reuse it.
body='{"ccId":1,"vdn":170,"agentId":1099}'
one=(--cacert "$tmp/certs/ca.pem" -o /dev/null -H "Content-Type: $CT" --data-binary "$body"
     -H "Authorization: $(authorization "$AK" "$SK" "$(now_ts "$(date +%s)")" "127.0.0.1:$port" "$CT" "$body")"
     "https://127.0.0.1:$port$CMS_PATH")
curl -sv --max-time 10 "${one[@]}" --next "${one[@]}" 2> "$tmp/curl.err"
check "keep-alive: second request reuses the connection" grep -q 'Re-using existing connection' "$tmp/curl.err"

check "malformed HTTP -> 400" \
    bash -c "curl -s --max-time 5 --cacert '$tmp/certs/ca.pem' -X 'BAD METHOD' https://127.0.0.1:$port/ -o /dev/null -w '%{http_code}' | grep -q 400"
check "simulator still alive after malformed HTTP" kill -0 "$mainpid"

check "log has one line per request with status and outcome" \
    grep -Eq '^[0-9]+\.[0-9]{3} 1:170:1100 503 http:503$' "$tmp/sim.log"
check "log records auth failures" grep -Eq '^[0-9]+\.[0-9]{3} - 401 auth:bad-signature$' "$tmp/sim.log"

# --- The batch paths (cms-api.md section 2) ---

at "$BATCH_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}' wrong-secret
check "batch: wrong key -> 401" [ "$code" = 401 ]
at "$STATE_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}' wrong-secret
check "state: wrong key -> 401" [ "$code" = 401 ]

req='{"ccId":1,"vdn":170,"agentIds":[1099,1100,1101,1102,1103,1104,1105,1106,1107,1108]}'
at "$BATCH_PATH" "$req"
cp "$tmp/resp" "$tmp/batch.json"
check "batch: signed request -> 200, 0100000" \
    [ "$code" = 200 -a "$(json_get "$tmp/batch.json" 'd["resultCode"]')" = '"0100000"' ]
expect_eq "batch: resultDatas repeats resultDesc" "$(json_get "$tmp/batch.json" 'd["resultDatas"] == d["resultDesc"]')" true
expect_eq "batch: entries are {agentId, callList}" \
    "$(json_get "$tmp/batch.json" 'all(sorted(e) == ["agentId", "callList"] for e in d["resultDesc"])')" true
expect_eq "batch: every agent asked but the absent one, once" \
    "$(json_get "$tmp/batch.json" 'sorted(e["agentId"] for e in d["resultDesc"])')" '[1099,1100,1101,1102,1103,1105,1106,1107,1108]'
expect_eq "batch: order does not follow the request" \
    "$(json_get "$tmp/batch.json" '[e["agentId"] for e in d["resultDesc"]] == sorted(e["agentId"] for e in d["resultDesc"])')" false
expect_eq "batch: a string call gets talking/inbound/phone, an object keeps its detail" \
    "$(json_get "$tmp/batch.json" '[e["callList"] for e in d["resultDesc"] if e["agentId"] == 1103][0]')" \
    '[{"callId":"5-5","callStatus":6,"callInOut":1,"mediaType":53,"submediaType":"WhatsApp"},{"callId":"6-6","callStatus":5,"callInOut":0,"mediaType":5}]'
cms '{"ccId":1,"vdn":170,"agentId":1103}'
expect_eq "per-agent path answers the call IDs of call objects" "$(json_get "$tmp/resp" 'd["resultDesc"]')" '["5-5","6-6"]'
cms '{"ccId":1,"vdn":170,"agentId":1104}'
expect_eq "per-agent path ignores absent" "$(json_get "$tmp/resp" 'd["resultDesc"]')" '["7-7"]'

at "$STATE_PATH" "$req"
cp "$tmp/resp" "$tmp/state.json"
check "state: signed request -> 200, 0100000" \
    [ "$code" = 200 -a "$(json_get "$tmp/state.json" 'd["resultCode"]')" = '"0100000"' ]
expect_eq "state: every entry has the documented fields in the published order" \
    "$(json_get "$tmp/state.json" 'sorted(set(tuple(e) for e in d["resultDesc"]))')" \
    '[["prevState","agentId","logonTime","agentRelease","locationId","currentPrivateCallNum","currentStateTime","currentStateReason","prevStateTime","currentState"]]' 
expect_eq "state: the absent agent is left out" \
    "$(json_get "$tmp/state.json" '1104 in [e["agentId"] for e in d["resultDesc"]]')" false
expect_eq "state: scripted rest with its reason" \
    "$(json_get "$tmp/state.json" '[(e["currentState"], e["currentStateReason"], e["currentStateTime"] >= 100) for e in d["resultDesc"] if e["agentId"] == 1103][0]')" '[8,258,true]'
expect_eq "state: signed out has the not-set markers" \
    "$(json_get "$tmp/state.json" '[(e["currentState"], e["logonTime"], e["locationId"], e["prevStateTime"], e["currentStateReason"]) for e in d["resultDesc"] if e["agentId"] == 1105][0]')" '[0,4294967295000,65535,4294967295,65535]'
expect_eq "state: unscripted agents: talking with calls, idle without" \
    "$(json_get "$tmp/state.json" 'sorted((e["agentId"], e["currentState"]) for e in d["resultDesc"] if e["agentId"] in (1099, 1106))')" '[[1099,5],[1106,1]]'

big=$(python3 -c 'import json; print(json.dumps({"ccId":1,"vdn":170,"agentIds":list(range(1000,4000))}, separators=(",",":")))')
for bad in '{"ccId":1,"vdn":170,"agentIds":[1099,1099]}' '{"ccId":1,"vdn":170,"agentIds":[]}' \
           '{"ccId":"1","vdn":170,"agentIds":[1099]}' '{"ccId":1,"vdn":170,"agentIds":[100]}' \
           '{"ccId":1,"vdn":170,"agentIds":1099}' '{"ccId":1,"vdn":true,"agentIds":[1099]}' \
           "${big%]\}},4000]}"; do
    at "$BATCH_PATH" "$bad"
    expect_eq "batch: ${bad:0:50} -> 0100002" "$code $(json_get "$tmp/resp" 'd["resultCode"]')" '200 "0100002"'
done
at "$BATCH_PATH" "$big"
expect_eq "batch: 3000 agents -> 2999 entries (one is absent)" "$(json_get "$tmp/resp" 'len(d["resultDesc"])')" 2999
at "$STATE_PATH" "$(python3 -c 'import json; print(json.dumps({"ccId":1,"vdn":170,"agentIds":list(range(1000,7001))}, separators=(",",":")))')"
expect_eq "state: 6001 agents -> 0100002" "$(json_get "$tmp/resp" 'd["resultCode"]')" '"0100002"'

expect_eq "config: batch_404 for 1:170, state_permission" \
    "$(ctl /sim/config '{"batch_404":[[1,170]],"state_permission":true}')" '{"ok":true}'
at "$BATCH_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}'
expect_eq "batch_404: 1:170 -> 404" "$code" 404
at "$BATCH_PATH" '{"ccId":1,"vdn":171,"agentIds":[1099]}'
expect_eq "batch_404: 1:171 still answers" "$code" 200
cms '{"ccId":1,"vdn":170,"agentId":1099}'
expect_eq "batch_404: the per-agent path still answers" "$code" 200
at "$STATE_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}'
expect_eq "state_permission -> 0101003" "$code $(json_get "$tmp/resp" 'd["resultCode"]')" '200 "0101003"'
ctl /sim/config '{"batch_404":false,"state_permission":false,"state_404":true,"batch_fault":"http:503"}' >/dev/null
at "$STATE_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}'
expect_eq "state_404 -> 404" "$code" 404
at "$BATCH_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}'
check "batch_fault http:503 -> 503 with Retry-After" grep -qi '^Retry-After: 2' "$tmp/hdr"
ctl /sim/config '{"state_404":false,"batch_fault":"unasked"}' >/dev/null
at "$BATCH_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}'
expect_eq "batch_fault unasked adds an agent not asked for" "$(json_get "$tmp/resp" '[e["agentId"] for e in d["resultDesc"]]')" '[1099,1100]'
ctl /sim/config '{"batch_fault":"duplicate"}' >/dev/null
at "$BATCH_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099,1100]}'
expect_eq "batch_fault duplicate repeats an entry" "$(json_get "$tmp/resp" 'sorted(e["agentId"] for e in d["resultDesc"])')" '[1099,1099,1100]'
expect_eq "served: duplicate fails that agent's poll only" \
    "$(tail -1 "$tmp/served.jsonl" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["fault"], d["agents"]["1099"], d["agents"]["1100"])')" 'duplicate failed {'"'"'calls'"'"': []}'
ctl /sim/config '{"batch_fault":"huge"}' >/dev/null
at "$BATCH_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099,1100]}'
check "batch_fault huge: past 64 KiB + 4 KiB per agent asked" [ "$(stat -c %s "$tmp/resp")" -gt $((65536 + 2 * 4096)) ]
ctl /sim/config '{"batch_fault":"badids","state_fault":"badids"}' >/dev/null
at "$BATCH_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}'
expect_eq "batch_fault badids: a number, a 100-digit and a control-character call ID" \
    "$(json_get "$tmp/resp" '[(type(c["callId"]).__name__, len(str(c["callId"]))) for c in d["resultDesc"][0]["callList"]] + [chr(1) in d["resultDesc"][0]["callList"][2]["callId"]]')" '[["int",10],["str",100],["str",16],true]'
at "$STATE_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}'
expect_eq "state_fault badids: currentState a string" "$(json_get "$tmp/resp" 'd["resultDesc"][0]["currentState"]')" '"5"'
ctl /sim/config '{"state_fault":null}' >/dev/null
expect_eq "config: unknown key -> 400" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/certs/ca.pem" --data-binary '{"batch_4040":true}' "https://127.0.0.1:$port/sim/config")" 400
ctl /sim/config '{"batch_fault":null}' >/dev/null
expect_eq "control: set a state and absent" "$(ctl /sim/agent '{"agent":"1:170:1099","state":{"currentState":7,"currentStateTime":5},"absent":true}')" '{"ok":true}'
at "$STATE_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099,1100]}'
expect_eq "control: absent agent left out of the state answer" "$(json_get "$tmp/resp" '[e["agentId"] for e in d["resultDesc"]]')" '[1100]'
ctl /sim/agent '{"agent":"1:170:1099","absent":false}' >/dev/null
at "$STATE_PATH" '{"ccId":1,"vdn":170,"agentIds":[1099]}'
expect_eq "control: scripted state answered" "$(json_get "$tmp/resp" 'd["resultDesc"][0]["currentState"]')" 7

ctl /sim/stats > "$tmp/stats"
expect_eq "stats: requests and agents asked per path" \
    "$(json_get "$tmp/stats" '[(k, v["requests"] > 0, v["agents"] > 0) for k, v in sorted(d["by_path"].items())]')" \
    '[["agent",true,true],["batch",true,true],["state",true,true]]'
expect_eq "stats: state polls counted per agent" "$(json_get "$tmp/stats" 'd["by_agent"]["1:170:1105"]["state_polls"]')" 1
expect_eq "stats: an answer time per CMS request, per path (n, mean <= p99 <= max)" \
    "$(json_get "$tmp/stats" '[(k, v["n"] == d["by_path"][k]["requests"], 0 < v["mean"] <= v["max"] and v["p99"] <= v["max"]) for k, v in sorted(d["answer_ms"].items())]')" \
    '[["agent",true,true],["batch",true,true],["state",true,true]]'

served_check() {    # served_check PYTHON-EXPR-ON-lines
    python3 -c 'import json,sys; lines=[json.loads(l) for l in open(sys.argv[1])]; print(json.dumps(eval(sys.argv[2]), separators=(",",":")))' "$tmp/served.jsonl" "$1" 2>&1
}
expect_eq "served: one line per answered CMS request" "$(served_check "len([l for l in lines if l['t'] >= $reset_t])")" "$(json_get "$tmp/stats" 'sum(v["requests"] for v in d["by_path"].values())')"
expect_eq "served: times in order and recent" "$(served_check 'all(a["t"] <= b["t"] for a, b in zip(lines, lines[1:])) and abs(lines[-1]["t"] - __import__("time").time()) < 60')" true
expect_eq "served: a batch answer with calls and absent" "$(served_check '[l["agents"]["1104"] for l in lines if l["path"] == "batch" and "1104" in l["agents"]][0]')" '"absent"'
expect_eq "served: per-agent calls as objects" "$(served_check '[l["agents"]["1103"] for l in lines if l["path"] == "agent" and "1103" in l["agents"]][0]')" '{"calls":[{"callId":"5-5"},{"callId":"6-6"}]}'
expect_eq "served: state entries" "$(served_check '[l["agents"]["1103"]["state"]["currentState"] for l in lines if l["path"] == "state" and isinstance(l["agents"].get("1103"), dict)][0]')" 8
expect_eq "served: the 404 switch is refused, faults failed" \
    "$(served_check 'sorted({(l.get("fault"), v) for l in lines for v in l["agents"].values() if isinstance(v, str) and v != "absent"})')" \
    '[["badids","failed"],["batch_404","refused"],["cmserror:0100999","failed"],["duplicate","failed"],["http:401","failed"],["http:503","failed"],["huge","failed"],["invalid","failed"],["nonjson","failed"],["reset","failed"],["state_404","refused"],["state_permission","refused"]]'

# --- The random model, two workers, over plain HTTP without signatures ---

mainport=$port
start_sim random --random 5 --workers 2 --no-verify --served "$tmp/rserved.jsonl"
rpost() {   # rpost PATH BODY: prints the answer
    curl -sS --max-time 10 -H "Content-Type: $CT" --data-binary "$2" "http://127.0.0.1:$port$1"
}
t0=$(date +%s.%N)
rpost "$BATCH_PATH" "$big" > "$tmp/r1.json"
rpost "$STATE_PATH" "$big" > "$tmp/s1.json"
t1=$(date +%s.%N)
check "random: 3000 calls + 3000 states answered within 5 s" python3 -c "import sys; sys.exit(not $t1 - $t0 < 5)"
for i in 2 3 4 5 6; do rpost "$BATCH_PATH" "$big" > "$tmp/r$i.json"; done
python3 - "$tmp"/r1.json "$tmp/s1.json" "$tmp"/r[2-6].json "$(dirname "$sim")" > "$tmp/model.out" <<'PY'
import json, sys
sys.path.insert(0, sys.argv.pop())
import cmsmodel


def consistent():
    """Calls and state of one instant agree, second by second, and a stint's currentStateTime
    counts on by one a second (the model itself: two HTTP answers are not of one instant)."""
    m = cmsmodel.RandomActivity("5", 1800000000)
    for a in range(1000, 1100):
        prev = None
        for t in range(1800000060, 1800000240):
            _, cj, st = m.answer("1:170:%d" % a, t + 0.5)
            c, s = json.loads(cj), json.loads(st)
            code, cst = s["currentState"], s["currentStateTime"]
            want = (4 if all(x["callStatus"] == 4 for x in c) else 5) if c else code
            if code != want or (not c and code in (4, 5)):
                return False
            if prev and prev[0] == code and cst not in (prev[1] + 1,) and cst > prev[1]:
                return False
            if prev and prev[0] != code and (s["prevState"] != prev[0] or cst > 1):
                return False
            prev = (code, cst)
    return True

def pace_one_is_default():
    """--random-pace 1 (a float from the command line) answers exactly as the model always did."""
    a, b = cmsmodel.RandomActivity("5", 1800000000), cmsmodel.RandomActivity("5", 1800000000, 1.0)
    return all(a.answer("1:170:%d" % k, t + 0.5) == b.answer("1:170:%d" % k, t + 0.5)
               for k in range(1000, 1040) for t in range(1800000000, 1800000300))


def pace_ten():
    """Pace 10: calls of 50..400 s (10 x 5..40), still ringing 1..5 s, and about ten times fewer
    changes of an agent's answer than pace 1 (between 5 and 20 times fewer, over 600 s)."""
    changes = {}
    for pace in (1, 10):
        m = cmsmodel.RandomActivity("5", 1800000000, pace)
        n = 0
        for k in range(1000, 1200):
            last = None
            for t in range(1800000000, 1800000600):
                _, cj, st = m.answer("1:170:%d" % k, t + 0.5)
                now = (cj, json.loads(st)["currentState"])
                n += last is not None and now != last
                last = now
            if pace == 10:
                for c in m.line("1:170:%d" % k).calls:
                    ring = c.changes[1][0] - c.start
                    if not (50 <= c.end - c.start <= 400 and 1 <= ring <= 5):
                        return False
        changes[pace] = n
    return 5 < changes[1] / max(1, changes[10]) < 20

r1, s1 = (json.load(open(p))["resultDesc"] for p in sys.argv[1:3])
calls = {e["agentId"]: e["callList"] for e in r1}
states = {e["agentId"]: e for e in s1}
seq = [calls] + [{e["agentId"]: e["callList"] for e in json.load(open(p))["resultDesc"]}
                 for p in sys.argv[3:]]
checks = {
    "all 3000 answered": len(calls) == len(states) == 3000,
    "talking/answering exactly when on a call, answering while all ring": consistent(),
    "pace 1 is the default model exactly": pace_one_is_default(),
    "pace 10: calls of 50..400 s, ringing 1..5 s, 5-20 times fewer changes": pace_ten(),
    "states seen: signed out, idle, answering, talking, wrap_up, busy, rest": {0, 1, 4, 5, 6, 7, 8}
        <= {s["currentState"] for s in states.values()},
    "rest has a reason, other states the marker": all(
        (s["currentStateReason"] != 65535) == (s["currentState"] == 8) for s in states.values()),
    "signed out: markers and no calls": all(
        s["logonTime"] == 4294967295000 and s["locationId"] == 65535 and not calls[a]
        for a, s in states.items() if s["currentState"] == 0),
    "call statuses from the model": {x["callStatus"] for c in calls.values() for x in c} <= {4, 5, 6, 9},
    "mostly phone, some other media": 0.5 < sum(x["mediaType"] == 5 for c in calls.values() for x in c)
        / max(1, sum(len(c) for c in calls.values())) < 1,
    "both directions": {x["callInOut"] for c in calls.values() for x in c} == {0, 1},
    # Six answers from whichever worker took the connection, each under a second apart: a model
    # that differed between workers would change most agents, time changes a few percent.
    "both workers answer alike": all(
        sum([x["callId"] for x in a[k]] == [x["callId"] for x in b[k]] for k in a) > 2500
        for a, b in zip(seq, seq[1:])),
}
for what, ok in checks.items():
    print("%s %s" % ("ok  " if ok else "FAIL", what))
PY
while read -r verdict what; do
    if [ "$verdict" = ok ]; then pass "random: $what"; else fail "random: $what"; fi
done < "$tmp/model.out"
check "random: the model checks ran" [ "$(wc -l < "$tmp/model.out")" -ge 11 ]
rpost "$CMS_PATH" '{"ccId":1,"vdn":170,"agentId":1000}' > "$tmp/a1.json"
expect_eq "random: per-agent path answers the batch path's call IDs" \
    "$(json_get "$tmp/a1.json" 'd["resultDesc"]')" \
    "$(json_get "$tmp/r2.json" '[x["callId"] for e in d["resultDesc"] if e["agentId"] == 1000 for x in e["callList"]]')"
expect_eq "random: workers write whole lines to one served log" \
    "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)))' "$tmp/rserved.jsonl")" 8
# A control change reaches both workers: ten batch answers, each on a new connection (which worker
# takes it is the kernel's choice), all have the scripted call, the state and the absent agent.
rpost /sim/agent '{"agent":"1:170:1000","calls":["W-1"]}' > /dev/null
rpost /sim/agent '{"agent":"1:170:1001","state":{"currentState":8,"currentStateTime":7}}' > /dev/null
rpost /sim/agent '{"agent":"1:170:1002","absent":true}' > /dev/null
for i in 0 1 2 3 4 5 6 7 8 9; do
    rpost "$BATCH_PATH" '{"ccId":1,"vdn":170,"agentIds":[1000,1002]}' > "$tmp/w$i.json"
    rpost "$STATE_PATH" '{"ccId":1,"vdn":170,"agentIds":[1001]}' > "$tmp/ws$i.json"
done
expect_eq "workers: a POST /sim/agent reaches every worker (10 answers)" \
    "$(python3 -c 'import json, sys
print(sorted({(json.dumps(json.load(open(sys.argv[1] + "/w%d.json" % i))["resultDesc"]),
               json.load(open(sys.argv[1] + "/ws%d.json" % i))["resultDesc"][0]["currentState"]) for i in range(10)}))' "$tmp")" \
    "[('[{\"agentId\": 1000, \"callList\": [{\"callId\": \"W-1\", \"callStatus\": 5, \"callInOut\": 0, \"mediaType\": 5}]}]', 8)]"
python3 "$sim" --listen 127.0.0.1:0 --no-verify --random 5 --random-pace 0.5 > /dev/null 2> "$tmp/pace.err"
rc=$?
check "--random-pace below 1 refused (exit $rc: $(tail -1 "$tmp/pace.err"))" \
    eval '[ "$rc" = 2 ] && grep -q "random-pace must be from 1 to 1000" "$tmp/pace.err"'
start_sim pace --random 5 --random-pace 10 --random-agents 1:170:1000-3999 --no-verify
rpost "$BATCH_PATH" "$big" > "$tmp/p1.json"
expect_eq "--random-pace 10: a batch answer for all 3000" "$(json_get "$tmp/p1.json" 'len(d["resultDesc"])')" 3000
python3 "$sim" --listen 127.0.0.1:0 --no-verify --random 5 --random-agents 1:170:x > /dev/null 2> "$tmp/ra.err"
rc=$?
check "--random-agents: a malformed range refused (exit $rc: $(tail -1 "$tmp/ra.err"))" \
    eval '[ "$rc" = 2 ] && grep -q "expected CC:VDN:FIRST-LAST" "$tmp/ra.err"'

port=$mainport
check "judge.py --selftest passes" eval 'python3 "$judge" --selftest > "$tmp/judge.out" || { cat "$tmp/judge.out"; false; }'

curl -s --max-time 5 --cacert "$tmp/certs/other-ca.pem" "https://127.0.0.1:$port/sim/stats" >/dev/null
check "TLS: server cert rejected against an unrelated CA (curl rc 60, got $?)" [ $? = 60 ]

# Mutual TLS: a second simulator requiring client certificates.
start_sim mtls --cert "$tmp/certs/server.pem" --key "$tmp/certs/server.key" \
    --client-ca "$tmp/certs/ca.pem" --ak "$AK" --sk-file "$tmp/sk"
cms '{"ccId":1,"vdn":170,"agentId":1099}'
check "mTLS: no client cert -> handshake refused" [ "$code" = 000 ]
cms '{"ccId":1,"vdn":170,"agentId":1099}' "$SK" "$(now_ts "$(date +%s)")" \
    --cert "$tmp/certs/client.pem" --key "$tmp/certs/client.key"
check "mTLS: client cert -> 200" [ "$code" = 200 ]

kill -TERM "$mainpid"
for ((i = 0; i < 50; i++)); do kill -0 "$mainpid" 2>/dev/null || break; sleep 0.1; done
wait "$mainpid"; rc=$?
check "SIGTERM -> exit 0 promptly (rc $rc)" [ "$rc" = 0 ]

if [ "$failures" -ne 0 ]; then
    echo "# $failures check(s) failed; simulator stderr:"; cat "$tmp"/*.err
    exit 1
fi
echo "# all checks passed"
exit 0
