#!/usr/bin/env python3
"""notifysock.py SOCKET OUT: stands in for systemd's NOTIFY_SOCKET in the integration tests.

Binds a unix datagram socket at SOCKET and appends one JSON line per datagram to OUT:
{"t": CLOCK_MONOTONIC seconds at receipt, "fields": {"READY": "1", ...}, "raw": "..."}.
OUT exists (empty) once the socket is bound. Runs until killed.

  notifysock.py --read OUT EXPR   prints eval(EXPR) over msgs, the list of those lines, for checks.
"""

import json
import os
import socket
import sys
import time


def listen(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    f = open(out, "a", buffering=1)        # its existence says the socket is ready
    while True:
        data = s.recv(65536)
        t = time.clock_gettime(time.CLOCK_MONOTONIC)
        text = data.decode("utf-8", "replace")
        fields = {}
        for line in text.split("\n"):
            key, sep, value = line.partition("=")
            if sep:
                fields[key] = value
        f.write(json.dumps({"t": t, "fields": fields, "raw": text}) + "\n")


def main(argv):
    if len(argv) == 4 and argv[1] == "--read":
        with open(argv[2], encoding="utf-8") as f:
            msgs = [json.loads(line) for line in f if line.endswith("\n")]
        print(eval("(%s)" % argv[3], {"msgs": msgs, "now": time.clock_gettime(time.CLOCK_MONOTONIC)}))
        return 0
    if len(argv) != 3:
        raise SystemExit(__doc__)
    if os.path.exists(argv[1]):
        os.unlink(argv[1])
    listen(argv[1], argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
