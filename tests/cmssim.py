#!/usr/bin/env python3
"""cmssim.py: a Huawei CC-CMS simulator (auth-v2, faults, scripting API) for tests and benches.

Serves the per-agent path agent/queryagentcalls and both batch paths, agentgroup/queryagentcalls
("batch", up to 3000 agentIds) and agentgroup/agentstatusinfobyagentids ("state", up to 6000), all
with the same auth-v2 check (cms-api.md). Beside this file: cmsbatch.py (the batch paths),
cmsscenario.py (faults, scripted agents, switches), cmsmodel.py (--random), cmshttp.py (HTTP),
cmssign.py (the signature), cmsstats.py (/sim/stats).

Usage:
  cmssim.py --selftest
  cmssim.py --listen HOST:PORT [--cert PEM --key PEM [--client-ca PEM]] (--ak AK --sk-file FILE | --no-verify)
            [--skew SECONDS] [--scenario FILE.json] [--random SEED] [--port-file FILE] [--log FILE]
            [--random-pace K] [--random-agents CC:VDN:FIRST-LAST] [--served FILE] [--workers N]

Scenario: {"agents": {"CC:VDN:ID": AGENT}, "default": AGENT, "unknown_agents": "empty"|"missing",
"config": CONFIG}. AGENT is {"calls": [...], "fault": "..."|null, "state": {...}|null, "absent": bool};
a key missing from an agent's entry falls back to "default" (calls and state: to random activity under
--random); "fault": null means no fault.
- "calls": call IDs (strings; any JSON value is answered verbatim by the per-agent path) or objects
  {"callId":..,"callStatus":5,"callInOut":0,"mediaType":5,"submediaType":".."}. The batch path fills a
  missing callStatus/callInOut/mediaType with 5 talking / 0 inbound / 5 phone and leaves out keys set to
  null; the per-agent path answers the callIds.
- "state": fields of a state entry, at least currentState, e.g. {"currentState":8,
  "currentStateTime":100,"currentStateReason":258}; the others get defaults (not-set markers when
  currentState is 0). currentStateTime counts on from the moment the state was set.
  Without "state" (and without --random, or with scripted calls): talking (5) while the agent has
  calls, else idle (1), timed from the change the simulator saw.
- "absent": true leaves the agent out of both batch answers (the per-agent path is unaffected).
- "unknown_agents": "missing" makes agents without an entry unknown: 0101002 on the per-agent path,
  absent from batch answers.
Faults: http:CODE nonjson wrongshape badids cmserror:CODE legacy slow:SECONDS reset huge truncated hang,
and for the batch paths also unasked (an extra entry for an agent not asked for) and duplicate (an
entry twice: that agent's poll fails, the others' answer). A per-agent "fault" applies to the per-agent path only; a batch path's fault is set for
the whole path with CONFIG batch_fault / state_fault (legacy, unasked and slow still answer).

CONFIG (scenario "config" or POST /sim/config; keys given replace the current value):
  batch_404: true|false|[[cc,vdn],...]   the batch calls path answers HTTP 404 (for those groups)
  state_404: same                        the state path answers HTTP 404
  state_permission: same                 the state path answers resultCode 0101003 (insufficient
                                         permission, cms-api.md section 1)
  batch_fault, state_fault: FAULT|null   a fault for every request on that path
Batch requests are checked as the CMS would: ccId 1..65535, vdn 1..5000, agentIds a list of 1..3000
(state: 1..6000) unique valid agent IDs, else resultCode 0100002. Entries come in an order that does
not follow the request (a fixed permutation): clients must key them by agentId.

--random SEED: random activity for unscripted agents (cmsmodel.py): calls that ring (4), are talked
(5), held (6) and now and then three-party (9), inbound or outbound, mostly phone; agent states that
follow them (answering, talking, wrap_up, then idle; rest and busy episodes; 2% signed out with the
4294967295/65535 markers). The per-agent path answers the same call IDs as the batch path.
--random-pace K makes every duration but ringing K times as long (calls of 5..40 s become 50..400 s
with K = 10, idle gaps likewise), so agents change K times less often: about 1.1 events per agent-poll
at 10,000 agents every 5 s with K = 1, a contact center's rate with K of 10 or more. Default 1.

Batch answers are built from each agent's cached answer (the model's, until its next boundary), and a
request body seen before is not parsed again, so that one process can answer 50,000 agents a second.

--served FILE: one JSON line per answered CMS request, at the time it was answered (judge.py reads it):
  {"t":UNIX,"path":"batch"|"state"|"agent","cc":1,"vdn":170[,"fault":NAME][,"delay":S],
   "agents":{"1099":{"calls":[objects]} | {"state":{entry}} | "absent" | "failed" | "refused"}}
"failed": the request failed for that agent (fault, 401, invalid request, 0101002); "refused": the
batch_404/state_404/state_permission switch; per-agent calls carry only callId; "delay": a slow fault.

Control API (unsigned, same port): POST /sim/agent {"agent":"1:170:1099", AGENT keys},
POST /sim/config CONFIG, GET /sim/config, GET /sim/stats[?agent=CC:VDN:ID], GET /sim/windows?width=S,
POST /sim/reset-stats. /sim/stats has requests per path and agents asked ("by_path"), per agent
polls (calls requests on either path), state_polls and both counted since the agent was last set,
and per path the answer times ("answer_ms": n, mean, p99, max in ms, from the request read to its
answer handed to the connection, before TLS and the network).
Polls count authenticated, well-formed CMS requests when answered (for hang: when received).

--random-agents CC:VDN:FIRST-LAST builds those agents' timelines at start-up (4 s for 50,000; before
the port file is written, and before the fork, so every worker has them).

--workers N forks N processes, each with its own SO_REUSEPORT socket. Random activity stays consistent
across them. A control change (POST /sim/agent, /sim/config, /sim/reset-stats) reaches every worker
(cmscontrol.py): the worker that takes it applies it and appends it to a file shared by all, and every
worker applies what the others appended before it handles its next request, so every answer begun
after the POST was answered has the change. GET /sim/stats, /sim/windows and /sim/config answer with
the counts of whichever worker takes that connection. --served lines of all workers go to one file.
"""

import argparse
import asyncio
import gc
import hmac
import json
import os
import signal
import socket
import ssl
import sys
import time
import urllib.parse

from cmsbatch import (BatchPaths, failed_served, json_object_of, served_from_body, valid_agent_id,
                      valid_ids)
from cmscontrol import SHARED, ControlLog
from cmshttp import (MAX_HEADER, BadRequest, Reply, json_reply, read_request, reason,
                     response_head, set_linger_zero, text_reply)
from cmsmodel import RandomActivity, compact
from cmsscenario import (CMS_ERRORS, INVALID, MISSING, UNSET, Agent, Scenario, agent_key,
                         agent_update, call_id, fault_name, ok_payload)
from cmssign import canonical_request, parse_timestamp, sign
from cmsstats import Stats

CMS_PATH = "/rest/cmsapp/v1/openapi/agent/queryagentcalls"
BATCH_PATH = "/rest/cmsapp/v1/openapi/agentgroup/queryagentcalls"
STATE_PATH = "/rest/cmsapp/v1/openapi/agentgroup/agentstatusinfobyagentids"
PATH_KIND = {CMS_PATH: "agent", BATCH_PATH: "batch", STATE_PATH: "state"}
SIGNED_HEADERS = "content-length;content-type;host"
HUGE_SIZE = 8 * 1024 * 1024

# ---------------------------------------------------------------------------
# auth-v2 signature: cms-api.md's test vector (the signing is cmssign.py's)


SELFTEST = {
    "ak": "TESTAK", "sk": "TESTSK", "timestamp": "2024-01-02T03:04:05.678Z",
    "headers": {"host": "192.0.2.10:28443",
                "content-type": "application/json;charset=UTF-8",
                "content-length": "35"},
    "body": b'{"ccId":1,"vdn":170,"agentId":1099}',
    "signing_key": "0c678bd23efe2fc12091cf785e419d78227d77809198e17a1bd145fede5486d7",
    "signature": "d59060858351c90fd5100914d05d369c2739c927cdb9374729f8e68b6cab454d",
    "authorization": "auth-v2/TESTAK/2024-01-02T03:04:05.678Z/content-length;content-type;host/"
                     "d59060858351c90fd5100914d05d369c2739c927cdb9374729f8e68b6cab454d",
}


def selftest():
    v = SELFTEST
    got = sign(v["ak"], v["sk"], v["timestamp"], "POST", CMS_PATH, "",
               v["headers"], v["body"])
    ok = True
    for name, value in zip(("signing_key", "signature", "authorization"), got):
        good = value == v[name]
        ok &= good
        print("%s %s: %s" % ("ok  " if good else "FAIL", name, value))
    return 0 if ok else 1





# ---------------------------------------------------------------------------
# The simulator


def parse_query(body):
    """CMS request body -> agent key 'cc:vdn:id', or None if invalid."""
    obj = json_object_of(body)
    if obj is None:
        return None
    cc, vdn, aid = (obj.get(k) for k in ("ccId", "vdn", "agentId"))
    if not valid_ids(cc, vdn) or not valid_agent_id(aid):
        return None
    return "%d:%d:%d" % (cc, vdn, aid)


class Sim(BatchPaths):
    def __init__(self, args, sk, scenario, randcalls, log, served=None, control_log=None):
        self.ak = args.ak
        self.sk = sk
        self.skew = args.skew
        self.verify = not args.no_verify
        self.scenario = scenario
        self.random = randcalls
        self.overrides = {}         # agent -> Agent, set through /sim/agent
        self.stats = Stats()
        self.log = log
        self.sig_complaints = 0
        self._huge = None
        self.served = served        # file descriptor of --served, or None
        self.config = scenario.config
        self.derived = {}           # agent -> [code, since, previous code, its seconds]
        self.plans = {}             # (path kind, request body) -> cmsbatch.Plan or None
        self.scripted_version = 0   # bumped when an agent's entry changes (cmsbatch's Plans)
        self.control_log = control_log  # --workers > 1: cmscontrol.ControlLog, else None
        self.started = time.time()

    # -- CMS endpoint ------------------------------------------------------

    async def handle_cms(self, req, kind):
        """Answer one request on a CMS path: (Reply, agent key, "CC:VDN" of a batch, or "-")."""
        self.stats.arrive(kind)
        if req.method != "POST":
            return text_reply(405, "Method Not Allowed\n", "bad-method",
                              extra="Allow: POST\r\n"), "-"
        why = self.check_auth(req) if self.verify else None
        if why:
            self.stats.auth_failures += 1
            reply = text_reply(401, "Unauthorized\n", "auth:" + why)
            reply.served = served_from_body(kind, req.body, "http:401")
            return reply, "-"
        if kind != "agent":
            return await self.handle_batch(req, kind)
        agent = parse_query(req.body)
        if agent is None:
            reply = json_reply(INVALID, outcome="invalid")
            reply.served = served_from_body(kind, req.body, "invalid")
            return reply, "-"
        fault = self.fault_for(agent)
        delay = None
        if fault and fault[0] == "slow":
            await asyncio.sleep(fault[1])
            reply = self.answer(agent)      # computed after the wait: reflects the state then
            reply.outcome = fault_name(fault) + "+" + reply.outcome
            delay = fault[1]
        else:
            reply = self.fault_reply(agent, fault) if fault else self.answer(agent)
        self.stats.polled(agent)
        self.stats.asked(kind, 1)
        cc, vdn, aid = (int(x) for x in agent.split(":"))
        if reply.outcome == "ok" or delay is not None or (fault and fault[0] == "legacy"):
            calls = self.calls_for(agent)
            if calls is None:
                reply.served = failed_served(kind, cc, vdn, [aid], "missing")
            else:
                ids = compact([{"callId": call_id(c)} for c in calls])
                extra = ',"delay":%s' % delay if delay is not None else ""
                if fault:
                    extra += ',"fault":%s' % compact(fault_name(fault))
                reply.served = (kind, cc, vdn, '"%d":{"calls":%s}' % (aid, ids), extra)
        else:
            reply.served = failed_served(kind, cc, vdn, [aid], reply.outcome)
        return reply, agent

    def check_auth(self, req):
        """Reason the request's auth-v2 signature is not acceptable, or None."""
        auth = req.headers.get("authorization")
        if auth is None:
            return "no-authorization"
        parts = auth.split("/")
        if len(parts) != 5 or parts[0] != "auth-v2":
            return "malformed-authorization"
        _, ak, ts, signed, sig = parts
        if ak != self.ak:
            return "unknown-ak"
        t = parse_timestamp(ts)
        if t is None:
            return "bad-timestamp"
        if abs(time.time() - t) > self.skew:
            return "stale-timestamp"
        if signed != SIGNED_HEADERS:
            return "wrong-signed-headers"
        headers = {}
        for name in ("content-length", "content-type", "host"):
            if name not in req.headers:
                return "missing-" + name
            headers[name] = req.headers[name]
        if int(headers["content-length"]) != len(req.body):
            return "content-length-mismatch"
        _, want, _ = sign(ak, self.sk, ts, req.method, req.path, req.query, headers, req.body)
        if not hmac.compare_digest(sig.encode(), want.encode()):
            self.complain_signature(req, headers)
            return "bad-signature"
        return None

    def complain_signature(self, req, headers):
        # The canonical request the simulator expected helps a client author find the
        # mismatch; the secret is never printed. Only the first few, to keep floods out.
        self.sig_complaints += 1
        if self.sig_complaints <= 5:
            canon = canonical_request(req.method, req.path, req.query, headers, req.body)
            print("cmssim: bad signature; expected canonical request: %r" % canon,
                  file=sys.stderr, flush=True)

    def entry(self, agent):
        return self.overrides.get(agent) or self.scenario.agents.get(agent)

    def fault_for(self, agent):
        e = self.entry(agent)
        if e is not None and e.fault is not UNSET:
            return e.fault
        return self.scenario.default_fault

    def calls_for(self, agent):
        """The agent's current calls, or None if the CMS should say it does not exist."""
        e = self.entry(agent)
        if e is not None and e.calls is not None:
            return e.calls
        if e is None and self.scenario.unknown == "missing":
            return None
        if self.random is not None:
            return self.random.calls(agent, time.time())
        return self.scenario.default_calls

    def answer(self, agent):
        calls = self.calls_for(agent)
        if calls is None:
            return json_reply(MISSING, outcome="missing")
        return json_reply(ok_payload([call_id(c) for c in calls]))

    def fault_reply(self, agent, fault):
        kind, arg = fault
        name = fault_name(fault)
        if kind == "http":
            extra = "Retry-After: 2\r\n" if arg in (429, 503) else ""
            return text_reply(arg, "<html><body><h1>%d %s</h1></body></html>\n"
                              % (arg, reason(arg)), name, "text/html", extra)
        if kind == "nonjson":
            return text_reply(200, "<html>oops</html>", name, "text/html")
        if kind == "cmserror":
            return json_reply({"resultCode": arg, "resultDesc": CMS_ERRORS.get(arg, "Error")},
                              outcome=name)
        calls = [call_id(c) for c in (self.calls_for(agent) or [])] if agent else []
        if kind == "wrongshape":
            return json_reply({"result": "0", "resultCode": "0100000",
                               "resultDatas": 42, "resultDesc": 42}, outcome=name)
        if kind == "badids":
            ids = [1605492949, "9" * 100, "1605492949-14\x0147"]
            return json_reply(ok_payload(ids), outcome=name)
        if kind == "legacy":
            return json_reply({"result": "0", "resultCode": "0100000", "resultDatas": calls},
                              outcome=name)
        if kind == "huge":
            return Reply(200, self.huge_body(), outcome=name)
        if kind == "truncated":
            return Reply(200, json_reply(ok_payload(calls)).body, action="truncated", outcome=name)
        return Reply(0, b"", action=kind, outcome=name)     # reset, hang

    def huge_body(self):
        """A well-formed success body of about 8 MiB (both id arrays filled), built once."""
        if self._huge is None:
            per_id = 2 * len('"1600000000-00000000",')    # each id appears in both arrays
            ids = ["%010d-%08d" % (1600000000 + i // 1000, i)
                   for i in range(HUGE_SIZE // per_id)]
            self._huge = json.dumps(ok_payload(ids), separators=(",", ":")).encode()
        return self._huge

    # -- Control API -------------------------------------------------------

    def catch_up(self):
        """Apply the control changes other workers took since this one last looked."""
        for path, body, at in self.control_log.news():
            self.control(("POST", path), {}, body, at)

    def handle_control(self, req):
        at = time.time()
        reply = self.control((req.method, req.path), dict(urllib.parse.parse_qsl(req.query)),
                             req.body, at)
        if self.control_log and req.method == "POST" and req.path in SHARED and reply.status == 200:
            self.control_log.append(req.path, req.body, at)
        return reply

    def control(self, route, params, body, at):
        """One control request (route: (method, path)) at unix time at -> Reply."""
        try:
            if route == ("POST", "/sim/agent"):
                return self.ctl_agent(body, at)
            if route == ("POST", "/sim/config"):
                self.config.update(json.loads(body))
                return json_reply({"ok": True})
            if route == ("GET", "/sim/config"):
                return json_reply(self.config.json())
            if route == ("GET", "/sim/stats"):
                if "agent" in params:
                    return json_reply(self.stats.agent_json(agent_key(params["agent"])))
                return json_reply(self.stats.json())
            if route == ("GET", "/sim/windows"):
                width = float(params.get("width", "1"))
                if not width > 0:
                    raise ValueError("width must be > 0")
                return json_reply(self.stats.windows(width))
            if route == ("POST", "/sim/reset-stats"):
                self.stats.reset()
                return json_reply({"ok": True})
        except (ValueError, KeyError, TypeError) as e:
            return json_reply({"ok": False, "error": str(e)}, status=400, outcome="bad-control")
        return text_reply(404, "Not Found\n", "not-found")

    def ctl_agent(self, body, at):
        obj = json.loads(body)
        if not isinstance(obj, dict):
            raise ValueError("body must be a JSON object")
        agent = agent_key(obj["agent"])
        old = self.entry(agent)
        new = self.overrides[agent] = agent_update(old.copy() if old else Agent(), obj)
        if "state" in obj and new.state is not None:
            new.state[1] = at       # every worker counts currentStateTime from the same moment
        self.scripted_version += 1
        self.stats.agent_set(agent)
        return json_reply({"ok": True})

    # -- Connections -------------------------------------------------------

    async def serve(self, reader, writer):
        try:
            while await self.serve_one(reader, writer):
                pass
        except BadRequest as e:
            self.write_reply(writer, text_reply(e.status, "%s\n" % e, "bad-http"), True)
            self.write_log("-", e.status, "bad-http")
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass
        except asyncio.CancelledError:
            # Shutdown cancels hung and slow connections; ending quietly avoids the
            # traceback asyncio's stream callback would otherwise print for each one.
            writer.transport.abort()
            return
        finally:
            if not writer.transport.is_closing():
                writer.close()

    async def serve_one(self, reader, writer):
        """Handle one request; False when the connection must end."""
        req = await read_request(reader, writer)
        if req is None:
            return False
        if self.control_log is not None:
            self.catch_up()
        agent = "-"
        kind = PATH_KIND.get(req.path)
        if kind:
            t0 = time.perf_counter()
            reply, agent = await self.handle_cms(req, kind)
        elif req.path.startswith("/sim/"):
            reply = self.handle_control(req)
        else:
            reply = text_reply(404, "Not Found\n", "not-found")
        self.write_log(agent, reply.status or "-", reply.outcome)
        if reply.served and self.served is not None:
            self.write_served(reply.served)
        keep = await self.act(reply, req, reader, writer)
        if kind:
            self.stats.answered(kind, time.perf_counter() - t0)
        return keep

    def write_served(self, served):
        """One --served line, written whole by a single O_APPEND write (workers share the file)."""
        kind, cc, vdn, members, extra = served
        line = ('{"t":%.3f,"path":"%s","cc":%s,"vdn":%s%s,"agents":{%s}}\n'
                % (time.time(), kind, compact(cc), compact(vdn), extra, members)).encode()
        while line:
            line = line[os.write(self.served, line):]

    async def act(self, reply, req, reader, writer):
        if reply.action == "reset":
            set_linger_zero(writer)
            writer.transport.abort()
            return False
        if reply.action == "hang":
            while await reader.read(65536):     # hold the connection until the client leaves
                pass
            return False
        if reply.action == "truncated":
            writer.write(response_head(200, reply.ctype, len(reply.body) + 100, True)
                         + reply.body)
            await writer.drain()
            return False
        self.write_reply(writer, reply, not req.keep_alive)
        if writer.transport.get_write_buffer_size() > 65536:
            await writer.drain()
        return req.keep_alive

    @staticmethod
    def write_reply(writer, reply, close):
        writer.write(response_head(reply.status, reply.ctype, len(reply.body), close, reply.extra)
                     + reply.body)

    def write_log(self, agent, status, outcome):
        if self.log:
            self.log.write("%.3f %s %s %s\n" % (time.time(), agent, status, outcome))


# ---------------------------------------------------------------------------
# Process setup


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host.strip("[]"), int(port)


def read_secret(path):
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\r\n")


def load_scenario(path):
    if not path:
        return Scenario()
    with open(path, encoding="utf-8") as f:
        return Scenario(json.load(f))


def make_ssl(args):
    if not args.cert:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key or args.cert)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca)
    return ctx


def bind_sockets(host, port, count):
    """count listening sockets on one port; SO_REUSEPORT lets the kernel spread connections."""
    socks = []
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    family, _, _, _, addr = infos[0]
    for _ in range(count):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if count > 1:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(addr)
        s.listen(1024)
        addr = s.getsockname()      # later sockets join the port the first one got
        socks.append(s)
    return socks


def announce(args, host, port):
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)     # readers never see a half-written file
    shown = "[%s]" % host if ":" in host else host
    print("cmssim listening on %s:%d" % (shown, port), flush=True)


def quiet_exceptions(loop, context):
    # TLS handshake failures (wrong CA, no client cert) are expected in tests: not worth a trace.
    exc = context.get("exception")
    if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError)):
        return
    loop.default_exception_handler(context)


async def collect_young():
    """Python's cyclic garbage collector, young generations only, once a second. A full collection
    walks every object, and --random's timelines for 50,000 agents are some 700,000: it stalled
    every answer for about 0.6 s every few seconds. What the simulator allocates per request
    is freed by reference counting; a cycle that lives long enough to reach the oldest generation
    (a connection's objects, an exception's traceback) stays until the process ends."""
    gc.disable()
    while True:
        await asyncio.sleep(1)
        gc.collect(1)


async def run_server(sim, sock, ctx):
    loop = asyncio.get_running_loop()
    collector = asyncio.ensure_future(collect_young())
    loop.set_exception_handler(quiet_exceptions)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(sim.serve, sock=sock, ssl=ctx, limit=MAX_HEADER,
                                        backlog=1024)
    async with server:
        await stop.wait()
    collector.cancel()


def run_workers(sim, socks, ctx):
    """Fork one server per socket; the parent only relays SIGTERM/SIGINT and reaps."""
    pids = []
    stopping = []

    def relay(_signum, _frame):
        stopping.append(True)
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
    signal.signal(signal.SIGTERM, relay)
    signal.signal(signal.SIGINT, relay)
    for s in socks:
        if stopping:
            break                   # told to stop while still forking
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, exit_now)     # not the parent's relay
            signal.signal(signal.SIGINT, exit_now)
            for other in socks:
                if other is not s:
                    other.close()
            asyncio.run(run_server(sim, s, ctx))
            os._exit(0)
        pids.append(pid)
    for s in socks:
        s.close()
    status = 0
    for _ in pids:
        _, st = os.wait()
        if os.waitstatus_to_exitcode(st) != 0:
            status = 1
            relay(signal.SIGTERM, None)     # one worker died: take the others down too
    return status


def agent_range(text):
    """'CC:VDN:FIRST-LAST' -> the agent keys of that range."""
    try:
        cc, vdn, ids = text.split(":")
        first, _, last = ids.partition("-")
        first, last, cc, vdn = int(first), int(last or first), int(cc), int(vdn)
    except ValueError:
        raise argparse.ArgumentTypeError("expected CC:VDN:FIRST-LAST, got %r" % text)
    if not 0 <= last - first < 1000000:
        raise argparse.ArgumentTypeError("FIRST-LAST: at most a million agents, got %r" % text)
    return ["%d:%d:%d" % (cc, vdn, a) for a in range(first, last + 1)]


def parse_args(argv):
    p = argparse.ArgumentParser(description="Huawei CC-CMS queryagentcalls simulator")
    p.add_argument("--selftest", action="store_true", help="check the signer against cms-api.md")
    p.add_argument("--listen", type=parse_listen, metavar="HOST:PORT")
    p.add_argument("--cert", help="server certificate (PEM); without it plain HTTP")
    p.add_argument("--key", help="server private key (PEM)")
    p.add_argument("--client-ca", help="require client certificates signed by this CA")
    p.add_argument("--ak", help="the accepted AK")
    p.add_argument("--sk-file", help="file holding the SK (trailing newline stripped)")
    p.add_argument("--skew", type=float, default=300.0, help="allowed timestamp skew, seconds")
    p.add_argument("--scenario", help="scenario JSON file")
    p.add_argument("--random", metavar="SEED", help="random call activity for unscripted agents")
    p.add_argument("--random-pace", type=float, default=1.0, metavar="K",
                   help="--random's durations (calls, idle gaps, holds, wrap-up, breaks) K times "
                        "as long: K times fewer changes (default 1; 10: calls of minutes)")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--no-verify", action="store_true", help="skip auth-v2 checking")
    p.add_argument("--log", help="append one line per request to this file")
    p.add_argument("--served", help="append one JSON line per answered CMS request (for judge.py)")
    p.add_argument("--random-agents", type=agent_range, metavar="CC:VDN:FIRST-LAST",
                   help="build these agents' --random timelines at start-up, before the port file "
                        "(about 80 us an agent), not while answering the first polls")
    p.add_argument("--workers", type=int, default=1,
                   help="forked server processes (SO_REUSEPORT); control changes reach all, "
                        "stats are per process")
    args = p.parse_args(argv)
    if not args.selftest:
        if not args.listen:
            p.error("--listen is required")
        if not args.no_verify and not (args.ak and args.sk_file):
            p.error("--ak and --sk-file are required unless --no-verify")
        if args.workers < 1:
            p.error("--workers must be >= 1")
        if not 1 <= args.random_pace <= 1000:
            p.error("--random-pace must be from 1 to 1000")
        if (args.key or args.client_ca) and not args.cert:
            p.error("--key and --client-ca need --cert")
    return args


def exit_now(_signum, _frame):
    os._exit(0)


def main(argv=None):
    args = parse_args(argv)
    if args.selftest:
        return selftest()
    # Until the event loop takes over the signals, a stop request must still mean exit 0:
    # tests may send SIGTERM the moment the port file appears.
    signal.signal(signal.SIGTERM, exit_now)
    signal.signal(signal.SIGINT, exit_now)
    try:
        sk = read_secret(args.sk_file) if args.sk_file else ""
        scenario = load_scenario(args.scenario)
        ctx = make_ssl(args)
        log = open(args.log, "a", buffering=1) if args.log else None
        served = (os.open(args.served, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
                  if args.served else None)
        host, port = args.listen
        socks = bind_sockets(host, port, args.workers)
    except (OSError, ValueError, ssl.SSLError) as e:
        print("cmssim: %s" % e, file=sys.stderr)
        return 2
    # The random timelines start a minute before now so some agents are busy at once.
    # Built before any fork, so every worker shares the anchor and gives the same answers.
    randcalls = (RandomActivity(args.random, time.time() - 60, args.random_pace)
                 if args.random is not None else None)
    if randcalls is not None:
        for agent in args.random_agents or ():
            randcalls.refresh(randcalls.line(agent), time.time())
    sim = Sim(args, sk, scenario, randcalls, log, served,
              ControlLog() if args.workers > 1 else None)
    announce(args, host, socks[0].getsockname()[1])
    if args.workers > 1:
        return run_workers(sim, socks, ctx)
    asyncio.run(run_server(sim, socks[0], ctx))
    return 0


if __name__ == "__main__":
    sys.exit(main())
