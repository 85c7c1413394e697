# SPDX-License-Identifier: ISC
"""Cases that run a command (`koogate …`, an argv or a shell line, with the stack's environment) or SQL
instead of a request, with let, repeat, checks and captures like a request case."""

import json
import os
import re
import shlex
import subprocess
import sys
import time

from .base import REPO, FixtureError
from .checks import check_case
from .db import psql, sql_norm
from .jsontext import JsonError, parse_json
from .match import get_path, match
from .signing import _b
from .variables import Scope, let_eval, repeat, subst

class CmdResult:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv, self.rc, self.stdout, self.stderr, self.elapsed = argv, rc, out, err, elapsed

    def view(self):
        try:
            j = parse_json(self.stdout)
        except JsonError:
            j = None
        return {"exit": self.rc, "stdout": self.stdout, "stderr": self.stderr, "json": j}


def run_command(cmd, ctx):
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
                           env=env, timeout=float(cmd.get("timeout_s", 120)), cwd=REPO)
    except subprocess.TimeoutExpired:
        return CmdResult(argv, None, "", "timed out after %ss" % cmd.get("timeout_s", 120), time.monotonic() - t0)
    return CmdResult(argv, p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
                     time.monotonic() - t0)


def _text_match(exp, text, what):
    if isinstance(exp, str):
        return [] if re.search(exp, text) else ["%s does not match /%s/" % (what, exp)]
    return [what + e[1:] for e in match(exp, text)]


def check_command(exp, res):
    errs = []
    want = exp.get("exit", 0)
    if res.rc is None or (res.rc not in want if isinstance(want, list) else res.rc != want):
        errs.append("exit status %s, expected %s" % (res.rc, want))
    for stream in ("stdout", "stderr"):
        if stream in exp:
            errs.extend(_text_match(exp[stream], getattr(res, stream), stream))
    if "json" in exp:
        errs.extend(match(exp["json"], res.view()["json"], "$stdout"))
    if "max_ms" in exp and res.elapsed * 1000 > exp["max_ms"]:
        errs.append("took %.0f ms, limit %d ms" % (res.elapsed * 1000, exp["max_ms"]))
    return errs


def exec_special(case, scope, ctx, exp, n, conc):
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
            return _text_match(exp["error"], str(e), "error"), {"rows": [], "error": str(e)}
        if "error" in exp:
            return ["the statement succeeded (%s), expected an error" % json.dumps(rows)[:200]], {"rows": rows}
        errs = match([[sql_norm(c) for c in r] for r in exp["rows"]], rows, "rows") if isinstance(exp.get("rows"), list) \
            else (["%d rows, expected %d" % (len(rows), exp["rows"])] if isinstance(exp.get("rows"), int) and len(rows) != exp["rows"] else [])
        return errs, {"rows": rows}

    results = repeat(scope, n, conc, lambda i, it: run_command(subst(case["command"], it, ctx), ctx))
    errs = []
    for i, res in enumerate(results):
        e = check_command(exp, res)
        if e:
            out = (res.stdout.strip() + " | " + res.stderr.strip()).strip(" |")
            errs.append(("" if n == 1 else "[%d] " % i) + "; ".join(e) + " <- " + (out[-600:] or "(no output)"))
            if ctx.verbose:
                sys.stdout.write("    command: %s\n" % " ".join(shlex.quote(a) for a in res.argv))
    return errs, results[0].view()


def run_special_case(case, file_scope, ctx):
    """A command or sql case, with let, repeat, db checks and captures like a request case."""
    scope = Scope(file_scope, gen_home=True)
    for k, v in case.get("let", {}).items():
        scope.values[k] = let_eval(subst(v, scope, ctx), ctx)
    exp = subst(case.get("expect", {}), scope, ctx)
    errs, view = exec_special(case, scope, ctx, exp, int(case.get("repeat", 1)), max(1, int(case.get("concurrency", 1))))
    if not errs:
        errs.extend(check_case(exp, ctx))
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
