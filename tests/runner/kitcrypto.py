# SPDX-License-Identifier: ISC
"""Kit fixture helpers (kit_*.json): RSA-OAEP by the `openssl pkeyutl` command line with the stack's
public key, generated authSync users, and V1 Kit tokens strung the ways of the D13 fallbacks. The RSA-1
vectors of security.md §11 check the OAEP command line in the self-test (kit_rsa_selftest)."""

import base64
import os
import re
import subprocess
import urllib.parse

from .base import FixtureError
from .jsontext import Num
from .signing import _b, hmac_sha256, kit_v1_string

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
