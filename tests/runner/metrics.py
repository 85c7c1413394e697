# SPDX-License-Identifier: ISC
"""The `metrics` check (tests/fixtures/README.md): a strict parser of the Prometheus text exposition
format 0.0.4, written from the format's description and sharing nothing with koogate's writer, and
value checks and captures over series selectors such as `koogate_calls_total{program="produce"}`
(the sum of every series of that name whose labels include the ones given).

    "metrics": {"values": {"SELECTOR": 3 | "12+3" | {"ge": 1, "le": 5, "eq": 2}},
                "capture": {"var": "SELECTOR"},
                "families": ["koogate_database_up", ...]}      # must be present (HELP and TYPE)
"""

import math
import re

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
VALUE_RE = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|NaN)")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}


class FormatError(ValueError):
    pass


def _value(text, where):
    if not VALUE_RE.fullmatch(text):
        raise FormatError("%s: %r is not a number" % (where, text))
    return float(text.replace("Inf", "inf").replace("NaN", "nan"))


def _labels(s, i, where):
    """The label set starting after '{' at s[i:]; (dict, index after '}')."""
    labels = {}
    while True:
        if s.startswith("}", i):
            return labels, i + 1
        m = LABEL_RE.match(s, i)
        if not m:
            raise FormatError("%s: bad label name at %r" % (where, s[i:i + 20]))
        name = m.group(0)
        if name.startswith("__"):
            raise FormatError("%s: label %s is reserved" % (where, name))
        if name in labels:
            raise FormatError("%s: label %s twice" % (where, name))
        i = m.end()
        if not s.startswith('="', i):
            raise FormatError("%s: expected =\" after %s" % (where, name))
        i += 2
        out = []
        while True:
            if i >= len(s):
                raise FormatError("%s: unterminated value of %s" % (where, name))
            c = s[i]
            if c == '"':
                i += 1
                break
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise FormatError("%s: bad escape \\%s in %s" % (where, nxt, name))
                out.append("\n" if nxt == "n" else nxt)
                i += 2
                continue
            out.append(c)
            i += 1
        labels[name] = "".join(out)
        if s.startswith(",", i):
            i += 1
            if s.startswith("}", i):      # a trailing comma is allowed by the format
                return labels, i + 1
        elif not s.startswith("}", i):
            raise FormatError("%s: expected , or } after the value of %s" % (where, name))


def parse(text):
    """{"families": {name: {"type", "help"}}, "samples": [(name, labels, value)]}; FormatError when the
    text breaks the format (or the conventions koogate follows: HELP and TYPE for every family, each
    family's lines together, counters named *_total, no series twice, histograms complete)."""
    if not text.endswith("\n"):
        raise FormatError("the text does not end with a newline")
    families, samples, seen = {}, [], set()
    current, closed = None, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % n
        if line == "":
            continue
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+) ?(.*)", line)
            if not m:
                continue                     # a plain comment
            kind, name, rest = m.groups()
            if not NAME_RE.fullmatch(name):
                raise FormatError("%s: bad metric name %r" % (where, name))
            if name in closed:
                raise FormatError("%s: %s after its family's samples ended" % (where, name))
            fam = families.setdefault(name, {"type": None, "help": None, "samples": 0})
            if current not in (None, name):
                closed.add(current)
            current = name
            if kind == "HELP":
                if fam["help"] is not None:
                    raise FormatError("%s: second HELP of %s" % (where, name))
                if re.search(r"\\[^\\n]", rest.replace("\\\\", "")):
                    raise FormatError("%s: bad escape in the HELP of %s" % (where, name))
                fam["help"] = rest.replace("\\n", "\n").replace("\\\\", "\\")
            else:
                if fam["type"] is not None:
                    raise FormatError("%s: second TYPE of %s" % (where, name))
                if fam["samples"]:
                    raise FormatError("%s: TYPE of %s after its samples" % (where, name))
                if rest not in TYPES:
                    raise FormatError("%s: unknown type %r" % (where, rest))
                fam["type"] = rest
            continue
        m = NAME_RE.match(line)
        if not m:
            raise FormatError("%s: bad metric name in %r" % (where, line[:40]))
        name, i, labels = m.group(0), m.end(), {}
        if line.startswith("{", i):
            labels, i = _labels(line, i + 1, where)
        if not line.startswith(" ", i):
            raise FormatError("%s: expected a space before the value" % where)
        parts = line[i + 1:].split(" ")
        if len(parts) not in (1, 2):
            raise FormatError("%s: expected a value and an optional timestamp" % where)
        value = _value(parts[0], where)
        if len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1]):
            raise FormatError("%s: bad timestamp %r" % (where, parts[1]))
        fam_name = name
        for fname in (name, re.sub(r"_(bucket|sum|count)$", "", name)):
            if fname in families and name[len(fname):] in SUFFIXES.get(families[fname]["type"], ("",)):
                fam_name = fname
                break
        fam = families.get(fam_name)
        if fam is None or fam["type"] is None or fam["help"] is None:
            raise FormatError("%s: sample %s without HELP and TYPE before it" % (where, name))
        if fam_name != current or fam_name in closed:
            raise FormatError("%s: sample of %s outside its family's lines" % (where, fam_name))
        if fam["type"] == "counter" and not name.endswith("_total"):
            raise FormatError("%s: counter %s is not named *_total" % (where, name))
        if fam["type"] == "counter" and (value < 0 or math.isnan(value)):
            raise FormatError("%s: counter %s is %s" % (where, name, parts[0]))
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise FormatError("%s: series %s%s twice" % (where, name, labels))
        seen.add(key)
        fam["samples"] += 1
        samples.append((name, labels, value))
    for name, fam in families.items():
        if fam["type"] is None or fam["help"] is None:
            raise FormatError("%s has no %s line" % (name, "TYPE" if fam["type"] is None else "HELP"))
        if fam["type"] == "histogram":
            _check_histogram(name, samples)
    return {"families": families, "samples": samples}


def _check_histogram(name, samples):
    """Buckets cumulative with ascending le, ending with +Inf equal to _count; _sum present."""
    series = {}
    for sname, labels, value in samples:
        if sname == name + "_bucket":
            if "le" not in labels:
                raise FormatError("%s without le" % sname)
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            series.setdefault(rest, {"le": [], "sum": None, "count": None})["le"].append(
                (_value(labels["le"], "le of " + sname), value))
        elif sname in (name + "_sum", name + "_count"):
            rest = tuple(sorted(labels.items()))
            series.setdefault(rest, {"le": [], "sum": None, "count": None})[sname[len(name) + 1:]] = value
    for rest, s in series.items():
        les = [le for le, _ in s["le"]]
        counts = [c for _, c in s["le"]]
        if not les or les[-1] != math.inf:
            raise FormatError("%s%s: no +Inf bucket last" % (name, dict(rest)))
        if les != sorted(les) or len(set(les)) != len(les):
            raise FormatError("%s%s: le not ascending" % (name, dict(rest)))
        if counts != sorted(counts):
            raise FormatError("%s%s: buckets not cumulative: %s" % (name, dict(rest), counts))
        if s["count"] is None or s["sum"] is None:
            raise FormatError("%s%s: _sum or _count missing" % (name, dict(rest)))
        if s["count"] != counts[-1]:
            raise FormatError("%s%s: _count %s differs from the +Inf bucket %s" % (name, dict(rest), s["count"], counts[-1]))


SELECTOR_RE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?')


def select(parsed, selector):
    """The sum of the series a selector names, and how many there were."""
    m = SELECTOR_RE.fullmatch(selector.strip())
    if not m:
        raise FormatError("bad selector %r" % selector)
    want = {}
    if m.group(2):
        want, _ = _labels(m.group(2) + "}", 0, "selector")
    total, n = 0.0, 0
    for name, labels, value in parsed["samples"]:
        if name == m.group(1) and all(labels.get(k) == v for k, v in want.items()):
            total += value
            n += 1
    return total, n


def _expected(v):
    """A number, or "a+b-c" (captured values with offsets) as text."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    s = str(v).replace(" ", "")
    if not re.fullmatch(r"[+-]?\d+(\.\d+)?([+-]\d+(\.\d+)?)*", s):
        raise FormatError("expected value %r is not a number or a sum" % v)
    return float(sum(float(t) for t in re.findall(r"[+-]?\d+(?:\.\d+)?", s)))


def check(spec, resp, ctx, file_scope, first):
    errs = []
    ct = resp.header_values("Content-Type")
    if not ct or not re.fullmatch(r"text/plain; ?version=0\.0\.4(; ?charset=utf-8)?", ct[0]):
        errs.append("Content-Type %r is not text/plain; version=0.0.4" % (ct[0] if ct else None))
    try:
        parsed = parse(resp.body.decode("utf-8"))
    except (UnicodeDecodeError, FormatError) as e:
        return errs + ["not the Prometheus text format: %s" % e]
    for name in spec.get("families", []):
        if name not in parsed["families"]:
            errs.append("family %s missing" % name)
    for sel, want in spec.get("values", {}).items():
        got, n = select(parsed, sel)
        if n == 0 and not (isinstance(want, dict) and want.get("absent_ok")):
            errs.append("no series %s" % sel)
            continue
        conds = want if isinstance(want, dict) else {"eq": want}
        for op, v in conds.items():
            if op == "absent_ok":
                continue
            x = _expected(v)
            ok = {"eq": got == x, "ge": got >= x, "gt": got > x, "le": got <= x}.get(op)
            if ok is None:
                errs.append("unknown comparison %s" % op)
            elif not ok:
                errs.append("%s = %g, expected %s %g" % (sel, got, op, x))
    for var, sel in spec.get("capture", {}).items():
        got, _ = select(parsed, sel)
        file_scope.values[var] = int(got) if got == int(got) else got
    return errs
