# SPDX-License-Identifier: ISC
"""Subset matching of expected values (`json`, `db` cells) with the `$` operators of
tests/fixtures/README.md, and `a.b[0].c` paths for captures."""

import re

from .jsontext import Num, emit

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
