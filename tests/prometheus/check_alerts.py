#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Checks the example alert rules (tools/prometheus/koogate-alerts.yml) against a running stack:

  * the file is YAML (python3-yaml) shaped as Prometheus rule groups: every rule an alert with an expr,
    a severity and a summary;
  * every koogate_ metric an expression names is a family /koogate/metrics really exports (scraped with
    the status-page credentials of stack.env, parsed by tests/runner/metrics.py), with its histogram
    suffix where it needs one, and every label an expression matches on is a label of that family;
  * promtool (Debian's prometheus package) accepts the rules and its unit tests
    (tests/prometheus/koogate-alerts.test.yml) pass: the alerts fire on the series koogate writes.
    promtool is taken from PATH, else extracted from the package (`apt-get download`, no daemon) into
    var/promtool once.

    check_alerts.py [--env VAR/stack.env]      (tests/fixtures/metrics.json runs it)

Prints `ok ...` / `FAIL ...` lines and `N passed, N failed`; exit status 1 on any failure."""

import argparse
import base64
import glob
import os
import re
import shutil
import subprocess
import sys
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RULES = os.path.join(REPO, "tools", "prometheus", "koogate-alerts.yml")
RULE_TESTS = os.path.join(HERE, "koogate-alerts.test.yml")
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.dont_write_bytecode = True
from runner import metrics as promtext  # noqa: E402
from runner.cases import read_env_file  # noqa: E402

RESULTS = []


def report(name, errs):
    RESULTS.append(not errs)
    print(("ok %s" % name) if not errs else ("FAIL %s: %s" % (name, "; ".join(errs))), flush=True)


def scrape(env):
    req = urllib.request.Request(env["KOOGATE_BASE"].rstrip("/") + "/koogate/metrics")
    cred = "%s:%s" % (env["KOOGATE_STATUS_USER"], env["KOOGATE_STATUS_PASSWORD"])
    req.add_header("Authorization", "Basic " + base64.b64encode(cred.encode()).decode())
    with urllib.request.urlopen(req, timeout=15) as r:
        return promtext.parse(r.read().decode("utf-8"))


SELECTOR_RE = re.compile(r"\b(koogate_[a-zA-Z0-9_]+)\s*(\{[^}]*\})?")


def check_expr(expr, parsed):
    """Errors for the koogate_ metrics and label matchers of one expression."""
    errs = []
    fams = parsed["families"]
    names = re.findall(r"\bkoogate_[a-zA-Z0-9_]+", expr)
    if not names:
        errs.append("names no koogate_ metric")
    for name, matchers in SELECTOR_RE.findall(expr):
        fam = name if name in fams else re.sub(r"_(bucket|sum|count)$", "", name)
        if fam not in fams:
            errs.append("%s is not exported" % name)
            continue
        suffix = name[len(fam):]
        if fams[fam]["type"] == "histogram" and suffix not in ("_bucket", "_sum", "_count"):
            errs.append("%s is a histogram: use %s_bucket, _sum or _count" % (name, fam))
            continue
        if fams[fam]["type"] != "histogram" and suffix:
            errs.append("%s is not exported" % name)
            continue
        labels = {k for n, ls, _v in parsed["samples"] if n == name for k in ls}
        for label in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", matchers or ""):
            if labels and label not in labels:
                errs.append("%s has no label %s (it has %s)" % (name, label, ", ".join(sorted(labels))))
    return errs


def promtool():
    found = shutil.which("promtool")
    if found:
        return found
    cache = os.path.join(REPO, "var", "promtool")
    tool = os.path.join(cache, "usr", "bin", "promtool")
    if not os.path.exists(tool):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(["apt-get", "download", "prometheus"], cwd=cache, check=True, timeout=300,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deb = sorted(glob.glob(os.path.join(cache, "prometheus_*.deb")))[-1]
        subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True, timeout=120, stdout=open(deb + ".tar", "wb"))
        subprocess.run(["tar", "-xf", deb + ".tar", "-C", cache, "./usr/bin/promtool"], check=True, timeout=120)
        os.unlink(deb + ".tar")
        os.unlink(deb)
    return tool


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env", help="stack.env (default: the environment)")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    if args.env:
        env.update(read_env_file(args.env))

    with open(RULES, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    rules = [r for g in (doc or {}).get("groups", []) for r in g.get("rules", [])]
    errs = []
    if not rules:
        errs.append("no rule groups")
    for r in rules:
        if not (r.get("alert") and r.get("expr") and (r.get("labels") or {}).get("severity")
                and (r.get("annotations") or {}).get("summary")):
            errs.append("rule %r lacks alert, expr, labels.severity or annotations.summary" % r.get("alert"))
    report("the alert rules are YAML rule groups (%d alerts, each with a severity and a summary)" % len(rules), errs)

    parsed = scrape(env)
    for r in rules:
        report("alert %s names metrics and labels /koogate/metrics exports" % r.get("alert"),
               check_expr(str(r.get("expr", "")), parsed))
    # The check itself must refuse a name koogate does not export.
    report("a metric koogate does not export is refused",
           [] if check_expr("koogate_nothing_total > 0", parsed) and
           check_expr('koogate_calls_total{nolabel="x"} > 0', parsed) else ["accepted"])

    try:
        tool = promtool()
    except (subprocess.SubprocessError, OSError, IndexError) as e:
        report("promtool from Debian's prometheus package", ["not available: %s" % e])
        tool = None
    if tool:
        for what, cmd in (("promtool check rules", [tool, "check", "rules", RULES]),
                          ("promtool test rules (the alerts fire on koogate's series)",
                           [tool, "test", "rules", os.path.basename(RULE_TESTS)])):
            p = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=120)
            report(what, [] if p.returncode == 0 else [(p.stdout + p.stderr).strip()[-800:]])
    print("%d passed, %d failed" % (sum(RESULTS), len(RESULTS) - sum(RESULTS)))
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
