# SPDX-License-Identifier: ISC
"""JSON as the KooGallery signers see it (security.md §4): numbers kept as their literal text, key order
kept, Jackson's string escaping, and the canonical form the V2 and Kit signatures cover."""

import json

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
