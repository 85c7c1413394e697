#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Checks of the fixture runner itself (no stack needed): case ids and `$same:<id>` references, and the
check tables of checks.py. Run by tests/run.sh; prints `ok`/`FAIL` lines, then `N passed, N failed`.

    python3 tests/runner/test_runner.py
"""

import http.server
import json
import os
import sys
import tempfile
import threading
import unittest
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runner import checks, metrics  # noqa: E402
from runner.base import FixtureError  # noqa: E402
from runner.cases import CaseState, Context, load_fixture, run_case  # noqa: E402
from runner.variables import Scope  # noqa: E402


def write_fixture(cases):
    fd, path = tempfile.mkstemp(prefix="koogate-runner-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f)
    return path


def signed(name, nonce=None, case_id=None):
    c = {"name": name, "request": {"sign": {"scheme": "v2"}, "body": {"activity": "queryInstance"}}}
    if nonce is not None:
        c["request"]["sign"]["nonce"] = nonce
    if case_id is not None:
        c["id"] = case_id
    return c


class Loading(unittest.TestCase):
    def load(self, cases):
        path = write_fixture(cases)
        try:
            return load_fixture(path)
        finally:
            os.unlink(path)

    def refused(self, cases, text):
        with self.assertRaises(FixtureError) as e:
            self.load(cases)
        self.assertIn(text, str(e.exception))

    def test_reference_by_id_loads(self):
        self.load([signed("first use", case_id="first"), signed("replayed", "$same:first")])

    def test_reference_by_case_name_is_refused(self):
        # The old form: a reworded name broke it only when the case ran.
        self.refused([signed("first use", case_id="first"), signed("replayed", "$same:first use")],
                     "$same:first use is not the id of an earlier case")

    def test_reference_to_a_later_case_is_refused(self):
        self.refused([signed("replayed", "$same:first"), signed("first use", case_id="first")],
                     "$same:first is not the id of an earlier case")

    def test_duplicate_id_is_refused(self):
        self.refused([signed("a", case_id="x"), signed("b", case_id="x")], "duplicate case id 'x'")

    def test_id_shape(self):
        self.refused([signed("a", case_id="has space")], "is not letters, digits")
        self.refused([signed("a", case_id=7)], "is not letters, digits")


class _Recorder(http.server.BaseHTTPRequestHandler):
    nonces = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        _Recorder.nonces.append(q.get("nonce"))
        body = b'{"resultCode":"000000"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Sending(unittest.TestCase):
    """`$same:<id>` sends the nonce the case with that id sent, whatever the cases are called."""

    def setUp(self):
        self.srv = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.ctx = Context({"KOOGATE_URL": "http://127.0.0.1:%d/saasproduce" % self.srv.server_port,
                            "KOOGATE_BASIC_KEY": "k"})
        _Recorder.nonces = []

    def tearDown(self):
        self.srv.shutdown()
        self.srv.server_close()

    def run_all(self, cases):
        state, scope = CaseState(), Scope(None)
        for c in cases:
            c.setdefault("expect", {"body_sign": False})
            self.assertEqual(run_case(c, scope, self.ctx, state, "t.json"), [])

    def test_same_nonce_by_id(self):
        self.run_all([signed("first use, reworded", case_id="first"), signed("other"),
                      signed("replayed", "$same:first")])
        a, b, c = _Recorder.nonces
        self.assertEqual(c, a)
        self.assertNotEqual(b, a)


class Tables(unittest.TestCase):
    def test_every_check_is_named_once(self):
        keys = [k for k, _ in checks.RESPONSE_CHECKS + checks.CASE_CHECKS]
        self.assertEqual(len(keys), len(set(keys)))
        self.assertEqual(set(keys), {"decrypt_app_info", "metrics", "db", "fake_usage"})

    def test_case_checks_stop_at_the_first_failure(self):
        calls = []
        saved = checks.CASE_CHECKS
        checks.CASE_CHECKS = (("a", lambda ctx, spec: calls.append("a") or ["a failed"]),
                              ("b", lambda ctx, spec: calls.append("b") or []))
        try:
            self.assertEqual(checks.check_case({"a": 1, "b": 1}, None), ["a failed"])
        finally:
            checks.CASE_CHECKS = saved
        self.assertEqual(calls, ["a"])


GOOD_METRICS = """# HELP a_total Calls\\n.
# TYPE a_total counter
a_total{p="x\\"y",q="a\\\\b\\nc"} 3
a_total{p="z"} 1
# HELP h Latency.
# TYPE h histogram
h_bucket{p="x",le="0.1"} 1
h_bucket{p="x",le="+Inf"} 2
h_sum{p="x"} 0.25
h_count{p="x"} 2
# HELP up Up.
# TYPE up gauge
up 0
"""


class MetricsFormat(unittest.TestCase):
    """The strict parser of the Prometheus text format used by the `metrics` check refuses what the
    format (and koogate's conventions) do not allow."""

    def test_good_text_parses(self):
        p = metrics.parse(GOOD_METRICS)
        self.assertEqual(metrics.select(p, "a_total"), (4.0, 2))
        self.assertEqual(metrics.select(p, 'a_total{p="x\\"y"}'), (3.0, 1))
        self.assertEqual(p["samples"][0][1], {"p": 'x"y', "q": "a\\b\nc"})

    def refused(self, text, why):
        with self.assertRaises(metrics.FormatError) as e:
            metrics.parse(text)
        self.assertIn(why, str(e.exception))

    def test_broken_texts_are_refused(self):
        head = "# HELP m M.\n# TYPE m gauge\n"
        self.refused("m 1\n", "without HELP and TYPE")
        self.refused(head + "m 1", "does not end with a newline")
        self.refused(head + 'm{a="1} 1\n', "unterminated")
        self.refused(head + 'm{a="\\t"} 1\n', "bad escape")
        self.refused(head + "m one\n", "not a number")
        self.refused(head + 'm{a="1"} 1\nm{a="1"} 2\n', "twice")
        self.refused(head + "# HELP n N.\n# TYPE n gauge\nn 1\nm 2\n", "outside its family")
        self.refused("# HELP c C.\n# TYPE c counter\nc 1\n", "not named *_total")
        self.refused(GOOD_METRICS.replace("h_count{p=\"x\"} 2", "h_count{p=\"x\"} 3"), "differs from the +Inf")
        self.refused(GOOD_METRICS.replace('le="0.1"} 1', 'le="0.1"} 5'), "not cumulative")


class _Result(unittest.TextTestResult):
    def addSuccess(self, test):
        super().addSuccess(test)
        self.stream.write("ok runner:%s\n" % test.id().split(".", 1)[1])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    res = unittest.TextTestRunner(stream=sys.stdout, verbosity=0, resultclass=_Result).run(suite)
    bad = res.failures + res.errors
    for test, tb in bad:
        print("FAIL runner:%s: %s" % (test.id().split(".", 1)[1], tb.strip().splitlines()[-1]))
    print("%d passed, %d failed" % (res.testsRun - len(bad), len(bad)))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
