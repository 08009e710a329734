"""cmscontrol.py: cmssim.py's control changes shared by --workers: a POST to /sim/agent, /sim/config
or /sim/reset-stats that one worker applied reaches every other through a file they all append to."""

import fcntl
import json
import os
import tempfile

SHARED = {"/sim/agent", "/sim/config", "/sim/reset-stats"}     # POST routes every worker applies


class ControlLog:
    """An unlinked temp file opened before the fork: one JSON line per change, appended with
    O_APPEND (one write each), read by every worker from its own offset."""

    def __init__(self):
        fd, path = tempfile.mkstemp(prefix="cmssim-control.")
        os.unlink(path)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
        self.fd = fd
        self.offset = 0

    def append(self, path, body, at):
        """Tell the other workers: the POST to path with body (bytes) applied at unix time at."""
        line = json.dumps({"pid": os.getpid(), "path": path, "at": at,
                           "body": body.decode("utf-8")}) + "\n"
        os.write(self.fd, line.encode())

    def news(self):
        """[(path, body bytes, at)] the other workers appended since the last call, in order; one
        fstat when there is none."""
        size = os.fstat(self.fd).st_size
        if size <= self.offset:
            return []
        data = os.pread(self.fd, size - self.offset, self.offset)
        whole = data.rfind(b"\n") + 1       # a line still being written waits for the next call
        self.offset += whole
        me = os.getpid()
        return [(o["path"], o["body"].encode(), o["at"])
                for o in map(json.loads, data[:whole].splitlines()) if o["pid"] != me]
