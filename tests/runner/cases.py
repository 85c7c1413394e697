# SPDX-License-Identifier: ISC
"""Running fixture files: the stack a run talks to (Context), loading a file, one case (a request case
here; command and sql cases in commands.py) with its repeats, checks (checks.py) and captures, and the
command line."""

import glob
import json
import os
import re
import shlex
import sys
import threading
import time

from .base import REPO, TESTS, FixtureError
from .checks import check_answer, check_case
from .commands import run_special_case
from .jsontext import JsonError, Num, _pairs, _reject_constant, emit
from .match import get_path
from .request import build_and_send, case_refs
from .selftest import selftest
from .variables import Scope, let_eval, repeat, subst


def unmet_need(case, ctx):
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


def run_case(case, file_scope, ctx, state, fname):
    """Runs one case on its stack (the variant's with "stack": "variant"), again and again for up to
    poll_s seconds while it fails. Returns a list of error strings (empty = pass)."""
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
            errs = run_special_case(case, file_scope, ctx)
        else:
            errs = run_request_case(case, file_scope, ctx, state, fname)
        if not errs or time.monotonic() >= deadline:
            return errs
        time.sleep(0.25)


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
        self.build = env.get("KOOGATE_BUILD") or os.path.join(REPO, "build")
        self.fake_url = env.get("KOOGATE_FAKE_URL", "").rstrip("/")
        self.fake_fallback_url = env.get("KOOGATE_FAKE_FALLBACK_URL", "").rstrip("/")
        self.fake_ca = env.get("KOOGATE_FAKE_CA") or None
        self.variant = None


class CaseState:
    def __init__(self):
        self.nonces = {}      # case id -> last nonce used
        self.lock = threading.Lock()


def run_request_case(case, file_scope, ctx, state, fname):
    scope = Scope(file_scope, gen_home=True)
    if "let" in case:
        for k, v in case["let"].items():
            scope.values[k] = let_eval(subst(v, scope, ctx), ctx)
    n = int(case.get("repeat", 1))
    conc = max(1, int(case.get("concurrency", 1)))
    exp_raw = case.get("expect", {})

    def one(i, it):
        try:
            info, resp = build_and_send(case, it, ctx, state, fname)
        except FixtureError:
            raise
        except Exception as e:  # noqa: BLE001
            return None, None, ["request %d failed: %s: %s" % (i, type(e).__name__, e)]
        return info, resp, None

    results = repeat(scope, n, conc, one)
    errs = []
    exp = subst(exp_raw, scope, ctx)
    first_ok = None
    for i, (info, resp, err) in enumerate(results):
        prefix = "" if n == 1 else "[%d] " % i
        if err:
            errs.extend(prefix + e for e in err)
            continue
        e = check_answer(exp, resp, info, ctx, file_scope, first_ok is None)
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
    if not errs:
        errs.extend(check_case(exp, ctx))
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


CASE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def load_fixture(path):
    with open(path, encoding="utf-8") as f:
        # Integers become int (counts, statuses); fractions keep their literal text for signing.
        data = json.loads(f.read(), object_pairs_hook=_pairs, parse_float=Num, parse_constant=_reject_constant)
    if isinstance(data, list):
        data = {"cases": data}
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise FixtureError("%s: expected a list of cases or an object with \"cases\"" % path)
    names, ids = set(), set()
    for c in data["cases"]:
        if not isinstance(c, dict) or not c.get("name"):
            raise FixtureError("%s: every case needs a name" % path)
        if c["name"] in names:
            raise FixtureError("%s: duplicate case name %r" % (path, c["name"]))
        names.add(c["name"])
        # Other cases refer to this one by its id, never by its name: a name can be reworded freely.
        for ref in case_refs(c):
            if ref not in ids:
                raise FixtureError("%s: case %r: $same:%s is not the id of an earlier case" % (path, c["name"], ref))
        if "id" in c:
            if not (isinstance(c["id"], str) and CASE_ID_RE.fullmatch(c["id"])):
                raise FixtureError("%s: case %r: id %r is not letters, digits, '-' and '_'" % (path, c["name"], c["id"]))
            if c["id"] in ids:
                raise FixtureError("%s: duplicate case id %r" % (path, c["id"]))
            ids.add(c["id"])
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


def main(argv, doc):
    import argparse
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
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
    files = args.files or sorted(glob.glob(os.path.join(TESTS, "fixtures", "*.json")))
    passed = failed = 0
    for path in files:
        fname = os.path.basename(path)
        try:
            data = load_fixture(path)
        except (FixtureError, JsonError, OSError) as e:
            print("FAIL %s:(load): %s" % (fname, e))
            failed += 1
            continue
        unmet = unmet_need(data, ctx)
        if unmet:
            print("skip %s: %s" % (fname, unmet))
            continue
        state = CaseState()
        file_scope = Scope(None, gen_home=True)
        try:
            for k, v in data.get("vars", {}).items():
                file_scope.values[k] = let_eval(subst(v, file_scope, ctx), ctx)
        except FixtureError as e:
            print("FAIL %s:(vars): %s" % (fname, e))
            failed += 1
            continue
        for case in data["cases"]:
            label = "%s:%s" % (fname, case["name"])
            if args.only and not any(o in label for o in args.only):
                continue
            if case.get("skip") or unmet_need(case, ctx):
                print("skip %s: %s" % (label, case.get("skip") or unmet_need(case, ctx)))
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
