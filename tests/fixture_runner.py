#!/usr/bin/env python3
"""Replay data fixtures (tests/fixtures/*.json) against a running koogate stack.

Usage:
    tests/fixture_runner.py [--env VAR/stack.env] [--only TEXT] [-v] [FIXTURE.json ...]
    tests/fixture_runner.py --selftest

The stack is described by the variables tools/stack.sh writes to $VAR/stack.env (KOOGATE_URL,
KOOGATE_BASIC_KEY, KOOGATE_KIT_KEY, KOOGATE_CONFIG, PGHOST, PGPORT, PGDATABASE, PGUSER); they are
taken from --env FILE or from the environment.

Requests are signed at replay time by this file's own implementation of the KooGallery schemes
(spec/security.md): V2 basic `signature` over canonical JSON (§2, §4), V1 `authToken` (§1), V2 Kit
`x-sign` (§3) and V1 Kit `authToken` (§6, D13). Responses are checked for a valid `Body-Sign` (§5),
and `appInfo.userName`/`password` are decrypted (§7: Java SHA1PRNG key derivation here, AES-CBC by
the `openssl enc` command line). Before anything else the implementation is checked against the
test vectors of security.md §11; a mismatch aborts the run.

Python 3 standard library only, plus the `openssl` and `psql` command lines.
See tests/fixtures/README.md for the fixture format.
Output: one line per case (`ok <file>:<name>` or `FAIL <file>:<name>: reason`), then a final line
`N passed, N failed`. Exit status 0 only if nothing failed.
"""

import base64
import concurrent.futures
import datetime
import glob
import hashlib
import hmac
import json
import os
import re
import secrets
import select
import shlex
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


# ============================================================================ canonical JSON (§4)

class Num(str):
    """A JSON number, kept as its literal text."""


class JsonError(ValueError):
    pass


def _reject_constant(name):
    raise JsonError("invalid JSON literal %s" % name)


def _pairs(pairs):
    # Duplicate keys: last value wins, at the position of the first occurrence (plain dict semantics).
    d = {}
    for k, v in pairs:
        d[k] = v
    return d


def parse_json(data):
    """Parse JSON text (str or UTF-8 bytes), keeping key order and literal number text."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise JsonError("body is not UTF-8: %s" % e)
    try:
        return json.loads(data, object_pairs_hook=_pairs, parse_int=Num, parse_float=Num,
                          parse_constant=_reject_constant)
    except JsonError:
        raise
    except ValueError as e:
        raise JsonError(str(e))


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def jackson_string(s):
    out = ['"']
    for ch in s:
        e = _SHORT_ESCAPES.get(ch)
        if e is not None:
            out.append(e)
        elif ord(ch) < 0x20:
            out.append("\\u%04X" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def emit(v, ascii_only=False):
    """Compact JSON, keys in their current order, Jackson escaping (or \\uXXXX escapes if ascii_only)."""
    if isinstance(v, Num):
        return str(v)
    if isinstance(v, str):
        if ascii_only:
            return json.dumps(v, ensure_ascii=True)
        return jackson_string(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{" + ",".join(emit(k, ascii_only) + ":" + emit(x, ascii_only) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(emit(x, ascii_only) for x in v) + "]"
    raise TypeError("cannot serialise %r" % (v,))


def canonical_json(body):
    """security.md §4: top-level object, top-level nulls dropped, top-level keys sorted by UTF-8 bytes."""
    obj = parse_json(body) if isinstance(body, (str, bytes, bytearray)) else body
    if not isinstance(obj, dict):
        raise JsonError("top level is not an object")
    keys = sorted((k for k, v in obj.items() if v is not None), key=lambda k: k.encode("utf-8", "surrogatepass"))
    text = "{" + ",".join(jackson_string(k) + ":" + emit(obj[k]) for k in keys) + "}"
    return text.encode("utf-8", "surrogatepass")


# ============================================================================ signatures

def _b(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def hmac_sha256(key, data):
    return hmac.new(_b(key), _b(data), hashlib.sha256).digest()


def v2_signature(key, nonce, timestamp, payload):
    """§2: hex(HMAC(key, key + nonce + timestamp + hex(HMAC(key, payload)))), upper case."""
    inner = hmac_sha256(key, payload).hex()
    return hmac_sha256(key, _b(key) + _b(nonce) + _b(str(timestamp)) + inner.encode()).hex().upper()


def v1_string_to_sign(params):
    """§1: params are decoded (name, value) pairs; drop authToken, keep the first of repeats, sort."""
    seen = {}
    for k, v in params:
        if k != "authToken" and k not in seen:
            seen[k] = v
    keys = sorted(seen, key=lambda k: k.encode("utf-8"))
    return "&".join("%s=%s" % (k, seen[k]) for k in keys)


def v1_auth_token(key, params):
    ts = dict((k, v) for k, v in reversed(list(params))).get("timeStamp", "")
    return base64.b64encode(hmac_sha256(_b(key) + _b(ts), v1_string_to_sign(params))).decode()


def kit_xsign(key, nonce, timestamp, payload):
    """§3: hex(HMAC(kitKey, kitKey + nonce + timestamp + payload)), lower case."""
    return hmac_sha256(key, _b(key) + _b(nonce) + _b(str(timestamp)) + _b(payload)).hex()


def kit_v1_string(body_obj):
    """§6 / D13: top-level members sorted, nulls left out, strings raw, numbers literal, else compact JSON."""
    parts = []
    for k in sorted((k for k, v in body_obj.items() if v is not None), key=lambda k: k.encode("utf-8")):
        v = body_obj[k]
        if isinstance(v, Num):
            s = str(v)
        elif isinstance(v, str):
            s = v
        elif v is True:
            s = "true"
        elif v is False:
            s = "false"
        else:
            s = emit(v)
        parts.append("%s=%s" % (k, s))
    return "&".join(parts)


def kit_v1_auth_token(key, body_obj):
    ts = body_obj.get("timeStamp", "")
    return base64.b64encode(hmac_sha256(_b(key) + _b(str(ts)), kit_v1_string(body_obj))).decode()


def body_sign_value(key, body):
    return base64.b64encode(hmac_sha256(key, body)).decode()


BODY_SIGN_RE = re.compile(r'^sign_type="HMAC-SHA256", signature="([A-Za-z0-9+/]+={0,2})"$')


# ============================================================================ AES key derivation and AES-CBC (§7)

def _s8(b):
    return b - 256 if b >= 128 else b


def sha1prng_bytes(seed, n, signed=True):
    """Java SHA1PRNG (SUN) seeded with `seed`, first n bytes. signed=False is the known-wrong variant."""
    state = bytearray(hashlib.sha1(_b(seed)).digest())
    out = b""
    while len(out) < n:
        block = hashlib.sha1(bytes(state)).digest()
        out += block
        carry, changed = 1, False
        for i in range(20):
            if signed:
                v = _s8(state[i]) + _s8(block[i]) + carry
            else:
                v = state[i] + block[i] + carry
            t = v & 0xFF
            if t != state[i]:
                changed = True
            state[i] = t
            carry = v >> 8
        if not changed:
            state[0] = (state[0] + 1) & 0xFF
    return out[:n]


def aes_key(access_key, encrypt_type):
    return sha1prng_bytes(access_key, 16 if str(encrypt_type) == "2" else 32)


def _openssl_enc(decrypt, key, iv, data):
    cipher = "-aes-128-cbc" if len(key) == 16 else "-aes-256-cbc"
    cmd = ["openssl", "enc", cipher, "-K", key.hex(), "-iv", iv.hex(), "-nosalt"]
    if decrypt:
        cmd.insert(2, "-d")
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise ValueError("openssl enc failed: %s" % p.stderr.decode(errors="replace").strip())
    return p.stdout


IV_RE = re.compile(r"^[A-Za-z0-9]{16}$")


def aes_encrypt(access_key, encrypt_type, plaintext, iv):
    ct = _openssl_enc(False, aes_key(access_key, encrypt_type), iv.encode("ascii"), _b(plaintext))
    return iv + base64.b64encode(ct).decode()


def aes_decrypt(access_key, encrypt_type, value):
    """IV (16 chars) + Base64(AES-CBC). Returns the plaintext as str; raises ValueError."""
    if not isinstance(value, str) or len(value) <= 16:
        raise ValueError("encrypted value too short: %r" % (value,))
    iv, b64 = value[:16], value[16:].replace(" ", "+")
    if not IV_RE.match(iv):
        raise ValueError("IV %r is not 16 characters of [A-Za-z0-9]" % iv)
    try:
        ct = base64.b64decode(b64, validate=True)
    except ValueError as e:
        raise ValueError("bad Base64 after the IV: %s" % e)
    pt = _openssl_enc(True, aes_key(access_key, encrypt_type), iv.encode("ascii"), ct)
    try:
        return pt.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("decrypted value is not UTF-8")


# ============================================================================ self-test (§11)

def selftest():
    """Returns a list of (name, error or None)."""
    results = []

    def check(name, got, want):
        results.append((name, None if got == want else "got %r, want %r" % (got, want)))

    def guard(name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - report anything
            results.append((name, "exception: %s" % e))

    # V1-A / V1-B / V1-C
    v1a = ("activity=newInstance&businessId=61e834ba-7b97-4418-b8f7-e5345137278c&customerId=68cbc86abc2018ab880d92f36422fa0e"
           "&expireTime=20200727153156&orderId=CS1906666666ABCDE&productId=00301-666666-0--0&testFlag=1"
           "&timeStamp=20200727073711903&authToken=Gzbfjf9LHRBcI3bFVi++sLinCNOBF6qa7is1fvjEgYQ=")
    pa = urllib.parse.parse_qsl(v1a, keep_blank_values=True)
    check("V1-A string", v1_string_to_sign(pa),
          "activity=newInstance&businessId=61e834ba-7b97-4418-b8f7-e5345137278c&customerId=68cbc86abc2018ab880d92f36422fa0e"
          "&expireTime=20200727153156&orderId=CS1906666666ABCDE&productId=00301-666666-0--0&testFlag=1&timeStamp=20200727073711903")
    check("V1-A", v1_auth_token("xxxxxxx", pa), "Gzbfjf9LHRBcI3bFVi++sLinCNOBF6qa7is1fvjEgYQ=")
    check("V1-A received", dict(pa)["authToken"].replace(" ", "+"), "Gzbfjf9LHRBcI3bFVi++sLinCNOBF6qa7is1fvjEgYQ=")
    check("V1-B", v1_auth_token("test-access-key", pa), "RnasHBCr5x4SWKDzYdRzxPpw+dXKnhObZ4Mv3NOdwec=")
    pc = urllib.parse.parse_qsl("activity=queryInstance&instanceId=id-1%2Cid-2&testFlag=1&timeStamp=20230327065233980",
                                keep_blank_values=True)
    check("V1-C string", v1_string_to_sign(pc), "activity=queryInstance&instanceId=id-1,id-2&testFlag=1&timeStamp=20230327065233980")
    check("V1-C", v1_auth_token("test-access-key", pc), "ogOjtKwAT8bXaDKlHUSPw4KK7P0Ro7HRiYCvtmTFu1E=")

    # V2-A / V2-B
    def v2():
        body = b'{"testFlag":"0","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","activity":"queryInstance"}'
        canon = canonical_json(body)
        check("V2-A canonical", canon, b'{"activity":"queryInstance","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","testFlag":"0"}')
        check("V2-A inner", hmac_sha256("test-access-key", canon).hex(), "eeb70220ec016b83820fdd8df7395a177e6e37d77daa3a0b79ddf6055ccdf267")
        check("V2-A", v2_signature("test-access-key", "9FB42E04DF4594B1FAA50B304E647AD7154AB9B4F144A65F1168886540A8B24C",
                                   "1680508237508", canon),
              "679E06EDBD1395D2544BD6CF771F77C913C81FAFC8A09C3E14099405AA7D421C")
        body = (b'{"activity":"newInstance","orderId":"CS1906666666ABCDE","orderLineId":"CS1906666666ABCDE-000001",'
                b'"businessId":"61e834ba-7b97-4418-b8f7-e5345137278c","testFlag":"1"}')
        canon = canonical_json(body)
        check("V2-B canonical", canon, b'{"activity":"newInstance","businessId":"61e834ba-7b97-4418-b8f7-e5345137278c",'
                                       b'"orderId":"CS1906666666ABCDE","orderLineId":"CS1906666666ABCDE-000001","testFlag":"1"}')
        check("V2-B inner", hmac_sha256("test-access-key", canon).hex(), "fd7e28fa00fe6133c04c4f30bdbf915bdc200d3ebb32559b79d12403091960f6")
        check("V2-B", v2_signature("test-access-key", "RLLUammMSInlrNWb", "1680508066618", canon),
              "0A2CDACC034EE0497A34F4E6B725E2B18B93AFF2CB7FA97B5A2D6001B209C98E")
        check("V2-B Body-Sign", body_sign_value("test-access-key",
              b'{"resultCode":"000000","resultMsg":"success.","instanceId":"61e834ba-7b97-4418-b8f7-e5345137278c"}'),
              "aRBXOCZGi6thyORWTtOed/6S50JAtL1cRWgj9La/qfs=")
    guard("V2", v2)

    # CANON-1
    def canon1():
        body = ('{"b": {"z": 1, "a": null}, "a": "x\\/y \\u00e9 \\"q\\" \\\\ \\t \\u0001 \\u001f", "c": null, '
                '"B": [3, true, "s"], "_": 12.78}').encode()
        canon = canonical_json(body)
        want = '{"B":[3,true,"s"],"_":12.78,"a":"x/y \u00e9 \\"q\\" \\\\ \\t \\u0001 \\u001F","b":{"z":1,"a":null}}'.encode("utf-8")
        check("CANON-1", canon, want)
        check("CANON-1 hmac", hmac_sha256("test-access-key", canon).hex(),
              "93ad79f9d80fd935963f9adfc5d56c79f181bf2e0d5e7121195aa19266e30168")
    guard("CANON-1", canon1)

    # KIT-A / KIT-B / KIT-V1-A
    def kit():
        nonce, ts = "50D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA", "1680508066618"
        body = (b'{"instanceId":"huaweitest123456","orderId":"CS1906666666ABCDE","tenantId":"68cbc86abc2018ab880d92f36422fa0e",'
                b'"tenantCode":"huawei","name":"huaweitest","domainName":"https://example.tenantaccount.com","flag":1,"testFlag":0,'
                b'"timeStamp":"20220413093539534"}')
        canon = canonical_json(body)
        check("KIT-A canonical", canon,
              b'{"domainName":"https://example.tenantaccount.com","flag":1,"instanceId":"huaweitest123456","name":"huaweitest",'
              b'"orderId":"CS1906666666ABCDE","tenantCode":"huawei","tenantId":"68cbc86abc2018ab880d92f36422fa0e","testFlag":0,'
              b'"timeStamp":"20220413093539534"}')
        check("KIT-A", kit_xsign("test-kit-key", nonce, ts, canon), "b75ebdffe07793d3ddc0e9a0872b890e8db11e5009f8aa04cc95f91b6632b108")
        check("KIT-A Body-Sign", body_sign_value("test-kit-key", b'{"resultCode":"000000","resultMsg":"Success"}'),
              "I6Ro5Uy8O1UScYEjmS474Hp9AZMlktYmTKs6dnUpe+8=")
        check("KIT-V1-A string", kit_v1_string(parse_json(body)),
              "domainName=https://example.tenantaccount.com&flag=1&instanceId=huaweitest123456&name=huaweitest"
              "&orderId=CS1906666666ABCDE&tenantCode=huawei&tenantId=68cbc86abc2018ab880d92f36422fa0e&testFlag=0"
              "&timeStamp=20220413093539534")
        check("KIT-V1-A", kit_v1_auth_token("test-kit-key", parse_json(body)), "R+MiYI6WRrb0xqWgJKjtk3bF89Vc8uo/pJilroZ8X0k=")
        body_b = ('{"instanceId":"huaweitest123456","tenantId":"68cbc86abc2018ab880d92f36422fa0e","appId":"app-0001",'
                  '"userList":[{"userName":"zhangsan01","name":"张三","orgCode":"10000","role":"admin","enable":"true","employeeType":1}],'
                  '"currentSyncTime":"20220413093539534","flag":1,"testFlag":0,"timeStamp":"20220413093539534","extra":null}').encode()
        canon = canonical_json(body_b)
        check("KIT-B canonical", canon,
              ('{"appId":"app-0001","currentSyncTime":"20220413093539534","flag":1,"instanceId":"huaweitest123456",'
               '"tenantId":"68cbc86abc2018ab880d92f36422fa0e","testFlag":0,"timeStamp":"20220413093539534",'
               '"userList":[{"userName":"zhangsan01","name":"张三","orgCode":"10000","role":"admin","enable":"true","employeeType":1}]}').encode())
        check("KIT-B", kit_xsign("test-kit-key", nonce, ts, canon), "192ad91776846c5482229d458662c66c304ceccaa7cfde92eb29553030e58e1c")
    guard("KIT", kit)

    # BODY-A / BODY-B
    check("BODY-A", body_sign_value("test-access-key", b'{"resultCode":"000000","resultMsg":"success."}'),
          "gw4QPFTQi+z0h6e2a3LogBWbT+b5cyVCeQdEdWUPCd4=")
    check("BODY-B", body_sign_value("test-access-key", '{"resultCode":"000000","resultMsg":"成功"}'.encode("utf-8")),
          "y4hxX74FBcrXl3xEn61bwBoFr9FKZdf8IwTPozjP5To=")

    # ENC-KEY (including the negative vector)
    for ak, k128, k256 in (
            ("test-access-key", "6f536770920007a4ebdbab7bc4237f83",
             "6f536770920007a4ebdbab7bc4237f83791e4c2f4d2ac6d51629c1f18c7aaeed"),
            ("9fa6c870-8bb0-4e9b-b71e-4c223300156f", "6de9c7fe5a9cd34b86611483e5124a8f",
             "6de9c7fe5a9cd34b86611483e5124a8fdd1fc74c4f54543ee7cd43c5195a3198"),
            ("k", "69a7bae3d37a83849ecef8f3ff9260b3", "69a7bae3d37a83849ecef8f3ff9260b35e01555d75554530cfad8b045e55c714")):
        check("ENC-KEY %s AES-128" % ak, aes_key(ak, 2).hex(), k128)
        check("ENC-KEY %s AES-256" % ak, aes_key(ak, 1).hex(), k256)
    bad = "6f536770920007a4ebdbab7bc4237f83791e4c2fb9999b10ab04cb6c2c1f8864"
    results.append(("ENC-KEY negative", None if aes_key("test-access-key", 1).hex() != bad
                    else "produced the wrong unsigned-carry key"))
    check("ENC-KEY negative reproduces", sha1prng_bytes("test-access-key", 32, signed=False).hex(), bad)

    # ENC-A1 .. ENC-D: encryption with a fixed IV, and decryption of each output
    for name, ak, pt, et, iv, out in (
            ("ENC-A1", "test-access-key", "admin", 2, "0123456789ABCDEF", "0123456789ABCDEFhC24zyF6UjMJ4hYdg0Octw=="),
            ("ENC-A2", "test-access-key", "admin", 1, "0123456789ABCDEF", "0123456789ABCDEFktnk72s93GqxwrdA0+jGbA=="),
            ("ENC-A3", "test-access-key", "P@ssw0rd!", 1, "0123456789ABCDEF", "0123456789ABCDEFXITGPpllDMZsTvMtlROxwA=="),
            ("ENC-B", "test-access-key", "13800000000", 1, "abcdefghijklmnop", "abcdefghijklmnopuQpoJWnufhMKG2UkH7lzXg=="),
            ("ENC-C", "9fa6c870-8bb0-4e9b-b71e-4c223300156f", "admin", 1, "0123456789ABCDEF",
             "0123456789ABCDEFxMSLODpYkaYHpLYiCdL08g=="),
            ("ENC-D", "test-access-key", "张三@example.com", 2, "ZYXWVUTSRQPONMLK",
             "ZYXWVUTSRQPONMLK+T23iYUhAUSrnDCRwvo2Hd8zKD1/GltxXuDvVw/Amwc=")):
        guard(name, lambda: check(name + " encrypt", aes_encrypt(ak, et, pt, iv), out))
        guard(name, lambda: check(name + " decrypt", aes_decrypt(ak, et, out), pt))
    guard("ENC-D query", lambda: check("ENC-D as V1 query value", aes_decrypt(
        "test-access-key", 2, urllib.parse.unquote_plus("ZYXWVUTSRQPONMLK%2BT23iYUhAUSrnDCRwvo2Hd8zKD1%2FGltxXuDvVw%2FAmwc%3D")),
        "张三@example.com"))
    results.extend(kit_rsa_selftest())   # RSA-1: the openssl OAEP options of ${rsa_oaep:...}
    return results


# ============================================================================ HTTP client

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


# ============================================================================ variables

VAR_RE = re.compile(r"\$\{([^}]+)\}")
GEN_RE = re.compile(r"^(uuid|orderId|hex|nonce)(\d*)$")


class FixtureError(Exception):
    pass


def gen_order_id():
    # KooGallery order IDs look like CS1906666666ABCDE; keep the shape, make it unique per run.
    return "CS" + time.strftime("%y%m%d") + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))


class Scope:
    """Variables: generated values are fixed per case (or per file for file-level `vars`)."""

    def __init__(self, parent=None, gen_home=True, values=None):
        self.parent = parent
        self.gen_home = gen_home
        self.values = dict(values or {})   # named variables, visible to inner scopes
        self.gen = {}                      # generated values (${uuid}, ...), private to this scope

    def find(self, name):
        s = self
        while s is not None:
            if name in s.values:
                return True, s.values[name]
            s = s.parent
        return False, None

    def home(self):
        s = self
        while not s.gen_home:
            s = s.parent
        return s

    _lock = threading.RLock()   # concurrent repeats resolve ${...} in the same case scope

    def resolve(self, name, ctx):
        with Scope._lock:
            return self._resolve(name, ctx)

    def _resolve(self, name, ctx):
        found, v = self.find(name)
        if found:
            return v
        home = self.home()
        if name in home.gen:
            return home.gen[name]
        m = GEN_RE.match(name)
        if m:
            kind = m.group(1)
            if kind == "uuid":
                v = str(uuid.uuid4())
            elif kind == "orderId":
                v = gen_order_id()
            elif kind == "hex":
                v = secrets.token_hex(8)
            else:
                v = secrets.token_hex(32).upper()
            home.gen[name] = v
            return v
        m = re.match(r"^uuids:(\d+)$", name)
        if m:
            v = ",".join(str(uuid.uuid4()) for _ in range(int(m.group(1))))
            home.gen[name] = v
            return v
        m = re.match(r"^pad:(\d+)$", name)
        if m:
            return "x" * int(m.group(1))
        m = re.match(r"^chars:(\d+)$", name)
        if m:  # n characters, unique prefix
            n = int(m.group(1))
            base = "L" + secrets.token_hex(8).upper()
            v = (base + "X" * n)[:n]
            home.gen[name] = v
            return v
        if name == "now_ms":
            return str(int(time.time() * 1000))
        if name == "now_s":
            return str(int(time.time()))
        if name == "basic_key":
            return ctx.basic_key
        if name == "kit_key":
            return ctx.kit_key
        if name.startswith("config."):
            key = name[7:]
            if key not in ctx.config:
                raise FixtureError("config key %r not in %s" % (key, ctx.config_path))
            return ctx.config[key]
        if name.startswith("env."):
            if name[4:] not in os.environ:
                raise FixtureError("environment variable %s is not set" % name[4:])
            return os.environ[name[4:]]
        v = kit_variable(name, ctx, home)   # Kit fixture variables (see "Kit fixtures" below)
        if v is not None:
            return v
        v = lc_variable(name, ctx, home)    # lifecycle/usage fixture variables (see that section)
        if v is not None:
            return v
        raise FixtureError("unknown variable ${%s}" % name)


def subst(obj, scope, ctx):
    if isinstance(obj, Num):
        return obj
    if isinstance(obj, str):
        m = VAR_RE.fullmatch(obj)
        if m:
            v = scope.resolve(m.group(1), ctx)
            return v
        return VAR_RE.sub(lambda mm: _as_text(scope.resolve(mm.group(1), ctx)), obj)
    if isinstance(obj, dict):
        return {subst(k, scope, ctx): subst(v, scope, ctx) for k, v in obj.items()}
    if isinstance(obj, list):
        return [subst(x, scope, ctx) for x in obj]
    return obj


def _as_text(v):
    if isinstance(v, str):
        return v
    return emit(v)


# ============================================================================ Kit fixtures (kit_*.json)
# Extra variables for the Kit sync fixtures, tried by Scope._resolve after the built-in ones:
#   ${ts_cn}, ${ts_cn:SECONDS}       China time (UTC+8) yyyyMMddHHmmssSSS, now (+ SECONDS): the Kit body timeStamp
#   ${rsa_oaep:MGF:FORM:TEXT}        TEXT encrypted by the `openssl pkeyutl` command line with the stack's RSA
#                                    public key (`openssl pkey -pubout` of the config's rsa_private_key), OAEP
#                                    SHA-256 with MGF1-MGF (sha1 | sha256), empty label; FORM b64 (standard),
#                                    lines (76-character lines joined by \n) or url (URL-safe alphabet, no padding)
#   ${random_b64:N}                  N random bytes, Base64
#   ${secret_mac:TEXT}               hex HMAC-SHA256(master_key, TEXT): tenant_app.secret_mac for that plaintext
#   ${kit_users:N:PREFIX[:FIRST]}    N authSync users PREFIX0001… (from FIRST, default 1) as an array;
#   ${kit_users_json:N:PREFIX[:FIRST]}  the same as compact JSON text (the V1 userList string)
# Generated users: userName PREFIX%04d, name "User i", orgCode D(i mod 5), role admin when i mod 100 = 1 else
# user, enable "true", employeeType (i mod 4) + 1 (a number), position, employeeCode, mobile, email.
# All of them are fixed per case, like ${uuid} (a body and its sign_body see the same timeStamp).
# The RSA-1 vectors of security.md §11 check the OAEP command line in the self-test (kit_rsa_selftest).
# Sign options: "kit" {"signature_case": "upper"} sends x-sign in upper-case hex; "kit_v1" {"variant":
# "formdecoded" | "received"} signs like the D13 fallbacks (b) and (c) (kit_v1_variant_token).

_KIT_TMP = {}


def _kit_tmpfile(tag, data):
    """A private temporary file holding data, kept (and reused) for the whole run."""
    import atexit
    import tempfile
    if tag not in _KIT_TMP:
        fd, path = tempfile.mkstemp(prefix="koogate-kit-", suffix=".pem")
        with os.fdopen(fd, "wb") as f:
            f.write(_b(data))
        atexit.register(lambda p=path: os.path.exists(p) and os.unlink(p))
        _KIT_TMP[tag] = path
    return _KIT_TMP[tag]


def _kit_pem_private(text):
    """PEM text for a private key given as PEM or as Base64 PKCS#8 DER."""
    if "-----BEGIN" in text:
        return text
    b64 = re.sub(r"\s+", "", text)
    return "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n" % "\n".join(
        b64[i:i + 64] for i in range(0, len(b64), 64))


def _kit_openssl(args, data=None):
    p = subprocess.run(["openssl"] + args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise ValueError("openssl %s failed: %s" % (" ".join(args[:2]), p.stderr.decode(errors="replace").strip()[:200]))
    return p.stdout


def _kit_oaep_opts(mgf):
    if mgf not in ("sha1", "sha256"):
        raise FixtureError("rsa_oaep: MGF1 hash must be sha1 or sha256, not %r" % mgf)
    return ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:" + mgf]


def kit_rsa_public_key(ctx):
    """Path of a PEM file with the public half of the stack's rsa_private_key (the first of a list: the key
    the app credential holds now)."""
    val = (ctx.config.get("rsa_private_key") or "").split(",")[0].strip()
    if not val:
        raise FixtureError("rsa_private_key is not set in %s" % ctx.config_path)
    tag = "public:" + val
    if tag not in _KIT_TMP:
        if os.path.isfile(val):
            pub = _kit_openssl(["pkey", "-in", val, "-pubout"])
        else:
            pub = _kit_openssl(["pkey", "-in", _kit_tmpfile("private:" + val, _kit_pem_private(val)), "-pubout"])
        _kit_tmpfile(tag, pub)
    return _KIT_TMP[tag]


def kit_rsa_encrypt(ctx, mgf, plaintext):
    return _kit_openssl(["pkeyutl", "-encrypt", "-pubin", "-inkey", kit_rsa_public_key(ctx)] + _kit_oaep_opts(mgf),
                        _b(plaintext))


def kit_b64_form(raw, form):
    s = base64.b64encode(raw).decode()
    if form == "b64":
        return s
    if form == "lines":
        return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))
    if form == "url":
        return s.replace("+", "-").replace("/", "_").rstrip("=")
    raise FixtureError("Base64 form must be b64, lines or url, not %r" % form)


def kit_user(prefix, i):
    return {"userName": "%s%04d" % (prefix, i), "name": "User %d" % i, "orgCode": "D%d" % (i % 5),
            "position": "staff", "employeeCode": "E%05d" % i, "employeeType": i % 4 + 1,
            "role": "admin" if i % 100 == 1 else "user", "enable": "true",
            "mobile": "138%08d" % i, "email": "%s%04d@example.com" % (prefix.lower(), i)}


def kit_variable(name, ctx, home):
    """The Kit variables above; None for any other name."""
    head, _, rest = name.partition(":")
    if head not in ("ts_cn", "rsa_oaep", "random_b64", "secret_mac", "kit_users", "kit_users_json"):
        return None
    if name in home.gen:
        return home.gen[name]
    if head == "ts_cn":
        dt = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
        dt += datetime.timedelta(seconds=float(rest or 0))
        v = dt.strftime("%Y%m%d%H%M%S") + "%03d" % (dt.microsecond // 1000)
    elif head == "rsa_oaep":
        parts = rest.split(":", 2)
        if len(parts) != 3:
            raise FixtureError("use ${rsa_oaep:sha1|sha256:b64|lines|url:PLAINTEXT}")
        try:
            v = kit_b64_form(kit_rsa_encrypt(ctx, parts[0], parts[2]), parts[1])
        except ValueError as e:
            raise FixtureError(str(e))
    elif head == "random_b64":
        v = base64.b64encode(secrets.token_bytes(int(rest))).decode()
    elif head == "secret_mac":
        mk = ctx.config.get("master_key", "")
        if not re.fullmatch(r"[0-9a-fA-F]{64}", mk):
            raise FixtureError("master_key (64 hex digits) not found in %s" % ctx.config_path)
        v = hmac_sha256(bytes.fromhex(mk), rest).hex()
    else:
        parts = rest.split(":")
        n, prefix = int(parts[0]), parts[1] if len(parts) > 1 else "u"
        first = int(parts[2]) if len(parts) > 2 else 1
        users = [kit_user(prefix, i) for i in range(first, first + n)]
        v = users if head == "kit_users" else emit(users)
    home.gen[name] = v
    return v


def kit_v1_variant_token(key, obj, variant):
    """The authToken of a V1 Kit signer that strings the body another way (D13 fallbacks): "formdecoded" (b)
    string values form-URL-decoded, members sorted; "received" (c) members in received order."""
    members = [(k, v) for k, v in obj.items() if v is not None]
    if variant == "formdecoded":
        members = sorted(((k, urllib.parse.unquote_plus(v) if isinstance(v, str) and not isinstance(v, Num) else v)
                          for k, v in members), key=lambda kv: kv[0].encode("utf-8"))
    elif variant != "received":
        raise FixtureError("kit_v1 variant must be formdecoded or received, not %r" % variant)
    text = "&".join(kit_v1_string({k: v}) for k, v in members)
    return base64.b64encode(hmac_sha256(_b(key) + _b(str(obj.get("timeStamp", ""))), text)).decode()


_KIT_RSA1_KEY = (
    "MIIG/QIBADANBgkqhkiG9w0BAQEFAASCBucwggbjAgEAAoIBgQC3pU3Ui24oMQnnRup1tQ3STTX2"
    "yRdS2zelTDJdc3rYAXMDtXcH9n1chNQXU1enwh2An+oT5C9qgkgkh6fhty6qR8ZkAwaPhw1UR6UM"
    "0dGKgBTmIXOCkFTpawI0aC/jf4qZ+GhQLHO7sm8gudaYYEbg18w+/Tpu2zVUJVLB6O8kkqlMT/+P"
    "QPhZR/uh0ItYw2Do8h5jqb6NyQgl1IzkhXPBJBovogu7azQkjeubxZ8rHlQqxp/C7/AH/d2FNrDM"
    "l6L7sT9WkLp3nSr1IO7w4vFWdKMAOfgKiVRhQeEl4shz4CFXaxAQGdW+emrdxSzkwp0H+p8Gdelo"
    "XymkdFVp/1M1fwEui/i28Hw3BsJJsO7gtQmktl3JoTFiPveFXjPk9/eR+KUVpw5AegkNrXHE6D/A"
    "bymOW1Sj/1ckobDbLWxSwbGLQ8BZxTSC/hz8FFgXABbr+0IrpzipJIKgyvnlAngEtOu70yMWNW/s"
    "p351dBuxf+26tDHWV3e2XBUm7VDE8gMCAwEAAQKCAYATFHieoZHjWRz3S3XmntX9yInXxxLGSAJj"
    "CSSecvYLZTMm6n6gdCqYJzDF76HGyzM3fuXaBTYr8bc/HF0D5X1SsbxZ/bp7xQNMg1kRmOcVZbNG"
    "KamPoiFAUx7ahQycrU6gKp/j3Ip1sNc85jH2iOI0UBdnX/XnOJ00zd/oR6Q4/4fZZuJdZtmmpQTu"
    "zfT8VuhFq4oevq8OmhlfnNK6l2bsZSzXUBW59ixns9sLxx9/YlpKS3Kj1TvyCJ0wTvtVdleKhAsD"
    "VK6sVKK0UOHk9w7C8QStwObPyBc9NeihTh86EPbJ4G7KR3UlaDc4bsnx4Vw0NoiddKwm4kTx+Bwu"
    "P2WaIJ0TF3GyIA3BPCprQrWMiaxyTVDmm61Oe3575PHraT0d5xl+Ju7li89EiB5gNEgOICD4371b"
    "tES0cMzEbpiVEg+AFMii9ZQghxcppZIhIvuMs4uW7S+uG+OUmKb1w4tukwbF+Xuhkl2pBezdWYfg"
    "3l3xF9rvFYhs5gfj6anjBvkCgcEA5BGYTQZUhQJ/HoCUPWujQdLEFMyRCY2rZpzYSCK9CN6X9UW2"
    "fSD/QZ5yUof1WXg39mS0O4sO3k6u/7UQYyTAbMeIzC6BVEaWGCNcWfQ975o4WBA2r23s4VV9LgVM"
    "9mzB3UJrVFw8HGnJ7uf63H+e4xdLsIN4BKK0oOMv9AbKA+q9JaUJhvzzkbADgmmfqWFJVAayWiH1"
    "mYmzWLdxQlGEoxbm6hLI9M000+N+s0r5+72OKePOMDRJQET1kWKMWl13AoHBAM4i9cCAIk9FGTXz"
    "eVk7/Jt26U4ZM2UIet+bTYxmISRkH0owJyEeOy2qbn/1p7WTexRDz6XV7T3p/GIChougML+I6s3M"
    "dikv0zLHvVWLtYT3cGl+vj8PvclU+EcNMChwC3D0DuwZfcrH6paxM/j24wVDv5nD7S+soGHs2mnT"
    "UV+fGenqCDsujXyYSmYzlT+FlkzB1QRvi6Z2FrxbIrsviJAbnkqd9yJ/Yc6tS2TUTbiuwTBFlDoa"
    "U7Q4tKjYo4fC1QKBwQDVEssjSwKzsX1p1d6o82L3IB4pAGWQc1bq6yX1Xt8U5kE52QOBK87OU2Wj"
    "TXofOH2wKK1p46TkdMZyB4tj1PYhqtlXSStyvO+FZaPmNpWWwJJbU+qDQ0PH0cK9uB4LK9iDCoaT"
    "rghK01rhZMGuN10N9Lm2E12RlyECHr6yUZVyy2AjR2j7QF+egL8Gm/+ak1WatxbxtkBqTYfNHrUl"
    "rFsqsz7Q+PPeIcl1HFlG0Il0c8fZwwbjajX1YXe7eEKAOkkCgcACKF+GKlExnzmKVQgaJQSZ4/7B"
    "MIZXMmWG3atMIu2J4fpp3mMqd5SK/9O0RzAAOJD7P1J3G+wlz8Myi3A5Ge4osxgyG0fJWpTNXUXg"
    "FVxLDgQBNrBrHJESAG+w3rR4V+PmxMc7NXEZpEoSVbyDiKILtg/VXjWnYBk1rTMEFJAvfgzZY/e+"
    "FtioSzfMJhIT3iQanZTLPRerIGVQh2uvpem6CG/5u/mQROETNsEpRwehPUMMbE4G5aumoUlS0yGz"
    "FBkCgcAXv7qWmJepZIDspulEEu0UKpFiW/gVCZn1O97Wt1eatp6/z2+y9JjiphoU8KbmcwgKFgmL"
    "lPks+HHvrsUBPh07Q9cSJJr5YsuRUNnLnqThDgbYdGJtVgnOVWzW/J8vymVeelZMlCqcn7Ty9MyV"
    "Ocspc9lvtKGU9LxB5//eDXTQy5Qad0ZzjrcSQkJu+/j0KyYOoe33oSfR2lt57C9Q7v4vAUBZbjUS"
    "dg7YHj/xO1Z3KZqndM5Jf9qtAXWeHj7SF9A=")
_KIT_RSA1A = (
    "Td9JqqDxe1gtfqk9MpAm0QtJZLK0fNSEHCL0NUvVGp6fGVmQLK0xdw6zVP/ctIiNkb2Fo6I1X8Z2"
    "D7GD5jx12yCRWJOZs+X4eYidrjnulIH8+1sMeqTvZ6Ll3RLoelOmZGtDq+FBWQLvqlWywhgEC034"
    "e5ytmTpOiC/Kap5VQehKoTIo/tx0fDH8FSLbnlTiG1LVltkbHL8IPNW3/3afpxKqf+yCm1mOmWpx"
    "YjNhTZu8W+378aJqb46/hr2BuwmeQvsFPrTV+ND9IwDAW57v2LIyJzlpgpg1wjnTi5IozAKgZaqZ"
    "CwYrmTyU10oBy1ba/9e5OHaQPSJ27hP+9GlEBOuQDGHHvj89PRn3IIguKTOQMKOIFmOKBXIVxHrc"
    "ASPaTQ48WQG+T+BL6cGs0ErOSPiR8/zfyi5zmo7BTWNQzFeZGXtaKBnHOzg8ZJPh63RePlZYcOUC"
    "8KMEFQbH+R8WrP1+m5cWN7qh4byS7IHaihpcFayqotShCHtCjb9fjilv")
_KIT_RSA1B = (
    "c6ZTPFPOKoC3khpyIMMln8Oj3YbioD2Ox8vT8KGRbAPKwReKvWRLidZkVuAYywiV0li0qZ6WBWor"
    "y88Cwc8EU1U5JN2UJv8IchYrbkS29vXPt66lhwH7fTvcPWUnh7nURPCTgls7WkId89YU/LyF3z+n"
    "LAAAhvLWGXgC2xa30yeXSkQa8J46BY+5quinTqXWnE6on1hpTNOFca1nmtnHyrRiJH7YNCAL258C"
    "1uO6IYltzHlf+p7za4a8B8Gr5awKY3gAGSCQVX4nqH4BVsEDmr54BCCr6IVaBDsOL5NLkvqOF0Ot"
    "RLf1s/eCYw7ZVoRld+5aieEUmM3EEeREEAgzlcluBSPgw5VcJ1VqmMyrHHwJpxXMVQ1kpjd6FGkh"
    "8lctG4eM5n6TtAkV2Bd/aAMPSgB8c+AOZL/Xrxw+weC1Yw00rnTKETLjkcEpAs53av9N0SS1OwjU"
    "FUpNk3BpBTkiPmLrZuM04IiwxoM0recM59nt5rk5yOKZIW6dve1+BkZG")
_KIT_RSA1_RESULTS = []


def kit_rsa_selftest():
    """RSA-1 (security.md §11): the `openssl pkeyutl` OAEP options used by ${rsa_oaep:...} decrypt RSA-1a only
    with MGF1-SHA1 and RSA-1b only with MGF1-SHA256; an encrypt/decrypt round trip works for both."""
    if _KIT_RSA1_RESULTS:
        return list(_KIT_RSA1_RESULTS)
    out = []
    try:
        key = _kit_tmpfile("rsa1-private", _kit_pem_private(_KIT_RSA1_KEY))
        pub = _kit_tmpfile("rsa1-public", _kit_openssl(["pkey", "-in", key, "-pubout"]))
        for vec, ct, good in (("RSA-1a", _KIT_RSA1A, "sha1"), ("RSA-1b", _KIT_RSA1B, "sha256")):
            for mgf in ("sha1", "sha256"):
                name = "%s MGF1-%s" % (vec, mgf.upper())
                try:
                    pt = _kit_openssl(["pkeyutl", "-decrypt", "-inkey", key] + _kit_oaep_opts(mgf), base64.b64decode(ct))
                    err = None if mgf == good and pt == b"test-client-secret-0001" else "decrypted to %r" % pt
                except ValueError as e:
                    err = None if mgf != good else str(e)
                out.append((name, err))
        for mgf in ("sha1", "sha256"):
            ct = _kit_openssl(["pkeyutl", "-encrypt", "-pubin", "-inkey", pub] + _kit_oaep_opts(mgf), b"round-trip")
            pt = _kit_openssl(["pkeyutl", "-decrypt", "-inkey", key] + _kit_oaep_opts(mgf), ct)
            out.append(("RSA-1 round trip MGF1-%s" % mgf.upper(),
                        None if pt == b"round-trip" and len(ct) == 384 else "got %r, %d bytes" % (pt, len(ct))))
    except Exception as e:  # noqa: BLE001 - report anything
        out.append(("RSA-1", "exception: %s" % e))
    _KIT_RSA1_RESULTS.extend(out)
    return out


# ============================================================================ matching

def get_path(obj, path):
    """'info[0].appInfo.userName' or 'info.0.appInfo'. Returns (found, value)."""
    cur = obj
    for part in re.findall(r"[^.\[\]]+", path):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return False, None
    return True, cur


def _typename(v):
    if isinstance(v, Num):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "boolean"
    if v is None:
        return "null"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "number"


def _same_scalar(exp, act):
    if isinstance(exp, bool) or isinstance(act, bool):
        return exp is act
    if isinstance(act, Num) and isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return float(act) == float(exp)
    if isinstance(exp, Num) and isinstance(act, Num):
        return float(exp) == float(act)
    if isinstance(exp, Num) or isinstance(act, Num):
        return False
    return exp == act and type(exp) == type(act)  # "1" != 1


def is_operator(exp):
    return isinstance(exp, dict) and exp and all(k.startswith("$") for k in exp)


def match(exp, act, path="$"):
    """Subset match. Returns a list of error strings."""
    errs = []
    if is_operator(exp):
        for op, arg in exp.items():
            if op == "$present":
                continue
            elif op == "$absent":
                errs.append("%s: expected absent" % path)
            elif op == "$regex":
                if not isinstance(act, str) or not re.search(arg, act):
                    errs.append("%s: %r does not match /%s/" % (path, act, arg))
            elif op == "$ne":
                if not match(arg, act, path):
                    errs.append("%s: %r must not equal %r" % (path, act, arg))
            elif op == "$in":
                if not any(not match(x, act, path) for x in arg):
                    errs.append("%s: %r not in %r" % (path, act, arg))
            elif op == "$len":
                if not isinstance(act, (list, str, dict)) or len(act) != arg:
                    errs.append("%s: length %s, expected %d" % (path, len(act) if isinstance(act, (list, str, dict)) else "n/a", arg))
            elif op == "$maxlen":
                if not isinstance(act, (list, str)) or len(act) > arg:
                    errs.append("%s: length %s exceeds %d" % (path, len(act) if isinstance(act, (list, str)) else "n/a", arg))
            elif op == "$type":
                if _typename(act) != arg:
                    errs.append("%s: type %s, expected %s" % (path, _typename(act), arg))
            elif op == "$contains":
                if not isinstance(act, list):
                    errs.append("%s: expected an array" % path)
                else:
                    for i, item in enumerate(arg):
                        if not any(not match(item, a, path) for a in act):
                            errs.append("%s: no element matches %s" % (path, emit(item)))
            elif op == "$each":
                if not isinstance(act, list):
                    errs.append("%s: expected an array" % path)
                else:
                    for i, a in enumerate(act):
                        errs.extend(match(arg, a, "%s[%d]" % (path, i)))
            elif op == "$not_empty":
                if act in (None, "", [], {}):
                    errs.append("%s: expected non-empty" % path)
            else:
                errs.append("%s: unknown operator %s" % (path, op))
        return errs
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            return ["%s: expected an object, got %s" % (path, emit(act) if act is not None else "null")]
        for k, v in exp.items():
            sub = "%s.%s" % (path, k)
            if k not in act:
                if is_operator(v) and "$absent" in v:
                    continue
                errs.append("%s: missing" % sub)
            elif is_operator(v) and "$absent" in v:
                errs.append("%s: expected absent, got %s" % (sub, emit(act[k])))
            else:
                errs.extend(match(v, act[k], sub))
        return errs
    if isinstance(exp, list):
        if not isinstance(act, list):
            return ["%s: expected an array" % path]
        if len(exp) != len(act):
            return ["%s: %d elements, expected %d" % (path, len(act), len(exp))]
        for i, (e, a) in enumerate(zip(exp, act)):
            errs.extend(match(e, a, "%s[%d]" % (path, i)))
        return errs
    if not _same_scalar(exp, act):
        return ["%s: %s, expected %s" % (path, emit(act) if not isinstance(act, (set,)) else act, emit(exp))]
    return []


# ============================================================================ database

def sql_norm(v):
    if v is True:
        return "t"
    if v is False:
        return "f"
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    return v


class _PsqlSession:
    """One long-lived psql per database (starting psql costs far more than a query): each call sends the
    SQL, then `\\echo` and `\\warn` markers, and reads both streams up to them. ON_ERROR_STOP makes psql
    exit at the first error, like `psql -c` would; the session is then started anew on the next call."""

    def __init__(self, env):
        self.env = env
        self.proc = None
        self.lock = threading.Lock()
        self.n = 0

    def _start(self):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-F", "\x1f", "-R", "\x1e", "-v", "ON_ERROR_STOP=1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        self.bufs = {self.proc.stdout.fileno(): b"", self.proc.stderr.fileno(): b""}

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def _read_until(self, fd, marker, deadline):
        """Bytes before the marker line, or (bytes so far, False) at EOF."""
        while True:
            i = self.bufs[fd].find(marker)
            if i >= 0:
                out, self.bufs[fd] = self.bufs[fd][:i], self.bufs[fd][i + len(marker):]
                return out, True
            left = deadline - time.monotonic()
            if left <= 0:
                raise FixtureError("psql did not answer within 30 s")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    out, self.bufs[fd] = self.bufs[fd], b""
                    return out, False
                self.bufs[fd] += chunk

    def query(self, sql):
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            self.n += 1
            marker = ("--koogate-runner-%d-%s--" % (self.n, secrets.token_hex(4))).encode()
            try:
                self.proc.stdin.write(sql.encode("utf-8") + b"\n;\n\\echo " + marker + b"\n\\warn " + marker + b"\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
            deadline = time.monotonic() + 30
            try:
                out, ok = self._read_until(self.proc.stdout.fileno(), marker + b"\n", deadline)
                err, _ = self._read_until(self.proc.stderr.fileno(), marker + b"\n", deadline) if ok else \
                    (self._read_until(self.proc.stderr.fileno(), b"\0never\0", time.monotonic() + 5)[0], False)
            except FixtureError:
                self.close()
                raise
            if not ok:      # notices on stderr are not errors; an error ends psql (ON_ERROR_STOP)
                self.close()
                raise FixtureError("psql failed for %r: %s" % (sql, err.decode(errors="replace").strip() or "psql exited"))
            return out.decode("utf-8")


_PSQL_SESSIONS = {}
_PSQL_LOCK = threading.Lock()


def _close_psql_sessions():
    for sess in _PSQL_SESSIONS.values():
        sess.close()


def psql(ctx, sql):
    """Rows of the SQL (the last statement's), each a list of text cells ("" for NULL)."""
    env = dict(os.environ)
    env.update(ctx.pg_env)
    key = tuple(sorted(ctx.pg_env.items()))
    with _PSQL_LOCK:
        if not _PSQL_SESSIONS:
            import atexit
            atexit.register(_close_psql_sessions)
        sess = _PSQL_SESSIONS.setdefault(key, _PsqlSession(env))
    out = sess.query(sql)
    if out.endswith("\n"):
        out = out[:-1]
    if out == "":
        return []
    return [r.split("\x1f") for r in out.split("\x1e")]


def check_db(ctx, checks):
    errs = []
    for chk in checks:
        sql = chk["sql"]
        deadline = time.monotonic() + float(chk.get("wait_s", 0))
        while True:
            rows = psql(ctx, sql)
            for col in chk.get("unseal", []):   # sealed bytea columns (hex) -> plaintext, see lc_unseal
                rows = [[lc_unseal(ctx, c) if j == col else c for j, c in enumerate(r)] for r in rows]
            e = []
            if "rows" in chk:
                want = chk["rows"]
                if isinstance(want, int) and not isinstance(want, bool):
                    if len(rows) != want:
                        e.append("%d rows, expected %d" % (len(rows), want))
                else:
                    want = [[sql_norm(c) for c in r] if isinstance(r, list) else [sql_norm(r)] for r in want]
                    got = rows
                    e.extend(match(want, got, "rows"))
            if "value" in chk:
                got = rows[0][0] if rows and rows[0] else None
                e.extend(match(sql_norm(chk["value"]) if not is_operator(chk["value"]) else chk["value"], got, "value"))
            if not e or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if e:
            errs.append("db %r -> %s: %s" % (sql, json.dumps(rows, ensure_ascii=False)[:300], "; ".join(e)))
    return errs


# ============================================================================ lifecycle, V1, Query Order and usage fixtures
# Features for v2_lifecycle*, v1_*, query_order* and usage* fixtures (tests/fixtures/README.md, "Steps
# other than requests"):
#   case kinds    "command" (a shell command, an argv, or {"koogate": [...]} for $KOOGATE_BUILD/koogate, run
#                 with the stack's environment) and "sql" (statements run with psql), besides "request"
#   request       "target": "fake" (the fake KooGallery gateway over HTTPS, verified with the test CA),
#                 "stack": "variant" (the whole case against the second stack given by --variant-env),
#                 "raw_query" (appended as is); V1 sign options "token_plus" (a timeStamp whose authToken
#                 holds a '+', sent unencoded), "raw": [names] (those values keep '+' unencoded and are
#                 signed that way: only the percent-decoding variant of D42 verifies) and "form": [names]
#                 (form-encoded: a space is sent as '+')
#   case          "requires": ["fake", "variant", "config.KEY=VALUE"] (skipped when missing; also for a whole
#                 file), "poll_s": N (re-run until it passes)
#   let           {"$encrypt": {...}}, {"$decrypt": {...}}, {"$b64": text|value}, {"$json": value},
#                 {"$sha256": text}, {"$time": {...}}, {"$sql": "SELECT ..."} (first cell)
#   variables     ${fake_url}, ${fake_fallback_url}, ${fake_port}, ${closed_port}, ${build},
#                 ${v1_ts} / ${v1_ts:SECONDS}, ${time:SECONDS:STRFTIME}
#   expect        "exit", "stdout", "stderr", "json" (stdout as JSON) for commands; "rows", "error" for sql;
#                 "fake_usage"; db "unseal"; decrypt_app_info on a top-level appInfo, with "capture"

import ssl  # noqa: E402 - only the fake gateway speaks TLS

_LC_ALNUM = string.ascii_letters + string.digits


def lc_utc(offset_s=0.0):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=float(offset_s))


def lc_v1_ts(dt):
    return dt.strftime("%Y%m%d%H%M%S") + "%03d" % (dt.microsecond // 1000)


def lc_free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def lc_variable(name, ctx, home):
    """The extra ${...} variables, or None."""
    if name in ("fake_url", "fake_fallback_url", "fake_port"):
        if not ctx.fake_url:
            raise FixtureError("${%s}: the stack has no fake KooGallery gateway (KOOGATE_FAKE_URL)" % name)
        if name == "fake_port":
            return str(urllib.parse.urlsplit(ctx.fake_url).port)
        return ctx.fake_url if name == "fake_url" else ctx.fake_fallback_url
    if name == "closed_port":          # nothing listens there: connections are refused
        if name not in home.gen:
            home.gen[name] = str(lc_free_port())
        return home.gen[name]
    if name == "build":
        return ctx.build
    if name == "v1_ts" or name.startswith("v1_ts:"):
        return lc_v1_ts(lc_utc(name[6:] or 0))
    if name.startswith("time:"):
        _, off, fmt = name.split(":", 2)
        return lc_utc(off).strftime(fmt)
    return None


def lc_encrypt(spec, ctx):
    key = resolve_key(spec.get("key"), ctx, ctx.basic_key)
    et = str(spec.get("type", 1))
    plain = spec["plain"]
    want = spec.get("contains")
    for _ in range(500):
        iv = spec.get("iv") or "".join(secrets.choice(_LC_ALNUM) for _ in range(16))
        out = aes_encrypt(key, et, plain, iv)
        if not want or want in out[16:]:
            return out
        if spec.get("iv"):
            break
    raise FixtureError("$encrypt: no ciphertext containing %r" % want)


def lc_eval(v, ctx):
    """let values: {"$op": arg} objects are evaluated (after variable substitution)."""
    if isinstance(v, list):
        return [lc_eval(x, ctx) for x in v]
    if not (isinstance(v, dict) and len(v) == 1 and next(iter(v)).startswith("$")):
        return v
    op, arg = next(iter(v.items()))
    arg = lc_eval(arg, ctx)
    if op == "$encrypt":     # {"plain", "type": 1|2, "key": "$basic"|literal, "iv": fixed, "contains": "+"}
        return lc_encrypt(arg, ctx)
    if op == "$decrypt":     # {"value", "type", "key"}
        return aes_decrypt(resolve_key(arg.get("key"), ctx, ctx.basic_key), str(arg.get("type", 1)), arg["value"])
    if op == "$b64":         # text, or any other value as compact JSON
        return base64.b64encode(_b(arg if isinstance(arg, str) else emit(arg))).decode()
    if op == "$json":
        return emit(arg)
    if op == "$sha256":      # hex SHA-256 of the UTF-8 text (e.g. the metering_sn of MSN-1)
        return hashlib.sha256(_b(arg)).hexdigest()
    if op == "$time":        # {"offset_s": N, "floor_s": 3600, "format": "%Y-%m-%dT%H:%M:%SZ"}
        t = lc_utc(arg.get("offset_s", 0)).timestamp()
        if arg.get("floor_s"):
            t -= t % int(arg["floor_s"])
        return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(arg.get("format", "%Y-%m-%dT%H:%M:%SZ"))
    if op == "$sql":
        rows = psql(ctx, arg)
        return rows[0][0] if rows and rows[0] else None
    return v


def lc_unseal(ctx, cell):
    """koogate's sealed bytea (hex, as psql prints it): 12-byte nonce || AES-256-GCM ciphertext || 16-byte
    tag, master_key from koogate.conf. GCM encrypts with CTR from counter block nonce || 00000002, so
    `openssl enc -aes-256-ctr` recovers the plaintext (the tag is not checked here)."""
    if cell in (None, ""):
        return cell
    h = cell[2:] if cell.startswith("\\x") else cell
    try:
        data = bytes.fromhex(h)
        key = bytes.fromhex(ctx.config.get("master_key", ""))
    except ValueError:
        return "<not hex: %s>" % cell[:40]
    if len(data) < 28 or len(key) != 32:
        return "<cannot unseal %d bytes>" % len(data)
    p = subprocess.run(["openssl", "enc", "-d", "-aes-256-ctr", "-K", key.hex(), "-iv", (data[:12] + b"\0\0\0\2").hex(),
                        "-nosalt"], input=data[12:-16], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        return "<openssl: %s>" % p.stderr.decode(errors="replace").strip()
    return p.stdout.decode("utf-8", "replace")


def lc_fake_get(ctx, path):
    if not ctx.fake_url:
        raise FixtureError("the stack has no fake KooGallery gateway (KOOGATE_FAKE_URL)")
    resp = http_request("GET", ctx.fake_url + path, [("Accept", "application/json")], None, cafile=ctx.fake_ca)
    if resp.status != 200 or resp.json() is None:
        raise FixtureError("fake %s: HTTP %d %s" % (path, resp.status, resp.excerpt(200)))
    return resp.json()


def lc_check_fake_usage(ctx, checks):
    """[{"sql": "SELECT metering_sn ...", "count": 1, "n": 250}] or [{"sn": "...", "count": 0}]: how often
    the fake accepted each record (in an accepted batch)."""
    errs = []
    got = lc_fake_get(ctx, "/_usage").get("records", {})
    for chk in checks:
        sns = [chk["sn"]] if "sn" in chk else [r[0] for r in psql(ctx, chk["sql"])]
        if "n" in chk and len(sns) != int(chk["n"]):
            errs.append("fake_usage: %d records selected, expected %d" % (len(sns), int(chk["n"])))
        want = int(chk.get("count", 1))
        bad = [(sn, int(got.get(sn, 0))) for sn in sns if int(got.get(sn, 0)) != want]
        if bad:
            errs.append("fake_usage: %d of %d records not received exactly %d time(s), e.g. %s x%d"
                        % (len(bad), len(sns), want, bad[0][0], bad[0][1]))
    return errs


def lc_app_info_entries(obj):
    """queryInstance info[], or the top-level instanceId/appInfo of a V1 newInstance answer."""
    if isinstance(obj, dict) and "info" not in obj and isinstance(obj.get("appInfo"), dict):
        return [{"instanceId": obj.get("instanceId"), "appInfo": obj["appInfo"]}]
    return None


def lc_capture_app_info(spec, resp, ctx, file_scope):
    """decrypt_app_info {"capture": {"var": "userName"|"password"}}: plaintexts of the first entry."""
    obj = resp.json()
    entries = lc_app_info_entries(obj) or (obj.get("info") if isinstance(obj, dict) else None) or []
    errs = []
    for var, field in spec.get("capture", {}).items():
        try:
            file_scope.values[var] = aes_decrypt(ctx.basic_key, obj.get("encryptType", "1"), entries[0]["appInfo"][field])
        except (IndexError, KeyError, TypeError, ValueError) as e:
            errs.append("capture %s: cannot decrypt appInfo.%s: %s" % (var, field, e))
    return errs


class CmdResult:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv, self.rc, self.stdout, self.stderr, self.elapsed = argv, rc, out, err, elapsed

    def view(self):
        try:
            j = parse_json(self.stdout)
        except JsonError:
            j = None
        return {"exit": self.rc, "stdout": self.stdout, "stderr": self.stderr, "json": j}


def lc_run_command(cmd, ctx):
    env = dict(os.environ)
    env.update(ctx.env)
    env.update({k: str(v) for k, v in cmd.get("env", {}).items()})
    if "koogate" in cmd:
        argv = [os.path.join(ctx.build, "koogate")] + [str(a) for a in cmd["koogate"]]
    elif "sh" in cmd:
        argv = ["bash", "-c", cmd["sh"]]
    else:
        argv = [str(a) for a in cmd["argv"]]
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, input=_b(cmd.get("stdin", "")), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=float(cmd.get("timeout_s", 120)), cwd=os.path.dirname(HERE))
    except subprocess.TimeoutExpired:
        return CmdResult(argv, None, "", "timed out after %ss" % cmd.get("timeout_s", 120), time.monotonic() - t0)
    return CmdResult(argv, p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
                     time.monotonic() - t0)


def _lc_text_match(exp, text, what):
    if isinstance(exp, str):
        return [] if re.search(exp, text) else ["%s does not match /%s/" % (what, exp)]
    return [what + e[1:] for e in match(exp, text)]


def lc_check_command(exp, res):
    errs = []
    want = exp.get("exit", 0)
    if res.rc is None or (res.rc not in want if isinstance(want, list) else res.rc != want):
        errs.append("exit status %s, expected %s" % (res.rc, want))
    for stream in ("stdout", "stderr"):
        if stream in exp:
            errs.extend(_lc_text_match(exp[stream], getattr(res, stream), stream))
    if "json" in exp:
        errs.extend(match(exp["json"], res.view()["json"], "$stdout"))
    if "max_ms" in exp and res.elapsed * 1000 > exp["max_ms"]:
        errs.append("took %.0f ms, limit %d ms" % (res.elapsed * 1000, exp["max_ms"]))
    return errs


def lc_exec_case(case, scope, ctx, exp, n, conc):
    """A "command" or "sql" case: (errors, the pseudo-response the captures read)."""
    if "sql" in case:
        stmts = subst(case["sql"], scope, ctx)
        rows = []
        try:
            for s in stmts if isinstance(stmts, list) else [stmts]:
                rows = psql(ctx, s)
        except FixtureError as e:
            if "error" not in exp:
                raise
            return _lc_text_match(exp["error"], str(e), "error"), {"rows": [], "error": str(e)}
        if "error" in exp:
            return ["the statement succeeded (%s), expected an error" % json.dumps(rows)[:200]], {"rows": rows}
        errs = match([[sql_norm(c) for c in r] for r in exp["rows"]], rows, "rows") if isinstance(exp.get("rows"), list) \
            else (["%d rows, expected %d" % (len(rows), exp["rows"])] if isinstance(exp.get("rows"), int) and len(rows) != exp["rows"] else [])
        return errs, {"rows": rows}

    def one(i):
        it = Scope(scope, gen_home=False, values={"rep": str(i), "rep_uuid": str(uuid.uuid4())})
        return lc_run_command(subst(case["command"], it, ctx), ctx)

    if n == 1:
        results = [one(0)]
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=conc) as ex:
            results = list(ex.map(one, range(n)))
    errs = []
    for i, res in enumerate(results):
        e = lc_check_command(exp, res)
        if e:
            out = (res.stdout.strip() + " | " + res.stderr.strip()).strip(" |")
            errs.append(("" if n == 1 else "[%d] " % i) + "; ".join(e) + " <- " + (out[-600:] or "(no output)"))
            if ctx.verbose:
                sys.stdout.write("    command: %s\n" % " ".join(shlex.quote(a) for a in res.argv))
    return errs, results[0].view()


def lc_run_special(case, file_scope, ctx):
    """A command or sql case, with let, repeat, db checks and captures like a request case."""
    scope = Scope(file_scope, gen_home=True)
    for k, v in case.get("let", {}).items():
        scope.values[k] = lc_eval(subst(v, scope, ctx), ctx)
    exp = subst(case.get("expect", {}), scope, ctx)
    errs, view = lc_exec_case(case, scope, ctx, exp, int(case.get("repeat", 1)), max(1, int(case.get("concurrency", 1))))
    if not errs and exp.get("db"):
        errs.extend(check_db(ctx, exp["db"]))
    if not errs and exp.get("fake_usage"):
        errs.extend(lc_check_fake_usage(ctx, exp["fake_usage"]))
    capture = dict(case.get("capture", {}))
    capture.update(exp.get("capture", {}))
    for var, p in capture.items():
        found, v = get_path(view, p)
        if not found:
            errs.append("capture %s: %s not in the result" % (var, p))
        else:
            file_scope.values[var] = v
    for var, rx in exp.get("capture_regex", {}).items():
        m = re.search(rx, view.get("stdout", "") + "\n" + view.get("stderr", ""))
        if not m:
            errs.append("capture %s: /%s/ not in the output" % (var, rx))
        else:
            file_scope.values[var] = m.group(1) if m.groups() else m.group(0)
    return errs


def lc_unmet(case, ctx):
    """Why a case (or file) cannot run on this stack, or None."""
    for r in case.get("requires", []):
        if r == "fake" and not ctx.fake_url:
            return "needs the fake KooGallery gateway (KOOGATE_FAKE_URL in stack.env)"
        if r == "variant" and ctx.variant is None:
            return "needs the variant stack (--variant-env)"
        if r.startswith("config."):        # "config.usage_info=1": koogate.conf must say so
            k, _, v = r[7:].partition("=")
            if ctx.config.get(k) != v:
                return "needs %s = %s in %s (tests/run.sh sets it)" % (k, v, ctx.config_path)
    return None


def lc_run_case(case, file_scope, ctx, state, fname, run_request):
    """Wraps the request runner: variant stack, fake target defaults, command/sql kinds, poll_s."""
    req = case.get("request", {})
    if isinstance(req, dict) and req.get("stack") == "variant":
        if ctx.variant is None:
            return ["the variant stack is not configured (--variant-env)"]
        ctx = ctx.variant
    if isinstance(req, dict) and req.get("target") == "fake":
        exp = {"strict": False, "body_sign": False}
        exp.update(case.get("expect", {}))
        case = dict(case, expect=exp)
    deadline = time.monotonic() + float(case.get("poll_s", 0))
    while True:
        if "command" in case or "sql" in case:
            errs = lc_run_special(case, file_scope, ctx)
        else:
            errs = run_request(case, file_scope, ctx, state, fname)
        if not errs or time.monotonic() >= deadline:
            return errs
        time.sleep(0.25)


# ============================================================================ running cases

class Context:
    def __init__(self, env):
        self.url = env.get("KOOGATE_URL", "").rstrip("/")
        self.base = env.get("KOOGATE_BASE") or re.sub(r"^(https?://[^/]+).*$", r"\1", self.url)
        self.basic_key = env.get("KOOGATE_BASIC_KEY", "")
        self.kit_key = env.get("KOOGATE_KIT_KEY", "")
        self.config_path = env.get("KOOGATE_CONFIG", "")
        self.pg_env = {k: env[k] for k in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD") if env.get(k)}
        self.config = {}
        if self.config_path and os.path.exists(self.config_path):
            try:
                with open(self.config_path, encoding="utf-8") as f:
                    for line in f:
                        line = line.strip()
                        if not line or line.startswith("#") or "=" not in line:
                            continue
                        k, _, v = line.partition("=")
                        self.config.setdefault(k.strip(), v.strip())
            except OSError:
                pass
        self.verbose = False
        # lifecycle/usage fixtures: the stack's environment for commands, the fake gateway, a variant stack
        self.env = {k: v for k, v in env.items() if k.startswith(("KOOGATE_", "PG"))}
        self.build = env.get("KOOGATE_BUILD") or os.path.join(os.path.dirname(HERE), "build")
        self.fake_url = env.get("KOOGATE_FAKE_URL", "").rstrip("/")
        self.fake_fallback_url = env.get("KOOGATE_FAKE_FALLBACK_URL", "").rstrip("/")
        self.fake_ca = env.get("KOOGATE_FAKE_CA") or None
        self.variant = None


class CaseState:
    def __init__(self):
        self.nonces = {}      # case name -> last nonce used
        self.lock = threading.Lock()


def resolve_key(spec, ctx, default):
    if spec is None:
        return default
    if spec == "$basic":
        return ctx.basic_key
    if spec == "$kit":
        return ctx.kit_key
    return spec


def encode_query(pairs, raw=(), form=()):
    """Percent-encodes every name and value; the values of the names in raw keep '+' unencoded, those in
    form are form-encoded (a space becomes '+', as Java's URLEncoder does)."""
    def value(k, v):
        if k in form:
            return urllib.parse.quote_plus(str(v), safe="")
        return urllib.parse.quote(str(v), safe="+" if k in raw else "")
    return "&".join("%s=%s" % (urllib.parse.quote(str(k), safe=""), value(k, v)) for k, v in pairs)


def build_and_send(case, scope, ctx, state, fname):
    """Builds one request (signing it now) and sends it. Returns (request_info, Response)."""
    req = subst(case.get("request", {}), scope, ctx)
    fake = req.get("target") == "fake"     # the fake KooGallery gateway: plain GET/POST, no signature
    sign = req.get("sign", "none" if fake else "v2")
    if isinstance(sign, str):
        sign = {"scheme": sign}
    scheme = sign.get("scheme", "v2")
    method = req.get("method") or ("GET" if scheme == "v1" or fake else "POST")
    path = req.get("path", "")
    if fake:
        if not ctx.fake_url:
            raise FixtureError("the stack has no fake KooGallery gateway (KOOGATE_FAKE_URL)")
        url = ctx.fake_url + path
    elif path.startswith("^"):  # absolute path on the server, not relative to the production URL
        url = ctx.base + path[1:]
    else:
        url = ctx.url + path
    query = list(req.get("query", {}).items()) if isinstance(req.get("query"), dict) else [tuple(p) for p in req.get("query", [])]
    headers = list(req.get("headers", {}).items())
    omit = set(sign.get("omit", []))

    # ---- body
    body = None
    if "body" in req:
        b = req["body"]
        if isinstance(b, str):
            body = b.encode("utf-8")
        elif b is not None:
            fmt = req.get("body_format", "compact")
            if fmt == "ascii":
                body = emit(b, ascii_only=True).encode("utf-8")
            elif fmt == "pretty":
                body = json.dumps(b, indent=2, ensure_ascii=False).encode("utf-8")
            else:
                body = emit(b).encode("utf-8")
    if "body_hex" in req:
        body = bytes.fromhex(req["body_hex"])
    if req.get("body_size"):
        n = int(req["body_size"])
        prefix = body[:-1] if body and body.endswith(b"}") and body != b"{}" else b'{"activity":"newInstance"'
        filler = b',"pad":"' + b"x" * max(0, n - len(prefix) - 10) + b'"}'
        body = prefix + filler
    if body is None and method in ("POST", "PUT") and scheme in ("v2", "kit", "kit_v1"):
        body = b""

    # ---- signature
    info = {"scheme": scheme, "method": method}
    nonce = sign.get("nonce")
    if isinstance(nonce, str) and nonce.startswith("$same:"):
        other = nonce[6:]
        with state.lock:
            if other not in state.nonces:
                raise FixtureError("nonce $same:%s: that case has not run (or used no nonce)" % other)
            nonce = state.nonces[other]
    if nonce is None:
        nonce = secrets.token_hex(32).upper()
    ts_ms = int(time.time() * 1000) + int(sign.get("timestamp_offset_ms", 0))
    if "timestamp" in sign:
        ts_ms = sign["timestamp"]
    payload_src = body if body is not None else b""
    if "sign_body" in sign:
        sb = sign["sign_body"]
        payload_src = sb.encode("utf-8") if isinstance(sb, str) else emit(sb).encode("utf-8")

    def payload(mode):
        if mode == "raw":
            return payload_src
        try:
            return canonical_json(payload_src)
        except JsonError:
            return payload_src  # not an object: only the raw-body candidate can apply

    if scheme == "v2":
        key = resolve_key(sign.get("key"), ctx, ctx.basic_key)
        sig = v2_signature(key, nonce, ts_ms, payload(sign.get("payload", "canonical")))
        if sign.get("signature_case", "upper") == "lower":
            sig = sig.lower()
        if "signature" in sign:
            sig = sign["signature"]
        params = [("signature", sig), ("timestamp", str(ts_ms)), ("nonce", nonce)]
        params = [(k, v) for k, v in params if k not in omit]
        query = params + query
        info["nonce"] = nonce
    elif scheme == "v1":
        key = resolve_key(sign.get("key"), ctx, ctx.basic_key)
        if "timeStamp" not in omit and not any(k == "timeStamp" for k, _ in query):
            dt = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(milliseconds=int(sign.get("timestamp_offset_ms", 0)))
            query.append(("timeStamp", dt.strftime("%Y%m%d%H%M%S") + "%03d" % (dt.microsecond // 1000)))
            if sign.get("token_plus"):   # step back a millisecond at a time until the authToken holds a '+'
                for _ in range(5000):
                    if "+" in v1_auth_token(key, [(str(k), str(v)) for k, v in query]):
                        break
                    dt -= datetime.timedelta(milliseconds=1)
                    query[-1] = ("timeStamp", dt.strftime("%Y%m%d%H%M%S") + "%03d" % (dt.microsecond // 1000))
        if "authToken" not in omit:
            tok = sign.get("authToken") or v1_auth_token(key, [(str(k), str(v)) for k, v in query])
            query.append(("authToken", tok))
        info["raw"] = set(sign.get("raw", [])) | ({"authToken"} if sign.get("token_plus") else set())
        info["form"] = set(sign.get("form", []))
    elif scheme == "kit":
        key = resolve_key(sign.get("key"), ctx, ctx.kit_key)
        xs = kit_xsign(key, nonce, ts_ms, payload(sign.get("payload", "canonical")))
        if sign.get("signature_case") == "upper":   # §3: x-sign is compared case-insensitively
            xs = xs.upper()
        if "signature" in sign:
            xs = sign["signature"]
        for k, v in (("x-sign", xs), ("x-timestamp", str(ts_ms)), ("x-nonce", nonce)):
            if k not in omit:
                headers.append((k, v))
        info["nonce"] = nonce
    elif scheme == "kit_v1":
        key = resolve_key(sign.get("key"), ctx, ctx.kit_key)
        obj = parse_json(payload_src)
        if "authToken" not in omit:
            if sign.get("variant"):   # D13 fallbacks "formdecoded" | "received" (Kit fixtures section)
                headers.append(("authToken", kit_v1_variant_token(key, obj, sign["variant"])))
            else:
                headers.append(("authToken", sign.get("authToken") or kit_v1_auth_token(key, obj)))
    elif scheme == "none":
        pass
    else:
        raise FixtureError("unknown sign scheme %r" % scheme)

    if body is not None and not any(k.lower() == "content-type" for k, _ in headers) and method != "GET":
        headers.append(("Content-Type", "application/json;charset=utf8"))
    if not any(k.lower() == "accept" for k, _ in headers):
        headers.append(("Accept", "application/json"))
    if query:
        url += ("&" if "?" in url else "?") + encode_query(query, info.pop("raw", ()), info.pop("form", ()))
    if req.get("raw_query"):   # sent exactly as written (e.g. a published request with unencoded '+')
        url += ("&" if "?" in url else "?") + req["raw_query"]
    if "nonce" in info:
        with state.lock:
            state.nonces[case["name"]] = info["nonce"]
    info["url"] = url
    resp = http_request(method, url, headers, body, timeout=float(req.get("timeout_s", 30)),
                        cafile=ctx.fake_ca if fake else None)
    return info, resp


def check_response(case, exp, resp, info, ctx):
    errs = []
    status = exp.get("status", 200)
    if resp.status != status:
        errs.append("HTTP %d, expected %d" % (resp.status, status))
        return errs
    strict = exp.get("strict", True)
    obj = None
    if resp.status == 200 and exp.get("json_body", True):
        obj = resp.json()
        if obj is None:
            errs.append("body is not JSON: %s" % resp.json_error)
            return errs
        if strict:
            if not isinstance(obj, dict):
                errs.append("body is not a JSON object")
                return errs
            rc = obj.get("resultCode")
            if not (isinstance(rc, str) and re.fullmatch(r"\d{6}", rc)):
                errs.append("resultCode %s is not a 6-digit string" % emit(rc) if rc is not None else "resultCode missing")
            rm = obj.get("resultMsg")
            if rm is not None and not (isinstance(rm, str) and len(rm) <= 255):
                errs.append("resultMsg is not a string of at most 255 characters")
            ct = resp.header_values("Content-Type")
            if not ct or not ct[0].lower().startswith("application/json"):
                errs.append("Content-Type %r is not application/json" % (ct[0] if ct else None))
    if "resultCode" in exp:
        got = obj.get("resultCode") if isinstance(obj, dict) else None
        want = exp["resultCode"]
        if isinstance(want, list):
            if got not in want:
                errs.append("resultCode %s, expected one of %s" % (got, want))
        elif got != want:
            errs.append("resultCode %s, expected %s" % (got, want))
    if "resultCode_not" in exp:
        got = obj.get("resultCode") if isinstance(obj, dict) else None
        bad = exp["resultCode_not"] if isinstance(exp["resultCode_not"], list) else [exp["resultCode_not"]]
        if got in bad:
            errs.append("resultCode %s must not be %s" % (got, "/".join(bad)))
    if "json" in exp:
        if obj is None:
            obj = resp.json()
        errs.extend(match(exp["json"], obj))
    # Body-Sign: default on for every 200
    bs = exp.get("body_sign", resp.status == 200)
    if bs:
        family = bs if isinstance(bs, str) else ("kit" if info["scheme"] in ("kit", "kit_v1") else "basic")
        key = ctx.kit_key if family == "kit" else ctx.basic_key
        vals = resp.header_values("Body-Sign", exact_case=True)
        if not vals:
            other = [k for k, _ in resp.headers if k.lower() == "body-sign"]
            errs.append("no Body-Sign header" + (" (found %r: wrong capitalisation)" % other[0] if other else ""))
        elif len(vals) > 1:
            errs.append("%d Body-Sign headers" % len(vals))
        else:
            m = BODY_SIGN_RE.match(vals[0])
            if not m:
                errs.append("Body-Sign %r does not have the form sign_type=\"HMAC-SHA256\", signature=\"...\"" % vals[0])
            elif not hmac.compare_digest(m.group(1), body_sign_value(key, resp.body)):
                errs.append("Body-Sign signature does not verify with the %s key" % family)
    for name, pattern in exp.get("headers", {}).items():
        vals = resp.header_values(name)
        if pattern is None:
            if vals:
                errs.append("header %s present: %r" % (name, vals[0]))
        elif not vals or not re.search(pattern, vals[0]):
            errs.append("header %s=%r does not match /%s/" % (name, vals[0] if vals else None, pattern))
    if "max_ms" in exp and resp.elapsed * 1000 > exp["max_ms"]:
        errs.append("took %.0f ms, limit %d ms" % (resp.elapsed * 1000, exp["max_ms"]))
    return errs


def check_app_info(spec, resp, ctx):
    """Decrypt every info[].appInfo.userName/password; compare userName with the database."""
    if spec is True:
        spec = {}
    errs = []
    obj = resp.json()
    if not isinstance(obj, dict):
        return ["no JSON object to decrypt"]
    et = obj.get("encryptType", "1")
    if et not in ("1", "2"):
        errs.append("encryptType %s is not \"1\" or \"2\"" % emit(et))
        return errs
    info = lc_app_info_entries(obj) or obj.get("info")   # V1 newInstance: the top-level appInfo
    if not isinstance(info, list) or not info:
        return ["no info[] entries to decrypt"]
    expect_by_id = spec.get("expect", {})
    for i, entry in enumerate(info):
        iid = entry.get("instanceId") if isinstance(entry, dict) else None
        app = entry.get("appInfo") if isinstance(entry, dict) else None
        if not isinstance(app, dict):
            errs.append("info[%d] (%s): no appInfo" % (i, iid))
            continue
        plain = {}
        for field in ("userName", "password"):
            v = app.get(field)
            if v is None:
                if spec.get("require", True):
                    errs.append("info[%d].appInfo.%s missing" % (i, field))
                continue
            try:
                plain[field] = aes_decrypt(ctx.basic_key, et, v)
            except ValueError as e:
                errs.append("info[%d].appInfo.%s (%r) does not decrypt with the basic key: %s" % (i, field, v, e))
                continue
            if len(plain[field].encode("utf-8")) > 31 or len(v) > 60:
                errs.append("info[%d].appInfo.%s: %d plaintext bytes / %d characters encrypted, D17 limits are 31 / 60"
                            % (i, field, len(plain[field].encode("utf-8")), len(v)))
            if plain[field] == "":
                errs.append("info[%d].appInfo.%s decrypts to an empty string" % (i, field))
        want = expect_by_id.get(iid, {})
        for field, value in want.items():
            if plain.get(field) != value:
                errs.append("info[%d].appInfo.%s decrypts to %r, expected %r" % (i, field, plain.get(field), value))
        if spec.get("db", True) and "userName" in plain and "userName" not in want:
            sql = spec.get("user_sql", "SELECT app_user_name FROM instance WHERE instance_id = '{instanceId}'")
            rows = psql(ctx, sql.replace("{instanceId}", str(iid).replace("'", "''")))
            if rows:
                if rows[0][0] != plain["userName"]:
                    errs.append("info[%d] (%s): userName decrypts to %r but instance.app_user_name is %r"
                                % (i, iid, plain["userName"], rows[0][0]))
            elif ctx.config.get("test_user_name") and plain["userName"] != ctx.config["test_user_name"]:
                errs.append("info[%d] (%s, no row): userName %r != config test_user_name %r"
                            % (i, iid, plain["userName"], ctx.config["test_user_name"]))
            if not rows and ctx.config.get("test_password") and plain.get("password") != ctx.config["test_password"]:
                errs.append("info[%d] (%s, no row): password does not equal config test_password" % (i, iid))
    return errs


def run_case(case, file_scope, ctx, state, fname):
    """Returns a list of error strings (empty = pass)."""
    return lc_run_case(case, file_scope, ctx, state, fname, run_request_case)


def run_request_case(case, file_scope, ctx, state, fname):
    scope = Scope(file_scope, gen_home=True)
    if "let" in case:
        for k, v in case["let"].items():
            scope.values[k] = lc_eval(subst(v, scope, ctx), ctx)
    n = int(case.get("repeat", 1))
    conc = max(1, int(case.get("concurrency", 1)))
    exp_raw = case.get("expect", {})

    def one(i):
        it = Scope(scope, gen_home=False, values={"rep": str(i), "rep_uuid": str(uuid.uuid4())})
        try:
            info, resp = build_and_send(case, it, ctx, state, fname)
        except FixtureError:
            raise
        except Exception as e:  # noqa: BLE001
            return None, None, ["request %d failed: %s: %s" % (i, type(e).__name__, e)]
        return info, resp, None

    if n == 1:
        results = [one(0)]
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=conc) as ex:
            results = list(ex.map(one, range(n)))

    errs = []
    exp = subst(exp_raw, scope, ctx)
    first_ok = None
    for i, (info, resp, err) in enumerate(results):
        prefix = "" if n == 1 else "[%d] " % i
        if err:
            errs.extend(prefix + e for e in err)
            continue
        e = check_response(case, exp, resp, info, ctx)
        if not e and exp.get("decrypt_app_info"):
            e = check_app_info(exp["decrypt_app_info"], resp, ctx)
            if not e and isinstance(exp["decrypt_app_info"], dict) and first_ok is None:
                e = lc_capture_app_info(exp["decrypt_app_info"], resp, ctx, file_scope)
        if e:
            detail = "HTTP %d %s" % (resp.status, resp.excerpt())
            errs.append(prefix + "; ".join(e) + " <- " + detail)
            if ctx.verbose:
                sys.stdout.write("    request: %s %s\n" % (info["method"], info["url"]))
        elif first_ok is None:
            first_ok = resp
    if errs and n > 1:
        # keep the line readable: the first three failures and a count
        errs = errs[:3] + (["... %d of %d requests failed" % (len(errs), n)] if len(errs) > 3 else [])
    # identical fields across all responses
    same = exp.get("same", [])
    if same and not errs:
        for p in same:
            vals = set()
            for info, resp, err in results:
                found, v = get_path(resp.json(), p)
                vals.add(emit(v) if found else "<missing>")
            if len(vals) != 1:
                errs.append("%s differs across the %d responses: %s" % (p, n, ", ".join(sorted(vals))[:300]))
    if not errs and exp.get("db"):
        errs.extend(check_db(ctx, exp["db"]))
    if not errs and exp.get("fake_usage"):
        errs.extend(lc_check_fake_usage(ctx, exp["fake_usage"]))
    capture = dict(case.get("capture", {}))
    capture.update(exp.get("capture", {}))
    if capture:
        src = first_ok if first_ok is not None else (results[0][1] if results and results[0][1] is not None else None)
        for var, p in capture.items():
            found, v = get_path(src.json() if src is not None else None, p)
            if not found:
                errs.append("capture %s: %s not in the response" % (var, p))
            else:
                file_scope.values[var] = v
    return errs


def load_fixture(path):
    with open(path, encoding="utf-8") as f:
        # Integers become int (counts, statuses); fractions keep their literal text for signing.
        data = json.loads(f.read(), object_pairs_hook=_pairs, parse_float=Num, parse_constant=_reject_constant)
    if isinstance(data, list):
        data = {"cases": data}
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise FixtureError("%s: expected a list of cases or an object with \"cases\"" % path)
    names = set()
    for c in data["cases"]:
        if not isinstance(c, dict) or not c.get("name"):
            raise FixtureError("%s: every case needs a name" % path)
        if c["name"] in names:
            raise FixtureError("%s: duplicate case name %r" % (path, c["name"]))
        names.add(c["name"])
    return data


def read_env_file(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[7:]
            k, _, v = line.partition("=")
            parts = shlex.split(v) if v else [""]
            env[k.strip()] = parts[0] if parts else ""
    return env


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="fixture files (default: tests/fixtures/*.json)")
    ap.add_argument("--env", help="stack.env written by tools/stack.sh (default: the environment)")
    ap.add_argument("--only", action="append", default=[], help="run only cases whose file:name contains TEXT")
    ap.add_argument("--selftest", action="store_true", help="only check the signer against the spec vectors")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--variant-env", help="stack.env of a second stack on the same database with other settings "
                                          "(cases with \"requires\": [\"variant\"]; tests/run.sh starts one)")
    args = ap.parse_args(argv)

    bad = [(n, e) for n, e in selftest() if e]
    if bad:
        for n, e in bad:
            print("FAIL selftest:%s: %s" % (n, e))
        print("0 passed, %d failed" % len(bad))
        print("fixture_runner: the Python signer does not reproduce security.md §11; not running fixtures", file=sys.stderr)
        return 2
    n_vectors = len(selftest())
    if args.selftest:
        print("selftest: %d vector checks ok" % n_vectors)
        return 0
    print("selftest: %d vector checks ok" % n_vectors, file=sys.stderr)

    env = dict(os.environ)
    if args.env:
        env.update(read_env_file(args.env))
    ctx = Context(env)
    ctx.verbose = args.verbose
    if args.variant_env:
        venv = dict(os.environ)
        venv.update(read_env_file(args.variant_env))
        ctx.variant = Context(venv)
        ctx.variant.verbose = args.verbose
    if not ctx.url or not ctx.basic_key:
        print("fixture_runner: KOOGATE_URL and KOOGATE_BASIC_KEY are required (use --env VAR/stack.env)", file=sys.stderr)
        return 2
    files = args.files or sorted(glob.glob(os.path.join(HERE, "fixtures", "*.json")))
    passed = failed = 0
    for path in files:
        fname = os.path.basename(path)
        try:
            data = load_fixture(path)
        except (FixtureError, JsonError, OSError) as e:
            print("FAIL %s:(load): %s" % (fname, e))
            failed += 1
            continue
        unmet = lc_unmet(data, ctx)
        if unmet:
            print("skip %s: %s" % (fname, unmet))
            continue
        state = CaseState()
        file_scope = Scope(None, gen_home=True)
        try:
            for k, v in data.get("vars", {}).items():
                file_scope.values[k] = lc_eval(subst(v, file_scope, ctx), ctx)
        except FixtureError as e:
            print("FAIL %s:(vars): %s" % (fname, e))
            failed += 1
            continue
        for case in data["cases"]:
            label = "%s:%s" % (fname, case["name"])
            if args.only and not any(o in label for o in args.only):
                continue
            if case.get("skip") or lc_unmet(case, ctx):
                print("skip %s: %s" % (label, case.get("skip") or lc_unmet(case, ctx)))
                continue
            t0 = time.monotonic()
            try:
                errs = run_case(case, file_scope, ctx, state, fname)
            except FixtureError as e:
                errs = ["fixture error: %s" % e]
            except Exception as e:  # noqa: BLE001 - a runner bug must not hide other cases
                errs = ["runner error: %s: %s" % (type(e).__name__, e)]
            ms = (time.monotonic() - t0) * 1000
            if errs:
                failed += 1
                print("FAIL %s: %s" % (label, " | ".join(errs)))
            else:
                passed += 1
                print("ok %s" % label + ("  (%.0f ms)" % ms if args.verbose else ""))
            sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
