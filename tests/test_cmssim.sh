#!/bin/bash
# test_cmssim.sh: checks the CMS simulator on its own (signing, auth failures, scenario, faults, TLS).
# Run by automake's harness with $srcdir set to the source tree (the simulator is $srcdir/tests/cmssim.py).
set -u

top=${srcdir:-.}
sim=$top/tests/cmssim.py
[ -f "$sim" ] || sim=$(dirname "$0")/cmssim.py
mkcerts=$(dirname "$sim")/mkcerts.sh
CMS_PATH=/rest/cmsapp/v1/openapi/agent/queryagentcalls
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
        "$CMS_PATH" "$signed" "$(pct "${#body}")" "$(pct "$ct")" "$(pct "$host")" "$(pct "$body")")
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
        "https://127.0.0.1:$port$CMS_PATH" 2>"$tmp/curl.err")
    curl_rc=$?
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
            "1:170:1102": {"fault": "cmserror:0100999"}},
 "default": {"calls": [], "fault": null},
 "unknown_agents": "empty"}
EOF
start_sim main --cert "$tmp/certs/server.pem" --key "$tmp/certs/server.key" \
    --ak "$AK" --sk-file "$tmp/sk" --scenario "$tmp/scenario.json" --log "$tmp/sim.log"
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
expect_eq "control: polls_since_set is 0 after a set" "$(ctl '/sim/stats?agent=1:170:1099')" '{"polls":1,"polls_since_set":0}'
cms '{"ccId":1,"vdn":170,"agentId":1099}'
expect_eq "control: new calls returned" "$(json_get "$tmp/resp" 'd["resultDesc"]')" '["1-1001","2-1002"]'
expect_eq "control: polls_since_set counts" "$(ctl '/sim/stats?agent=1:170:1099')" '{"polls":2,"polls_since_set":1}'
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
ctl /sim/reset-stats '{}' >/dev/null
expect_eq "reset-stats zeroes the counters" "$(ctl /sim/stats)" '{"requests":0,"auth_failures":0,"by_agent":{}}'

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
