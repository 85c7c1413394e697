# SPDX-License-Identifier: ISC
"""The checks of a case's `expect`. The base checks of every answer (status, the JSON shape of a 200,
resultCode, json, Body-Sign, headers, max_ms) are below; the other kinds are tables:

    RESPONSE_CHECKS  run on each answer, in order, while nothing failed: fn(spec, resp, ctx, file_scope, first)
    CASE_CHECKS      run once after all the requests or commands of a case: fn(ctx, spec)

A new kind of check is a function in the module of its concern (or a new one) and one line in a table;
the case runners (cases.py, commands.py) need no change. Each returns a list of error strings."""

import hmac
import re

from . import appinfo, metrics
from .db import check_db
from .fake import check_fake_usage
from .jsontext import emit
from .match import match
from .signing import BODY_SIGN_RE, body_sign_value

RESPONSE_CHECKS = (
    ("decrypt_app_info", appinfo.check),
    ("metrics", metrics.check),
)
CASE_CHECKS = (
    ("db", check_db),
    ("fake_usage", check_fake_usage),
)


def check_answer(exp, resp, info, ctx, file_scope, first):
    """All checks of one answer: the base checks, then RESPONSE_CHECKS."""
    errs = check_response(exp, resp, info, ctx)
    for key, fn in RESPONSE_CHECKS:
        if errs:
            break
        if exp.get(key):
            errs = fn(exp[key], resp, ctx, file_scope, first)
    return errs


def check_case(exp, ctx):
    """CASE_CHECKS, in order, up to the first that fails."""
    errs = []
    for key, fn in CASE_CHECKS:
        if errs:
            break
        if exp.get(key):
            errs.extend(fn(ctx, exp[key]))
    return errs

def check_response(exp, resp, info, ctx):
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
