"""cmshttp.py: the HTTP/1.1 plumbing of cmssim.py: reading requests, framing replies."""

import asyncio
import http
import json
import re
import socket
import struct

MAX_HEADER = 16 * 1024
MAX_BODY = 1024 * 1024            # 6000 agent IDs of 7 digits fit


class BadRequest(Exception):
    def __init__(self, status, why):
        super().__init__(why)
        self.status = status


class Request:
    __slots__ = ("method", "path", "query", "version", "headers", "body", "keep_alive")


class Reply:
    """A response, or an action standing in for one (reset, hang, truncated)."""
    __slots__ = ("status", "body", "ctype", "extra", "action", "outcome", "served")

    def __init__(self, status, body, ctype="application/json", extra="", action="send",
                 outcome="ok"):
        self.status, self.body, self.ctype = status, body, ctype
        self.extra, self.action, self.outcome = extra, action, outcome
        self.served = None      # (path kind, cc, vdn, agents JSON members, extra members)


def json_reply(obj, status=200, outcome="ok"):
    return Reply(status, json.dumps(obj, separators=(",", ":")).encode(), outcome=outcome)


def text_reply(status, text, outcome, ctype="text/plain; charset=utf-8", extra=""):
    return Reply(status, text.encode(), ctype, extra, outcome=outcome)


def reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def response_head(status, ctype, length, close, extra=""):
    return ("HTTP/1.1 %d %s\r\nServer: cmssim\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n"
            % (status, reason(status), ctype, length, extra,
               "Connection: close\r\n" if close else "")).encode("latin-1")


TOKEN_RE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


def parse_head(head):
    """Parse request line and headers (bytes, without the final CRLFCRLF) into a Request."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not TOKEN_RE.match(parts[0]) or not parts[1].startswith(b"/"):
        raise BadRequest(400, "bad request line")
    if parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise BadRequest(505 if parts[2].startswith(b"HTTP/") else 400, "bad HTTP version")
    req = Request()
    req.method = parts[0].decode("ascii")
    target = parts[1].decode("latin-1")
    req.path, _, req.query = target.partition("?")
    req.version = parts[2]
    req.headers = parse_headers(lines[1:])
    conn = req.headers.get("connection", "").lower()
    if req.version == b"HTTP/1.1":
        req.keep_alive = "close" not in conn
    else:
        req.keep_alive = "keep-alive" in conn
    return req


def parse_headers(lines):
    headers = {}
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep or not TOKEN_RE.match(name):
            raise BadRequest(400, "bad header line")    # also rejects obsolete line folding
        name = name.decode("ascii").lower()
        value = value.strip(b" \t").decode("latin-1")
        if name in headers:
            # Repeated framing or signed headers are ambiguous: refuse them.
            if name in ("content-length", "host", "content-type", "transfer-encoding",
                        "authorization"):
                raise BadRequest(400, "repeated %s header" % name)
            value = headers[name] + ", " + value
        headers[name] = value
    return headers


def body_length(req):
    if "transfer-encoding" in req.headers:
        raise BadRequest(501, "transfer-encoding is not supported")
    cl = req.headers.get("content-length")
    if cl is None:
        return 0
    if not cl.isdigit() or not cl.isascii():
        raise BadRequest(400, "bad content-length")
    n = int(cl)
    if n > MAX_BODY:
        raise BadRequest(413, "body too large")
    return n


async def read_request(reader, writer):
    """Next request from the connection, or None on a clean end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise BadRequest(400, "truncated request head")
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest(431, "request head too large")
    req = parse_head(head[:-4])
    n = body_length(req)
    if n and req.headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    req.body = await reader.readexactly(n) if n else b""
    return req


def set_linger_zero(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
