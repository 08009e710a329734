#!/bin/bash
# bench/wallboard.sh: what the wallboard costs the browser at scale (not a test; see README.md).
#
# BENCH_AGENTS agents (2,000) in four teams, polled every BENCH_INTERVAL s (5) at the TLS simulator
# with --random 1, so that calls come and go; the page opened in headless chromium (tests/cdp.py)
# grouped by team at 1920x1080. It reports, from the page's own performance.now() figures:
#   - the first render (snapshot to tiles) and a full re-render with layout (the group selector);
#   - every event the stream brought during BENCH_SECONDS (30): the time to apply it (tile,
#     counts, events list), p50/p99/max;
#   - EVENTS (300) more events applied one at a time with a forced style and layout after each
#     (document.body.offsetHeight inside the timing), which is the cost the browser really pays;
#   - the once-a-second timer update of every visible tile.
# BENCH_SHOT=FILE keeps a screenshot of BENCH_SIZE ("1920 1080"); BENCH_LONG_CALL (60) is the
# daemon's alerts.long_call; BENCH_UNREACHABLE (0) agents get a connection reset from the start.
# Environment also: AW_BUILD (../build), PYTHON3.
set -u

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${AW_BUILD:-$SRC/build}
DAEMON=$BUILD/agentwatchd
AGENTS=${BENCH_AGENTS:-2000}
INTERVAL=${BENCH_INTERVAL:-5}
DUR=${BENCH_SECONDS:-30}
EVENTS=${EVENTS:-300}
PY=${PYTHON3:-python3}
. "$SRC/bench/lib.sh"
bench_init wallboard.sh

[ -x "$DAEMON" ] || die "no daemon at $DAEMON"
echo "== machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== browser: $(chromium --version 2>/dev/null | tail -1)"

bench_start_sim
for ((i = 0; i < ${BENCH_UNREACHABLE:-0}; i++)); do
    curl -sS --max-time 5 --cacert "$TMP/pki/ca.pem" -H 'Content-Type: application/json' \
        --data "{\"agent\":\"1:170:$((105 + 37 * i))\",\"fault\":\"reset\"}" \
        "https://127.0.0.1:$SIM_PORT/sim/agent" >/dev/null || die "the simulator refused a fault"
done

teams="" per=$(((AGENTS + 3) / 4)) first=101
for t in billing sales support retention; do
    last=$((first + per - 1))
    ((last > 100 + AGENTS)) && last=$((100 + AGENTS))
    ((first <= last)) && teams="$teams${teams:+,} { cc = 1; vdn = 170; range = [ $first, $last ]; labels = { team = \"$t\"; }; }"
    first=$((last + 1))
done
cat > "$TMP/bench.conf" <<EOF
cms = { url = "https://127.0.0.1:$SIM_PORT"; app_key = "BENCH";
  app_secret_file = "$TMP/cms.secret"; tls = { ca_file = "$TMP/pki/ca.pem"; }; };
poll = { interval = $INTERVAL; };
alerts = { long_call = ${BENCH_LONG_CALL:-60}; };
agents = ( $teams );
outputs = { journal = false; };
http = { listen = [ "127.0.0.1:0" ]; };
EOF
"$DAEMON" -c "$TMP/bench.conf" >/dev/null 2>"$TMP/daemon.err" &
pids+=($!)
wait_for 10 grep -q 'listening on 127' "$TMP/daemon.err" || die "the daemon did not listen: $(tail -3 "$TMP/daemon.err")"
ADDR=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$TMP/daemon.err" | head -1 | sed 's/^listening on //')
echo "== $AGENTS agents every $INTERVAL s; warming up for $((2 * INTERVAL)) s"
sleep $((2 * INTERVAL))

coproc CDP { "$PY" "$SRC/tests/cdp.py" 2>"$TMP/cdp.err"; }
pids+=("$CDP_PID")
cdp() {
    local line
    echo "${*//$'\n'/ }" >&"${CDP[1]}"
    read -r -t 120 line <&"${CDP[0]}" || line="fail no answer"
    [[ $line == ok* ]] || die "browser: $* -> $line"
    line=${line#ok }
    line=${line#\"}
    echo "${line%\"}"   # a string without its quotes
}
cdp open "http://$ADDR/?group=team" ${BENCH_SIZE:-1920 1080} >/dev/null
cdp wait 60 "wallboard.connected && document.querySelectorAll('.tile').length === $AGENTS" >/dev/null
# summary EXPR: "n=N p50 X ms, p99 Y ms, max Z ms" of an array of milliseconds
summary() {
    cdp eval "(a => { a = a.slice().sort((x, y) => x - y); const q = p => a[Math.min(a.length - 1, Math.floor(p * a.length))];
      return a.length ? 'n=' + a.length + ' p50 ' + q(0.5).toFixed(2) + ' ms, p99 ' + q(0.99).toFixed(2) + ' ms, max ' + a[a.length - 1].toFixed(2) + ' ms' : 'none'; })($1)"
}
echo "first render of $AGENTS tiles (snapshot to DOM): $(cdp eval "wallboard.stats.render_ms.toFixed(1)") ms; shown $(cdp eval "wallboard.stats.first_render_at.toFixed(0)") ms after navigation"
rerender=$(cdp eval "(() => { const s = document.querySelector('#group'), t = [];
  for (const g of ['', 'team', '', 'team']) { const t0 = performance.now(); s.value = g; s.dispatchEvent(new Event('change'));
    document.body.offsetHeight; t.push(performance.now() - t0); } return t.map(x => x.toFixed(1)).join(', '); })()")
echo "full re-render with layout (group by nothing/team, 4 times): $rerender ms"

cdp eval "wallboard.stats.apply_ms.length = 0, true" >/dev/null
before=$(cdp eval "wallboard.stats.applied")
sleep "$DUR"
echo "events from the stream in $DUR s: $(cdp eval "wallboard.stats.applied - $before"); apply each (the last 1,000; performance.now() steps by 0.1 ms): $(summary wallboard.stats.apply_ms)"
echo "timer update of the visible tiles, once a second: $(cdp eval "wallboard.stats.tick_ms.toFixed(2)") ms"

[ -n "${BENCH_SHOT:-}" ] && cdp shot "$BENCH_SHOT" >/dev/null && echo "screenshot: $BENCH_SHOT"
synth=$(cdp eval "(() => {
  const keys = [...wallboard.agents.keys()], t = [], now = new Date().toISOString();
  for (let i = 0; i < $EVENTS; i++) {
    const k = keys[((i >> 1) * 7919) % keys.length].split(':');
    const ev = { type: i % 2 ? 'call.ended' : 'call.started', time: now, call_id: 'bench-' + (i >> 1),
      call_first_seen: now, agent: { cc: +k[0], vdn: +k[1], id: +k[2] }, call_status: 'talking' };
    const t0 = performance.now();
    wallboard.apply(ev);
    document.body.offsetHeight;
    t.push(performance.now() - t0);
  }
  return t;
})()")
echo "$EVENTS events applied with forced style and layout each: $(summary "$synth")"
echo "tiles on the page at the end: $(cdp eval "document.querySelectorAll('.tile').length")"
errors=$(cdp errors)
[ "$errors" = "[]" ] || echo "page errors: $errors"
echo "quit" >&"${CDP[1]}"
