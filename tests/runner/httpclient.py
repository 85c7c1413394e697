# SPDX-License-Identifier: ISC
"""A minimal HTTP/1.1 client that keeps the exact answer bytes (Body-Sign covers them)."""

import re
import select
import socket
import ssl   # only the fake gateway speaks TLS
import time
import urllib.parse

from .jsontext import JsonError, parse_json

class Response:
    def __init__(self, status, reason, headers, body, elapsed):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value), names as received
        self.body = body                # exact bytes
        self.elapsed = elapsed
        self._json = None
        self.json_error = None

    def header_values(self, name, exact_case=False):
        if exact_case:
            return [v for k, v in self.headers if k == name]
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        if self._json is None and self.json_error is None:
            try:
                self._json = parse_json(self.body)
            except JsonError as e:
                self.json_error = str(e)
        return self._json

    def excerpt(self, n=400):
        t = self.body.decode("utf-8", "replace")
        return t if len(t) <= n else t[:n] + "...(%d bytes)" % len(self.body)


def http_request(method, url, headers, body, timeout=30.0, cafile=None):
    """Minimal HTTP/1.1 client (one request per connection). Stops sending the body when the server
    answers early (e.g. 413), and keeps the exact response bytes. https:// is verified against cafile."""
    u = urllib.parse.urlsplit(url)
    host, port = u.hostname, u.port or (443 if u.scheme == "https" else 80)
    target = (u.path or "/") + ("?" + u.query if u.query else "")
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s:%d" % (host, port), "Connection: close"]
    names = {k.lower() for k, _ in headers}
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    if body is not None and "content-length" not in names:
        lines.append("Content-Length: %d" % len(body))
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    t0 = time.monotonic()
    sock = socket.create_connection((host, port), timeout=timeout)
    if u.scheme == "https":
        sock = ssl.create_default_context(cafile=cafile).wrap_socket(sock, server_hostname=host)
    try:
        sock.sendall(head)
        if body:
            view, off = memoryview(body), 0
            while off < len(body):
                r, _, _ = select.select([sock], [], [], 0)
                if r:
                    break  # the server answered before reading everything
                try:
                    off += sock.send(view[off:off + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    break
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        sock.close()
    elapsed = time.monotonic() - t0
    return parse_raw_response(b"".join(chunks), elapsed)


def parse_raw_response(raw, elapsed=0.0):
    """A Response from the raw bytes of one HTTP/1.x answer (chunked or sized body)."""
    sep = raw.find(b"\r\n\r\n")
    if sep < 0:
        raise IOError("no complete HTTP response (%d bytes received)" % len(raw))
    head_lines = raw[:sep].decode("iso-8859-1").split("\r\n")
    m = re.match(r"HTTP/\d\.\d (\d{3}) ?(.*)", head_lines[0])
    if not m:
        raise IOError("bad status line %r" % head_lines[0])
    hdrs = []
    for line in head_lines[1:]:
        k, _, v = line.partition(":")
        hdrs.append((k.strip(), v.strip()))
    rest = raw[sep + 4:]
    te = [v for k, v in hdrs if k.lower() == "transfer-encoding"]
    cl = [v for k, v in hdrs if k.lower() == "content-length"]
    if te and "chunked" in te[0].lower():
        out, pos = b"", 0
        while True:
            eol = rest.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(rest[pos:eol].split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                break
            out += rest[pos:pos + size]
            pos += size + 2
        rest = out
    elif cl:
        rest = rest[:int(cl[0])]
    return Response(int(m.group(1)), m.group(2), hdrs, rest, elapsed)
