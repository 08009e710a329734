"""cmsmodel.py: the simulator's random CMS activity: calls whose status changes, agent states that follow them.

Every agent has its own timeline drawn from random generators seeded by (seed, agent[, call]) and
generated forward from a fixed anchor time, so it depends only on (seed, agent, anchor): forked
workers sharing the anchor give identical answers for an agent.

Calls: the same start, end and call ID draws as the simulator always made (an idle agent starts a call
with probability 1/20 per second, 5..40 s long, 10% with a second, overlapping call). Each call also
has a direction (30% outbound), a media type (mostly 5 phone; social chat with a submediaType) and a
status timeline: alerting (4) for 1..5 s, then talking (5), with holds (6) and now and then a
three-party stretch (9) in between.

Agent state (CTI codes): answering (4) while every current call is alerting, talking (5) while on a
call, wrap_up (6) for 2..15 s after a call, idle (1) otherwise, with rest (8, currentStateReason from
REST_REASONS) and busy (7) episodes in idle time (a call ends them). 2% of the agents are signed out (0):
no calls, and the not-set markers in logonTime, prevStateTime, locationId and currentStateReason.
All boundaries are whole seconds; currentStateTime is whole seconds in the current state.

Pace K (RandomActivity's pace, cmssim.py --random-pace): every duration above but ringing is K times
as long (idle gaps, call lengths, holds and the talk between them, wrap-up, rest and busy episodes
and the idle time between them), rounded down to whole seconds, so an agent changes K times less
often; the same draws are made, so K = 1 is the model above exactly. K = 10 gives calls of
50..400 s, a contact center's rate rather than a stress test's.
"""

import bisect
import json
import math
import random

NOT_SET32 = 4294967295
NOT_SET16 = 65535
SIGNED_OUT_P = 0.02
REST_REASONS = (258, 259, 260, 301)
INBOUND_MEDIA = (1, 2, 4, 17, 19, 51, 53, 55)
OUTBOUND_MEDIA = (15, 16)
SUBMEDIA = ("web", "WhatsApp", "LINE", "WeChat", "Facebook")
KEEP = 180          # seconds of history kept behind the latest query


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


class Call:
    __slots__ = ("start", "end", "id", "changes", "points", "head", "tail")

    def __init__(self, r, start, end, cid, pace=1):
        """r: the agent's detail generator, drawn from in the order calls are made; pace: the
        factor of hold gaps and lengths."""
        self.start, self.end, self.id = start, end, cid
        outbound = r.random() < 0.3
        if outbound:
            media = 5 if r.random() < 0.7 else r.choice(OUTBOUND_MEDIA)
        else:
            media = 5 if r.random() < 0.8 else r.choice(INBOUND_MEDIA)
        sub = None
        if media == 53 or (media in (51, 55) and r.random() < 0.3):
            sub = r.choice(SUBMEDIA)
        ring = r.randint(1, min(5, end - start - 2))
        self.changes = [(start, 4), (start + ring, 5)]
        t = start + ring
        while r.random() < 0.4:
            at = t + int(r.randint(1, 8) * pace)
            length = int(r.randint(2, 8) * pace)
            if at + length >= end:
                break
            self.changes += [(at, 9 if r.random() < 0.2 else 6), (at + length, 5)]
            t = at + length
        self.points = tuple(at for at, _ in self.changes) + (end,)     # its boundaries
        self.head = '{"callId":"%s","callStatus":' % cid     # IDs are plain ASCII
        self.tail = ',"callInOut":%d,"mediaType":%d%s}' % (
            int(outbound), media, ',"submediaType":%s' % compact(sub) if sub else "")

    def status_at(self, t):
        status = 4
        for at, s in self.changes:
            if at > t:
                break
            status = s
        return status

    def json_at(self, t):
        return "%s%d%s" % (self.head, self.status_at(t), self.tail)


class Line:
    """One agent's timeline and the answer cached until its next boundary: cache is (from, until,
    call IDs, callList JSON, state entry head, stint start, state entry tail, calls entry JSON)."""
    __slots__ = ("agent", "aid", "rng", "drng", "idle_from", "calls", "periods", "eprng",
                 "ep_from", "episodes", "origin", "signed_out", "logon", "cache")


class RandomActivity:
    START_P = 1 / 20        # chance per second that an idle agent starts a call
    MIN_DUR, MAX_DUR = 5, 40
    OVERLAP_P = 0.1         # chance that a busy period holds a second, overlapping call
    EPISODE_P = 1 / 60      # chance per second of idle time that a rest or busy episode starts

    def __init__(self, seed, anchor, pace=1):
        """pace: the factor of every duration but ringing (module doc), a number >= 1."""
        self.seed = seed
        self.anchor = int(anchor)
        self.pace = pace
        self.keep = int(KEEP * pace)
        self.lines = {}

    # -- timeline generation --------------------------------------------

    def line(self, agent):
        line = self.lines.get(agent)
        if line is not None:
            return line
        line = Line()
        line.agent = agent
        line.aid = int(agent.rsplit(":", 1)[1])
        # Three generators (seeding is the costly part of a new agent): call times and IDs as
        # the simulator always drew them, call detail and wrap-up lengths, and the rest.
        line.rng = random.Random("%s/%s" % (self.seed, agent))
        line.drng = random.Random("%s/%s/detail" % (self.seed, agent))
        line.eprng = meta = random.Random("%s/%s/episodes" % (self.seed, agent))
        line.idle_from = self.anchor
        line.calls, line.periods, line.episodes = [], [], []
        line.signed_out = meta.random() < SIGNED_OUT_P
        line.origin = self.anchor - meta.randint(1, 300)
        line.logon = (line.origin - meta.randint(0, 28800)) * 1000
        line.ep_from = line.origin
        line.cache = None
        self.lines[agent] = line
        return line

    def _extend(self, line, now):
        rng = line.rng
        while line.idle_from <= now:
            gap = int(math.log(1.0 - rng.random()) / math.log(1.0 - self.START_P) * self.pace)
            start = line.idle_from + gap
            ends = [self._add_call(line, start)]
            if rng.random() < self.OVERLAP_P:
                ends.append(self._add_call(line, start + rng.randint(1, ends[0] - start - 1)))
            line.idle_from = max(ends)
            wrap = int(line.drng.randint(2, 15) * self.pace)
            line.periods.append((start, line.idle_from, wrap))
        er = line.eprng
        while line.ep_from <= now:
            gap = int(math.log(1.0 - er.random()) / math.log(1.0 - self.EPISODE_P) * self.pace)
            start = line.ep_from + gap
            if er.random() < 0.6:
                ep = (start, start + int(er.randint(15, 90) * self.pace), 8, er.choice(REST_REASONS))
            else:
                ep = (start, start + int(er.randint(10, 40) * self.pace), 7, NOT_SET16)
            line.episodes.append(ep)
            line.ep_from = ep[1] + 1
        horizon = now - self.keep
        line.calls = [c for c in line.calls if c.end > horizon]
        # The last two periods and episodes stay: the current stint may have begun at one.
        line.periods = ([p for p in line.periods[:-2] if p[1] + p[2] > horizon]
                        + line.periods[-2:])
        line.episodes = [e for e in line.episodes[:-2] if e[1] > horizon] + line.episodes[-2:]

    def _add_call(self, line, start):
        rng = line.rng
        end = start + int(rng.randint(self.MIN_DUR, self.MAX_DUR) * self.pace)
        cid = "%d-%d" % (start, rng.randrange(1000, 1000000))
        line.calls.append(Call(line.drng, start, end, cid, self.pace))
        return end

    # -- the state at a time -----------------------------------------------

    @staticmethod
    def _code_at(line, t):
        """(CTI state, reason) at time t."""
        if line.signed_out:
            return 0, NOT_SET16
        ringing = False
        for c in line.calls:
            if c.start <= t < c.end:
                if c.status_at(t) != 4:
                    return 5, NOT_SET16     # talking while any call is past ringing
                ringing = True
        if ringing:
            return 4, NOT_SET16
        for start, end, wrap in reversed(line.periods):
            if end <= t:
                if t < end + wrap:
                    return 6, NOT_SET16
                break
        for start, end, code, reason in line.episodes:
            if start <= t < end:
                return code, reason
        return 1, NOT_SET16

    @staticmethod
    def _breakpoints(line):
        pts = {line.origin}
        for c in line.calls:
            pts.update(c.points)
        for start, end, wrap in line.periods:
            pts.add(end + wrap)
        for start, end, _, _ in line.episodes:
            pts.add(start)
            pts.add(end)
        return sorted(pts)

    def _stint(self, line, pts, t):
        """(code, reason, since): the stint at time t and when it began."""
        cur = self._code_at(line, t)
        if line.signed_out:
            return cur + (line.origin,)
        since = line.origin
        for i in range(bisect.bisect_right(pts, t) - 1, -1, -1):    # the boundaries <= t, latest first
            b = pts[i]
            if b <= line.origin or self._code_at(line, b - 1) != cur:
                since = max(b, line.origin)
                break
        return cur + (since,)

    def _compute(self, line, now):
        t = int(now)
        pts = self._breakpoints(line)
        code, reason, since = self._stint(line, pts, t)
        if since > line.origin:
            pcode, _, psince = self._stint(line, pts, since - 1)
            prev, prev_time = pcode, since - psince
        else:
            prev, prev_time = 0, NOT_SET32
        i = bisect.bisect_right(pts, t)
        until = min(pts[i:i + 1] + [line.idle_from, line.ep_from])
        calls = [] if line.signed_out else [c for c in line.calls if c.start <= t < c.end]
        calls_json = "[%s]" % ",".join(c.json_at(t) for c in calls)
        signed_in = not line.signed_out
        state_head = ('{"prevState":%d,"agentId":%d,"logonTime":%d,"agentRelease":0,'
                      '"locationId":%d,"currentPrivateCallNum":0,"currentStateTime":'
                      % (prev, line.aid, line.logon if signed_in else NOT_SET32 * 1000,
                         1 if signed_in else NOT_SET16))
        state_tail = (',"currentStateReason":%d,"prevStateTime":%d,"currentState":%d}'
                      % (reason, prev_time if signed_in else NOT_SET32, code))
        return (t, until, [c.id for c in calls], calls_json, state_head, since, state_tail,
                '{"agentId":%d,"callList":%s}' % (line.aid, calls_json))

    def refresh(self, line, now):
        """line's cache (Line) at unix time now, computed again if now is past its boundary."""
        c = line.cache
        if c is None or not c[0] <= now < c[1]:
            self._extend(line, now)
            c = line.cache = self._compute(line, now)
        return c

    def answer(self, agent, now):
        """(call IDs, callList JSON, state entry JSON) of agent at unix time now."""
        c = self.refresh(self.line(agent), now)
        state = "%s%d%s" % (c[4], max(0, int(now) - c[5]), c[6])
        return c[2], c[3], state

    def calls(self, agent, now):
        """The agent's current call IDs (the per-agent path)."""
        return self.answer(agent, now)[0]


def stable_order(ids):
    """A fixed permutation that does not follow the request: clients must key by agentId."""
    return sorted(ids, key=lambda a: ((a * 2654435761) & 0xFFFFFFFF, a))
