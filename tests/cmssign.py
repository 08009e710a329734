"""cmssign.py: the CMS auth-v2 request signature (cms-api.md section 3) and its timestamps, for
cmssim.py."""

import datetime
import hashlib
import hmac
import re
import urllib.parse


def normalize(data):
    """RFC 3986 percent-encoding of UTF-8 bytes; only A-Z a-z 0-9 - . _ ~ stay."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return urllib.parse.quote_from_bytes(data, safe="-._~")


def canonical_request(method, path, query, headers, body):
    """headers: {lowercase name: value} for exactly the signed headers."""
    names = sorted(headers)
    canon_headers = "\n".join(
        normalize(n) + ":" + normalize(headers[n].strip()) for n in names)
    return "\n".join([method, path, query, ";".join(names), canon_headers,
                      normalize(body)])


def sign(ak, sk, timestamp, method, path, query, headers, body):
    """Return (signing_key, signature, authorization) for one request."""
    prefix = "auth-v2/%s/%s/%s" % (ak, timestamp, ";".join(sorted(headers)))
    signing_key = hmac.new(sk.encode(), prefix.encode(), hashlib.sha256).hexdigest()
    canon = canonical_request(method, path, query, headers, body)
    signature = hmac.new(signing_key.encode(), canon.encode(), hashlib.sha256).hexdigest()
    return signing_key, signature, prefix + "/" + signature


TS_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z\Z")


def parse_timestamp(ts):
    """yyyy-MM-ddTHH:mm:ss.SSSZ -> unix seconds, or None."""
    m = TS_RE.match(ts)
    if not m:
        return None
    y, mo, d, h, mi, s, ms = map(int, m.groups())
    try:
        dt = datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    return dt.timestamp() + ms / 1000.0
