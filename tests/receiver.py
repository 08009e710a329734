#!/usr/bin/env python3
"""receiver.py: a webhook receiver for agentwatchd's tests, and the checks of what it received.

Usage:
  receiver.py serve --out FILE --port-file FILE [--port N] [--secret-file FILE] [--mode MODE]
                    [--retry-after SECONDS] [--latency SECONDS] [--max-bytes N]
                    [--hold-agent CC:VDN:ID]
  receiver.py check OUT EMITTED... [--types GLOB,...] [--batch-max N] [--deadletter FILE]
                    [--first N] [--wait SECONDS] [--quiet]

serve: a threaded HTTP server on 127.0.0.1 (port 0 unless --port: a restarted receiver takes its
old port back). Every POST outside /ctl/ is a delivery: with --secret-file its
X-Agentwatch-Signature must be sha256=HEX(HMAC-SHA256(secret, timestamp "." body)) and its
X-Agentwatch-Timestamp within 300 s of now, else 401 (counted as bad_signature). The body is one
event or {"events":[...]}. In mode "ok" each event is appended to --out as one JSON line
{"t": arrival, "req": "PID.N" (the request), "key": Idempotency-Key, "batch": bool,
"n": events in the request, "event": {...}} and the answer is 200. Other modes do not record:
  down: 503 | 429: with Retry-After | 400 | hang: holds the request until the mode changes, then 503
  | ackloss: records the events, then holds the request like hang (the acknowledgement is lost).
--latency: every delivery is answered that many seconds after it arrived (a receiver far away).
--max-bytes: a body larger than N bytes is refused with 413 {"error": "...N..."} in any mode.
--hold-agent: a request holding an event of that agent is held until the mode changes, then
answered 503 without recording (its acknowledgement never comes while the others' do).
Requests are tracked while they are answered: stats "max_concurrent" is the most at once, and
"agent_overlaps" counts requests that arrived while another one held an event of the same agent
(the daemon must never do that).
Control API, unsigned: POST /ctl/mode {"mode": MODE[, "retry_after": SECONDS]},
GET /ctl/stats -> {"requests", "accepted", "events", "bad_signature", "bad_body",
"status": {code: n}, "user_agents", "content_types", "max_concurrent", "agent_overlaps",
"log": [{"t", "status", "n", "key"}...]}.
Stopping the process is the other way to be down.

check: compares OUT (what serve recorded) with EMITTED (the daemon's stdout, one or more runs in
order), restricted to event types matching --types: every emitted event arrived, nothing arrived
that was not emitted, a repeated id always carries the identical event, each agent's events
arrived in emitted order, single-event requests carry the event id as Idempotency-Key and batches
"batch-FIRST-LAST", and no request held more than --batch-max events. Events in the payloads of
--deadletter (agentwatchd's deadletter.jsonl) count as accounted for. --first N: only the first
N emitted lines (of all EMITTED files in order) must have arrived, later ones may be on their way.
--wait: waits up to SECONDS for missing events before judging. Exits 0 when all hold;
diagnostics go to stdout, indented.
"""

import argparse
import fnmatch
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time

MAX_SKEW = 300
HOLD_LIMIT = 60     # seconds a held request waits for a mode change at most
MODES = {"ok", "down", "429", "400", "hang", "ackloss"}


class State:
    def __init__(self, out, secret, mode, retry_after, latency=0.0, max_bytes=0, hold_agent=None):
        self.out = open(out, "a", encoding="utf-8")
        self.latency = latency
        self.max_bytes = max_bytes
        self.hold_agent = hold_agent
        self.busy_agents = {}     # agent -> requests holding one of its events now
        self.concurrent = 0
        self.secret = secret
        self.mode = mode
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.stats = {"requests": 0, "accepted": 0, "events": 0, "bad_signature": 0,
                      "bad_body": 0, "status": {}, "user_agents": [], "content_types": [],
                      "max_concurrent": 0, "agent_overlaps": 0, "log": []}

    def count(self, status, n, key):
        with self.lock:
            s = self.stats
            s["status"][str(status)] = s["status"].get(str(status), 0) + 1
            s["log"].append({"t": time.time(), "status": status, "n": n, "key": key})
            del s["log"][:-2000]

    def record(self, events, key, batch):
        with self.lock:
            self.stats["accepted"] += 1
            self.stats["events"] += len(events)
            req = "%d.%d" % (os.getpid(), self.stats["accepted"])   # unique across restarts
            now = time.time()
            for ev in events:
                self.out.write(json.dumps({"t": now, "req": req, "key": key, "batch": batch,
                                           "n": len(events), "event": ev},
                                          separators=(",", ":")) + "\n")
            self.out.flush()

    def enter(self, agents):
        """A request holding events of agents begins: counts concurrency and overlaps."""
        with self.lock:
            self.concurrent += 1
            self.stats["max_concurrent"] = max(self.stats["max_concurrent"], self.concurrent)
            if any(self.busy_agents.get(a) for a in agents):
                self.stats["agent_overlaps"] += 1
            for a in agents:
                self.busy_agents[a] = self.busy_agents.get(a, 0) + 1

    def leave(self, agents):
        with self.lock:
            self.concurrent -= 1
            for a in agents:
                self.busy_agents[a] -= 1

    def hold(self, mode):
        """Waits until the mode is no longer mode (bounded)."""
        limit = time.monotonic() + HOLD_LIMIT
        with self.lock:
            while self.mode == mode and time.monotonic() < limit:
                self.changed.wait(0.2)


def read_secret(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith(b"\n") else data


def signature_ok(secret, headers, body):
    ts = headers.get("X-Agentwatch-Timestamp", "")
    sig = headers.get("X-Agentwatch-Signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > MAX_SKEW:
        return False
    want = "sha256=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig.encode(), want.encode())


def events_of(body):
    """(events, batch) of a delivery body, or None when it is neither form."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("events"), list) and set(doc) == {"events"}:
        evs = doc["events"]
        return (evs, True) if evs and all(isinstance(e, dict) for e in evs) else None
    if isinstance(doc, dict) and isinstance(doc.get("id"), str) and "type" in doc:
        return [doc], False
    if isinstance(doc, list) and doc and all(isinstance(a, dict) for a in doc):
        return doc, True    # Alertmanager's form: an array of alerts
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        sys.stderr.write("receiver: " + (fmt % args) + "\n")

    def answer(self, status, doc=None, headers=()):
        body = json.dumps(doc if doc is not None else {"status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        st = self.state
        if self.path == "/ctl/stats":
            with st.lock:
                doc = json.loads(json.dumps(st.stats))
                doc["mode"] = st.mode
            self.answer(200, doc)
        else:
            self.answer(404)

    def control(self, body):
        st = self.state
        try:
            doc = json.loads(body)
            mode = doc["mode"]
            if mode not in MODES:
                raise ValueError(mode)
        except (ValueError, KeyError, TypeError):
            self.answer(400, {"error": "want {\"mode\": one of %s}" % sorted(MODES)})
            return
        with st.lock:
            st.mode = mode
            st.retry_after = doc.get("retry_after", st.retry_after)
            st.changed.notify_all()
        self.answer(200, {"ok": True})

    def do_POST(self):
        st = self.state
        body = self.body()
        if self.path == "/ctl/mode":
            self.control(body)
            return
        key = self.headers.get("Idempotency-Key", "")
        with st.lock:
            st.stats["requests"] += 1
            for name, field in (("User-Agent", "user_agents"), ("Content-Type", "content_types")):
                v = self.headers.get(name, "")
                if v not in st.stats[field]:
                    st.stats[field].append(v)
            mode, retry_after = st.mode, st.retry_after
        if st.secret is not None and not signature_ok(st.secret, self.headers, body):
            with st.lock:
                st.stats["bad_signature"] += 1
            st.count(401, 0, key)
            self.answer(401, {"error": "bad signature"})
            return
        if st.max_bytes and len(body) > st.max_bytes:
            st.count(413, 0, key)
            self.answer(413, {"error": "payload of %d bytes exceeds the limit of %d bytes"
                              % (len(body), st.max_bytes)})
            return
        parsed = events_of(body)
        if parsed is None:
            with st.lock:
                st.stats["bad_body"] += 1
            st.count(422, 0, key)
            self.answer(422, {"error": "not an event nor {\"events\": [...]}"})
            return
        events, batch = parsed
        agents = {agent_of(e) for e in events}
        st.enter(agents)
        try:
            status, doc, headers = self.deliver(events, batch, key, mode, retry_after)
        finally:
            st.leave(agents)    # before the answer: the next request may follow at once
        self.answer(status, doc, headers)

    def deliver(self, events, batch, key, mode, retry_after):
        """(status, body, headers) of the answer to a delivery."""
        st = self.state
        if st.latency:
            time.sleep(st.latency)
        if st.hold_agent and any(agent_of(e) == st.hold_agent for e in events):
            st.hold(mode)
            mode = "down"
        if mode in ("hang", "ackloss"):
            if mode == "ackloss":
                st.record(events, key, batch)
            st.hold(mode)
            mode = "down"
        status = {"ok": 200, "down": 503, "429": 429, "400": 400}[mode]
        if status == 200 and mode == "ok":
            st.record(events, key, batch)
        st.count(status, len(events), key)
        headers = [("Retry-After", str(retry_after))] if status == 429 else []
        return status, None if status != 400 else {"error": "refused for good"}, headers


def serve(args):
    secret = read_secret(args.secret_file) if args.secret_file else None
    Handler.state = State(args.out, secret, args.mode, args.retry_after, args.latency,
                          args.max_bytes, args.hold_agent)
    http.server.ThreadingHTTPServer.request_queue_size = 256   # many connections at once
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


# ---------------------------------------------------------------------------
# check


def load_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in data.split("\n")[:-1]]


def agent_of(ev):
    a = ev.get("agent") or {}
    return "%s:%s:%s" % (a.get("cc"), a.get("vdn"), a.get("id"))


def say(lines):
    for line in lines[:25]:
        print("    " + line)
    if len(lines) > 25:
        print("    ... and %d more" % (len(lines) - 25))


def check_keys(got):
    """Idempotency keys and batch sizes, per request."""
    errors, reqs = [], {}
    for r in got:
        reqs.setdefault(r["req"], []).append(r)
    for req, recs in sorted(reqs.items()):
        ids = [r["event"].get("id") for r in recs]
        if not recs[0]["batch"] and len(recs) != 1:
            errors.append("request %s: %d events without {\"events\": [...]}" % (req, len(recs)))
        want = ("batch-%s-%s" % (ids[0], ids[-1])) if recs[0]["batch"] else ids[0]
        if recs[0]["key"] != want:
            errors.append("request %s: Idempotency-Key %r, want %r" % (req, recs[0]["key"], want))
    return errors, reqs


def evaluate(args, globs):
    """(errors, summary) of one look at what arrived."""
    got = load_lines(args.out)     # first: whatever arrived was emitted before this
    lines = [e for path in args.emitted for e in load_lines(path)]
    required = {e["id"] for e in (lines[:args.first] if args.first is not None else lines)}
    emitted = [e for e in lines if any(fnmatch.fnmatchcase(e.get("type", ""), g) for g in globs)]
    errors = []
    want_ids = {e["id"]: e for e in emitted}
    first = {}
    for r in got:
        ev = r["event"]
        if ev.get("id") in first:
            if ev != first[ev["id"]]:
                errors.append("id %s arrived twice with different contents" % ev["id"])
        else:
            first[ev["id"]] = ev
        if ev.get("id") not in want_ids:
            errors.append("arrived but not emitted (or filtered out): %s" % json.dumps(ev))
    dead = set()
    for entry in load_lines(args.deadletter) if args.deadletter else []:
        parsed = events_of(json.dumps(entry.get("payload"))) or ([], False)
        dead.update(e.get("id") for e in parsed[0])
    missing = [e for e in emitted
               if e["id"] in required and e["id"] not in first and e["id"] not in dead]
    errors += ["emitted, never arrived: %s %s %s" % (agent_of(e), e["type"], e["id"])
               for e in missing]
    for e in emitted:
        if e["id"] in first and first[e["id"]] != e:
            errors.append("arrived different from emitted: %s" % e["id"])
    # Per agent, the order of first arrivals is the emitted order.
    order = {}
    for ev in first.values():     # dicts keep insertion (arrival) order
        order.setdefault(agent_of(ev), []).append(ev["id"])
    for agent, ids in order.items():
        want = [e["id"] for e in emitted if agent_of(e) == agent and e["id"] in first]
        if ids != want:
            errors.append("agent %s: arrival order differs from emitted order" % agent)
    key_errors, reqs = check_keys(got)
    errors += key_errors
    biggest = max((len(v) for v in reqs.values()), default=0)
    if args.batch_max and biggest > args.batch_max:
        errors.append("a request held %d events, batch_max is %d" % (biggest, args.batch_max))
    summary = ("%d emitted (%d required), %d arrived (%d distinct, %d duplicates) in %d requests, "
               "largest %d, %d dead-lettered" % (len(emitted), len(required & set(want_ids)),
                                                 len(got), len(first), len(got) - len(first),
                                                 len(reqs), biggest, len(dead)))
    return errors, summary, bool(missing)


def check(args):
    globs = args.types.split(",") if args.types else ["*"]
    limit = time.monotonic() + args.wait
    while True:
        errors, summary, incomplete = evaluate(args, globs)
        if not incomplete or time.monotonic() >= limit:
            break
        time.sleep(0.1)
    if not args.quiet:
        print("    " + summary)
        say(errors)
    return 1 if errors else 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--out", required=True)
    s.add_argument("--port-file", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--secret-file")
    s.add_argument("--mode", default="ok", choices=sorted(MODES))
    s.add_argument("--retry-after", type=int, default=2)
    s.add_argument("--latency", type=float, default=0.0)
    s.add_argument("--max-bytes", type=int, default=0)
    s.add_argument("--hold-agent")
    c = sub.add_parser("check")
    c.add_argument("out")
    c.add_argument("emitted", nargs="+")
    c.add_argument("--types")
    c.add_argument("--batch-max", type=int, default=0)
    c.add_argument("--deadletter")
    c.add_argument("--quiet", action="store_true", help="only the exit status")
    c.add_argument("--first", type=int, help="only the first N emitted lines must have arrived")
    c.add_argument("--wait", type=float, default=0, help="seconds to wait for missing events")
    args = p.parse_args(argv[1:])
    return serve(args) if args.cmd == "serve" else check(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
