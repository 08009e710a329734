#!/bin/bash
# demo.sh: builds agentwatchd and agentwatchctl and runs the daemon, in its default mode (batch
# polling with cms.api = "auto", agent state on), against the bundled CMS simulator, whose agents
# start, hold and end calls and change CTI state at random: the events print as they happen, and
# its HTTP endpoint serves the live state and the wallboard on DEMO_HTTP (default 127.0.0.1:9477).
# DEMO_SECONDS (default 60) bounds the run; Ctrl-C stops it earlier.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
packaging/install-deps.sh build
# make runs every time, so a demo after a pull runs the new code (it does nothing when up to date).
[ -x build/demo/agentwatchd ] || echo "demo: building (about a minute the first time)"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build/demo
[ -f build/demo/Makefile ] || (cd build/demo && ../../configure -q >/dev/null)
make -C build/demo -j"$(nproc)" agentwatchd agentwatchctl >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agentwatchd-demo.XXXXXX")
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

bash tests/mkcerts.sh "$tmp"
head -c 24 /dev/urandom | base64 > "$tmp/cms.secret"
chmod 600 "$tmp/cms.secret"
python3 tests/cmssim.py --listen 127.0.0.1:0 --cert "$tmp/server.pem" --key "$tmp/server.key" \
	--ak DEMO --sk-file "$tmp/cms.secret" --random "$RANDOM" --port-file "$tmp/port" \
	>"$tmp/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done

cat > "$tmp/agentwatchd.conf" <<EOC
cms = {
  url = "https://127.0.0.1:$(cat "$tmp/port")";
  app_key = "DEMO";
  app_secret_file = "cms.secret";
  tls = { ca_file = "ca.pem"; };
  api = "auto";        # the default, written out: batch requests per (cc, vdn), with call detail
  batch_size = 1000;
};
poll = { interval = 1.0; agent_state = true; };   # the CTI state too (the default)
alerts = { long_call = 30.0; long_state = { rest = 30.0; wrap_up = 10.0; }; };
agents = (
  { cc = 1; vdn = 170; id = 1099; name = "alice"; },
  { cc = 1; vdn = 170; id = 1100; name = "bob"; },
  { cc = 1; vdn = 171; range = [ 2000, 2009 ]; labels = { team = "billing"; }; }
);
outputs = { journal = false; stdout = true; };
http = { listen = [ "${DEMO_HTTP:-127.0.0.1:9477}" ]; };
EOC

http=${DEMO_HTTP:-127.0.0.1:9477}
cat <<EOM
demo: the simulator serves 12 agents at https://127.0.0.1:$(cat "$tmp/port"); the daemon polls
demo: them in batches (cms.api "auto") with their CTI states (poll.agent_state) every second, and
demo: prints every event as a JSON line for ${DEMO_SECONDS:-60} s. Meanwhile, from another shell:
    $top/build/demo/agentwatchctl -u http://$http status
    $top/build/demo/agentwatchctl -u http://$http agents --state talking
    $top/build/demo/agentwatchctl -u http://$http tail -f
    curl -s http://$http/metrics | grep '^agentwatchd_polls_total'    # api="batch" and "state"
    curl -s http://$http/api/v1/agents    (or /healthz, /api/v1/events/stream)
demo: the wallboard: open http://$http/?group=team in a browser; a headless screenshot, once
demo: the tiles are drawn (a bare chromium --screenshot may fire before they are):
    printf '%s\\n' 'open http://$http/?group=team 1400 900' \\
      'wait 10 document.querySelectorAll(".tile").length' 'shot /tmp/wallboard.png' quit |
      python3 $top/tests/cdp.py
EOM
build/demo/agentwatchd -c "$tmp/agentwatchd.conf" -t
rc=0
timeout --foreground -s INT "${DEMO_SECONDS:-60}" build/demo/agentwatchd -c "$tmp/agentwatchd.conf" -v ||
	rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
	echo "demo: the daemon stopped (status $rc); if $http is taken, choose another address:" \
		"DEMO_HTTP=127.0.0.1:9478 bash tests/demo.sh" >&2
	exit "$rc"
fi
