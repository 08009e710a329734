"""sseslow.py: many slow Server-Sent Events clients from one process (tests/test_sse_slow.sh).

    sseslow.py HOST:PORT SLOW STUCK SECONDS RATE

Opens SLOW + STUCK connections to /api/v1/events/stream, each with a small receive buffer. The slow
ones read RATE bytes per second each, in small pieces; the stuck ones never read. After SECONDS it
prints one line of JSON: how many of each got the 200 answer, how many the daemon closed, and the
bytes the slow ones read. Standard library only; every socket is non-blocking and the run bounded.
"""
import json
import selectors
import socket
import sys
import time

TICK = 0.25
REQUEST = b"GET /api/v1/events/stream HTTP/1.1\r\nHost: x\r\n\r\n"


class Client:
    def __init__(self, addr, slow):
        self.slow = slow
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setblocking(False)
        self.sock.connect_ex(addr)
        self.sent = False
        self.head = b""
        self.ok = False
        self.closed = False
        self.bytes = 0

    def read(self, limit):
        """Reads up to limit bytes; notes the 200 answer and a close by the daemon."""
        try:
            data = self.sock.recv(limit)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        self.bytes += len(data)
        if not self.ok and len(self.head) < 64:
            self.head += data
            self.ok = self.head.startswith(b"HTTP/1.1 200")


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    nslow, nstuck, seconds, rate = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    addr = (host, int(port))
    sel = selectors.DefaultSelector()
    clients = [Client(addr, True) for _ in range(nslow)] + [Client(addr, False) for _ in range(nstuck)]
    for c in clients:
        sel.register(c.sock, selectors.EVENT_WRITE, c)
    end = time.monotonic() + seconds
    per_tick = max(1, int(rate * TICK))
    next_tick = time.monotonic()
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=max(0.0, min(next_tick - time.monotonic(), TICK))):
            c = key.data
            if not c.sent:
                try:
                    c.sock.send(REQUEST)
                except OSError:
                    c.closed = True
                c.sent = True
                sel.unregister(c.sock)
        if time.monotonic() < next_tick:
            continue
        next_tick += TICK
        for c in clients:
            # The stuck ones read the answer's first bytes once (to see the 200), then never again.
            if c.sent and not c.closed and (c.slow or not c.ok):
                c.read(per_tick if c.slow else 16)
    # A stuck client learns of its cut only when it reads: drain it to see whether the daemon
    # closed it. What the daemon had queued still comes first through a 4 KiB window, and after a
    # zero window TCP's persist timer paces it in steps of 200 ms or more: a read gets 3 s.
    for c in clients:
        if not c.slow and c.sent and not c.closed:
            try:
                c.sock.setblocking(True)
                c.sock.settimeout(3.0)
                while c.sock.recv(65536):
                    pass
                c.closed = True
            except socket.timeout:
                pass
            except OSError:
                c.closed = True   # reset by the daemon
    slow = [c for c in clients if c.slow]
    stuck = [c for c in clients if not c.slow]
    print(json.dumps({
        "slow_ok": sum(c.ok for c in slow), "slow_closed": sum(c.closed for c in slow),
        "stuck_ok": sum(c.ok for c in stuck), "stuck_closed": sum(c.closed for c in stuck),
        "slow_bytes_min": min((c.bytes for c in slow), default=0),
        "slow_bytes_max": max((c.bytes for c in slow), default=0),
    }))
    for c in clients:
        c.sock.close()


if __name__ == "__main__":
    main()
