# SPDX-License-Identifier: ISC
"""`${…}` variables and `let` operators (tests/fixtures/README.md, "Variables"): generated values fixed
per case or file, values from stack.env and koogate.conf, the Kit and lifecycle extras, and the keys
named `$basic` / `$kit`. A new variable goes into Scope._resolve or one of the *_variable hooks."""

import base64
import concurrent.futures
import datetime
import hashlib
import os
import re
import secrets
import socket
import string
import threading
import time
import urllib.parse
import uuid

from .base import FixtureError
from .db import psql
from .jsontext import Num, emit
from .kitcrypto import kit_b64_form, kit_rsa_encrypt, kit_user
from .signing import _b, aes_decrypt, aes_encrypt, hmac_sha256

VAR_RE = re.compile(r"\$\{([^}]+)\}")
GEN_RE = re.compile(r"^(uuid|orderId|hex|nonce)(\d*)$")


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
        v = kit_variable(name, ctx, home)   # Kit fixture variables (below)
        if v is not None:
            return v
        v = lifecycle_variable(name, ctx, home)    # lifecycle/usage fixture variables (below)
        if v is not None:
            return v
        raise FixtureError("unknown variable ${%s}" % name)


def repeat(scope, n, conc, fn):
    """fn(i, scope_i) for i in 0..n-1, up to conc at a time, each in its own scope with ${rep} and
    ${rep_uuid}; the results in order."""
    def one(i):
        return fn(i, Scope(scope, gen_home=False, values={"rep": str(i), "rep_uuid": str(uuid.uuid4())}))

    if n == 1:
        return [one(0)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=conc) as ex:
        return list(ex.map(one, range(n)))


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


# ============================================================================ lifecycle, V1, Query Order, usage
# ${fake_url}, ${fake_fallback_url}, ${fake_port}, ${closed_port}, ${build}, ${status_auth}, ${v1_ts} / ${v1_ts:SECONDS},
# ${time:SECONDS:STRFTIME}; the let operators {"$encrypt"}, {"$decrypt"}, {"$b64"}, {"$json"}, {"$sha256"},
# {"$time"} and {"$sql"} (let_eval).

_ALNUM = string.ascii_letters + string.digits


def utc_now(offset_s=0.0):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=float(offset_s))


def v1_timestamp(dt):
    return dt.strftime("%Y%m%d%H%M%S") + "%03d" % (dt.microsecond // 1000)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def lifecycle_variable(name, ctx, home):
    """The extra ${...} variables, or None."""
    if name in ("fake_url", "fake_fallback_url", "fake_port"):
        if not ctx.fake_url:
            raise FixtureError("${%s}: the stack has no fake KooGallery gateway (KOOGATE_FAKE_URL)" % name)
        if name == "fake_port":
            return str(urllib.parse.urlsplit(ctx.fake_url).port)
        return ctx.fake_url if name == "fake_url" else ctx.fake_fallback_url
    if name == "closed_port":          # nothing listens there: connections are refused
        if name not in home.gen:
            home.gen[name] = str(free_port())
        return home.gen[name]
    if name == "build":
        return ctx.build
    if name == "status_auth":          # HTTP Basic credentials of the status page and the metrics
        user, pw = ctx.env.get("KOOGATE_STATUS_USER"), ctx.env.get("KOOGATE_STATUS_PASSWORD")
        if not user or not pw:
            raise FixtureError("${status_auth}: no KOOGATE_STATUS_USER/KOOGATE_STATUS_PASSWORD in stack.env")
        return "Basic " + base64.b64encode(_b("%s:%s" % (user, pw))).decode()
    if name == "v1_ts" or name.startswith("v1_ts:"):
        return v1_timestamp(utc_now(name[6:] or 0))
    if name.startswith("time:"):
        _, off, fmt = name.split(":", 2)
        return utc_now(off).strftime(fmt)
    return None


def let_encrypt(spec, ctx):
    key = resolve_key(spec.get("key"), ctx, ctx.basic_key)
    et = str(spec.get("type", 1))
    plain = spec["plain"]
    want = spec.get("contains")
    for _ in range(500):
        iv = spec.get("iv") or "".join(secrets.choice(_ALNUM) for _ in range(16))
        out = aes_encrypt(key, et, plain, iv)
        if not want or want in out[16:]:
            return out
        if spec.get("iv"):
            break
    raise FixtureError("$encrypt: no ciphertext containing %r" % want)


def let_eval(v, ctx):
    """let values: {"$op": arg} objects are evaluated (after variable substitution)."""
    if isinstance(v, list):
        return [let_eval(x, ctx) for x in v]
    if not (isinstance(v, dict) and len(v) == 1 and next(iter(v)).startswith("$")):
        return v
    op, arg = next(iter(v.items()))
    arg = let_eval(arg, ctx)
    if op == "$encrypt":     # {"plain", "type": 1|2, "key": "$basic"|literal, "iv": fixed, "contains": "+"}
        return let_encrypt(arg, ctx)
    if op == "$decrypt":     # {"value", "type", "key"}
        return aes_decrypt(resolve_key(arg.get("key"), ctx, ctx.basic_key), str(arg.get("type", 1)), arg["value"])
    if op == "$b64":         # text, or any other value as compact JSON
        return base64.b64encode(_b(arg if isinstance(arg, str) else emit(arg))).decode()
    if op == "$json":
        return emit(arg)
    if op == "$sha256":      # hex SHA-256 of the UTF-8 text (e.g. the metering_sn of MSN-1)
        return hashlib.sha256(_b(arg)).hexdigest()
    if op == "$time":        # {"offset_s": N, "floor_s": 3600, "format": "%Y-%m-%dT%H:%M:%SZ"}
        t = utc_now(arg.get("offset_s", 0)).timestamp()
        if arg.get("floor_s"):
            t -= t % int(arg["floor_s"])
        return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(arg.get("format", "%Y-%m-%dT%H:%M:%SZ"))
    if op == "$sql":
        rows = psql(ctx, arg)
        return rows[0][0] if rows and rows[0] else None
    return v


def resolve_key(spec, ctx, default):
    if spec is None:
        return default
    if spec == "$basic":
        return ctx.basic_key
    if spec == "$kit":
        return ctx.kit_key
    return spec
