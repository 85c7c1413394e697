# SPDX-License-Identifier: ISC
"""One request of a case: the body as written, signed now by the scheme it names (`sign`), sent."""

import datetime
import json
import secrets
import time
import urllib.parse

from .base import FixtureError
from .httpclient import http_request
from .jsontext import JsonError, canonical_json, emit, parse_json
from .kitcrypto import kit_v1_variant_token
from .signing import kit_v1_auth_token, kit_xsign, v1_auth_token, v2_signature
from .variables import resolve_key, subst

def encode_query(pairs, raw=(), form=()):
    """Percent-encodes every name and value; the values of the names in raw keep '+' unencoded, those in
    form are form-encoded (a space becomes '+', as Java's URLEncoder does)."""
    def value(k, v):
        if k in form:
            return urllib.parse.quote_plus(str(v), safe="")
        return urllib.parse.quote(str(v), safe="+" if k in raw else "")
    return "&".join("%s=%s" % (urllib.parse.quote(str(k), safe=""), value(k, v)) for k, v in pairs)


def case_refs(case):
    """The ids of earlier cases a case refers to: "nonce": "$same:<id>" reuses the nonce that case sent."""
    req = case.get("request")
    sign = req.get("sign") if isinstance(req, dict) else None
    nonce = sign.get("nonce") if isinstance(sign, dict) else None
    return [nonce[6:]] if isinstance(nonce, str) and nonce.startswith("$same:") else []


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
                raise FixtureError("nonce $same:%s: the case with that id has not run (or used no nonce)" % other)
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
    if "nonce" in info and case.get("id"):
        with state.lock:
            state.nonces[case["id"]] = info["nonce"]
    info["url"] = url
    resp = http_request(method, url, headers, body, timeout=float(req.get("timeout_s", 30)),
                        cafile=ctx.fake_ca if fake else None)
    return info, resp
