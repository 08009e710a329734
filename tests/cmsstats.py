"""cmsstats.py: what cmssim.py counts for /sim/stats: requests per path and per agent, arrival
times."""

import array
import time


class Stats:
    def __init__(self):
        self.reset()

    def reset(self):
        self.requests = 0
        self.auth_failures = 0
        # agent -> [polls, polls_since_set, state_polls, state_polls_since_set]; a poll is an
        # answered calls request (either path) that asked for the agent.
        self.by_agent = {}
        self.groups = {}    # tuple of agents (polled_all) -> their by_agent entries
        self.by_path = {k: [0, 0] for k in ("agent", "batch", "state")}    # [requests, agents]
        self.arrivals = array.array("d")    # monotonic arrival time of each CMS request
        # per path: seconds from a CMS request read to its answer handed to the connection
        self.answer_times = {k: array.array("d") for k in self.by_path}

    def arrive(self, kind):
        self.requests += 1
        self.by_path[kind][0] += 1
        self.arrivals.append(time.monotonic())

    def answered(self, kind, seconds):
        self.answer_times[kind].append(seconds)

    def polled(self, agent, kind="agent"):
        entry = self.by_agent.get(agent)
        if entry is None:
            entry = self.by_agent[agent] = [0, 0, 0, 0]
        i = 2 if kind == "state" else 0
        entry[i] += 1
        entry[i + 1] += 1

    def polled_all(self, agents, kind):
        """polled for each of agents, a tuple: a batch's agents, asked again and again (their
        entries are looked up once)."""
        group = self.groups.get(agents)
        if group is None:
            by = self.by_agent
            group = self.groups[agents] = [by.setdefault(a, [0, 0, 0, 0]) for a in agents]
        i = 2 if kind == "state" else 0
        j = i + 1
        for entry in group:
            entry[i] += 1
            entry[j] += 1

    def asked(self, kind, n):
        self.by_path[kind][1] += n

    def agent_set(self, agent):
        entry = self.by_agent.setdefault(agent, [0, 0, 0, 0])
        entry[1] = entry[3] = 0

    def agent_json(self, agent):
        polls, since, spolls, ssince = self.by_agent.get(agent, (0, 0, 0, 0))
        return {"polls": polls, "polls_since_set": since, "state_polls": spolls,
                "state_polls_since_set": ssince}

    def json(self):
        return {"requests": self.requests, "auth_failures": self.auth_failures,
                "by_path": {k: {"requests": r, "agents": a} for k, (r, a) in self.by_path.items()},
                "by_agent": {a: self.agent_json(a) for a in self.by_agent},
                "answer_ms": {k: answer_json(v) for k, v in self.answer_times.items()}}

    def windows(self, width):
        """Request counts per window of `width` seconds, from the first arrival."""
        arr = self.arrivals
        if not arr:
            return {"requests": 0, "duration": 0.0, "mean_per_window": 0.0, "max_window": 0}
        t0 = arr[0]
        duration = arr[-1] - t0
        counts = {}
        for t in arr:
            w = int((t - t0) // width)
            counts[w] = counts.get(w, 0) + 1
        nwin = int(duration // width) + 1
        return {"requests": len(arr), "duration": round(duration, 6),
                "mean_per_window": len(arr) / nwin, "max_window": max(counts.values())}


def answer_json(times):
    """Count, mean, p99 and max in ms of answer times (seconds)."""
    if not times:
        return {"n": 0, "mean": 0, "p99": 0, "max": 0}
    v = sorted(times)
    ms = lambda x: round(x * 1000, 2)
    return {"n": len(v), "mean": ms(sum(v) / len(v)), "p99": ms(v[min(len(v) - 1, int(0.99 * len(v)))]),
            "max": ms(v[-1])}
