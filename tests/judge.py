#!/usr/bin/env python3
"""judge.py: judges agentwatchd's events, agent by agent, against what the CMS simulator served.

Usage:
  judge.py [--threshold N] [--timeout S] [--tail S] [--since-slack S] [--lag S] [--long-call S]
           [--api auto|batch|agent] [--show N] SERVED.jsonl EVENTS.jsonl
  judge.py --selftest

SERVED is cmssim.py --served; EVENTS is the daemon's stdout (JSON lines; a half-written last line is
ignored). A reference model of product.md's rules replays, per agent, what was served in time order
and derives the events the daemon must have written; they are compared with the daemon's, type by type
and call by call, in two streams per agent: calls (call.*, agent.busy/idle/unreachable/reachable, from
the batch and per-agent paths) and state (agent.state, from the state path), since the two polls of one
agent may complete in either order. The rules:
- The first successful calls poll is the baseline: call.started "initial" for each call, then agent.busy
  "initial"; later polls: agent.reachable (if it was unreachable), call.ended, call.status (callStatus
  changed), call.started, then agent.busy / agent.idle. Within a run of one type the call order is free.
- A failed poll (a fault, a 401, an invalid request, an answer delayed by --timeout or more, an agent
  absent from a batch answer: reason "absent from the CMS answer") counts toward --threshold; reaching
  it gives agent.unreachable with that many failures. No call event while unreachable; the next success
  is diffed against the last one. A batch_404/state_404/state_permission refusal ("refused") counts as
  neither (the daemon falls back or turns the state poll off), except a batch_404 with --api batch.
- Batch answers give detail fields (call_status, call_status_code, direction, media, media_type,
  submedia) equal to what was served (call.ended: the last served); per-agent answers give none; a call
  first seen with detail and later without is not checked for detail.
- agent.state: "initial" at the first state answer, then one per change of currentState, with state,
  state_code, previous_state (not when initial), reason_code when currentStateReason is not a not-set
  marker, and state_since within --since-slack of (served time - currentStateTime).
- Each event's time lies within --lag seconds after the answer it follows (--lag + --timeout after a
  failure), so events shifted by a poll do not pass.
- call.long and agent.long_state are checked apart (their timing is the daemon's): call.long for an open
  call, once, duration >= --long-call when given; agent.long_state for the current state, at most once
  per stint (a stint also restarts when currentStateTime goes back), duration >= its threshold.
The daemon may not have received the last answers (in flight, or served after it stopped): missing
events of answers served in the last --tail seconds of SERVED are tolerated.
Prints the first mismatch of each agent (what was served, the events wanted and got) and a summary;
exits 1 on any mismatch, 2 on unreadable input.
"""

import argparse
import datetime
import json
import sys

CALL_STATUS = ("idle", "occupied", "queued", "private_queued", "alerting", "talking", "held",
               "suspended", "muted", "three_party")
STATES = ("signed_out", "idle", "preoccupied", "occupied", "answering", "talking", "wrap_up",
          "busy", "rest", "study", "adjusting")
MEDIA = {1: "chat", 2: "webphone", 4: "callback", 5: "phone", 15: "predictive_outbound",
         16: "preview_outbound", 17: "message", 19: "video", 51: "webchat", 53: "social",
         55: "h5chat"}
DIRECTION = {0: "inbound", 1: "outbound"}
MARKERS = (4294967295, 65535)
DETAIL_FIELDS = ("call_status", "call_status_code", "direction", "media", "media_type", "submedia")
CALL_STREAM = {"call.started", "call.ended", "call.status", "agent.busy", "agent.idle",
               "agent.unreachable", "agent.reachable"}
STATE_STREAM = {"agent.state"}
CALL_EVENTS = {"call.started", "call.ended", "call.status", "call.long"}
ABSENT_REASON = "absent from the CMS answer"
UNCHECKED = "?"     # a call's detail that the model cannot know


def name_of(table, code):
    """A code's name, or the number itself when the table has none (the daemon's rule)."""
    if isinstance(table, dict):
        return table.get(code, code)
    return table[code] if type(code) is int and 0 <= code < len(table) else code


def parse_time(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


# ---------------------------------------------------------------------------
# Input


class Obs:
    """One agent's part of one served answer."""
    __slots__ = ("t", "path", "kind", "value", "line")

    def __init__(self, t, path, kind, value, line):
        self.t, self.path, self.kind, self.value, self.line = t, path, kind, value, line


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        data = f.read()
    out = []
    for n, text in enumerate(data.split("\n")[:-1], 1):   # the last piece may be half written
        if text.strip():
            try:
                out.append(json.loads(text))
            except ValueError as e:
                raise SystemExit("judge: %s:%d: not JSON (%s)" % (path, n, e))
    return out


def observations(served, timeout, api="auto"):
    """agent key -> [Obs] in time order, and the time of the last answer."""
    by_agent = {}
    end = 0.0
    for n, line in enumerate(sorted(served, key=lambda x: x["t"])):
        t, path = line["t"], line["path"]
        end = max(end, t)
        late = line.get("delay", 0) >= timeout
        for aid, value in line["agents"].items():
            key = "%d:%d:%s" % (line["cc"], line["vdn"], aid)
            if value == "refused" and not (api == "batch" and path == "batch"):
                continue        # auto: the group falls back to per-agent polling
            if path == "state":
                if isinstance(value, dict) and not late:
                    obs = Obs(t, path, "state", value["state"], line)
                else:
                    continue        # a failed state poll changes nothing
            elif isinstance(value, dict):
                obs = (Obs(t, path, "failed", "timeout", line) if late
                       else Obs(t, path, "calls", value["calls"], line))
            elif value == "absent":
                obs = Obs(t, path, "failed", ABSENT_REASON, line)
            else:
                obs = Obs(t, path, "failed", line.get("fault", "failed"), line)
            by_agent.setdefault(key, []).append(obs)
    return by_agent, end


def agent_key(ev):
    a = ev.get("agent") or {}
    return "%s:%s:%s" % (a.get("cc"), a.get("vdn"), a.get("id"))


# ---------------------------------------------------------------------------
# The reference model: expected events, one group per observation


def want(type_, **fields):
    return dict(type=type_, **fields)


def call_detail(call, batch):
    if not batch:
        return None
    return (call.get("callStatus"), call.get("callInOut"), call.get("mediaType"),
            call.get("submediaType"))


class CallModel:
    def __init__(self, threshold):
        self.threshold = threshold
        self.baselined = False
        self.unreachable = False
        self.failures = 0
        self.calls = {}     # call id -> detail tuple, None (no detail) or UNCHECKED

    def success(self, obs):
        group = []
        if self.unreachable:
            group.append(want("agent.reachable"))
        self.unreachable, self.failures = False, 0
        initial = not self.baselined
        batch = obs.path == "batch"
        new = {c["callId"]: call_detail(c, batch) for c in obs.value}
        old = self.calls
        for cid in sorted(set(old) - set(new)):
            group.append(want("call.ended", call_id=cid, detail=old[cid]))
        for cid in sorted(set(old) & set(new)):
            o, n = old[cid], new[cid]
            if isinstance(o, tuple) and isinstance(n, tuple) and o[0] != n[0]:
                group.append(want("call.status", call_id=cid, detail=n, previous=o[0]))
        for cid in sorted(set(new) - set(old)):
            group.append(want("call.started", call_id=cid, detail=new[cid], initial=initial))
        if new and not old:
            group.append(want("agent.busy", calls=len(new), initial=initial))
        elif old and not new:
            group.append(want("agent.idle"))
        for cid in new:
            if cid in old and new[cid] is None and old[cid] is not None:
                new[cid] = UNCHECKED    # the daemon may keep or drop what it knew
        self.calls = new
        self.baselined = True
        return group

    def failure(self, reason):
        self.failures += 1
        if not self.unreachable and self.failures >= self.threshold:
            self.unreachable = True
            return [want("agent.unreachable", failures=self.failures, reason=reason)]
        return []


class StateModel:
    def __init__(self):
        self.code = None
        self.last = None        # (served time, currentStateTime) of the last state answer
        self.stints = []        # per expected agent.state: stints it covers (1 + silent restarts)

    def answer(self, obs):
        e = obs.value
        code, cst, reason = e.get("currentState"), e.get("currentStateTime"), \
            e.get("currentStateReason")
        if type(code) is not int or not 0 <= code < len(STATES):
            return []       # the daemon ignores a state it has no name for
        since = obs.t - cst if type(cst) is int and cst not in MARKERS else None
        group = []
        if self.code is None or code != self.code:
            fields = dict(state=code, since=since, reason=reason, initial=self.code is None)
            if self.code is not None:
                fields["previous"] = self.code
            group.append(want("agent.state", **fields))
            self.stints.append(1)
        elif self.last and type(cst) is int and type(self.last[1]) is int:
            elapsed = obs.t - self.last[0]
            if cst < self.last[1] + elapsed - 2 or self.last[1] - cst > elapsed + 2:
                self.stints[-1] += 1
        self.code = code
        self.last = (obs.t, cst)
        return group


def expected(obs_list, threshold):
    """([(obs, group)] of the calls stream, [(obs, group)] of the state stream, StateModel)."""
    cm, sm = CallModel(threshold), StateModel()
    calls, states = [], []
    for obs in obs_list:
        if obs.kind == "state":
            states.append((obs, sm.answer(obs)))
        elif obs.kind == "calls":
            calls.append((obs, cm.success(obs)))
        else:
            calls.append((obs, cm.failure(obs.value)))
    return calls, states, sm


# ---------------------------------------------------------------------------
# Comparing


def short(ev):
    s = ev.get("type", "?")
    if ev.get("call_id") is not None:
        s += ":" + str(ev["call_id"])
    if ev.get("initial"):
        s += "+initial"
    return s


def sort_runs(items):
    """Sorts each run of consecutive call events of one type by call ID."""
    out, i = [], 0
    while i < len(items):
        j = i + 1
        if items[i]["type"] in CALL_EVENTS:
            while j < len(items) and items[j]["type"] == items[i]["type"]:
                j += 1
        out += sorted(items[i:j], key=lambda x: str(x.get("call_id")))
        i = j
    return out


def detail_problems(w, ev):
    d = w.get("detail")
    if d == UNCHECKED:
        return []
    if d is None:
        extra = [f for f in DETAIL_FIELDS + ("previous_call_status",) if f in ev]
        return ["%s present without call detail" % ", ".join(extra)] if extra else []
    status, inout, media, sub = d
    wanted = {"call_status": name_of(CALL_STATUS, status), "call_status_code": status,
              "direction": name_of(DIRECTION, inout), "media": name_of(MEDIA, media),
              "media_type": media, "submedia": sub}
    if w["type"] == "call.status":
        wanted["previous_call_status"] = name_of(CALL_STATUS, w["previous"])
    return ["%s %s, want %s" % (k, json.dumps(ev.get(k)), json.dumps(v))
            for k, v in wanted.items() if ev.get(k) != v]


def state_problems(w, ev, slack):
    bad = []
    wanted = {"state": name_of(STATES, w["state"]), "state_code": w["state"],
              "previous_state": name_of(STATES, w["previous"]) if "previous" in w else None,
              "reason_code": w["reason"] if type(w["reason"]) is int and w["reason"] not in MARKERS
              else None}
    bad += ["%s %s, want %s" % (k, json.dumps(ev.get(k)), json.dumps(v))
            for k, v in wanted.items() if ev.get(k) != v]
    if w["since"] is not None:
        try:
            off = parse_time(ev.get("state_since")) - w["since"]
            if abs(off) > slack:
                bad.append("state_since %s is %+.3f s from served time - currentStateTime"
                           % (ev.get("state_since"), off))
        except (TypeError, ValueError):
            bad.append("state_since %r" % ev.get("state_since"))
    return bad


def problems(w, ev, slack):
    """Why the daemon's event ev is not the wanted w."""
    if ev.get("type") != w["type"] or ev.get("call_id") != w.get("call_id"):
        return ["is %s" % short(ev)]
    bad = []
    if bool(ev.get("initial")) != bool(w.get("initial")):
        bad.append("initial %r" % ev.get("initial"))
    t = w["type"]
    if t in CALL_EVENTS:
        bad += detail_problems(w, ev)
    elif t == "agent.busy" and ev.get("calls") != w["calls"]:
        bad.append("calls %r, want %d" % (ev.get("calls"), w["calls"]))
    elif t == "agent.unreachable":
        if ev.get("failures") != w["failures"]:
            bad.append("failures %r, want %d" % (ev.get("failures"), w["failures"]))
        if w["reason"] == ABSENT_REASON and ABSENT_REASON not in str(ev.get("reason")):
            bad.append("reason %r, want %r" % (ev.get("reason"), ABSENT_REASON))
    elif t == "agent.state":
        bad += state_problems(w, ev, slack)
    return bad


def describe_want(w):
    s = w["type"] + (":" + str(w["call_id"]) if "call_id" in w else "")
    s += "+initial" if w.get("initial") else ""
    extra = {k: v for k, v in w.items() if k not in ("type", "call_id", "initial")}
    return s + (" " + json.dumps(extra) if extra else "")


class Verdict:
    def __init__(self, tail_from, slack, lag, timeout):
        self.tail_from, self.slack, self.lag, self.timeout = tail_from, slack, lag, timeout
        self.checked = self.tolerated = 0

    def late(self, obs, ev):
        """Why ev's time does not fit the answer it came from (events matched one poll off), or
        None. A failure may be seen only at the daemon's timeout (a hang)."""
        try:
            t = parse_time(ev.get("time"))
        except (TypeError, ValueError):
            return "time %r" % ev.get("time")
        limit = self.lag + (self.timeout if obs.kind == "failed" else 0)
        if not obs.t - 0.5 <= t <= obs.t + limit:
            return "time %s is %+.3f s from the answer it follows" % (ev.get("time"), t - obs.t)
        return None

    def stream(self, agent, label, groups, actual):
        """Compares one stream; returns None or a report of its first mismatch."""
        pos = 0
        for i, (obs, group) in enumerate(groups):
            if not group:
                continue
            got = actual[pos:pos + len(group)]
            if len(got) < len(group) and obs.t >= self.tail_from:
                self.tolerated += sum(len(g) for _, g in groups[i:]) - len(got)
                return self.extra(agent, label, groups, actual, pos + len(got), obs)
            errors = []
            if len(got) < len(group):
                errors.append("the daemon wrote %d of these %d events" % (len(got), len(group)))
            for w, ev in zip(sort_runs(group), sort_runs(got)):
                why = problems(w, ev, self.slack) + [x for x in [self.late(obs, ev)] if x]
                if why:
                    errors.append("want %s: %s" % (describe_want(w), "; ".join(why)))
            if errors:
                return self.report(agent, label, groups, i, actual, pos, errors)
            self.checked += len(got)
            pos += len(group)
        return self.extra(agent, label, groups, actual, pos, None)

    def extra(self, agent, label, groups, actual, pos, obs):
        if pos >= len(actual):
            return None
        return self.report(agent, label, groups, len(groups), actual, pos,
                           ["%d event(s) the served answers do not explain" % (len(actual) - pos)])

    @staticmethod
    def report(agent, label, groups, i, actual, pos, errors):
        out = ["MISMATCH agent %s (%s stream):" % (agent, label)]
        for obs, group in groups[max(0, i - 2):i + 1]:
            what = json.dumps(obs.value) if obs.kind != "failed" else "FAILED (%s)" % obs.value
            out.append("  served t=%.3f %s: %s" % (obs.t, obs.path, what))
            out.append("    want: %s" % (" | ".join(describe_want(w) for w in group) or "-"))
        out += ["  " + e for e in errors]
        got = actual[pos:pos + 6]
        out.append("  got:  %s" % (" | ".join(short(e) for e in got) or "nothing"))
        out += ["    %s" % json.dumps(e) for e in got[:4]]
        return "\n".join(out)


def check_longs(agent, events, state_model, long_call):
    """call.long and agent.long_state against the daemon's own stream; returns problems."""
    bad = []
    open_calls, longs = set(), set()
    state, segment, fired = None, -1, {}
    for ev in events:
        t, cid = ev.get("type"), ev.get("call_id")
        if t == "call.started":
            open_calls.add(cid)
        elif t == "call.ended":
            open_calls.discard(cid)
        elif t == "call.long":
            if cid not in open_calls:
                bad.append("call.long for %s, which is not open" % cid)
            if cid in longs:
                bad.append("call.long twice for %s" % cid)
            longs.add(cid)
            if long_call is not None and not ev.get("duration", 0) >= long_call - 0.001:
                bad.append("call.long for %s after %r s, long_call is %r"
                           % (cid, ev.get("duration"), long_call))
        elif t == "agent.state":
            state, segment = ev.get("state"), segment + 1
        elif t == "agent.long_state":
            if ev.get("state") != state:
                bad.append("agent.long_state %r while in %r" % (ev.get("state"), state))
            fired[segment] = fired.get(segment, 0) + 1
            allowed = (state_model.stints[segment]
                       if 0 <= segment < len(state_model.stints) else 1)
            if fired[segment] > allowed:
                bad.append("agent.long_state %d times in one state (%d stints)"
                           % (fired[segment], allowed))
            if not ev.get("duration", 0) >= ev.get("threshold", 0):
                bad.append("agent.long_state duration %r below threshold %r"
                           % (ev.get("duration"), ev.get("threshold")))
    return ["MISMATCH agent %s (long events): %s" % (agent, b) for b in bad[:1]]


def judge(served, events, opts, out=sys.stdout):
    """Returns (mismatching agents, Verdict, agents judged)."""
    by_agent, end = observations(served, opts.timeout, opts.api)
    verdict = Verdict(end - opts.tail, opts.since_slack, opts.lag, opts.timeout)
    ev_by_agent = {}
    for ev in events:
        ev_by_agent.setdefault(agent_key(ev), []).append(ev)
    bad = 0
    for agent in sorted(set(by_agent) | set(ev_by_agent)):
        evs = ev_by_agent.get(agent, [])
        calls, states, sm = expected(by_agent.get(agent, []), opts.threshold)
        reports = [verdict.stream(agent, "calls", calls,
                                  [e for e in evs if e.get("type") in CALL_STREAM]),
                   verdict.stream(agent, "state", states,
                                  [e for e in evs if e.get("type") in STATE_STREAM])]
        reports = [r for r in reports if r] + check_longs(agent, evs, sm, opts.long_call)
        unknown = sorted({e.get("type") for e in evs} - CALL_STREAM - STATE_STREAM
                         - {"call.long", "agent.long_state"}, key=str)
        if unknown:
            reports.append("MISMATCH agent %s: unknown event types %s" % (agent, unknown))
        if reports:
            bad += 1
            if bad <= opts.show:
                print("\n".join(reports), file=out)
    return bad, verdict, len(set(by_agent) | set(ev_by_agent))


def main(argv=None):
    p = argparse.ArgumentParser(description="judges agentwatchd events against cmssim --served")
    p.add_argument("served", nargs="?")
    p.add_argument("events", nargs="?")
    p.add_argument("--selftest", action="store_true")
    p.add_argument("--threshold", type=int, default=3, help="poll.failure_threshold (3)")
    p.add_argument("--timeout", type=float, default=5.0,
                   help="cms.timeout: an answer delayed this long is a failed poll (5)")
    p.add_argument("--tail", type=float, default=3.0,
                   help="seconds at the end of SERVED whose events may be missing (3)")
    p.add_argument("--since-slack", type=float, default=2.5,
                   help="allowed error of state_since, seconds (2.5)")
    p.add_argument("--lag", type=float, default=3.0,
                   help="an event's time may follow its answer's by this much, seconds (3)")
    p.add_argument("--long-call", type=float, help="alerts.long_call, to check call.long")
    p.add_argument("--api", choices=("auto", "batch", "agent"), default="auto",
                   help="cms.api: with batch, a batch_404 refusal is a failed poll (auto)")
    p.add_argument("--show", type=int, default=10, help="mismatching agents printed (10)")
    opts = p.parse_args(argv)
    if opts.selftest:
        import judge_selftest       # here, not at the top: it imports this module
        return judge_selftest.selftest(opts)
    if not (opts.served and opts.events):
        p.error("SERVED and EVENTS are required")
    try:
        served, events = read_lines(opts.served), read_lines(opts.events)
        bad, verdict, agents = judge(served, events, opts)
    except (OSError, KeyError, TypeError) as e:
        print("judge: unreadable input: %r" % e, file=sys.stderr)
        return 2
    print("judge: %d agents, %d served lines, %d events, %d checked, %d tolerated in the tail; "
          "%d agent(s) mismatch" % (agents, len(served), len(events), verdict.checked,
                                    verdict.tolerated, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
