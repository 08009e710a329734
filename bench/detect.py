#!/usr/bin/env python3
"""detect.py: detection latency for bench/batch.sh, from a change at the simulator to its event.

Reads the daemon's stdout (JSON lines) on stdin, timestamping each line as it arrives, and meanwhile
scripts changes at the simulator (POST /sim/agent) for a few sampled agents, each in turn: a call
"BENCH-<pid>-<id>-<k>" appears (the pid because the simulator outlives a run), and once its
call.started was read, after a random pause of up to one interval, it goes; once its call.ended was
read, after another pause, the next call appears. The latency of a change is from just before its
POST was sent (so it includes the control request's round trip) to the line of its call.started or
call.ended. A change whose event has not come after 3 intervals + 2 s is counted as missed and the
agent goes on with the next.

  detect.py --url URL --ca PEM --agents CC:VDN:ID,... --interval S --warmup S --seconds S --out FILE

Changes are scripted from --warmup to --warmup + --seconds (from the start); stdin is read to its
end (the daemon's exit). FILE gets one JSON object when the last change's event came (the caller may
then stop the daemon), and again at the end of stdin with the lines read: latencies in ms (p50,
p99, max, n), missed, and the control round trips' median and max in ms.
"""

import argparse
import http.client
import json
import os
import random
import ssl
import sys
import threading
import time


def quantile(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


class Detector:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.seen = {}          # (type, call_id) -> monotonic time the line was read
        self.lines = 0
        u = args.url.split("://", 1)[1]
        host, port = u.rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=args.ca)
        self.conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)

    def read_stdin(self):
        for line in sys.stdin.buffer:
            t = time.monotonic()
            self.lines += 1
            if b'"BENCH-' not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.seen.setdefault((ev.get("type"), ev.get("call_id")), t)

    def post(self, agent, calls):
        body = json.dumps({"agent": agent, "calls": calls})
        self.conn.request("POST", "/sim/agent", body, {"Content-Type": "application/json"})
        r = self.conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("POST /sim/agent: HTTP %d" % r.status)

    def run(self):
        a = self.args
        agents = a.agents.split(",")
        rng = random.Random(1)
        start = time.monotonic()
        # Quiet sampled agents first: no calls, so that their only call events are ours.
        for ag in agents:
            self.post(ag, [])
        begin, end = start + a.warmup, start + a.warmup + a.seconds
        # per agent: [next action time, call id or None, (type, id, sent) awaited or None]
        st = {ag: [begin + rng.uniform(0, a.interval), None, None] for ag in agents}
        lat, rtt, missed = [], [], 0
        give_up = 3 * a.interval + 2
        while True:
            now = time.monotonic()
            for ag, s in st.items():
                if s[2]:
                    with self.lock:
                        t = self.seen.get(s[2][:2])
                    if t is not None:
                        lat.append((t - s[2][2]) * 1000)
                    elif now - s[2][2] > give_up:
                        missed += 1
                    else:
                        continue
                    s[2] = None
                    s[0] = now + rng.uniform(0, a.interval)
                if s[2] is None and now >= s[0] and now < end:
                    if s[1] is None:
                        s[1] = "BENCH-%d-%s-%d" % (os.getpid(), ag.split(":")[-1],
                                                   len(lat) + missed)
                        calls, kind = [s[1]], "call.started"
                    else:
                        calls, kind = [], "call.ended"
                    sent = time.monotonic()
                    self.post(ag, calls)
                    rtt.append((time.monotonic() - sent) * 1000)
                    s[2] = (kind, s[1], sent)
                    if not calls:
                        s[1] = None
            if now >= end and all(s[2] is None for s in st.values()):
                break
            time.sleep(0.002)
        return lat, rtt, missed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--agents", required=True)
    p.add_argument("--interval", type=float, required=True)
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    d = Detector(args)
    reader = threading.Thread(target=d.read_stdin, daemon=True)
    reader.start()
    result = {"error": None}
    try:
        lat, rtt, missed = d.run()
        r = lambda x: None if x is None else round(x, 1)
        result.update(n=len(lat), p50=r(quantile(lat, 0.5)), p99=r(quantile(lat, 0.99)),
                      max=r(max(lat) if lat else None), missed=missed,
                      rtt_p50=r(quantile(rtt, 0.5)), rtt_max=r(max(rtt) if rtt else None))
    except (OSError, RuntimeError, http.client.HTTPException) as e:
        result["error"] = str(e)
    write(args.out, result)         # the caller may stop the daemon now
    reader.join()
    result["lines"] = d.lines
    write(args.out, result)
    return 0


def write(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.rename(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
