#!/bin/bash
# bench/batch.sh: batch polling with agent state at scale (not a test; see bench/README.md).
#
# For each SET (AGENTS:INTERVAL, default 10000:5 and 50000:1) against one TLS simulator
# (--no-verify --random 1 --random-pace BENCH_PACE --workers BENCH_SIM_WORKERS, every agent's
# timeline built at its start):
#   - per agent (only for the first set): cms.api = "agent", as 1.0 polls;
#   - batch, for each batch size in BENCH_BATCH_SIZES: cms.api = "batch", poll.agent_state = true;
#   - batch with AGENTS/2 agents and the first batch size: the marginal RSS per agent.
# Each run: a warm-up of max(5 s, one interval), then BENCH_SECONDS measured; meanwhile
# bench/detect.py scripts calls for BENCH_SAMPLES agents at the simulator and times their events on
# the daemon's stdout. Printed per run: CMS requests (calls + state) per 1,000 agent-polls, the
# daemon's CPU per 1,000 agent-polls (measured part), poll lateness (the daemon's exit line), VmHWM,
# detection latency, events per agent-poll (measured part, from /metrics), the simulator's CPU (all
# its processes) and its own answer times (/sim/stats answer_ms: of one worker), and the rest of
# the machine's CPU. An agent-poll is one agent asked for its calls once (the daemon's
# agent_polls_total{poll="calls"}; requests are its polls_total, both between two scrapes).
#
# Environment: AW_BUILD (default ../build), AW_DAEMON, BENCH_SETS ("10000:5 50000:1"),
# BENCH_BATCH_SIZES ("1000 3000"), BENCH_SECONDS (30), BENCH_SAMPLES (20), BENCH_RSS_MID=0 (skip
# the marginal RSS runs), BENCH_AGENT_MODE=0 (skip the per-agent run), BENCH_SKIP_BUILD, BENCH_KEEP,
# BENCH_RANDOM=off (a quiet simulator: no calls, so polling alone is measured), BENCH_PACE (the
# simulator's --random-pace, default 1: K times fewer changes, e.g. 10 for a contact center's rate),
# BENCH_SIM_WORKERS (2: the simulator's processes), PYTHON3.
# Everything it starts is stopped on exit; every wait is bounded.
set -u

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${AW_BUILD:-$SRC/build}
DAEMON=${AW_DAEMON:-$BUILD/agentwatchd}
SETS=${BENCH_SETS:-10000:5 50000:1}
SIZES=${BENCH_BATCH_SIZES:-1000 3000}
DUR=${BENCH_SECONDS:-30}
SAMPLES=${BENCH_SAMPLES:-20}
PY=${PYTHON3:-python3}
FIRST_ID=101

. "$SRC/bench/lib.sh"
bench_init batch.sh

echo "== machine: $(machine)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== load before: $LOAD_BEFORE"
[ "${BENCH_SKIP_BUILD:-0}" = 1 ] || bench_build "$BUILD"
[ -x "$DAEMON" ] || die "no daemon at $DAEMON"
SOURCE="$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)$(git -C "$SRC" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
echo "== daemon: $DAEMON (source $SOURCE); CFLAGS: $(sed -n 's/^CFLAGS = //p' "$BUILD/Makefile" 2>/dev/null)"
PACE=${BENCH_PACE:-1}
WORKERS=${BENCH_SIM_WORKERS:-2}
MAX_N=0
for set in $SETS; do [ "${set%:*}" -gt "$MAX_N" ] && MAX_N=${set%:*}; done
bench_start_sim --workers "$WORKERS" --random-pace "$PACE" --random-agents "1:1:$FIRST_ID-$((FIRST_ID + MAX_N - 1))"
sim_jiffies() {   # the simulator's processes (with --workers, the parent and its workers)
    local p t=0
    for p in "$SIM_PID" $(pgrep -P "$SIM_PID"); do t=$((t + $(proc_jiffies "$p"))); done
    echo "$t"
}
# bench/slowdisk.c with no delay: the loop's longest iteration, and its own part (without the time it
# waited for a CPU), so that lateness can be told apart from a busy machine
cc -shared -fPIC -O2 -Wall -o "$TMP/loopmeter.so" "$SRC/bench/slowdisk.c" -ldl -pthread ||
    die "cannot build bench/slowdisk.c"

config() {   # config NAME AGENTS INTERVAL API BATCH_SIZE
    mkdir -p "$TMP/state-$1"
    cat > "$TMP/$1.conf" <<EOC
cms = { url = "$SIM_URL"; app_key = "BENCHAK"; app_secret_file = "$TMP/cms.secret";
  timeout = 5.0; max_in_flight = 32; api = "$4"; batch_size = $5;
  tls = { ca_file = "$TMP/pki/ca.pem"; }; };
poll = { interval = $3; agent_state = $([ "$4" = batch ] && echo true || echo false); };
agents = ( { cc = 1; vdn = 1; range = [ $FIRST_ID, $((FIRST_ID + $2 - 1)) ]; } );
outputs = { journal = false; stdout = true; };
state_dir = "$TMP/state-$1";
http = { listen = [ "unix:$TMP/$1.sock" ]; };
EOC
}

samples() {   # samples AGENTS: SAMPLES agent keys spread over the range, comma-separated
    awk -v n="$1" -v k="$SAMPLES" -v f="$FIRST_ID" \
        'BEGIN { for (i = 0; i < k; i++) printf "%s1:1:%d", i ? "," : "", f + int((i + 0.5) * n / k) }'
}

scrape() { curl -sS --max-time 10 --unix-socket "$TMP/$1.sock" http://x/metrics; }
counted() {   # counted NAME PATTERN: the sum of the samples matching PATTERN, between the scrapes
    awk -v re="$2" '$1 ~ re { n[FILENAME] += $2 } END { printf "%d", n[ARGV[2]] - n[ARGV[1]] }' \
        "$TMP/$1.m0" "$TMP/$1.m1"
}
mean() {   # mean NAME METRIC: the mean observation of histogram METRIC between the scrapes, in ms
    awk -v m="agentwatchd_$2" '$1 == m "_sum" { s[FILENAME] = $2 } $1 == m "_count" { c[FILENAME] = $2 }
        END { n = c[ARGV[2]] - c[ARGV[1]]; printf "%.1f", n ? (s[ARGV[2]] - s[ARGV[1]]) / n * 1000 : 0 }' \
        "$TMP/$1.m0" "$TMP/$1.m1"
}

# one NAME AGENTS INTERVAL API BATCH_SIZE: one run; sets R_* (figures) and appends a row to ROWS
ROWS=""
one() {
    local name=$1 n=$2 iv=$3 warm c1 c2 s1 s2 b1 b2
    warm=$(calc "($iv > 5 ? $iv : 5)")
    echo "== $name: $n agents every $iv s, api $4$([ "$4" = batch ] && echo ", batch_size $5, agent_state on"); warm-up $warm s, $DUR s measured"
    sim_alive
    config "$name" "$n" "$iv" "$4" "$5"
    rm -f "$TMP/out.fifo"; mkfifo "$TMP/out.fifo"
    "$PY" "$SRC/bench/detect.py" --url "$SIM_URL" --ca "$TMP/pki/ca.pem" --agents "$(samples "$n")" \
        --interval "$iv" --warmup "$warm" --seconds "$DUR" --out "$TMP/$name.detect" \
        <"$TMP/out.fifo" 2>"$TMP/$name.detect.err" &
    local det=$!
    pids+=("$det")
    LD_PRELOAD=$TMP/loopmeter.so BENCH_STALL_OUT=$TMP/$name.loop BENCH_DISK_DELAY_MS=0 \
        "$DAEMON" -v -c "$TMP/$name.conf" >"$TMP/out.fifo" 2>"$TMP/$name.err" &
    DPID=$!
    pids+=("$DPID")
    nap "$warm"
    kill -0 "$DPID" 2>/dev/null || { cat "$TMP/$name.err"; die "the daemon ($name) died"; }
    sim POST /sim/reset-stats >/dev/null || die "the simulator's control API does not answer"
    scrape "$name" > "$TMP/$name.m0"
    c1=$(proc_jiffies "$DPID"); b1=$(busy_jiffies); s1=$(sim_jiffies)
    nap "$DUR"
    c2=$(proc_jiffies "$DPID"); b2=$(busy_jiffies); s2=$(sim_jiffies)
    sim GET /sim/stats > "$TMP/$name.stats"
    scrape "$name" > "$TMP/$name.m1"
    R_RSS=$(proc_status "$DPID" VmHWM)
    R_LOAD=$(load1)
    # detect.py stops scripting at warm-up + DUR and waits at most 3 intervals + 2 s for the last event
    wait_for "$(calc "sprintf(\"%d\", 3 * $iv + 4)")" test -s "$TMP/$name.detect"
    stop_daemon "$DPID"
    need_stats "$name"
    local i; for ((i = 0; i < 100; i++)); do kill -0 "$det" 2>/dev/null || break; sleep 0.1; done
    wait "$det" 2>/dev/null
    [ -s "$TMP/$name.detect" ] || { cat "$TMP/$name.detect.err"; die "detect.py gave no result ($name)"; }

    R_LOOP=$(awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1) }
        END { printf "longest loop iteration %.1f ms (own %.1f ms, CPU %.1f ms), %d over 50 ms", v["max_us"] / 1000,
              v["max_own_us"] / 1000, v["max_cpu_us"] / 1000, v["over_50ms"] }' "$TMP/$name.loop")
    local path; path=$([ "$4" = batch ] && echo batch || echo agent)
    # the daemon's counts: with --workers, /sim/stats has one worker's
    R_POLLS=$(counted "$name" '^agentwatchd_agent_polls_total\\{poll="calls"')
    R_REQS=$(counted "$name" '^agentwatchd_polls_total\\{')
    R_STATE=$(counted "$name" '^agentwatchd_agent_polls_total\\{poll="state"')
    R_REQ_PER_K=$(calc "sprintf(\"%.2f\", $R_REQS * 1000 / $R_POLLS)")
    R_CPU=$(calc "($c2 - $c1) / $HZ")
    R_CPU_PER_K=$(calc "sprintf(\"%.4f\", $R_CPU * 1000 / $R_POLLS)")
    R_P99=$(exit_stat "$name" p99)
    R_MP99=$(hist_quantile "$TMP/$name.m0" "$TMP/$name.m1" poll_lateness_seconds 0.99)
    R_DURATION="mean $(mean "$name" poll_duration_seconds) ms, p99 $(hist_quantile "$TMP/$name.m0" "$TMP/$name.m1" poll_duration_seconds 0.99)"
    R_SIM=$(calc "sprintf(\"%.0f\", ($s2 - $s1) / $HZ / $DUR * 100)")
    R_ANSWER=$(for k in $path state; do json "answer_ms.$k" < "$TMP/$name.stats"; done |
        "$PY" -c 'import ast, sys
print("; ".join("%s/%s/%s" % (d["mean"], d["p99"], d["max"]) for d in map(ast.literal_eval, sys.stdin)))')
    R_EVENTS=$(counted "$name" '^agentwatchd_events_total\\{')
    R_EV_PER_POLL=$(calc "sprintf(\"%.3f\", $R_EVENTS / $R_POLLS)")
    R_OTHER=$(other_pct $((b2 - b1)) $((c2 - c1)) $((s2 - s1)))
    local d="$TMP/$name.detect"
    R_DET="$(json p50 <"$d") / $(json p99 <"$d") / $(json max <"$d") ms (n $(json n <"$d"), missed $(json missed <"$d"))"
    R_DET_P99=$(json p99 <"$d"); R_DET_MAX=$(json max <"$d"); R_DET_MAX=${R_DET_MAX/None/1e9}; R_DET_MISSED=$(json missed <"$d")
    ROWS+=$(printf '\n  %-14s %6s %3s %-5s %5s  %9s %6s %8s  %6s  %7s  %-34s %7s  %s  %7s  %s  %s' \
        "$name" "$n" "$iv" "$4" "$([ "$4" = batch ] && echo "$5" || echo -)" "$R_POLLS" "$R_REQS" "$R_REQ_PER_K" \
        "$(fmt %.2f "$R_CPU")" "$R_CPU_PER_K" \
        "$(exit_stat "$name" p50)/$R_P99/$(exit_stat "$name" max) (${R_MP99// /})" "$R_RSS" \
        "$R_DET" "$R_EV_PER_POLL" "sim $R_SIM% ($R_ANSWER ms) rest $R_OTHER%" "load $R_LOAD")
    echo "   requests/1,000 agent-polls $R_REQ_PER_K, CPU/1,000 agent-polls $R_CPU_PER_K s, lateness p99 $R_P99 ms (measured part: $R_MP99), $R_LOOP, request time $R_DURATION, VmHWM $R_RSS KiB, detection $R_DET, sim $R_SIM% (its answer time mean/p99/max, calls; state: $R_ANSWER ms), rest $R_OTHER%, failed $(exit_stat "$name" failed), events $(exit_stat "$name" events) ($R_EVENTS measured: $R_EV_PER_POLL per agent-poll), state agent-polls $R_STATE"
}

verdict() { if [ "$(calc "($1) ? 1 : 0")" = 1 ]; then echo met; else echo MISSED; fi; }
TARGETS=""
target() { TARGETS+=$(printf '\n  %-58s %-40s %s' "$1" "$2" "$(verdict "$3")"); }

first=1
for set in $SETS; do
    n=${set%:*}; iv=${set#*:}
    if [ "$first" = 1 ] && [ "${BENCH_AGENT_MODE:-1}" != 0 ]; then
        one "agent-$n" "$n" "$iv" agent 1000
        AGENT_CPU_PER_K=$R_CPU_PER_K
    fi
    for b in $SIZES; do
        one "batch$b-$n" "$n" "$iv" batch "$b"
        rss=$R_RSS
        target "$set batch $b: requests per 1,000 agent-polls <= 2" "$R_REQ_PER_K" "$R_REQ_PER_K <= 2"
        [ "$first" = 1 ] && [ -n "${AGENT_CPU_PER_K:-}" ] &&
            target "$set batch $b: CPU/1,000 agent-polls <= 1/20 of per agent" \
                "$R_CPU_PER_K vs $AGENT_CPU_PER_K s = 1/$(calc "sprintf(\"%.1f\", $AGENT_CPU_PER_K / $R_CPU_PER_K)")" \
                "$R_CPU_PER_K * 20 <= $AGENT_CPU_PER_K"
        target "$set batch $b: lateness p99 <= 50 ms" "$R_P99 ms" "$R_P99 <= 50"
        target "$set batch $b: detection <= interval + 100 ms (p99, max)" "$R_DET_P99, $R_DET_MAX ms, missed $R_DET_MISSED" \
            "$R_DET_MAX <= $iv * 1000 + 100 && $R_DET_MISSED == 0"
        if [ "$b" = "${SIZES%% *}" ] && [ "${BENCH_RSS_MID:-1}" != 0 ]; then
            mid=$((n / 2))
            one "batch$b-$mid" "$mid" "$iv" batch "$b"
            per=$(calc "sprintf(\"%.0f\", ($rss - $R_RSS) * 1024 / ($n - $mid))")
            target "$set batch $b: RSS per agent <= 1 KiB (VmHWM $n - $mid)" "$per bytes" "$per <= 1024"
        fi
    done
    first=0
done

cat <<EOR

agentwatchd batch polling benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $DUR s measured per run
machine: $(machine)
load average before: $LOAD_BEFORE; at the end: $(cut -d' ' -f1-3 /proc/loadavg)
daemon: $DAEMON (source $SOURCE), state_dir on, max_in_flight 32, simulator $WORKERS process(es) --no-verify $([ "${BENCH_RANDOM:-1}" = off ] && echo "quiet (BENCH_RANDOM=off)" || echo "--random ${BENCH_RANDOM:-1} --random-pace $PACE")

  run            agents int  api   batch  agent-polls   reqs  req/1k   CPU s  CPU/1k   lateness p50/p99/max ms (measured p99) VmHWM   detection p50 / p99 / max                 ev/poll  sim CPU (answer ms mean/p99/max: calls; state)$ROWS

targets$TARGETS
EOR
