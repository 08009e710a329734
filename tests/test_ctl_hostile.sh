#!/bin/bash
# test_ctl_hostile.sh: agentwatchctl against a peer that is not a sane agentwatchd: event pages
# that never move forward (tail must end), an event stream with an endless line (tail -f must
# say so and reconnect, memory bounded), answers that are not JSON. It must never hang without
# bound or crash.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
aw_budget 30
CTL=$AW_BUILD/agentwatchctl

# A fake daemon: MODE decides what it answers.
cat > "$AW_TMP/fake.py" <<'PY'
import http.server, json, sys
mode = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def send(self, body, ctype="application/json"):
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self):
        if mode == "stuck" and self.path.startswith("/api/v1/events?"):
            ev = {"seq": 3, "type": "agent.busy", "time": "2026-01-01T00:00:00.000Z",
                  "agent": {"cc": 1, "vdn": 170, "id": 1099}}
            return self.send(json.dumps({"events": [ev], "next_after": 0, "last_seq": 99}))
        if mode == "endless" and self.path.startswith("/api/v1/events/stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                self.wfile.write(b"id: 1\ndata: ")
                chunk = b"x" * 65536
                for _ in range(64):    # 4 MiB without a newline, then the connection ends
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
            return
        self.send("not json", "text/plain")
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
fake() {   # fake MODE: starts the fake daemon; sets FAKE
    rm -f "$AW_TMP/fake.port"
    "$AW_PYTHON" "$AW_TMP/fake.py" "$AW_TMP/fake.port" "$1" &
    aw_pids+=($!)
    FAKE_PID=$!
    wait_for 10 test -s "$AW_TMP/fake.port" || { fail "the fake daemon starts"; aw_done; }
    FAKE=http://127.0.0.1:$(cat "$AW_TMP/fake.port")
}

fake stuck
timeout 15 "$CTL" -u "$FAKE" tail --after 0 > "$AW_TMP/stuck.out" 2> "$AW_TMP/stuck.err"
rc=$?
check "stuck pages: tail ends by itself (exit $rc, not killed after 15 s)" [ "$rc" != 124 ]
lines=$(wc -l < "$AW_TMP/stuck.out")
check "stuck pages: the page shown once, not again and again ($lines lines)" [ "$lines" -le 2 ]
timeout 15 "$CTL" -u "$FAKE" status > /dev/null 2> "$AW_TMP/garbage.err"
expect_eq "not JSON: status fails with exit 1" "$?" 1
expect_grep "not JSON: says so" 'the answer is not JSON' "$AW_TMP/garbage.err"
kill "$FAKE_PID"

fake endless
timeout 8 "$CTL" -u "$FAKE" tail -f --after 0 > /dev/null 2> "$AW_TMP/endless.err"
expect_eq "endless line: tail -f is still following (killed by timeout)" "$?" 124
expect_grep "endless line: refused as longer than 1 MiB, then reconnects" \
    'longer than 1048576 bytes.*again in' "$AW_TMP/endless.err"
kill "$FAKE_PID"
aw_done
