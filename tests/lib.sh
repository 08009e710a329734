# lib.sh: what the integration tests share: a temp dir, test PKI, the simulator, the daemon, checks.
# Sourced by tests/test_*.sh, which automake's harness runs from the build tree with $srcdir and
# $builddir set; each test stops everything it started and bounds every wait.

set -u

AW_SRC=${srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
AW_BUILD=${builddir:-$AW_SRC}
AW_BIN=$AW_BUILD/agentwatchd
AW_PYTHON=${PYTHON3:-python3}
AW_SIM=$AW_SRC/tests/cmssim.py
AW_SECRET='s3cr3t-Do-Not-Print-7f9c2e'
AW_AK=TESTAK

AW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/aw-test.XXXXXX")
aw_pids=()
aw_failures=0
aw_checks=0

aw_cleanup() {
    local p
    for p in "${aw_pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${aw_pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$AW_TMP"
}
trap aw_cleanup EXIT

pass() { aw_checks=$((aw_checks + 1)); echo "ok   - $*"; }
fail() { aw_checks=$((aw_checks + 1)); aw_failures=$((aw_failures + 1)); echo "FAIL - $*"; }
check() {   # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
expect_eq() {   # expect_eq DESCRIPTION ACTUAL EXPECTED
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}
expect_grep() {   # expect_grep DESCRIPTION PATTERN FILE
    if grep -qE -- "$2" "$3"; then pass "$1"; else fail "$1: no /$2/ in $3:"; sed 's/^/    /' "$3" | head -20; fi
}
expect_no_secret() {   # expect_no_secret DESCRIPTION FILE...
    local what=$1; shift
    if grep -qF -- "$AW_SECRET" "$@"; then fail "$what: the secret appears"; else pass "$what"; fi
}
# Ends the test: the summary line, and the exit status automake reads.
aw_done() {
    echo "$(basename "$0"): $aw_checks checks, $aw_failures failed"
    [ "$aw_failures" -eq 0 ]
    exit $?
}

# wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds or time runs out.
wait_for() {
    local limit=$(( $1 * 10 )) i; shift
    for ((i = 0; i < limit; i++)); do
        "$@" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

aw_pki() {
    [ -f "$AW_TMP/pki/ca.pem" ] && return
    mkdir -p "$AW_TMP/pki"
    bash "$AW_SRC/tests/mkcerts.sh" "$AW_TMP/pki" >/dev/null
    printf '%s\n' "$AW_SECRET" > "$AW_TMP/cms.secret"
    chmod 600 "$AW_TMP/cms.secret"
}

# aw_start_sim NAME [cmssim options...]: a TLS simulator; sets SIM_PORT and SIM_PID.
aw_start_sim() {
    local name=$1; shift
    aw_pki
    aw_launch_sim "$name" --cert "$AW_TMP/pki/server.pem" --key "$AW_TMP/pki/server.key" "$@"
}

# aw_launch_sim NAME [cmssim options...]: starts the simulator and waits for its port.
aw_launch_sim() {
    local name=$1; shift
    rm -f "$AW_TMP/$name.port"
    "$AW_PYTHON" "$AW_SIM" --listen 127.0.0.1:0 --ak "$AW_AK" --sk-file "$AW_TMP/cms.secret" \
        --port-file "$AW_TMP/$name.port" "$@" >"$AW_TMP/$name.log" 2>&1 &
    SIM_PID=$!
    aw_pids+=("$SIM_PID")
    if ! wait_for 15 test -s "$AW_TMP/$name.port"; then
        echo "simulator $name did not start:"; cat "$AW_TMP/$name.log"; exit 99
    fi
    SIM_PORT=$(cat "$AW_TMP/$name.port")
}

# aw_sim METHOD PATH [JSON]: the simulator's control API (unsigned, same port).
aw_sim() {
    curl -sS --max-time 5 --cacert "$AW_TMP/pki/ca.pem" -X "$1" \
        ${3:+-H 'Content-Type: application/json' --data "$3"} "https://127.0.0.1:$SIM_PORT$2"
}

# expect_no_sanitizer_report FILE...: no AddressSanitizer, LeakSanitizer or UBSan report in the
# daemons' stderr (a build without sanitizers passes trivially; CI runs one with them).
expect_no_sanitizer_report() {
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$@"; then
        fail "a sanitizer report:"; grep -hE -A12 'AddressSanitizer|LeakSanitizer|runtime error' "$@" | head -40
    else
        pass "no sanitizer report"
    fi
}

# sim_config JSON: POST /sim/config (batch_404, state_404, faults, ...), which must say ok.
sim_config() {
    local r
    r=$(aw_sim POST /sim/config "$1")
    [ "$r" = '{"ok":true}' ] || { echo "simulator refused config $1: $r"; exit 99; }
}

# aw_polls_since_set CC:VDN:ID: how many polls the simulator answered since that agent last changed.
aw_polls_since_set() {
    aw_sim GET "/sim/stats?agent=$1" | "$AW_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["polls_since_set"])'
}

# aw_config FILE AGENTS [EXTRA]: a config for the simulator on SIM_PORT. cms.api is $AW_API, by
# default "agent": the tests written for one request per agent (whose simulator faults are
# per agent) keep testing exactly that; batch tests set AW_API.
aw_config() {
    cat > "$1" <<EOC
cms = {
  url = "https://127.0.0.1:$SIM_PORT";
  app_key = "$AW_AK";
  app_secret_file = "$AW_TMP/cms.secret";
  timeout = 2.0;
  api = "${AW_API:-agent}";
  tls = { ca_file = "$AW_TMP/pki/ca.pem"; };
};
agents = ( $2 );
${3:-}
EOC
}

# aw_start_daemon NAME CONFIG [options...]: the daemon in the background; sets AW_PID.
aw_start_daemon() {
    local name=$1 conf=$2; shift 2
    "$AW_BIN" -c "$conf" "$@" >"$AW_TMP/$name.out" 2>"$AW_TMP/$name.err" &
    AW_PID=$!
    aw_pids+=("$AW_PID")
}

# aw_stop PID [SECONDS]: SIGTERM, then the exit status (137 when it had to be killed).
# Polls rather than forking a guard: a killed subshell would run the EXIT trap (aw_cleanup) itself.
aw_stop() {
    local pid=$1 limit=${2:-10} i
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < limit * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid"
}

# aw_budget SECONDS: bounds the whole test in wall-clock time. until_ok and pause then respect
# what is left of it, so a test stays within its budget even when everything fails.
# The budget is half as long again as asked (AW_BUDGET_PERCENT, default 150): a passing test ends
# well within it, and one slowed by the tests running beside it (make check -j2) still passes.
aw_budget() { BUDGET_END=$((SECONDS + $1 * ${AW_BUDGET_PERCENT:-150} / 100)); }
budget() {   # budget N: N, or the seconds left if fewer (0: one last try)
    local left=$((BUDGET_END - SECONDS))
    if ((left < $1)); then echo $((left > 0 ? left : 0)); else echo "$1"; fi
}
pause() {   # pause SECONDS: sleep, unless the budget is spent
    ((SECONDS < BUDGET_END)) && sleep "$1"
    return 0
}
until_ok() {   # until_ok SECONDS COMMAND...: retries COMMAND every 0.1 s, bounded in wall-clock time
    local end=$((SECONDS + $(budget "$1"))); shift
    until "$@" 2>/dev/null; do
        ((SECONDS >= end)) && return 1
        sleep 0.1
    done
}
# holds 'TEST': evaluates the shell test anew at each call, so that `until_ok 10 holds '[ "$(n)" -ge 1 ]'`
# waits for it (`until_ok 10 test "$(n)" -ge 1` would expand $(n) once, before the first try).
holds() { eval "$1"; }
aw_budget 95

# Event streams: tests/events.py reads the daemon's JSON lines.
ev() { "$AW_PYTHON" "$AW_SRC/tests/events.py" "$@"; }

# sim_set AGENT JSON-FIELDS: scripts one agent of the simulator ("calls":[...] or "fault":...).
sim_set() {
    local r
    r=$(aw_sim POST /sim/agent "{\"agent\":\"$1\",$2}")
    [ "$r" = '{"ok":true}' ] || { echo "simulator refused $1 $2: $r"; exit 99; }
}
polled() {   # polled AGENT N: the simulator answered AGENT at least N times since its last set
    [ "$(aw_polls_since_set "$1")" -ge "$2" ]
}
settle() {   # settle N AGENT...: every AGENT answered N polls since its last change (bounded)
    local n=$1 a; shift
    for a in "$@"; do
        wait_for 15 polled "$a" "$n" || fail "agent $a polled $n times within 15 s"
    done
}

# events_are OUT DESCRIPTION AGENT SPEC...: AGENT's events in $AW_TMP/OUT.out since the last
# check are exactly SPEC (see tests/events.py expect).
declare -A seen=()
events_are() {
    local out=$1 what=$2 agent=$3; shift 3
    local skip=${seen[$out/$agent]:-0}
    if ev expect "$AW_TMP/$out.out" "$agent" "$skip" "$@"; then
        pass "$what"
        seen[$out/$agent]=$((skip + $#))
    else
        fail "$what"
        seen[$out/$agent]=$(ev count "$AW_TMP/$out.out" "$agent")
    fi
}

# aw_asan_runtime: the path of the ASan runtime the daemon links (a sanitizer build), or nothing.
aw_asan_runtime() { ldd "$AW_BIN" 2>/dev/null | awk '/libasan/ { print $3 }'; }

# aw_preload NAME: compiles tests/NAME.c (an LD_PRELOAD shim) into $AW_TMP/NAME.so and prints the
# LD_PRELOAD value to start the daemon with. A sanitizer build needs ASan's runtime first in the
# list, so it is named before the shim when the daemon links it.
aw_preload() {
    local so=$AW_TMP/$1.so asan
    ${CC:-cc} -shared -fPIC -O1 -Wall -o "$so" "$AW_SRC/tests/$1.c" -ldl || return 1
    asan=$(aw_asan_runtime)
    echo "${asan:+$asan }$so"
}

# aw_start_plain_sim NAME [cmssim options...]: the simulator over plain HTTP (for proxies and name
# tricks in front of it); sets SIM_PORT and SIM_PID. aw_sim does not reach it: use aw_plain_sim.
aw_start_plain_sim() {
    local name=$1; shift
    aw_pki
    aw_launch_sim "$name" "$@"
}
aw_plain_sim() {   # aw_plain_sim METHOD PATH [JSON]
    curl -sS --max-time 5 -X "$1" ${3:+-H 'Content-Type: application/json' --data "$3"} \
        "http://127.0.0.1:$SIM_PORT$2"
}

# aw_http_addr NAME [FAMILY]: the address the daemon's HTTP endpoint bound ("127.0.0.1:PORT" or
# "[::1]:PORT", FAMILY 4 or 6), from its log; waits for it (bounded). Empty when there is none.
aw_http_addr() {
    local pattern='listening on (127\.0\.0\.1:[0-9]+)'
    [ "${2:-4}" = 6 ] && pattern='listening on (\[[0-9a-f:]+\]:[0-9]+)'
    wait_for 10 grep -qE "$pattern" "$AW_TMP/$1.err"
    grep -oE "$pattern" "$AW_TMP/$1.err" | tail -1 | sed 's/^listening on //'
}
# aw_need_http NAME ADDR: ends the test (failed) when the daemon NAME has no HTTP address.
aw_need_http() {
    [ -n "$2" ] && return 0
    fail "daemon $1 serves HTTP"
    sed 's/^/    /' "$AW_TMP/$1.err" | head -10
    aw_done
}

# settle_state N AGENT...: every AGENT answered N calls polls and N state polls since its last
# change (bounded); for daemons with poll.agent_state on.
state_polled() {
    [ "$(aw_sim GET "/sim/stats?agent=$1" | "$AW_PYTHON" -c 'import json,sys
s = json.load(sys.stdin); print(min(s["polls_since_set"], s["state_polls_since_set"]))')" -ge "$2" ]
}
settle_state() {
    local n=$1 a; shift
    for a in "$@"; do
        wait_for 15 state_polled "$a" "$n" || fail "agent $a polled (calls and state) $n times within 15 s"
    done
}
