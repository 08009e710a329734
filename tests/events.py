#!/usr/bin/env python3
"""events.py: reads agentwatchd's JSON-lines event stream for the integration tests.

Usage:
  events.py count FILE [AGENT]              events so far (of AGENT, "CC:VDN:ID"), complete lines only
  events.py wait FILE AGENT N SECONDS       exit 0 once AGENT has at least N events
  events.py expect FILE AGENT SKIP SPEC...  AGENT's events after its first SKIP must be exactly SPEC
  events.py field FILE AGENT INDEX KEY      prints a field (dotted path) of AGENT's INDEXth event
  events.py validate FILE [THRESHOLD]       every event well formed, ids unique, each agent's stream
                                            a consistent sequence of transitions (agent.state: each
                                            one's previous_state the last one's, one initial)

SPEC is TYPE[:CALL_ID][+initial][,CONSTRAINT]..., e.g. "call.started:c1+initial", "agent.idle",
"call.ended:c1,duration>=2", "agent.unreachable,reason~HTTP 503". A constraint is KEY=VALUE,
KEY>=NUMBER, KEY<=NUMBER or KEY~REGEX on a dotted path ("agent.name"). "initial" must be present
exactly when +initial is given. Within a run of consecutive call events of one type the order of
call IDs is free (the contract fixes the order of types, not of calls in one poll), so both sides
are compared sorted by call ID. agent.state and agent.long_state come from the state poll, a request
of its own, so their order against the other events is free too: each side is compared as its calls
poll's events, then its state poll's. Diagnostics go to stdout, indented, for the test's log.
"""

import datetime
import json
import re
import sys
import time

TYPES = {"call.started", "call.ended", "call.long", "call.status", "agent.busy", "agent.idle",
         "agent.unreachable", "agent.reachable", "agent.state", "agent.long_state"}
CALL_TYPES = {"call.started", "call.ended", "call.long", "call.status"}
STATE_TYPES = {"agent.state", "agent.long_state"}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")


def say(text):
    for line in str(text).splitlines():
        print("    " + line)


def load(path):
    """The complete lines of path as parsed events; a line that is not JSON is an error."""
    try:
        with open(path, encoding="utf-8") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    events = []
    for n, line in enumerate(data.split("\n")[:-1], 1):   # the last piece may be half written
        try:
            events.append(json.loads(line))
        except ValueError as e:
            raise SystemExit("    %s:%d: not JSON (%s): %r" % (path, n, e, line))
    return events


def agent_key(ev):
    a = ev.get("agent") or {}
    return "%s:%s:%s" % (a.get("cc"), a.get("vdn"), a.get("id"))


def of_agent(events, agent):
    return [e for e in events if agent is None or agent_key(e) == agent]


def get(ev, path):
    for part in path.split("."):
        if not isinstance(ev, dict) or part not in ev:
            return None
        ev = ev[part]
    return ev


def seconds(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def problems(ev):
    """What is wrong with one event's shape, as a list of strings."""
    bad = []
    t = ev.get("type")
    if t not in TYPES:
        return ["unknown type %r" % t]
    if not isinstance(ev.get("id"), str) or not UUID_RE.match(ev["id"]):
        bad.append("id %r is not a UUID" % ev.get("id"))
    if not isinstance(ev.get("time"), str) or not TIME_RE.match(ev["time"]):
        bad.append("time %r is not RFC 3339 UTC with milliseconds" % ev.get("time"))
    a = ev.get("agent")
    if not isinstance(a, dict) or not all(type(a.get(k)) is int for k in ("cc", "vdn", "id")):
        bad.append("agent %r lacks cc, vdn, id" % a)
    if (t in CALL_TYPES) != isinstance(ev.get("call_id"), str):
        bad.append("call_id %r on a %s" % (ev.get("call_id"), t))
    if t in ("call.ended", "call.long"):
        d = ev.get("duration")
        if type(d) not in (int, float) or d < 0:
            bad.append("duration %r" % d)
        elif TIME_RE.match(str(ev.get("call_first_seen"))) and TIME_RE.match(str(ev.get("time"))):
            seen = seconds(ev["time"]) - seconds(ev["call_first_seen"])
            if abs(seen - d) > 0.0015:
                bad.append("duration %r, but call_first_seen to time is %.3f s" % (d, seen))
    if t == "agent.busy" and (type(ev.get("calls")) is not int or ev["calls"] < 1):
        bad.append("calls %r" % ev.get("calls"))
    if t == "agent.unreachable" and not (isinstance(ev.get("reason"), str) and ev["reason"]):
        bad.append("no reason")
    if t == "call.status" and ev.get("previous_call_status") in (None, ev.get("call_status")):
        bad.append("call_status %r after %r" % (ev.get("call_status"), ev.get("previous_call_status")))
    if t == "agent.state" and (ev.get("previous_state") == ev.get("state")
                               or ("previous_state" in ev) == bool(ev.get("initial"))):
        bad.append("state %r after %r, initial %r" % (ev.get("state"), ev.get("previous_state"),
                                                      ev.get("initial")))
    if "initial" in ev and ev["initial"] is not True:
        bad.append("initial is %r" % ev["initial"])
    return bad


def parse_spec(text):
    head, *constraints = text.split(",")
    initial = head.endswith("+initial")
    if initial:
        head = head[:-len("+initial")]
    t, _, call = head.partition(":")
    if t not in TYPES:
        raise SystemExit("    bad spec %r: unknown type" % text)
    return {"type": t, "call_id": call or None, "initial": initial, "constraints": constraints,
            "text": text}


def constraint_ok(ev, c):
    m = re.match(r"([\w.]+)(>=|<=|=|~)(.*)\Z", c)
    if not m:
        raise SystemExit("    bad constraint %r" % c)
    key, op, want = m.groups()
    have = get(ev, key)
    if op == "=":
        return have is not None and str(have) == want
    if op == "~":
        return isinstance(have, str) and re.search(want, have) is not None
    if type(have) not in (int, float):
        return False
    return have >= float(want) if op == ">=" else have <= float(want)


def sort_runs(items, type_of, call_of):
    """Sorts each run of consecutive call events of one type by call ID."""
    out, i = [], 0
    while i < len(items):
        j = i
        while (j < len(items) and type_of(items[j]) == type_of(items[i])
               and type_of(items[i]) in CALL_TYPES):
            j += 1
        j = max(j, i + 1)
        out += sorted(items[i:j], key=lambda x: call_of(x) or "")
        i = j
    return out


def by_poll(items, type_of):
    """The calls poll's events, then the state poll's, each in their order."""
    return ([x for x in items if type_of(x) not in STATE_TYPES] +
            [x for x in items if type_of(x) in STATE_TYPES])


def short(ev):
    s = ev.get("type", "?")
    if ev.get("call_id") is not None:
        s += ":" + ev["call_id"]
    if ev.get("initial"):
        s += "+initial"
    return s


def cmd_expect(path, agent, skip, specs):
    got = of_agent(load(path), agent)[int(skip):]
    want = [parse_spec(s) for s in specs]
    got_s = sort_runs(by_poll(got, lambda e: e.get("type")), lambda e: e.get("type"),
                      lambda e: e.get("call_id"))
    want_s = sort_runs(by_poll(want, lambda w: w["type"]), lambda w: w["type"],
                       lambda w: w["call_id"])
    errors = []
    if len(got_s) != len(want_s):
        errors.append("%d events, want %d" % (len(got_s), len(want_s)))
    for i, (ev, w) in enumerate(zip(got_s, want_s)):
        why = problems(ev)
        if ev.get("type") != w["type"] or (w["call_id"] is not None and
                                           ev.get("call_id") != w["call_id"]):
            why.append("is %s" % short(ev))
        if bool(ev.get("initial")) != w["initial"]:
            why.append("initial is %r" % ev.get("initial"))
        why += ["fails %s" % c for c in w["constraints"] if not constraint_ok(ev, c)]
        if why:
            errors.append("event %d, want %s: %s" % (i, w["text"], "; ".join(why)))
    if errors:
        say("agent %s after %s events:" % (agent, skip))
        say("\n".join(errors))
        say("got:  " + " ".join(short(e) for e in got))
        say("want: " + " ".join(specs))
        for e in got:
            say(json.dumps(e))
        return 1
    return 0


def replay(agent, events, threshold):
    """Checks one agent's whole stream as transitions of the state it describes."""
    calls, busy, unreachable, longs, errors = set(), False, False, set(), []
    state = None    # the CTI state last reported
    last_time = ""
    for i, ev in enumerate(events):
        t, c = ev["type"], ev.get("call_id")
        where = "%s event %d (%s)" % (agent, i, short(ev))
        if ev["time"] < last_time:
            errors.append("%s: time goes back" % where)
        last_time = ev["time"]
        if unreachable and t != "agent.reachable" and t not in STATE_TYPES:
            errors.append("%s: while unreachable" % where)
        prev = events[i - 1] if i else {}
        if (t == "call.started" and ev.get("initial")
                and not (prev.get("type") == t and prev.get("initial"))):
            calls, busy, longs = set(), False, set()    # a new baseline: the agent was re-added
            state = None
        if t == "call.started":
            if c in calls:
                errors.append("%s: the call was already open" % where)
            calls.add(c)
        elif t in ("call.ended", "call.long", "call.status"):
            if c not in calls:
                errors.append("%s: the call is not open" % where)
            if t == "call.ended":
                calls.discard(c)
            elif t == "call.long":
                if c in longs:
                    errors.append("%s: call.long twice" % where)
                longs.add(c)
        elif t == "agent.state":
            if state is not None and (ev.get("initial") or ev.get("previous_state") != state):
                errors.append("%s: the state reported last is %r" % (where, state))
            state = ev.get("state")
        elif t == "agent.busy":
            if busy or ev.get("calls") != len(calls):
                errors.append("%s: busy %s, calls %r, the stream has %d open"
                              % (where, busy, ev.get("calls"), len(calls)))
            busy = True
        elif t == "agent.idle":
            if not busy or calls:
                errors.append("%s: busy %s, %d calls open" % (where, busy, len(calls)))
            busy = False
        elif t == "agent.unreachable":
            if threshold and ev.get("failures", 0) < threshold:
                errors.append("%s: failures %r below %d" % (where, ev.get("failures"), threshold))
            unreachable = True
        elif t == "agent.reachable":
            if not unreachable:
                errors.append("%s: was not unreachable" % where)
            unreachable = False
    if busy != bool(calls):
        errors.append("%s: ends %s with %d calls open" % (agent, "busy" if busy else "idle",
                                                            len(calls)))
    return errors


def cmd_validate(path, threshold=0):
    events = load(path)
    errors = []
    ids = {}
    for n, ev in enumerate(events):
        errors += ["event %d: %s" % (n, p) for p in problems(ev)]
        if ev.get("id") in ids:
            errors.append("event %d repeats the id of event %d" % (n, ids[ev["id"]]))
        ids.setdefault(ev.get("id"), n)
    if not errors:
        for agent in sorted({agent_key(e) for e in events}):
            errors += replay(agent, of_agent(events, agent), int(threshold))
    if errors:
        say("\n".join(errors[:30]))
        return 1
    return 0


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    cmd, path = argv[1], argv[2]
    if cmd == "count":
        print(len(of_agent(load(path), argv[3] if len(argv) > 3 else None)))
        return 0
    if cmd == "wait":
        agent, n, limit = argv[3], int(argv[4]), time.monotonic() + float(argv[5])
        while len(of_agent(load(path), agent)) < n:
            if time.monotonic() > limit:
                return 1
            time.sleep(0.05)
        return 0
    if cmd == "expect":
        return cmd_expect(path, argv[3], argv[4], argv[5:])
    if cmd == "field":
        evs = of_agent(load(path), argv[3])
        i = int(argv[4])
        if not -len(evs) <= i < len(evs):
            return 1
        v = get(evs[i], argv[5])
        print(v if isinstance(v, str) else json.dumps(v))
        return 0
    if cmd == "validate":
        return cmd_validate(path, *argv[3:4])
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
