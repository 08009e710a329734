#!/bin/bash
# bench/run.sh: the agentwatchd benchmark (not a test; see bench/README.md).
#
#   (a) 10,000 agents every 5 s against a local TLS simulator: a warm-up of one interval, then
#       BENCH_SECONDS (default 60) measured. Polls done, daemon CPU seconds per 1,000 polls, peak
#       RSS and RSS per agent above a 1-agent daemon, poll-start lateness against the schedule,
#       the busiest 100 ms window of requests at the simulator against the mean (start-up
#       interval and measured part separately).
#   (b) 1,000 agents every 1 s over TLS for BENCH_SECONDS: the daemon, then bench/baseline.c (a
#       bare libcurl multi loop that signs and sends the same requests and discards the answers)
#       against the same simulator; CPU seconds per 1,000 polls of each. BENCH_CMP_ROUNDS > 1
#       repeats the pair, alternating which goes first, and adds the rounds up.
#
# Environment:
#   AW_BUILD            build dir (default ../build; configured with CFLAGS=-O2 -g if it has none)
#   AW_DAEMON           the daemon binary to measure (default $AW_BUILD/agentwatchd)
#   BENCH_SECONDS       measured seconds of each run (default 60)
#   BENCH_AGENTS / BENCH_INTERVAL            run (a) (default 10000 / 5)
#   BENCH_CMP_AGENTS / BENCH_CMP_INTERVAL    run (b) (default 1000 / 1)
#   BENCH_CMP_ROUNDS    daemon/baseline pairs in (b) (default 1)
#   BENCH_RSS_MID       agents of an extra run of (a)'s length for the marginal RSS per agent
#                       between it and (a) (default half of BENCH_AGENTS; 0 skips it)
#   BENCH_STATE_DIR=0   run the daemon without state_dir (default: with one, as shipped)
#   BENCH_PARTS         which parts to run: ab (default), a or b
#   BENCH_API           cms.api of the daemon (default "agent": one request per agent, as
#                       the baseline sends; bench/batch.sh measures batch polling)
#   BENCH_SKIP_BUILD=1  use what is built;  BENCH_KEEP=1  keep the temp dir;  PYTHON3
# Everything it starts is stopped on exit; every wait is bounded.
set -u

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${AW_BUILD:-$SRC/build}
DAEMON=${AW_DAEMON:-$BUILD/agentwatchd}
BASELINE=$BUILD/bench/baseline
DUR=${BENCH_SECONDS:-60}
AGENTS=${BENCH_AGENTS:-10000}
INTERVAL=${BENCH_INTERVAL:-5}
CMP_AGENTS=${BENCH_CMP_AGENTS:-1000}
CMP_INTERVAL=${BENCH_CMP_INTERVAL:-1}
ROUNDS=${BENCH_CMP_ROUNDS:-1}
MID=${BENCH_RSS_MID:-$((AGENTS / 2))}
PARTS=${BENCH_PARTS:-ab}
PY=${PYTHON3:-python3}
FIRST_ID=101

. "$SRC/bench/lib.sh"
bench_init run.sh
say() { echo "== $*"; }

# ---- the machine ----

MACHINE=$(machine)
say "machine: $MACHINE"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "load before the run: $LOAD_BEFORE; busiest processes now:"
ps -eo pcpu=,pid=,comm= --sort=-pcpu | head -5 | sed 's/^/     /'

# ---- build ----

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    bench_build "$BUILD"
    mkdir -p "$BUILD/bench"
    # The baseline links the project's signer (and util.c, which it needs) and nothing else.
    # shellcheck disable=SC2046
    cc -O2 -g -std=gnu11 -Wall -Wextra -I"$BUILD" -o "$BASELINE" "$SRC/bench/baseline.c" \
        "$SRC/src/sign.c" "$SRC/src/util.c" $(pkg-config --cflags --libs libcurl libcrypto) ||
        die "cannot build the baseline"
fi
[ -x "$DAEMON" ] || die "no daemon at $DAEMON"
[ -x "$BASELINE" ] || die "no baseline at $BASELINE"
SOURCE="$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)$(git -C "$SRC" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
say "daemon: $DAEMON; build CFLAGS: $(sed -n 's/^CFLAGS = //p' "$BUILD/Makefile" 2>/dev/null); source $SOURCE"

# ---- the simulator ----

bench_start_sim
URL=$SIM_URL

# ---- the daemon ----

config() {   # config NAME NAGENTS INTERVAL
    local state=""
    if [ "${BENCH_STATE_DIR:-1}" != 0 ]; then
        rm -rf "$TMP/state-$1"     # every run starts without saved state
        mkdir -p "$TMP/state-$1"
        state="state_dir = \"$TMP/state-$1\";"
    fi
    cat > "$TMP/$1.conf" <<EOC
cms = {
  url = "$URL";
  app_key = "BENCHAK";
  app_secret_file = "$TMP/cms.secret";
  timeout = 5.0;
  max_in_flight = 32;
  api = "${BENCH_API:-agent}";
  tls = { ca_file = "$TMP/pki/ca.pem"; };
};
poll = { interval = $3; };
agents = ( { cc = 1; vdn = 1; range = [ $FIRST_ID, $((FIRST_ID + $2 - 1)) ]; } );
outputs = { journal = false; stdout = true; };
$state
EOC
}

start_daemon() {   # start_daemon NAME NAGENTS INTERVAL: sets DPID; event JSON goes to /dev/null
    config "$1" "$2" "$3"
    "$DAEMON" -v -c "$TMP/$1.conf" >/dev/null 2>"$TMP/$1.err" &
    DPID=$!
    pids+=("$DPID")
    sleep 0.2
    kill -0 "$DPID" 2>/dev/null || { cat "$TMP/$1.err"; die "the daemon ($1) did not start"; }
}


# ==== (a) 10,000 agents, 5 s ====

run_part_a() {

    ONE_SECONDS=$(calc "2 * $INTERVAL + 1")
    say "(a) RSS baseline: the daemon with 1 agent for $ONE_SECONDS s"
    start_daemon one 1 "$INTERVAL"
    nap "$ONE_SECONDS"
    RSS_ONE=$(proc_status "$DPID" VmHWM)
    stop_daemon "$DPID"

    say "(a) $AGENTS agents every $INTERVAL s: warm-up $INTERVAL s, then $DUR s measured"
    sim_alive
    sim POST /sim/reset-stats >/dev/null || die "the simulator's control API does not answer"
    start_daemon big "$AGENTS" "$INTERVAL"
    nap "$INTERVAL"
    sim GET '/sim/windows?width=0.1' > "$TMP/win_start.json"
    sim POST /sim/reset-stats >/dev/null
    C1=$(proc_jiffies "$DPID"); B1=$(busy_jiffies); S1=$(proc_jiffies "$SIM_PID")
    nap "$DUR"
    sim GET '/sim/windows?width=0.1' > "$TMP/win_steady.json"
    C2=$(proc_jiffies "$DPID"); B2=$(busy_jiffies); S2=$(proc_jiffies "$SIM_PID")
    RSS_BIG=$(proc_status "$DPID" VmHWM)
    RSS_BIG_NOW=$(proc_status "$DPID" VmRSS)
    A_LOAD=$(load1)
    stop_daemon "$DPID"
    need_stats big
    sim_alive

    A_POLLS=$(exit_stat big started)
    A_STEADY_POLLS=$(json requests < "$TMP/win_steady.json")
    A_CPU_ALL=$(calc "$C2 / $HZ")
    A_CPU_STEADY=$(calc "($C2 - $C1) / $HZ")
    A_CPU_PER_K=$(calc "sprintf(\"%.4f\", $A_CPU_ALL * 1000 / $A_POLLS)")
    A_CPU_PER_K_STEADY=$(calc "sprintf(\"%.4f\", $A_CPU_STEADY * 1000 / $A_STEADY_POLLS)")
    A_SIM_PCT=$(calc "sprintf(\"%.0f\", ($S2 - $S1) / $HZ / $DUR * 100)")
    A_OTHER_PCT=$(other_pct $((B2 - B1)) $((C2 - C1)) $((S2 - S1)))
    A_P99=$(exit_stat big p99)
    W_START_MAX=$(json max_window < "$TMP/win_start.json")
    W_START_MEAN=$(json mean_per_window < "$TMP/win_start.json")
    W_MAX=$(json max_window < "$TMP/win_steady.json")
    W_MEAN=$(json mean_per_window < "$TMP/win_steady.json")
    W_RATIO=$(calc "sprintf(\"%.2f\", $W_MAX / $W_MEAN)")
    W_START_RATIO=$(calc "sprintf(\"%.2f\", $W_START_MAX / $W_START_MEAN)")
    RSS_PER_AGENT=$(calc "sprintf(\"%.0f\", ($RSS_BIG - $RSS_ONE) * 1024 / ($AGENTS - 1))")

    # The 1-agent daemon never fills what is bounded but not per agent (the connection pool of
    # max_in_flight, the event log's memory ring): a run with MID agents for as long fills them too,
    # so the difference to (a) is what each further agent costs.
    RSS_MID_LINE=""
    if [ "$MID" -gt 0 ] && [ "$MID" -lt "$AGENTS" ]; then
        say "(a) marginal RSS: the daemon with $MID agents for $INTERVAL + $DUR s"
        start_daemon mid "$MID" "$INTERVAL"
        nap "$(calc "$INTERVAL + $DUR")"
        RSS_MID=$(proc_status "$DPID" VmHWM)
        stop_daemon "$DPID"
        RSS_MARGINAL=$(calc "sprintf(\"%.0f\", ($RSS_BIG - $RSS_MID) * 1024 / ($AGENTS - $MID))")
        RSS_MID_LINE="
  RSS per further agent        $RSS_MARGINAL bytes = (VmHWM $AGENTS agents - VmHWM $MID agents ($RSS_MID KiB)) / $((AGENTS - MID))"
    fi
}

# ==== (b) CPU against the baseline: 1,000 agents, 1 s ====

run_part_b() {

    D_POLLS=0; D_FAILED=0; D_CPU=0; L_POLLS=0; L_FAILED=0; L_CPU=0; B_ROWS=""
    kv() { sed -nE "s/.* $1=([^ ]+).*/\\1/p" "$TMP/baseline.out"; }

    run_daemon_cmp() {   # one daemon run of (b); appends a row
        local cpu s1 s2 b1 b2 polls
        sim POST /sim/reset-stats >/dev/null
        s1=$(proc_jiffies "$SIM_PID"); b1=$(busy_jiffies)
        start_daemon cmp "$CMP_AGENTS" "$CMP_INTERVAL"
        nap "$DUR"
        cpu=$(proc_jiffies "$DPID")
        s2=$(proc_jiffies "$SIM_PID"); b2=$(busy_jiffies)
        D_RSS=$(proc_status "$DPID" VmHWM)
        stop_daemon "$DPID"
        need_stats cmp
        polls=$(exit_stat cmp started)
        D_POLLS=$((D_POLLS + polls))
        D_FAILED=$((D_FAILED + $(exit_stat cmp failed)))
        D_CPU=$(calc "$D_CPU + $cpu / $HZ")
        B_ROWS+=$(printf '\n  %-22s %-8s %-7s %-7s %-18s %-13s %-10s %-8s %s' "agentwatchd" "$polls" \
            "$(exit_stat cmp failed)" "$(calc "$cpu / $HZ")" "$(calc "sprintf(\"%.4f\", $cpu / $HZ * 1000 / $polls)")" \
            "$(exit_stat cmp p99) ms" "$D_RSS KiB" "$(calc "sprintf(\"%.0f%%\", ($s2 - $s1) / $HZ / $DUR * 100)")" \
            "$(other_pct $((b2 - b1)) "$cpu" $((s2 - s1)))%")
    }

    run_baseline_cmp() {   # one baseline run of (b); appends a row
        local cpu s1 s2 b1 b2 polls
        sim POST /sim/reset-stats >/dev/null
        s1=$(proc_jiffies "$SIM_PID"); b1=$(busy_jiffies)
        timeout -s KILL $((${DUR%.*} + 30)) "$BASELINE" -u "$URL" -k BENCHAK -s "$TMP/cms.secret" \
            -c "$TMP/pki/ca.pem" -n "$CMP_AGENTS" -i "$CMP_INTERVAL" -d "$DUR" -f "$FIRST_ID" \
            --cc 1 --vdn 1 -m 32 >"$TMP/baseline.out" 2>"$TMP/baseline.err"
        s2=$(proc_jiffies "$SIM_PID"); b2=$(busy_jiffies)
        grep -q polls_done "$TMP/baseline.out" || { cat "$TMP/baseline.err"; die "the baseline failed"; }
        cpu=$(calc "$(kv cpu_user_s) + $(kv cpu_sys_s)")
        polls=$(kv polls_done)
        L_POLLS=$((L_POLLS + polls))
        L_FAILED=$((L_FAILED + $(kv polls_failed)))
        L_CPU=$(calc "$L_CPU + $cpu")
        B_ROWS+=$(printf '\n  %-22s %-8s %-7s %-7s %-18s %-13s %-10s %-8s %s' "baseline (bare multi)" \
            "$polls" "$(kv polls_failed)" "$cpu" "$(kv cpu_s_per_1000)" "$(kv late_p99_ms) ms" \
            "$(kv maxrss_kib) KiB" "$(calc "sprintf(\"%.0f%%\", ($s2 - $s1) / $HZ / $DUR * 100)")" \
            "$(other_pct $((b2 - b1)) "$(calc "$cpu * $HZ")" $((s2 - s1)))%")
    }

    for ((r = 1; r <= ROUNDS; r++)); do
        sim_alive
        if ((r % 2)); then
            say "(b) round $r/$ROUNDS: daemon, then baseline: $CMP_AGENTS agents every $CMP_INTERVAL s, $DUR s each"
            run_daemon_cmp; run_baseline_cmp
        else
            say "(b) round $r/$ROUNDS: baseline, then daemon: $CMP_AGENTS agents every $CMP_INTERVAL s, $DUR s each"
            run_baseline_cmp; run_daemon_cmp
        fi
    done
    D_CPU_PER_K=$(calc "sprintf(\"%.4f\", $D_CPU * 1000 / $D_POLLS)")
    L_CPU_PER_K=$(calc "sprintf(\"%.4f\", $L_CPU * 1000 / $L_POLLS)")
}

case $PARTS in *a*) run_part_a ;; esac
case $PARTS in *b*) run_part_b ;; esac

# ==== report ====

verdict() { if [ "$(calc "($1) ? 1 : 0")" = 1 ]; then echo met; else echo MISSED; fi; }

report_a() {
    local short=""
    [ "$(calc "($INTERVAL + $DUR < 62) ? 1 : 0")" = 1 ] && short="
                               (run shorter than 62 s: the once-a-minute state file save, and its peak, not included)"
    cat <<EOR

(a) $AGENTS agents every $INTERVAL s, TLS keep-alive, max_in_flight 32: warm-up $INTERVAL s, then $DUR s measured
  polls done                   $A_POLLS in the whole run (failed $(exit_stat big failed), slots skipped $(exit_stat big skipped), events $(exit_stat big events))
                               $A_STEADY_POLLS in the measured $DUR s = $(calc "sprintf(\"%.0f\", $A_STEADY_POLLS / $DUR)")/s (schedule: $(calc "sprintf(\"%.0f\", $AGENTS / $INTERVAL)")/s)
  CPU per 1,000 polls          $A_CPU_PER_K s over the whole run ($A_CPU_ALL s); $A_CPU_PER_K_STEADY s over the measured part
  peak RSS (VmHWM)             $RSS_BIG KiB (VmRSS at the end $RSS_BIG_NOW KiB); the 1-agent daemon: $RSS_ONE KiB
  RSS per agent                $RSS_PER_AGENT bytes = (VmHWM $AGENTS agents - VmHWM 1 agent) / $((AGENTS - 1))$RSS_MID_LINE$short
  poll start lateness          p50 $(exit_stat big p50) ms, p99 $A_P99 ms, max $(exit_stat big max) ms (whole run, start-up included)
  busiest 100 ms window        measured part: $W_MAX requests, mean $(fmt %.1f "$W_MEAN") = ${W_RATIO}x
                               start-up interval: $W_START_MAX requests, mean $(fmt %.1f "$W_START_MEAN") = ${W_START_RATIO}x
  meanwhile                    simulator CPU $A_SIM_PCT% of one core; the rest of the machine $A_OTHER_PCT% of one core (load average $A_LOAD at the end)
EOR
}

report_b() {
    cat <<EOR

(b) $CMP_AGENTS agents every $CMP_INTERVAL s over TLS, $DUR s per run, $ROUNDS round(s), same simulator
  program                polls    failed  CPU s   CPU s/1,000 polls  lateness p99  peak RSS   sim CPU  rest of machine$B_ROWS
  total: agentwatchd $D_CPU_PER_K s per 1,000 polls ($D_POLLS polls), baseline $L_CPU_PER_K s ($L_POLLS polls): ratio $(calc "sprintf(\"%.2f\", $D_CPU_PER_K / $L_CPU_PER_K)")
EOR
}

cat <<EOR

agentwatchd benchmark, $(date -u +%Y-%m-%dT%H:%MZ)
machine: $MACHINE
load average before: $LOAD_BEFORE; at the end: $(cut -d' ' -f1-3 /proc/loadavg)
daemon: $DAEMON (source $SOURCE), state_dir $([ "${BENCH_STATE_DIR:-1}" != 0 ] && echo on || echo off)
EOR
case $PARTS in *a*) report_a ;; esac
case $PARTS in *b*) report_b ;; esac
echo
echo "targets"
case $PARTS in *a*)
    echo "  lateness p99 < 50 ms                   $A_P99 ms: $(verdict "$A_P99 < 50")"
    echo "  busiest window < 2x mean               measured ${W_RATIO}x: $(verdict "$W_MAX < 2 * $W_MEAN"); start-up ${W_START_RATIO}x: $(verdict "$W_START_MAX < 2 * $W_START_MEAN")"
    echo "  RSS per agent < 1 KiB above baseline   $RSS_PER_AGENT bytes: $(verdict "$RSS_PER_AGENT < 1024")"
    ;;
esac
case $PARTS in *b*)
    echo "  CPU per 1,000 polls <= bare loop       $D_CPU_PER_K vs $L_CPU_PER_K s: $(verdict "$D_CPU_PER_K <= $L_CPU_PER_K")"
    ;;
esac
