"""judge_selftest.py: judge.py's self-test (judge.py --selftest): a hand-written run that must
pass, and mutations of it that must fail."""

import datetime

from judge import ABSENT_REASON, CALL_STATUS, DIRECTION, MEDIA, judge


def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def selftest_case():
    T = 1800000000.0
    c1 = {"callId": "1-1", "callStatus": 4, "callInOut": 0, "mediaType": 5}
    c1t = dict(c1, callStatus=5)
    c1h = dict(c1, callStatus=6)
    c2 = {"callId": "2-2", "callStatus": 5, "callInOut": 1, "mediaType": 53,
          "submediaType": "WhatsApp"}
    st = {"prevState": 1, "agentId": 1099, "logonTime": 1, "agentRelease": 0, "locationId": 1,
          "currentPrivateCallNum": 0, "currentStateReason": 65535, "prevStateTime": 9}

    def line(t, path, agents, **extra):
        return dict(t=T + t, path=path, cc=1, vdn=170, agents=agents, **extra)
    served = [
        line(0, "batch", {"1099": {"calls": [c1]}, "1100": {"calls": []}}),
        line(0.4, "state", {"1099": {"state": dict(st, currentState=4, currentStateTime=3)}}),
        line(1, "batch", {"1099": {"calls": [c1t]}, "1100": "absent"}),
        line(1.4, "state", {"1099": {"state": dict(st, currentState=4, currentStateTime=4)}}),
        line(2, "batch", {"1099": {"calls": [c1h, c2]}, "1100": "absent"}),
        line(2.4, "state", {"1099": {"state": dict(st, currentState=5, currentStateTime=1)}}),
        line(3, "batch", {"1099": "failed", "1100": "absent"}, fault="http:503"),
        line(4, "batch", {"1099": {"calls": [c2]}, "1100": {"calls": []}}),
        line(4.4, "state", {"1099": {"state": dict(st, currentState=8, currentStateTime=0,
                                                     currentStateReason=258)}}),
        line(5, "batch", {"1099": "refused", "1100": "refused"}, fault="batch_404"),
        line(5.5, "agent", {"1099": {"calls": [{"callId": "2-2"}]}}),
        line(6, "agent", {"1099": {"calls": []}}),
        line(6.5, "agent", {"1100": {"calls": [{"callId": "3-3"}]}}),
        line(9, "agent", {"1100": {"calls": []}}),      # the tail: not received
    ]

    def ev(t, type_, agent=1099, **fields):
        return dict(id="x", type=type_, time=ts(T + t + 0.01),
                    agent={"cc": 1, "vdn": 170, "id": agent}, **fields)

    def det(status, inout=0, media=5, sub=None):
        d = {"call_status": CALL_STATUS[status], "call_status_code": status,
             "direction": DIRECTION[inout], "media": MEDIA[media], "media_type": media}
        if sub:
            d["submedia"] = sub
        return d
    events = [
        ev(0, "call.started", call_id="1-1", initial=True, **det(4)),
        ev(0, "agent.busy", calls=1, initial=True),
        ev(0.4, "agent.state", state="answering", state_code=4, state_since=ts(T + 0.4 - 3),
           initial=True),
        ev(1, "call.status", call_id="1-1", previous_call_status="alerting", **det(5)),
        ev(1, "call.long", call_id="1-1", duration=1.0),
        ev(2, "call.status", call_id="1-1", previous_call_status="talking", **det(6)),
        ev(2, "call.started", call_id="2-2", **det(5, 1, 53, "WhatsApp")),
        ev(2.4, "agent.state", state="talking", state_code=5, previous_state="answering",
           state_since=ts(T + 1.4)),
        ev(3, "agent.unreachable", agent=1100, failures=3, reason=ABSENT_REASON),
        ev(4, "call.ended", call_id="1-1", duration=4.0, **det(6)),
        ev(4, "agent.reachable", agent=1100),
        ev(4.4, "agent.state", state="rest", state_code=8, previous_state="talking",
           state_since=ts(T + 4.4), reason_code=258),
        ev(6, "call.ended", call_id="2-2", duration=4.0, **det(5, 1, 53, "WhatsApp")),
        ev(6, "agent.idle"),
        ev(6.5, "call.started", agent=1100, call_id="3-3"),
        ev(6.5, "agent.busy", agent=1100, calls=1),
    ]
    tail = [ev(9, "call.ended", agent=1100, call_id="3-3", duration=2.5),
            ev(9, "agent.idle", agent=1100)]
    return served, events, tail


def mutations(events, tail):
    """(what, mutated events) pairs, each of which must fail."""
    def without(i):
        return events[:i] + events[i + 1:]

    def changed(i, **fields):
        e = dict(events[i], **fields)
        return events[:i] + [e] + events[i + 1:]

    def swapped(i, j):
        e = list(events)
        e[i], e[j] = e[j], e[i]
        return e
    return [
        ("a missing initial call.started", without(0)),
        ("busy without initial", changed(1, initial=None)),
        ("wrong call_status on call.status", changed(3, call_status="held")),
        ("call.started before call.status in one poll", swapped(5, 6)),
        ("wrong submedia", changed(6, submedia="LINE")),
        ("wrong previous_state", changed(7, previous_state="idle")),
        ("state_since off by 10 s", changed(7, state_since=ts(1800000000.0 + 11.4))),
        ("unreachable too early", changed(8, failures=2)),
        ("unreachable with another reason", changed(8, reason="HTTP 503")),
        ("a false call.ended while unreachable", events[:9] + [
            dict(events[9], call_id="9-9", agent={"cc": 1, "vdn": 170, "id": 1100})] + events[9:]),
        ("reason_code missing", changed(11, reason_code=None)),
        ("detail on a per-agent answer", changed(14, call_status="talking")),
        ("a missing call.started before the tail", without(14)),
        ("a missing agent.idle (not in the tail)", without(13)),
        ("an extra event", events + [dict(events[13])]),
        ("half the tail", events + tail[:1] + [dict(tail[1], type="agent.busy", calls=1)]),
        ("call.long twice", events[:5] + [events[4]] + events[5:]),
        ("call.status a poll late", changed(3, time=ts(1800000002.01))),
        ("an unknown event type", events + [dict(events[13], type="agent.bogus")]),
    ]


def selftest(opts):
    served, events, tail = selftest_case()
    opts.tail, opts.lag = 1.0, 0.5
    ok = True
    sink = open("/dev/null", "w")
    for what, evs in (("the hand-written run passes", events),
                      ("it passes with the tail received too", events + tail)):
        bad, _, _ = judge(served, evs, opts)
        print("%s %s" % ("ok  " if bad == 0 else "FAIL", what))
        ok &= bad == 0
    for what, mutated in mutations(events, tail):
        clean = [{k: v for k, v in e.items() if v is not None} for e in mutated]
        bad, _, _ = judge(served, clean, opts, out=sink)
        print("%s fails: %s" % ("ok  " if bad else "FAIL", what))
        ok &= bad > 0
    return 0 if ok else 1
