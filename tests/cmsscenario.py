"""cmsscenario.py: what tests script in cmssim.py: faults, per-agent calls and states, the batch
paths' switches, and the CMS's answer envelopes and result codes."""

import time

# ---------------------------------------------------------------------------
# Faults

FAULT_KINDS = {"http", "nonjson", "wrongshape", "badids", "cmserror", "legacy",
               "slow", "reset", "huge", "truncated", "hang", "unasked", "duplicate"}
CMS_ERRORS = {
    "0100001": "The interface failed to be invoked",
    "0100002": "Invalid parameter",
    "0100003": "The interface requires CTI V300R008",
    "0100999": "Unknown error",
    "0101001": "Inspection relationship interface abnormal",
    "0101002": "The number queried does not exist on the UAP",
    "0101003": "Insufficient permission",
}


def parse_fault(spec):
    """'kind[:arg]' -> (kind, arg), None for no fault; ValueError if malformed."""
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise ValueError("fault must be a string or null")
    kind, _, arg = spec.partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError("unknown fault %r" % spec)
    if kind == "http":
        code = int(arg)
        if not 200 <= code <= 599:
            raise ValueError("http fault code out of range: %r" % spec)
        return (kind, code)
    if kind == "slow":
        secs = float(arg)
        if not 0 <= secs < 86400:
            raise ValueError("slow fault seconds out of range: %r" % spec)
        return (kind, secs)
    if kind == "cmserror":
        if not arg:
            raise ValueError("cmserror needs a code: %r" % spec)
        return (kind, arg)
    if arg:
        raise ValueError("fault %r takes no argument" % kind)
    return (kind, None)


def fault_name(fault):
    kind, arg = fault
    return kind if arg is None else "%s:%s" % (kind, arg)


# ---------------------------------------------------------------------------
# Scripted agents, the batch paths' switches, the scenario

UNSET = object()


class Agent:
    """What the simulator answers for one agent. calls/state None, fault UNSET fall back to defaults.
    state is [entry fields, unix time they were set]; absent leaves it out of batch answers."""
    __slots__ = ("calls", "fault", "state", "absent")

    def __init__(self, calls=None, fault=UNSET, state=None, absent=False):
        self.calls = calls
        self.fault = fault
        self.state = state
        self.absent = absent

    def copy(self):
        return Agent(self.calls, self.fault, self.state, self.absent)


def agent_key(text):
    """'cc:vdn:id' -> canonical 'cc:vdn:id' (ints), ValueError if malformed."""
    parts = str(text).split(":")
    if len(parts) != 3:
        raise ValueError("agent must be CC:VDN:ID, got %r" % text)
    return "%d:%d:%d" % tuple(int(p) for p in parts)


DEFAULT_DETAIL = (("callStatus", 5), ("callInOut", 0), ("mediaType", 5))


def check_calls(calls):
    """A scripted call list: items are call IDs (any JSON value: the per-agent path answers them
    verbatim) or objects with a callId; None falls back to the default."""
    if calls is None:
        return None
    if not isinstance(calls, list):
        raise ValueError("calls must be a list or null")
    for c in calls:
        if isinstance(c, dict) and "callId" not in c:
            raise ValueError("a call object needs a callId: %r" % (c,))
    return calls


def call_object(item):
    """A scripted call as the batch path answers it: missing detail keys get talking/inbound/phone,
    keys set to null are left out."""
    obj = dict(item) if isinstance(item, dict) else {"callId": item}
    for key, value in DEFAULT_DETAIL:
        obj.setdefault(key, value)
    return {k: v for k, v in obj.items() if v is not None}


def call_id(item):
    return item["callId"] if isinstance(item, dict) else item


STATE_KEYS = ("prevState", "agentId", "logonTime", "agentRelease", "locationId",
              "currentPrivateCallNum", "currentStateTime", "currentStateReason", "prevStateTime",
              "currentState")


def check_state(state):
    """A scripted state entry (fields of STATE_KEYS), stamped with the time it was set."""
    if state is None:
        return None
    if not isinstance(state, dict) or "currentState" not in state:
        raise ValueError("state must be an object with currentState, or null")
    unknown = set(state) - set(STATE_KEYS)
    if unknown:
        raise ValueError("unknown state keys: %s" % ", ".join(sorted(unknown)))
    return [dict(state), time.time()]


def agent_update(agent, obj):
    """Applies the keys of obj (calls, fault, state, absent) to agent."""
    if not isinstance(obj, dict):
        raise ValueError("agent entry must be an object")
    if "calls" in obj:
        agent.calls = check_calls(obj["calls"])
    if "fault" in obj:
        agent.fault = parse_fault(obj["fault"])
    if "state" in obj:
        agent.state = check_state(obj["state"])
    if "absent" in obj:
        if not isinstance(obj["absent"], bool):
            raise ValueError("absent must be true or false")
        agent.absent = obj["absent"]
    return agent


def agent_from_json(obj):
    return agent_update(Agent(), obj)


def check_groups(value, key):
    """A /sim/config switch: True, False or a list of [cc, vdn] -> True, False or a set."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, list):
        raise ValueError("%s must be true, false or a list of [cc, vdn]" % key)
    groups = set()
    for g in value:
        if not isinstance(g, list) or len(g) != 2:
            raise ValueError("%s: %r is not [cc, vdn]" % (key, g))
        groups.add((int(g[0]), int(g[1])))
    return groups


class Config:
    """Switches of the batch paths, set by the scenario's "config" or POST /sim/config."""
    SWITCHES = ("batch_404", "state_404", "state_permission")
    FAULTS = ("batch_fault", "state_fault")

    def __init__(self):
        self.batch_404 = self.state_404 = self.state_permission = False
        self.batch_fault = self.state_fault = None

    def update(self, obj):
        if not isinstance(obj, dict):
            raise ValueError("config must be a JSON object")
        unknown = set(obj) - set(self.SWITCHES) - set(self.FAULTS)
        if unknown:
            raise ValueError("unknown config keys: %s" % ", ".join(sorted(unknown)))
        new = {k: check_groups(v, k) for k, v in obj.items() if k in self.SWITCHES}
        new.update({k: parse_fault(v) for k, v in obj.items() if k in self.FAULTS})
        for k, v in new.items():
            setattr(self, k, v)

    @staticmethod
    def applies(switch, cc, vdn):
        return switch is True or (isinstance(switch, set) and (cc, vdn) in switch)

    def json(self):
        out = {k: sorted(list(g) for g in v) if isinstance(v, set) else v
               for k, v in ((k, getattr(self, k)) for k in self.SWITCHES)}
        out.update({k: fault_name(getattr(self, k)) if getattr(self, k) else None
                    for k in self.FAULTS})
        return out


class Scenario:
    def __init__(self, obj=None):
        obj = obj or {}
        if not isinstance(obj, dict):
            raise ValueError("scenario must be a JSON object")
        self.agents = {agent_key(k): agent_from_json(v)
                       for k, v in (obj.get("agents") or {}).items()}
        default = obj.get("default") or {}
        self.default_calls = check_calls(default.get("calls")) or []
        self.default_fault = parse_fault(default.get("fault"))
        self.default_state = check_state(default.get("state"))
        self.config = Config()
        self.config.update(obj.get("config") or {})
        self.unknown = obj.get("unknown_agents", "empty")
        if self.unknown not in ("empty", "missing"):
            raise ValueError("unknown_agents must be \"empty\" or \"missing\"")


# ---------------------------------------------------------------------------
# The CMS's answers


def ok_payload(calls):
    return {"result": "0", "resultCode": "0100000", "resultDatas": calls, "resultDesc": calls}


INVALID = {"resultCode": "0100002", "resultDesc": CMS_ERRORS["0100002"]}
MISSING = {"resultCode": "0101002", "resultDesc": CMS_ERRORS["0101002"]}
PERMISSION = {"resultCode": "0101003", "resultDesc": CMS_ERRORS["0101003"]}
# Faults after which the client still has a usable answer (the served log records the answer).
ANSWERING_FAULTS = {"legacy", "unasked", "slow", "duplicate"}
