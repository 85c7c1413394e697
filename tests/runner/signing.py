# SPDX-License-Identifier: ISC
"""The KooGallery signature schemes, written from security.md and nothing in lib/: V2 basic `signature`
(§2), V1 `authToken` (§1), Kit `x-sign` (§3) and V1 Kit `authToken` (§6, D13), the answer's `Body-Sign`
(§5), and the `appInfo` encryption (§7: Java SHA1PRNG key derivation here, AES-CBC by `openssl enc`)."""

import base64
import hashlib
import hmac
import re
import subprocess

from .jsontext import Num, emit

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
