#!/bin/bash
# test_prometheus.sh: a real Prometheus server scrapes /metrics (with basic auth) every second and
# its query API shows the daemon's series: up, polls, calls, events, the poll duration histogram.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

aw_budget 80
A=1:170:1099 B=1:170:1100

PROM_BIN=${PROMETHEUS:-$(command -v prometheus)}
if [ -z "$PROM_BIN" ]; then
    echo "SKIP - prometheus is not installed"
    exit 77
fi

aw_start_sim sim
sim_set $A '"calls":["a1","a2"]'
sim_set $B '"calls":[]'
PW=scrape-pw
printf 'prom:%s\n' "$(openssl passwd -6 "$PW")" > "$AW_TMP/http.users"
chmod 600 "$AW_TMP/http.users"
aw_config "$AW_TMP/main.conf" '{ cc = 1; vdn = 170; id = 1099; name = "alice"; }, { cc = 1; vdn = 170; id = 1100; }' "
poll = { interval = 0.2; };
outputs = { journal = false; };
http = { listen = [ \"127.0.0.1:0\" ]; users_file = \"$AW_TMP/http.users\"; agent_metrics = true; };"
aw_start_daemon main "$AW_TMP/main.conf"
ADDR=$(aw_http_addr main)
aw_need_http main "$ADDR"
settle 2 $A $B

PROM_PORT=$("$AW_PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
cat > "$AW_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: agentwatchd
    basic_auth: { username: prom, password: $PW }
    static_configs:
      - targets: [ "$ADDR" ]
EOF
"$PROM_BIN" --config.file="$AW_TMP/prometheus.yml" --storage.tsdb.path="$AW_TMP/prom" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$AW_TMP/prom.log" 2>&1 &
aw_pids+=($!)
P=http://127.0.0.1:$PROM_PORT
if ! until_ok 30 curl -sf --max-time 1 "$P/-/ready" -o /dev/null; then
    echo "prometheus did not start:"; tail -20 "$AW_TMP/prom.log"; exit 99
fi

# query EXPR: the first result's value, empty when there is none
query() {
    curl -sS --max-time 3 -G "$P/api/v1/query" --data-urlencode "query=$1" | "$AW_PYTHON" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}
is() { [ "$(query "$1")" = "$2" ]; }
positive() { "$AW_PYTHON" -c 'import sys; sys.exit(0 if float(sys.argv[1] or 0) > 0 else 1)' "$(query "$1")"; }

check "Prometheus scrapes the daemon: up == 1" until_ok 30 is 'up{job="agentwatchd"}' 1
check "polls_total by result" until_ok 10 positive 'agentwatchd_polls_total{result="ok"}'
check "agent_polls_total by poll and result" \
    until_ok 10 positive 'agentwatchd_agent_polls_total{poll="calls",result="ok"}'
check "calls_active" until_ok 10 is 'sum(agentwatchd_calls_active)' 2
check "agents by state" until_ok 10 is 'count(agentwatchd_agents)' 12
check "per-agent calls" until_ok 10 is 'agentwatchd_agent_calls{agent="1099",name="alice"}' 2
check "events by type" until_ok 10 is 'agentwatchd_events_total{type="call.started"}' 2
check "build_info" until_ok 10 is 'count(agentwatchd_build_info{version!=""})' 1
check "poll_duration_seconds is a histogram Prometheus can take quantiles of" \
    until_ok 10 positive 'histogram_quantile(0.99, rate(agentwatchd_poll_duration_seconds_bucket[10s]))'
sim_set $B '"calls":["b1"]'
check "a new call shows within a few scrapes" until_ok 15 is 'sum(agentwatchd_calls_active)' 3
curl -sS --max-time 3 "$P/api/v1/targets" > "$AW_TMP/targets"
expect_grep "no scrape error" '"lastError":""' "$AW_TMP/targets"
aw_done
