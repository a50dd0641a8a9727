"""fbfcgi: a FastCGI client for tests that talk to the backend's socket
directly, as nginx does (one request per connection at a time, request id
1, FCGI_KEEP_CONN when the connection is to be kept)."""

import re
import struct

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = \
    1, 3, 4, 5, 6


def record(rtype, content, rid=1):
    return struct.pack("!BBHHBB", 1, rtype, rid, len(content), 0, 0) + content


def nv(name, value):
    out = b""
    for s in (name, value):
        n = len(s)
        out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return out + name + value


def head(method, uri, body_len, keep_conn=True):
    """BEGIN_REQUEST and the parameters nginx/fastbank-fastcgi.conf passes."""
    params = b"".join(nv(k.encode(), v.encode()) for k, v in (
        ("REQUEST_METHOD", method), ("REQUEST_URI", uri),
        ("CONTENT_LENGTH", str(body_len) if body_len else ""),
        ("CONTENT_TYPE", "application/json" if body_len else ""),
        ("REMOTE_ADDR", "127.0.0.1")))
    begin = struct.pack("!HB5x", 1, 1 if keep_conn else 0)
    return record(FCGI_BEGIN_REQUEST, begin) + record(FCGI_PARAMS, params) \
        + record(FCGI_PARAMS, b"")


def stdin(data, last):
    out = record(FCGI_STDIN, data) if data else b""
    return out + (record(FCGI_STDIN, b"") if last else b"")


def request(method, uri, body=b"", keep_conn=True):
    """One whole request, body included."""
    return head(method, uri, len(body), keep_conn) + stdin(body, True)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError("connection closed after %d of %d bytes"
                           % (len(buf), n))
        buf += b
    return buf


def reply(s):
    """Read one complete reply: STDOUT records up to END_REQUEST.  Returns
    (http status, body bytes)."""
    out = b""
    while True:
        _, rtype, _, clen, plen, _ = struct.unpack("!BBHHBB", recv_exact(s, 8))
        content = recv_exact(s, clen + plen)[:clen]
        if rtype == FCGI_STDOUT:
            out += content
        elif rtype == FCGI_END_REQUEST:
            break
    hdr, _, body = out.partition(b"\r\n\r\n")
    m = re.search(rb"^Status: (\d{3})", hdr, re.M)
    return (int(m.group(1)) if m else 200), body
