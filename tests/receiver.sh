# receiver.sh: the webhook tests' helpers around tests/receiver.py, sourced after lib.sh.
# Receivers sign-check with $AW_TMP/hook.secret (the test writes it).

RCV=$AW_SRC/tests/receiver.py
declare -A RPORT=() RPID=()

# start_receiver NAME [serve options...]: a receiver recording to NAME.jsonl; a restarted one
# takes its old port back.
start_receiver() {
    local name=$1; shift
    rm -f "$AW_TMP/$name.port"
    "$AW_PYTHON" "$RCV" serve --out "$AW_TMP/$name.jsonl" --port-file "$AW_TMP/$name.port" \
        --secret-file "$AW_TMP/hook.secret" ${RPORT[$name]:+--port "${RPORT[$name]}"} "$@" \
        2>>"$AW_TMP/$name.log" &
    RPID[$name]=$!
    aw_pids+=("$!")
    if ! until_ok 10 test -s "$AW_TMP/$name.port"; then
        echo "receiver $name did not start:"; cat "$AW_TMP/$name.log"; exit 99
    fi
    RPORT[$name]=$(cat "$AW_TMP/$name.port")
}
stop_receiver() { kill "${RPID[$1]}" 2>/dev/null; wait "${RPID[$1]}" 2>/dev/null; }
# rmode NAME MODE [RETRY_AFTER]
rmode() {
    local r
    r=$(curl -sS --max-time 5 --data "{\"mode\":\"$2\"${3:+,\"retry_after\":$3}}" \
        "http://127.0.0.1:${RPORT[$1]}/ctl/mode")
    [ "$r" = '{"ok": true}' ] || { echo "receiver $1 refused mode $2: $r"; exit 99; }
}
rstats() {   # rstats NAME PYTHON-EXPRESSION-ON-s
    curl -sS --max-time 5 "http://127.0.0.1:${RPORT[$1]}/ctl/stats" |
        "$AW_PYTHON" -c "import json,sys; s=json.load(sys.stdin); print($2)"
}
# delivered NAME [check options] EMITTED...: every emitted event has arrived (quietly).
delivered() { "$AW_PYTHON" "$RCV" check --quiet "$AW_TMP/$1.jsonl" "${@:2}"; }
# check_delivery DESCRIPTION SECONDS NAME [check options] EMITTED...: waits (bounded) until every
# event emitted so far is there, then checks everything (what is wrong goes to the log).
check_delivery() {
    local what=$1 secs=$2 name=$3 n=0 a; shift 3
    for a in "$@"; do
        [[ $a == *.out ]] && n=$((n + $(wc -l < "$a")))
    done
    check "$what" "$AW_PYTHON" "$RCV" check --wait "$(budget "$secs")" --first "$n" \
        "$AW_TMP/$name.jsonl" "$@"
}
nevents() { wc -l < "$AW_TMP/$1.out"; }
emitted_at_least() { [ "$(nevents "$1")" -ge "$2" ]; }   # emitted_at_least RUN N
