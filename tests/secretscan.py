#!/usr/bin/env python3
"""secretscan.py PID SECRET: where a running process holds SECRET in its memory.

Prints "dumpable N" (the mappings the kernel's core dump would include that hold the secret) and
"excluded N" (those holding it that are marked MADV_DONTDUMP, VmFlags "dd"); exits 2 when the
process's memory cannot be read (not root, or Yama ptrace restrictions). Reads /proc/PID/smaps
and /proc/PID/mem, so it needs the right to ptrace the process (root does).
"""

import re
import sys


def mappings(pid):
    """(start, end, readable, dontdump) for each mapping of pid."""
    maps, cur = [], None
    with open("/proc/%s/smaps" % pid) as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if m:
                cur = [int(m.group(1), 16), int(m.group(2), 16), m.group(3)[0] == "r", False]
                maps.append(cur)
            elif line.startswith("VmFlags:") and cur:
                cur[3] = " dd" in line + " "
    return maps


def main():
    pid, secret = sys.argv[1], sys.argv[2].encode()
    try:
        maps = mappings(pid)
        mem = open("/proc/%s/mem" % pid, "rb", buffering=0)
    except OSError as e:
        print("unreadable: %s" % e)
        return 2
    counts = {False: 0, True: 0}
    for start, end, readable, dontdump in maps:
        if not readable or end - start > 1 << 30:
            continue
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except OSError:
            continue
        if data and secret in data:
            counts[dontdump] += 1
    print("dumpable %d" % counts[False])
    print("excluded %d" % counts[True])
    return 0


if __name__ == "__main__":
    sys.exit(main())
