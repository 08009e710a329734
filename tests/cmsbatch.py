"""cmsbatch.py: cmssim.py's batch paths: agentgroup/queryagentcalls and agentstatusinfobyagentids."""

import asyncio
import json
import time

from cmshttp import Reply, json_reply
from cmsmodel import NOT_SET16, NOT_SET32, compact, stable_order
from cmsscenario import ANSWERING_FAULTS, INVALID, PERMISSION, call_object, fault_name

BATCH_MAX = {"batch": 3000, "state": 6000}
PLANS_MAX = 4096        # request bodies remembered (a client asks for the same batches again)


def valid_ids(cc, vdn):
    return (type(cc) is int and type(vdn) is int     # bool is not an int here
            and 1 <= cc <= 65535 and 1 <= vdn <= 5000)


def valid_agent_id(aid):
    return type(aid) is int and (101 <= aid <= 59999 or 70000 <= aid <= 999999)


def json_object_of(body):
    """A request body -> its JSON object, or None when it is not one."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


def parse_batch(body, limit):
    """Batch request body -> (cc, vdn, [agent ids]), or None if invalid (a list of 1..limit
    unique, valid agent IDs of one ccId and vdn)."""
    obj = json_object_of(body)
    if obj is None:
        return None
    cc, vdn, ids = obj.get("ccId"), obj.get("vdn"), obj.get("agentIds")
    if not valid_ids(cc, vdn) or not isinstance(ids, list) or not 1 <= len(ids) <= limit:
        return None
    if not all(valid_agent_id(a) for a in ids) or len(set(ids)) != len(ids):
        return None
    return cc, vdn, ids


def request_agents(body):
    """Best effort for the served log of a refused request: (cc, vdn, [agent ids]) or None."""
    try:
        obj = json.loads(body)
        cc, vdn = int(obj["ccId"]), int(obj["vdn"])
        ids = obj["agentIds"] if "agentIds" in obj else [obj["agentId"]]
        return cc, vdn, sorted({int(a) for a in ids})
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
        return None


def failed_served(kind, cc, vdn, ids, why, value="failed"):
    members = ",".join('"%d":"%s"' % (a, value) for a in ids)
    return (kind, cc, vdn, members, ',"fault":%s' % compact(why))


def served_from_body(kind, body, why):
    q = request_agents(body)
    return failed_served(kind, q[0], q[1], q[2], why) if q else (kind, None, None, "",
        ',"fault":%s' % compact(why))


def batch_reply(entries, fault_kind, outcome="ok"):
    """The success envelope around entries (JSON texts); "legacy" has resultDatas only."""
    arr = "[%s]" % ",".join(entries)
    if fault_kind == "legacy":
        body = '{"result":"0","resultCode":"0100000","resultDatas":%s}' % arr
    else:
        body = '{"result":"0","resultCode":"0100000","resultDatas":%s,"resultDesc":%s}' % (arr, arr)
    return Reply(200, body.encode(), outcome=outcome)


class Plan:
    """A valid batch request body, parsed once: its agents in request and in answer order, with
    their keys ("cc:vdn:id"), the random model's Lines and which of them are scripted."""
    __slots__ = ("kind", "cc", "vdn", "ids", "keys", "order", "order_keys", "lines", "scripted",
                 "scripted_version")

    def __init__(self, kind, cc, vdn, ids):
        self.kind, self.cc, self.vdn, self.ids = kind, cc, vdn, ids
        prefix = "%d:%d:" % (cc, vdn)
        self.keys = tuple(prefix + str(a) for a in ids)
        self.order = stable_order(ids)
        self.order_keys = [prefix + str(a) for a in self.order]
        self.lines = None
        self.scripted, self.scripted_version = None, None


class BatchPaths:
    """The batch paths of Sim (a mixin: it uses Sim's stats, config, entries, faults, random,
    plans (a dict) and scripted_version, which Sim bumps whenever an agent's entry changes)."""

    def plan_for(self, kind, body):
        """The Plan of a request body, or None when the body is not a valid request."""
        plans, key = self.plans, (kind, body)
        if key in plans:
            return plans[key]
        q = parse_batch(body, BATCH_MAX[kind])
        if len(plans) >= PLANS_MAX:
            plans.clear()
        plan = plans[key] = Plan(kind, *q) if q else None
        return plan

    async def handle_batch(self, req, kind):
        """Answer one request on a batch path (kind "batch" or "state")."""
        plan = self.plan_for(kind, req.body)
        if plan is None:
            reply = json_reply(INVALID, outcome="invalid")
            reply.served = served_from_body(kind, req.body, "invalid")
            return reply, "-"
        cc, vdn, ids = plan.cc, plan.vdn, plan.ids
        where = "%d:%d" % (cc, vdn)
        self.stats.asked(kind, len(ids))
        cfg = self.config
        switch = cfg.batch_404 if kind == "batch" else cfg.state_404
        fault = cfg.batch_fault if kind == "batch" else cfg.state_fault
        self.stats.polled_all(plan.keys, kind)
        if cfg.applies(switch, cc, vdn):
            reply = self.fault_reply(None, ("http", 404))
            reply.outcome = kind + "_404"
            reply.served = failed_served(kind, cc, vdn, ids, reply.outcome, "refused")
            return reply, where
        if kind == "state" and cfg.applies(cfg.state_permission, cc, vdn):
            reply = json_reply(PERMISSION, outcome="state_permission")
            reply.served = failed_served(kind, cc, vdn, ids, reply.outcome, "refused")
            return reply, where
        if fault and fault[0] == "slow":
            await asyncio.sleep(fault[1])
        if fault and fault[0] not in ANSWERING_FAULTS:
            reply = self.batch_fault_reply(kind, cc, vdn, ids, fault, req.body)
            reply.served = failed_served(kind, cc, vdn, ids, fault_name(fault))
            return reply, where
        entries, answered, members = self.batch_entries(plan, time.time())
        extra = ""
        if fault:
            extra = ',"fault":%s' % compact(fault_name(fault))
            if fault[0] == "slow":
                extra += ',"delay":%s' % fault[1]
            if fault[0] == "unasked":
                entries.append(self.unasked_entry(kind, cc, vdn, ids))
            if fault[0] == "duplicate" and entries:
                # The client cannot tell which of the two to believe: that agent's poll fails.
                entries.append(entries[0])
                if members is not None:
                    members[answered[0]] = '"%d":"failed"' % answered[0]
        reply = batch_reply(entries, fault[0] if fault else None)
        reply.outcome = fault_name(fault) if fault else "ok"
        if members is not None:
            reply.served = (kind, cc, vdn, ",".join(members.values()), extra)
        return reply, where

    def batch_entries(self, plan, now):
        """The answer's entries (JSON texts, in an order that does not follow the request), the
        agent IDs they are for, and the served log's member of every agent asked (by ID; None
        without --served: nobody reads them)."""
        if self.random is None or self.scenario.unknown == "missing":
            return self.entries_of(plan, range(len(plan.order)), now, False)
        # Random activity for every agent but the few scripted ones: their cached answers
        # (cmsmodel's Line cache), in one tight loop; then the scripted ones patched in.
        if plan.lines is None:
            plan.lines = [self.random.line(a) for a in plan.order_keys]
        refresh, t, entries = self.random.refresh, int(now), []
        if plan.kind == "batch":
            for line in plan.lines:
                c = line.cache
                if c is None or not c[0] <= now < c[1]:
                    c = refresh(line, now)
                entries.append(c[7])
        else:
            for line in plan.lines:
                c = line.cache
                if c is None or not c[0] <= now < c[1]:
                    c = refresh(line, now)
                entries.append("%s%d%s" % (c[4], max(0, t - c[5]), c[6]))
        scripted = self.scripted_of(plan)
        answered = list(plan.order)
        if scripted:
            texts = self.entries_of(plan, scripted, now, True)[0]
            for i, text in zip(scripted, texts):
                entries[i] = text
            keep = [i for i, text in enumerate(entries) if text is not None]
            if len(keep) < len(entries):
                entries = [entries[i] for i in keep]
                answered = [answered[i] for i in keep]
        if self.served is None:
            return entries, answered, None
        return entries, answered, self.members_of(plan, entries, answered)

    def scripted_of(self, plan):
        """Indices (in answer order) of plan's agents that have an entry (scenario or /sim/agent)."""
        if plan.scripted_version != self.scripted_version:
            plan.scripted = [i for i, a in enumerate(plan.order_keys) if self.entry(a) is not None]
            plan.scripted_version = self.scripted_version
        return plan.scripted

    def entries_of(self, plan, which, now, holes):
        """entries, answered and members as batch_entries, for the agents at indices which of
        plan.order; with holes, an absent or unknown agent's entry is None, else left out."""
        entries, answered, members = [], [], {}
        for i in which:
            aid, agent = plan.order[i], plan.order_keys[i]
            e = self.entry(agent)
            text = None
            if e is None or not e.absent:
                if plan.kind == "batch":
                    calls = self.calls_json(agent, e, now)
                    if calls is not None:
                        text = '{"agentId":%d,"callList":%s}' % (aid, calls)
                        members[aid] = '"%d":{"calls":%s}' % (aid, calls)
                else:
                    text = self.state_json(agent, aid, e, now)
                    if text is not None:
                        members[aid] = '"%d":{"state":%s}' % (aid, text)
            if text is None:
                members[aid] = '"%d":"absent"' % aid
                if holes:
                    entries.append(None)
            else:
                entries.append(text)
                answered.append(aid)
        return entries, answered, members

    def members_of(self, plan, entries, answered):
        """The served log's members (by agent ID, in answer order) of an answer's entries."""
        members = dict.fromkeys(plan.order)
        if plan.kind == "batch":
            key = '"callList":'       # an entry is {"agentId":N,"callList":LIST}
            for aid, text in zip(answered, entries):
                members[aid] = '"%d":{"calls":%s}' % (aid, text[text.index(key) + len(key):-1])
        else:
            for aid, text in zip(answered, entries):
                members[aid] = '"%d":{"state":%s}' % (aid, text)
        for aid, m in members.items():
            if m is None:
                members[aid] = '"%d":"absent"' % aid
        return members

    def unasked_entry(self, kind, cc, vdn, ids):
        """An entry for an agent that was not asked for (Huawei's own sample has one)."""
        aid = max(ids) + 1
        if kind == "batch":
            return '{"agentId":%d,"callList":[]}' % aid
        return self.state_json("%d:%d:%d" % (cc, vdn, aid), aid, None, time.time()) or "{}"

    def calls_json(self, agent, e, now):
        """callList of agent as JSON text, or None when the CMS does not know the agent."""
        if e is not None and e.calls is not None:
            return compact([call_object(c) for c in e.calls])
        if e is None and self.scenario.unknown == "missing":
            return None
        if self.random is not None:
            return self.random.answer(agent, now)[1]
        return compact([call_object(c) for c in self.scenario.default_calls])

    def state_json(self, agent, aid, e, now):
        """The agent's state entry as JSON text, or None when the CMS does not know the agent."""
        scripted = e.state if e is not None and e.state is not None else self.scenario.default_state
        if e is None and self.scenario.unknown == "missing":
            return None
        if scripted is None and self.random is not None and (e is None or e.calls is None):
            return self.random.answer(agent, now)[2]
        entry = self.derived_state(agent, aid, e, now)
        if scripted is not None:
            fields, set_at = scripted
            entry.update(fields)
            if fields.get("currentState") == 0 and "logonTime" not in fields:
                entry.update(logonTime=NOT_SET32 * 1000, locationId=NOT_SET16,
                             prevStateTime=NOT_SET32)
            cst = fields.get("currentStateTime")
            if type(cst) is int and cst not in (NOT_SET32, NOT_SET16):
                entry["currentStateTime"] = cst + max(0, int(now - set_at))
        return compact(entry)

    def derived_state(self, agent, aid, e, now):
        """An unscripted agent's state without --random: talking on a call, else idle."""
        calls = e.calls if e is not None and e.calls is not None else self.scenario.default_calls
        code = 5 if calls else 1
        d = self.derived.get(agent)
        if d is None:
            d = self.derived[agent] = [code, int(now), 0, NOT_SET32]
        elif d[0] != code:
            d[:] = [code, int(now), d[0], int(now) - d[1]]
        return {"prevState": d[2], "agentId": aid, "logonTime": int(self.started) * 1000,
                "agentRelease": 0, "locationId": 1, "currentPrivateCallNum": 0,
                "currentStateTime": max(0, int(now) - d[1]), "currentStateReason": NOT_SET16,
                "prevStateTime": d[3], "currentState": code}

    def batch_fault_reply(self, kind, cc, vdn, ids, fault, body):
        """A failing answer on a batch path."""
        kind_f, _ = fault
        name = fault_name(fault)
        if kind_f == "badids":
            if kind == "batch":
                bad = '[{"callId":1605492949},{"callId":"%s"},{"callId":"1605492949-14\\u000147"}]' \
                    % ("9" * 100)
                entries = ['{"agentId":%d,"callList":%s}' % (a, bad) for a in ids]
            else:
                entries = ['{"agentId":%d,"currentState":"5"}' % a for a in ids]
            return batch_reply(entries, None, name)
        if kind_f == "huge":
            # 64 KiB past the cap the client scales with the batch (64 KiB + 4 KiB per agent).
            call = '{"callId":"1600000000-00000000","callStatus":5,"callInOut":0,"mediaType":5},'
            n = (128 * 1024 + 4 * 1024 * len(ids)) // len(call) + 1
            body = ('{"result":"0","resultCode":"0100000","resultDesc":[{"agentId":%d,"callList":[%s]}]}'
                    % (ids[0], (call * n)[:-1]))
            return Reply(200, body.encode(), outcome=name)
        if kind_f == "truncated":
            entries = self.batch_entries(self.plan_for(kind, body), time.time())[0]
            return Reply(200, batch_reply(entries, None).body, action="truncated", outcome=name)
        return self.fault_reply(None, fault)
