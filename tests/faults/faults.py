#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Fault-injection tests for koogate (issue "Prove it"); normally run by tests/faults/run.sh.

    faults.py --build DIR --var-a DIR --var-b DIR [--only 1,2,3,4,5] [-v]

Starts two stacks with tools/stack.sh: node A (Apache + mod_proxy_fcgi, its own PostgreSQL) and node B
(lighttpd, --db-from A: a second web node on A's database, with a copy of A's koogate.conf), plus
the fake tenant IdP (tests/fakes/idp.py) for the cross-node login. Then:

  1  PostgreSQL stopped: V2 newInstance, V2 queryInstance and Kit authSync answer HTTP 200 000005
     with a valid Body-Sign within 1 s on both nodes, /koogate/metrics says koogate_database_up 0;
     after PostgreSQL is started again the calls
     succeed without restarting the web servers (also the first call after a restart while idle).
     The status page says it too: red, "the database did not answer", HTTP 503, within 3 s.
  2  A FastCGI process SIGKILLed in the middle of a request (newInstance blocked on a conflicting
     uncommitted order line; authSync of 500 users blocked on a row lock half-way): the client gets
     a transport error or 5xx, the database holds all or nothing, the next request works.
  3  100 concurrent duplicate newInstance calls -> one instance, one `created` event, one instanceId;
     10 concurrent authSync calls with overlapping users and mixed flags (3 rounds) -> no errors, no
     deadlock, a final user set equal to some serial order of the calls.
  4  Bad transport input on both servers: slow body (10 s pause), a body that never completes (the
     server times out), truncated body, Content-Length smaller than the body, invalid UTF-8,
     100000-deep JSON, bodies over body_limit and over the server limit; a normal request after each;
     bounded RSS of the produce processes; no crashed FastCGI process.
  5  Two nodes on one database: a nonce used on one node is refused on the other; the same order
     sent to both at once creates one instance; a workbench login started on A completes on B and
     the session works on A.
  6  PostgreSQL crashes (pg_ctl stop -m immediate) right after 30 acknowledged requests: each of them,
     replayed after the restart inside its window, is refused; requests signed after it are served.
  7  The supervisor behind mod_proxy_fcgi (node A): produce runs KOOGATE_PROCESSES workers; a worker
     killed with SIGKILL is replaced within 3 s (logged) while calls are answered; SIGTERM to a
     supervisor stops it and its workers; the workers of a supervisor killed with SIGKILL end too.

Every check prints `ok ...` or `FAIL ...`; the last line is `N passed, N failed`; exit status 1 on any
failure. Python 3 standard library; signing comes from tests/fixture_runner.py, IdP helpers from
tests/browser/run.py (both imported). Loopback only; every wait is bounded.
"""
import argparse
import base64
import concurrent.futures
import http.client
import importlib.util
import json
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STACK = os.path.join(REPO, "tools", "stack.sh")


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


fr = _load("fixture_runner", os.path.join(REPO, "tests", "fixture_runner.py"))
promtext = _load("runner_metrics", os.path.join(REPO, "tests", "runner", "metrics.py"))
br = _load("browser_run", os.path.join(REPO, "tests", "browser", "run.py"))

VERBOSE = False
T_START = time.monotonic()


# ============================================================================ reporting

class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.lock = threading.Lock()

    def ok(self, name, detail=""):
        with self.lock:
            self.passed += 1
            print("ok %s%s" % (name, "  [%s]" % detail if detail else ""), flush=True)

    def fail(self, name, why):
        with self.lock:
            self.failed += 1
            self.failures.append(name)
            print("FAIL %s: %s" % (name, why), flush=True)

    def check(self, name, cond, why, detail=""):
        if cond:
            self.ok(name, detail)
        else:
            self.fail(name, why)
        return cond


R = Report()


def note(msg):
    print("  .. %s" % msg, flush=True)


def elapsed():
    return time.monotonic() - T_START


# ============================================================================ nodes

class Node:
    """One running stack, from its stack.env."""

    def __init__(self, label, var):
        self.label = label
        self.var = var
        self.env = fr.read_env_file(os.path.join(var, "stack.env"))
        full = dict(os.environ)
        full.update(self.env)
        self.ctx = fr.Context(full)
        self.server = self.env["KOOGATE_SERVER"]
        self.errlog = self.env["KOOGATE_ERROR_LOG"]
        self.conf = self.env["KOOGATE_CONFIG"]
        self.base = self.env["KOOGATE_BASE"].rstrip("/")
        self.url = self.env["KOOGATE_URL"].rstrip("/")
        self.port = int(urllib.parse.urlsplit(self.base).port)
        self.pglog = os.path.join(var, "log", "postgres.log")    # node B: set to node A's

    @property
    def name(self):
        return "%s(%s)" % (self.label, self.server)

    def program_pids(self, *names):
        """Pids of this stack's FastCGI programs (comm in names, KOOGATE_CONFIG=this config)."""
        want = ("KOOGATE_CONFIG=" + self.conf).encode()
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/comm" % d) as f:
                    comm = f.read().strip()
                if names and comm not in names:
                    continue
                with open("/proc/%s/environ" % d, "rb") as f:
                    env = f.read().split(b"\0")
                if want in env:
                    out.append(int(d))
            except OSError:
                continue
        return sorted(out)

    def log_size(self):
        try:
            return os.path.getsize(self.errlog)
        except OSError:
            return 0

    def log_since(self, offset):
        try:
            with open(self.errlog, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def stderr_of(node):
    pids = node.program_pids("produce")
    try:
        return os.readlink("/proc/%d/fd/2" % pids[0]) if pids else "unknown (no produce process)"
    except OSError as e:
        return "unknown (%s)" % e


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def logging_works(node):
    """README: every call is logged as one line in the web server's error log."""
    return re.search(r"koogate\[\w+ \d+\]: POST produce ", node.log_since(0)) is not None


# ============================================================================ signed requests

def v2_call(node, body, nonce=None, ts=None, timeout=30.0):
    """POST a V2 basic request signed now (or with the given nonce/timestamp). body: dict or bytes."""
    raw = body if isinstance(body, bytes) else fr.emit(body).encode("utf-8")
    nonce = nonce or secrets.token_hex(32).upper()
    ts = ts if ts is not None else int(time.time() * 1000)
    try:
        payload = fr.canonical_json(raw)
    except (fr.JsonError, RecursionError, ValueError):
        payload = raw           # raw-body signature (D1) for bodies that are not canonicalisable
    sig = fr.v2_signature(node.ctx.basic_key, nonce, ts, payload)
    url = "%s?signature=%s&timestamp=%d&nonce=%s" % (node.url, sig, ts, nonce)
    return fr.http_request("POST", url, [("Content-Type", "application/json;charset=utf8"),
                                         ("Accept", "application/json")], raw, timeout=timeout)


def v2_url_and_body(node, body, nonce=None, ts=None):
    raw = body if isinstance(body, bytes) else fr.emit(body).encode("utf-8")
    nonce = nonce or secrets.token_hex(32).upper()
    ts = ts if ts is not None else int(time.time() * 1000)
    try:
        payload = fr.canonical_json(raw)
    except (fr.JsonError, RecursionError, ValueError):
        payload = raw
    sig = fr.v2_signature(node.ctx.basic_key, nonce, ts, payload)
    return "/saasproduce?signature=%s&timestamp=%d&nonce=%s" % (sig, ts, nonce), raw


def kit_call(node, name, body, nonce=None, ts=None, timeout=30.0):
    raw = fr.emit(body).encode("utf-8")
    nonce = nonce or secrets.token_hex(32).upper()
    ts = ts if ts is not None else int(time.time() * 1000)
    xs = fr.kit_xsign(node.ctx.kit_key, nonce, ts, fr.canonical_json(raw))
    return fr.http_request("POST", node.url + "/produceAPI/v2/" + name,
                           [("Content-Type", "application/json;charset=utf8"), ("Accept", "application/json"),
                            ("x-sign", xs), ("x-timestamp", str(ts)), ("x-nonce", nonce)], raw, timeout=timeout)


def kit_ts():
    return br.kit_ts()


def new_instance_body(order, line=None, biz=None, test="0"):
    return {"activity": "newInstance", "orderId": order, "orderLineId": line or order + "-000001",
            "businessId": biz or str(uuid.uuid4()), "testFlag": test}


def query_body(ids="probe-1", test="1"):
    return {"activity": "queryInstance", "instanceId": ids, "testFlag": test}


def auth_sync_body(instance, tenant, app, users, flag):
    return {"instanceId": instance, "tenantId": tenant, "appId": app, "userList": users,
            "currentSyncTime": kit_ts(), "flag": flag, "testFlag": 0, "timeStamp": kit_ts()}


def answer(node, resp, family="basic"):
    """(resultCode or None, list of problems) for an answer that must be HTTP 200 + resultCode + Body-Sign."""
    probs = []
    if resp.status != 200:
        return None, ["HTTP %d %s" % (resp.status, resp.excerpt(200))]
    obj = resp.json()
    if not isinstance(obj, dict):
        return None, ["body is not a JSON object: %s" % resp.excerpt(200)]
    rc = obj.get("resultCode")
    if not (isinstance(rc, str) and re.fullmatch(r"\d{6}", rc)):
        probs.append("resultCode %r is not 6 digits" % (rc,))
    key = node.ctx.kit_key if family == "kit" else node.ctx.basic_key
    vals = resp.header_values("Body-Sign", exact_case=True)
    if len(vals) != 1:
        probs.append("%d Body-Sign headers" % len(vals))
    else:
        m = fr.BODY_SIGN_RE.match(vals[0])
        if not m or m.group(1) != fr.body_sign_value(key, resp.body):
            probs.append("Body-Sign does not verify with the %s key" % family)
    return rc, probs


def status_page(node, timeout=10.0):
    """GET the on-call status page with the stack's user and password."""
    tok = base64.b64encode(("%s:%s" % (node.env["KOOGATE_STATUS_USER"], node.env["KOOGATE_STATUS_PASSWORD"]))
                           .encode()).decode()
    return fr.http_request("GET", node.env["KOOGATE_STATUS_URL"], [("Authorization", "Basic " + tok)], None,
                           timeout=timeout)


def expect_code(name, node, resp, want, family="basic", max_s=None):
    """One check: HTTP 200, resultCode in want, valid Body-Sign, optional time limit."""
    want = [want] if isinstance(want, str) else list(want)
    rc, probs = answer(node, resp, family)
    if rc is not None and rc not in want:
        probs.insert(0, "resultCode %s, expected %s (%s)" % (rc, "/".join(want), resp.excerpt(160)))
    if max_s is not None and resp.elapsed > max_s:
        probs.append("took %.3f s, limit %.1f s" % (resp.elapsed, max_s))
    return R.check(name, not probs, "; ".join(probs), "%s, %.0f ms" % (rc, resp.elapsed * 1000))


def safe(fn, *a, **kw):
    """Call fn; an exception becomes (None, exception)."""
    try:
        return fn(*a, **kw), None
    except Exception as e:  # noqa: BLE001
        return None, e


def normal_request_ok(name, node):
    r, e = safe(v2_call, node, query_body(), timeout=10)
    if e:
        return R.fail(name, "normal request failed: %s: %s" % (type(e).__name__, e))
    return expect_code(name, node, r, "000000", max_s=2.0)


# ============================================================================ database helpers

def psql(node, sql):
    return fr.psql(node.ctx, sql)


def scalar(node, sql):
    rows = psql(node, sql)
    return rows[0][0] if rows and rows[0] else None


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


class PsqlSession:
    """A long-lived psql (for holding locks). Every wait is bounded."""

    def __init__(self, node):
        env = dict(os.environ)
        env.update(node.ctx.pg_env)
        self.p = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()
        self.pid = int(self.run("SELECT pg_backend_pid();")[0])

    def _reader(self):
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def run(self, sql, timeout=10.0):
        mark = "__done_%s__" % secrets.token_hex(6)
        self.p.stdin.write(sql + "\n\\echo " + mark + "\n")
        self.p.stdin.flush()
        out, deadline = [], time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("psql did not answer within %.0f s: %s" % (timeout, sql[:80]))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise IOError("psql exited")
            if line == mark:
                return out
            if line:
                out.append(line)

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)


def ss_peer_process(backend_pid):
    """(comm, pid) of the process at the other end of the unix socket of PostgreSQL backend backend_pid."""
    out = subprocess.run(["ss", "-xpnH"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         timeout=10).stdout
    owner, peer = {}, {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        local_inode, peer_inode = parts[5], parts[7]
        for comm, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            owner.setdefault(local_inode, []).append((comm, int(pid)))
            peer[local_inode] = peer_inode
    for inode, procs in owner.items():
        if any(p == backend_pid for _, p in procs):
            for comm, pid in owner.get(peer.get(inode), []):
                if pid != backend_pid:
                    return comm, pid
    return None


# ============================================================================ raw transport

def raw_exchange(node, head, parts, half_close=False, read_timeout=15.0):
    """Send head, then each (bytes, pause_before_s) of parts; optionally shut down the write side; read
    until EOF or read_timeout. Returns dict(status, raw, elapsed, error, eof)."""
    t0 = time.monotonic()
    res = {"status": None, "raw": b"", "elapsed": None, "error": None, "eof": False}
    s = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    try:
        s.sendall(head)
        for data, pause in parts:
            if pause:
                time.sleep(pause)
            if data:
                s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        s.settimeout(read_timeout)
        chunks = []
        deadline = t0 + read_timeout + sum(p for _, p in parts)
        while time.monotonic() < deadline:
            try:
                d = s.recv(65536)
            except socket.timeout:
                res["error"] = "timeout"
                break
            except (ConnectionResetError, BrokenPipeError) as e:
                res["error"] = type(e).__name__
                break
            if not d:
                res["eof"] = True
                break
            chunks.append(d)
        res["raw"] = b"".join(chunks)
    except OSError as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()
    res["elapsed"] = time.monotonic() - t0
    m = re.match(rb"HTTP/1\.\d (\d{3})", res["raw"])
    if m:
        res["status"] = int(m.group(1))
    return res


def raw_head(node, target, length, extra=()):
    lines = ["POST %s HTTP/1.1" % target, "Host: 127.0.0.1:%d" % node.port, "Connection: close",
             "Content-Type: application/json;charset=utf8", "Accept: application/json",
             "Content-Length: %d" % length] + list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_raw_response(raw):
    """A Response from raw HTTP bytes (first response only), or None if there is none."""
    try:
        return fr.parse_raw_response(raw)
    except (IOError, ValueError):
        return None


# ============================================================================ stacks and IdP

def start_stacks(args, idp_dir):
    """Starts node A (Apache) and node B (lighttpd on A's database). Returns (A, B)."""
    os.makedirs(idp_dir, exist_ok=True)
    br.make_certs(idp_dir)       # test CA + certificate for 127.0.0.1 (the fake IdP)
    bundle = os.path.join(idp_dir, "ca-bundle.pem")
    with open(os.path.join(idp_dir, "ca.pem")) as f:
        ca = f.read()
    with open(bundle, "w") as f:
        f.write(ca)
    os.chmod(bundle, 0o644)
    os.chmod(idp_dir, 0o755)
    port_a = br.free_port()
    sets = ["login_callback_url=http://127.0.0.1:%d/koogate/callback" % port_a, "ca_file=" + bundle]
    cmd = [STACK, "start", "--server", "apache", "--var", args.var_a, "--build", args.build, "--port", str(port_a)]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)
    if r.returncode != 0:
        raise RuntimeError("node A did not start:\n" + r.stdout[-3000:])
    note("node A (apache) started in %.1f s" % (time.monotonic() - t0))
    # Outbound HTTPS of node A/B: the fake KooGallery gateway's CA (made by stack.sh) and the IdP's CA.
    fake_ca = os.path.join(args.var_a, "fake", "ca.pem")
    if os.path.exists(fake_ca):
        with open(fake_ca) as f, open(bundle, "a") as g:
            g.write("\n" + f.read())
    t0 = time.monotonic()
    r = subprocess.run([STACK, "start", "--server", "lighttpd", "--var", args.var_b, "--build", args.build,
                        "--db-from", args.var_a], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=180)
    if r.returncode != 0:
        raise RuntimeError("node B did not start:\n" + r.stdout[-3000:])
    note("node B (lighttpd, --db-from A) started in %.1f s" % (time.monotonic() - t0))
    a, b = Node("A", args.var_a), Node("B", args.var_b)
    b.pglog = a.pglog
    return a, b


def pg_ctl(node_a, action, mode="fast"):
    """pg_ctl stop|start of node A's cluster, as stack.sh runs it (stop -m mode: fast, or immediate for
    a crash). Returns seconds taken."""
    bindir = os.environ.get("PG_BINDIR")
    if not bindir:       # as tools/stack.sh finds it: the newest /usr/lib/postgresql/*/bin, else PATH
        cands = []
        if os.path.isdir("/usr/lib/postgresql"):
            cands = [os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql")]
        cands = [d for d in cands if os.path.exists(os.path.join(d, "pg_ctl"))]
        cands.sort(key=lambda d: [int(x) if x.isdigit() else 0 for x in re.split(r"[./]", d)])
        bindir = cands[-1] if cands else os.path.dirname(shutil.which("pg_ctl") or "/usr/bin/pg_ctl")
    pgdata = os.path.join(node_a.var, "pg")
    cmd = [os.path.join(bindir, "pg_ctl"), "-D", pgdata, "-w", "-t", "30"]
    if action == "stop":
        cmd += ["-m", mode, "stop"]
    else:
        cmd += ["-l", os.path.join(node_a.var, "log", "postgres.log"), "start"]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("pg_ctl %s failed: %s" % (action, r.stdout[-500:]))
    # the runner keeps one psql session per database: a restart ends them
    with fr._PSQL_LOCK:
        fr._close_psql_sessions()
        fr._PSQL_SESSIONS.clear()
    return time.monotonic() - t0


# ============================================================================ case 1: PostgreSQL stopped

def case1(A, B, kit_tenant):
    nodes = (A, B)
    inst, tenant, app = kit_tenant

    def calls(node, tag):
        """The three calls of this case, each a fresh request: (label, key family, orderId or None, thunk)."""
        order = fr.gen_order_id()
        return [("V2 newInstance", "basic", order, lambda: v2_call(node, new_instance_body(order), timeout=10)),
                ("V2 queryInstance", "basic", None, lambda: v2_call(node, query_body(), timeout=10)),
                ("Kit authSync", "kit", None,
                 lambda: kit_call(node, "authSync", auth_sync_body(inst, tenant, app,
                                                                   [fr.kit_user("F%s" % tag, 1)], 1), timeout=10))]

    # Warm up: every program of both nodes holds a database connection.
    for node in nodes:
        for _ in range(3):
            for label, fam, _o, fn in calls(node, "w"):
                fn()
    offsets = {n.label: n.log_size() for n in nodes}
    took = pg_ctl(A, "stop")
    note("PostgreSQL stopped (pg_ctl -m fast, %.2f s)" % took)
    down_orders = []
    try:
        for node in nodes:
            for rep in range(3):
                for label, fam, order, fn in calls(node, "d"):
                    if order:
                        down_orders.append(order)
                    r, e = safe(fn)
                    name = "1 pg-down %s: %s #%d answers 000005 with Body-Sign within 1 s" % (node.name, label, rep + 1)
                    if e:
                        R.fail(name, "%s: %s" % (type(e).__name__, e))
                    else:
                        expect_code(name, node, r, "000005", family=fam, max_s=1.0)
            # Monitoring must still get an answer, saying the database is down.
            check_metrics_db("1 pg-down %s: /koogate/metrics answers 200 with koogate_database_up 0 and the build"
                             % node.name, node, 0)
        for node in nodes:
            r, e = safe(status_page, node)
            name = "1 pg-down %s: the status page is red, says the database did not answer, HTTP 503" % node.name
            if e:
                R.fail(name, "%s: %s" % (type(e).__name__, e))
            else:
                text = r.body.decode("utf-8", "replace")
                R.check(name, r.status == 503 and 'data-level="red"' in text and
                        "the database did not answer" in text and r.elapsed < 3.0,
                        "HTTP %d after %.2f s: %s" % (r.status, r.elapsed, text[:200]), "%.2f s" % r.elapsed)
    finally:
        took = pg_ctl(A, "start")
        note("PostgreSQL started again (%.2f s)" % took)
    for node in nodes:
        for label, fam, order, fn in calls(node, "u"):
            r, e = safe(fn)
            name = "1 pg-back %s: %s succeeds without a web server restart" % (node.name, label)
            if e:
                R.fail(name, "%s: %s" % (type(e).__name__, e))
            else:
                expect_code(name, node, r, "000000", family=fam, max_s=1.0)
        check_metrics_db("1 pg-back %s: /koogate/metrics says koogate_database_up 1 again" % node.name, node, 1)
    # An order the marketplace sent while the database was down is created by its retry, once.
    if down_orders:
        o = down_orders[0]
        r, e = safe(v2_call, A, new_instance_body(o), timeout=10)
        if e is None:
            expect_code("1 pg-back: the retried newInstance of an order sent during the outage succeeds", A, r, "000000")
        n = scalar(A, "SELECT count(*) FROM instance WHERE order_id IN (%s)" % ",".join(q(x) for x in down_orders))
        R.check("1 pg-down: nothing was half-written during the outage (only the retried order exists)", n == "1",
                "%s instances for the %d orders sent during the outage, expected 1 (the retried one)" % (n, len(down_orders)))
    for node in nodes:
        text = node.log_since(offsets[node.label])
        if not logging_works(node):
            note("%s: no koogate log lines in %s at all (see the logging check); cause not checked" % (node.name, node.errlog))
            continue
        R.check("1 pg-down %s: the error log names the cause" % node.name,
                "database unreachable" in text or "database error" in text,
                "no 'database unreachable'/'database error' line in %s" % node.errlog)

    # PostgreSQL restarted while the processes sat idle with open connections: the first call of each
    # kind on each node must still succeed (the stale connection is replaced, not reported as 000005).
    for node in nodes:
        for _ in range(4):
            for label, fam, _o, fn in calls(node, "w2"):
                fn()
    offsets = {n.label: n.log_size() for n in nodes}
    pg_ctl(A, "stop")
    pg_ctl(A, "start")
    note("PostgreSQL restarted with no traffic in between")
    for node in nodes:
        for label, fam, order, fn in calls(node, "r"):
            r, e = safe(fn)
            name = "1 pg-restarted-idle %s: first %s after the restart succeeds" % (node.name, label)
            if e:
                R.fail(name, "%s: %s" % (type(e).__name__, e))
                continue
            rc, probs = answer(node, r, fam)
            if rc == "000000" and not probs:
                R.ok(name, "%.0f ms" % (r.elapsed * 1000))
            else:
                lines = [l for l in node.log_since(offsets[node.label]).splitlines()
                         if "database error" in l or "unreachable" in l]
                R.fail(name, "resultCode %s %s; log: %s" % (rc, "; ".join(probs), " | ".join(lines[-2:])[:400]))
        # ...and the calls after that do.
        ok_all = True
        for label, fam, order, fn in calls(node, "r2"):
            r, e = safe(fn)
            if e or answer(node, r, fam)[0] != "000000":
                ok_all = False
        R.check("1 pg-restarted-idle %s: the second call of each kind succeeds" % node.name, ok_all,
                "still failing after one call per kind")


# ============================================================================ case 6: nonces across a crash

def case6(A):
    """Nonce claims commit asynchronously (sql/009): a crash can forget the last ones. Requests
    acknowledged just before `pg_ctl stop -m immediate` must still be refused when replayed after the
    restart, inside their 60 s window (sql/012 refuses, after a crash, what was signed before the start)."""
    for _ in range(3):
        v2_call(A, query_body(), timeout=10)
    sent = []
    for i in range(30):
        nonce, ts = secrets.token_hex(32).upper(), int(time.time() * 1000)
        body = query_body("crash-probe-%d" % i)
        r, e = safe(v2_call, A, body, nonce=nonce, ts=ts, timeout=10)
        if e is None and answer(A, r)[0] == "000000":
            sent.append((body, nonce, ts))
    R.check("6 crash: 30 queryInstance calls acknowledged before the crash", len(sent) == 30, "%d of 30" % len(sent))
    took = pg_ctl(A, "stop", mode="immediate")
    took += pg_ctl(A, "start")
    note("PostgreSQL crashed (pg_ctl stop -m immediate) and started again, %.2f s" % took)
    v2_call(A, query_body(), timeout=10)        # each process notices its connection is gone once
    accepted = []
    for body, nonce, ts in sent:
        r, e = safe(v2_call, A, body, nonce=nonce, ts=ts, timeout=10)
        rc = answer(A, r)[0] if e is None else None
        if rc != "000001":
            accepted.append(rc)
    R.check("6 crash: every request acknowledged before the crash is refused (000001) when replayed after it",
            not accepted and len(sent) == 30, "%d of %d replays answered %s" % (len(accepted), len(sent), accepted[:3]))
    fresh = [answer(A, v2_call(A, query_body(), timeout=10))[0] for _ in range(5)]
    R.check("6 crash: requests signed after the restart are served", fresh == ["000000"] * 5, "answers %s" % fresh)
    r, e = safe(v2_call, A, query_body(), ts=int(time.time() * 1000) - 30000, timeout=10)
    R.check("6 crash: a fresh nonce signed before the restart (30 s ago, inside the window) is refused too",
            e is None and answer(A, r)[0] == "000001", "answered %s" % (answer(A, r)[0] if e is None else e))


# ============================================================================ case 2: SIGKILL mid-request

def blocked_backend(watch, blocker_pid, timeout=1.5):
    """pid of the backend waiting for a lock held by blocker_pid (polled, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = watch.run("SELECT pid FROM pg_stat_activity WHERE %d = ANY (pg_blocking_pids(pid));" % blocker_pid)
        if rows:
            return int(rows[0])
        time.sleep(0.02)
    return None


def wait_backend_gone(watch, pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not watch.run("SELECT 1 FROM pg_stat_activity WHERE pid = %d;" % pid):
            return True
        time.sleep(0.05)
    return False


def kill_mid_request(node, program, send, hold_sql, label):
    """Holds a lock (hold_sql in an open transaction), sends the request in a thread, waits until its
    backend blocks on the lock, SIGKILLs the FastCGI process talking to that backend, then releases the
    lock. Returns a dict (victim pid, backend pid, the client's response or exception, seconds from the
    kill to the client's outcome) or None after a FAIL."""
    holder, watch = PsqlSession(node), PsqlSession(node)
    result = {}
    tx = [False]

    def release():
        if tx[0]:
            holder.run("ROLLBACK;")
            tx[0] = False
    try:
        holder.run("BEGIN;")
        tx[0] = True
        out = holder.run(hold_sql)
        if any("ERROR" in l for l in out):
            R.fail("2 %s %s: setup" % (node.name, label), "lock statement failed: %s" % out)
            release()
            return None

        def client():
            t0 = time.monotonic()
            r, e = safe(send)
            result.update(resp=r, err=e, secs=time.monotonic() - t0)
        th = threading.Thread(target=client, daemon=True)
        th.start()
        backend = blocked_backend(watch, holder.pid)
        if backend is None:
            release()
            th.join(35)
            R.fail("2 %s %s: request blocks on the held lock" % (node.name, label),
                   "no backend waited for the lock within 1.5 s (client: %s)" % (result,))
            return None
        peer = ss_peer_process(backend)
        mine = node.program_pids(program)
        if not peer or peer[1] not in mine:
            release()
            th.join(35)
            R.fail("2 %s %s: find the FastCGI process" % (node.name, label),
                   "backend %d's peer is %r, not one of this stack's %s processes %s" % (backend, peer, program, mine))
            return None
        victim = peer[1]
        os.kill(victim, signal.SIGKILL)
        t_kill = time.monotonic()
        th.join(35)
        client_secs = time.monotonic() - t_kill
        release()
        gone = wait_backend_gone(watch, backend)
        R.check("2 %s %s: the orphaned database session ends" % (node.name, label), gone,
                "backend %d still present 10 s after the lock was released" % backend)
        return {"victim": victim, "backend": backend, "resp": result.get("resp"), "err": result.get("err"),
                "client_secs": client_secs, "alive": th.is_alive()}
    finally:
        try:
            release()
        except Exception:  # noqa: BLE001
            pass
        holder.close()
        watch.close()


def check_client_outcome(node, label, res):
    name = "2 %s %s: the client gets a transport error or 5xx, not a 200" % (node.name, label)
    if res["alive"]:
        return R.fail(name, "no answer and no close 35 s after the kill")
    r, e = res["resp"], res["err"]
    if e is not None:
        return R.ok(name, "transport error %s after %.2f s" % (type(e).__name__, res["client_secs"]))
    if r.status >= 500:
        return R.ok(name, "HTTP %d after %.2f s" % (r.status, res["client_secs"]))
    return R.fail(name, "HTTP %d %s" % (r.status, r.excerpt(200)))


def case2(A, B):
    for node in (A, B):
        # ---- newInstance: an uncommitted conflicting order line makes the INSERT wait.
        order = fr.gen_order_id()
        line = order + "-000001"
        biz = str(uuid.uuid4())
        hold = ("INSERT INTO instance (instance_id, generation, order_id, order_line_id, business_id, status)"
                " VALUES (%s, 2, %s, %s, 'blocker', 'pending');" % (q("blocker-" + secrets.token_hex(6)), q(order), q(line)))
        t0 = time.monotonic()
        res = kill_mid_request(node, "produce", lambda: v2_call(node, new_instance_body(order, line, biz), timeout=30),
                               hold, "newInstance")
        if res:
            note("%s: killed produce pid %d (backend %d) in %.2f s" % (node.name, res["victim"], res["backend"],
                                                                        time.monotonic() - t0))
            check_client_outcome(node, "newInstance", res)
            rows = psql(node, "SELECT (SELECT count(*) FROM instance WHERE order_id = %s),"
                              " (SELECT count(*) FROM event WHERE order_id = %s AND kind = 'created')" % (q(order), q(order)))
            ni, ne = rows[0]
            R.check("2 %s newInstance: instance and its created event are both there or both absent" % node.name,
                    ni == ne and ni in ("0", "1"), "%s instance rows, %s created events" % (ni, ne),
                    "%s/%s" % (ni, ne))
            r, e = safe(v2_call, node, new_instance_body(order, line), timeout=10)
            if e:
                R.fail("2 %s newInstance: the next request works" % node.name, str(e))
            elif expect_code("2 %s newInstance: the next request (the marketplace's retry) works" % node.name,
                             node, r, "000000", max_s=2.0):
                iid = r.json().get("instanceId")
                rows = psql(node, "SELECT instance_id, (SELECT count(*) FROM event e WHERE e.instance_id = i.instance_id"
                                  " AND kind = 'created') FROM instance i WHERE order_id = %s" % q(order))
                R.check("2 %s newInstance: exactly one instance with one created event, the answered one" % node.name,
                        len(rows) == 1 and rows[0] == [iid, "1"], "rows %r, answered %s" % (rows, iid))

        # ---- authSync of 500 users: a row lock on user 250 stops it half-way (users are upserted in name order).
        tenant, inst, app = uuid.uuid4().hex, "inst-" + secrets.token_hex(6), "app-kill"
        prefix = "K" + secrets.token_hex(2).upper()
        users = [fr.kit_user(prefix, i) for i in range(1, 501)]
        mid = "%s%04d" % (prefix, 250)
        r = kit_call(node, "authSync", auth_sync_body(inst, tenant, app, [fr.kit_user(prefix, 250)], 1), timeout=10)
        if answer(node, r, "kit")[0] != "000000":
            R.fail("2 %s authSync: setup" % node.name, "pre-sync of user 250 failed: %s" % r.excerpt(200))
            continue
        hold = "SELECT 1 FROM tenant_user WHERE tenant_id = %s AND user_name = %s FOR UPDATE;" % (q(tenant), q(mid))
        res = kill_mid_request(node, "authSync",
                               lambda: kit_call(node, "authSync", auth_sync_body(inst, tenant, app, users, 1), timeout=30),
                               hold, "authSync(500 users)")
        if res:
            note("%s: killed authSync pid %d (backend %d)" % (node.name, res["victim"], res["backend"]))
            check_client_outcome(node, "authSync(500 users)", res)
            n = scalar(node, "SELECT count(*) FROM tenant_user WHERE tenant_id = %s" % q(tenant))
            R.check("2 %s authSync: no half-synced user list (1 user before, all 500 or none added)" % node.name,
                    n in ("1", "500"), "%s users for the tenant" % n, "%s users" % n)
            r, e = safe(kit_call, node, "authSync", auth_sync_body(inst, tenant, app, users, 1), timeout=10)
            if e:
                R.fail("2 %s authSync: the next request works" % node.name, str(e))
            elif expect_code("2 %s authSync: the next request works" % node.name, node, r, "000000", family="kit",
                             max_s=2.0):
                n = scalar(node, "SELECT count(*) FROM tenant_user WHERE tenant_id = %s AND state = 'granted'" % q(tenant))
                R.check("2 %s authSync: after the retry all 500 users are granted" % node.name, n == "500",
                        "%s granted users" % n)
        normal_request_ok("2 %s: produce still answers after the kills" % node.name, node)


# ============================================================================ case 3: concurrency

def fire(n, fn, workers=None):
    """Run fn(i) for i in range(n) in n threads released together; returns [(result, exception, seconds)]."""
    barrier = threading.Barrier(n, timeout=30)

    def one(i):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        t0 = time.monotonic()
        r, e = safe(fn, i)
        return r, e, time.monotonic() - t0
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers or n) as ex:
        return list(ex.map(one, range(n)))


def summarize_failures(node, results, family="basic", want="000000"):
    bad = []
    for i, (r, e, secs) in enumerate(results):
        if e is not None:
            bad.append("[%d] %s: %s" % (i, type(e).__name__, e))
            continue
        rc, probs = answer(node, r, family)
        if rc != want or probs:
            bad.append("[%d] %s %s" % (i, rc, "; ".join(probs) or r.excerpt(120)))
    return bad


def duplicate_new_instance(nodes, n, label):
    order = fr.gen_order_id()
    line = order + "-000001"
    bizs = [str(uuid.uuid4()) for _ in range(n)]
    results = fire(n, lambda i: v2_call(nodes[i % len(nodes)], new_instance_body(order, line, bizs[i]), timeout=30))
    bad = []
    for node_i, node in enumerate(nodes):
        bad += summarize_failures(node, [x for i, x in enumerate(results) if i % len(nodes) == node_i])
    secs = sorted(s for _, _, s in results)
    slowest = secs[-1]
    dist = "median %.2f s, p90 %.2f s, slowest %.2f s" % (secs[len(secs) // 2], secs[int(len(secs) * 0.9)], slowest)
    R.check("%s: all %d answers are HTTP 200 000000 with a valid Body-Sign" % (label, n), not bad,
            "%d bad: %s" % (len(bad), "; ".join(bad[:4])), dist)
    R.check("%s: every answer within the marketplace's 5 s" % label, slowest < 5.0, dist)
    ids = set()
    for r, e, _ in results:
        if e is None and r.status == 200 and isinstance(r.json(), dict) and r.json().get("instanceId"):
            ids.add(r.json()["instanceId"])
    R.check("%s: one instanceId in all answers" % label, len(ids) == 1, "instanceIds: %s" % sorted(ids)[:5])
    rows = psql(nodes[0], "SELECT (SELECT count(*) FROM instance WHERE order_id = %s),"
                          " (SELECT count(*) FROM event WHERE order_id = %s AND kind = 'created'),"
                          " (SELECT min(instance_id) FROM instance WHERE order_id = %s)" % (q(order), q(order), q(order)))
    ni, ne, iid = rows[0]
    R.check("%s: exactly one instance row and one created event" % label, (ni, ne) == ("1", "1"),
            "%s instance rows, %s created events" % (ni, ne))
    R.check("%s: the stored instance is the answered one, named by one of the businessIds" % label,
            ids == {iid} and iid in bizs, "stored %s, answered %s" % (iid, sorted(ids)[:3]))


def serial_order_exists(calls, final, pool, init_name):
    """calls: list of (users, flag, name). final: user -> (state, name). True if some serial order of the
    calls, applied to `pool` all granted with init_name, gives `final` (last-writer peeling)."""
    remaining = set(range(len(calls)))
    det_state, det_name = set(), set()
    progress = True
    while remaining and progress:
        progress = False
        for i in sorted(remaining):
            users, flag, name = calls[i]
            eff = "granted" if flag in (1, 2) else ("deleted" if flag == 0 else "revoked")
            fits = all((u in det_state or final[u][0] == eff) and
                       (flag not in (1, 2) or u in det_name or final[u][1] == name) for u in users)
            if fits:
                det_state.update(users)
                if flag in (1, 2):
                    det_name.update(users)
                remaining.discard(i)
                progress = True
                break
    if remaining:
        return False
    return all((u in det_state or final[u][0] == "granted") and (u in det_name or final[u][1] == init_name)
               for u in pool)


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def file_since(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def concurrent_auth_sync(node, rounds=5, ncalls=10, pool_size=36):
    off = node.log_size()
    pg_off = file_size(node.pglog)
    all_bad, not_serial, counts_bad = [], [], []
    flags = [1, 0, 2, 3, 1, 2, 0, 3, 1, 2]
    for rnd in range(rounds):
        tenant, inst, app = uuid.uuid4().hex, "inst-" + secrets.token_hex(6), "app-conc"
        prefix = "C%d%s" % (rnd, secrets.token_hex(2).upper())
        pool = ["%s%04d" % (prefix, i) for i in range(pool_size)]

        def user(i, name):
            u = fr.kit_user(prefix, i)
            u["name"] = name
            return u
        # Pre-create every user, in descending chunks (so heap order differs from name order).
        for lo in range(pool_size - 12, -1, -12):
            r = kit_call(node, "authSync", auth_sync_body(inst, tenant, app, [user(i, "init") for i in range(lo, lo + 12)], 1))
            if answer(node, r, "kit")[0] != "000000":
                R.fail("3 %s concurrent authSync: setup" % node.name, r.excerpt(200))
                return
        calls = []
        for c in range(ncalls):
            idx = [(3 * c + k) % pool_size for k in range(12)]
            if c % 2:
                idx.reverse()          # list order differs from call to call
            name = "call-%d" % c
            calls.append(([pool[i] for i in idx], flags[c % len(flags)], name,
                          [user(i, name) for i in idx]))
        results = fire(ncalls, lambda c: kit_call(node, "authSync",
                                                  auth_sync_body(inst, tenant, app, calls[c][3], calls[c][1]), timeout=30))
        all_bad += ["round %d %s" % (rnd, b) for b in summarize_failures(node, results, "kit")]
        rows = psql(node, "SELECT user_name, state, name FROM tenant_user WHERE tenant_id = %s" % q(tenant))
        names = [r[0] for r in rows]
        if len(names) != pool_size or set(names) != set(pool):
            counts_bad.append("round %d: %d rows, %d distinct, expected the %d users" % (rnd, len(names), len(set(names)), pool_size))
        final = {r[0]: (r[1], r[2]) for r in rows}
        # A call answered 000005 changed nothing (one statement, rolled back): the final set must be some
        # serial order of the calls that succeeded.
        done = [c for c, (r, e, _) in zip(calls, results) if e is None and answer(node, r, "kit")[0] == "000000"]
        if set(final) == set(pool) and not serial_order_exists([(c[0], c[1], c[2]) for c in done], final, pool, "init"):
            not_serial.append("round %d (%d calls succeeded): %s" % (rnd, len(done), json.dumps(sorted(final.items()))[:400]))
    R.check("3 %s concurrent authSync (%d rounds x %d calls, overlapping users, flags 1/2/0/3): all 000000" %
            (node.name, rounds, ncalls), not all_bad, "%d failed: %s" % (len(all_bad), "; ".join(all_bad[:4])))
    R.check("3 %s concurrent authSync: every user present exactly once" % node.name, not counts_bad, "; ".join(counts_bad))
    R.check("3 %s concurrent authSync: the final user set equals some serial order of the successful calls" % node.name,
            not not_serial, "; ".join(not_serial)[:600])
    text = node.log_since(off)
    text += "\n".join(l for l in file_since(node.pglog, pg_off).splitlines() if " ERROR: " in l)
    dl = [l for l in text.splitlines() if re.search(r"(?i)deadlock|could not serialize|statement timeout|lock timeout", l)]
    R.check("3 %s concurrent authSync: no deadlock, serialization or timeout errors (error log, PostgreSQL log)" % node.name, not dl,
            "%d lines, e.g. %s" % (len(dl), " | ".join(dl[:2])[:500]))


def event_notified_after_answer(node):
    """sql/010, sql/027: in a session with koogate.notify_later (the FastCGI programs'), an event's NOTIFY is
    not sent at the commit of the state change (the trigger does not fire; the inserting statement notes
    the id), but by the next bookkeeping call's announcement; end to end, a new instance's event is
    announced with its id within 2 s of the answer."""
    name = "3 %s events are notified by the bookkeeping call, not in their own transaction" % node.name
    watch, writer = PsqlSession(node), PsqlSession(node)

    def heard(wait_s):
        deadline, seen = time.monotonic() + wait_s, []
        while True:
            seen += [l for l in watch.run("SELECT 1;") if "notification" in l]
            if seen or time.monotonic() >= deadline:
                return seen
            time.sleep(0.1)
    try:
        watch.run("LISTEN koogate_event;")
        writer.run("SET koogate.notify_later = on;")
        eid = writer.run("INSERT INTO event (kind, detail) VALUES ('fault-test', '{}')"
                         " RETURNING id, koogate_event_written(id);")[0].split("|")[0]
        at_commit = heard(0.5)
        writer.run("SELECT koogate_announce_due(true);")   # what an idle process's bookkeeping call sends
        after = heard(2.0)
        R.check(name, not at_commit and len(after) == 1 and ('payload "%s"' % eid) in after[0],
                "at commit: %r; after the bookkeeping call: %r (event %s)" % (at_commit, after, eid))
        name = "3 %s the lifecycle and Kit event writers note their events too (sql/027)" % node.name
        writer.run("SELECT koogate_kit_event('fault-test', NULL, NULL, false, '{}');"
                   " SELECT koogate_event('fault-test', jsonb_populate_record(NULL::instance,"
                   " '{\"instance_id\": \"fault-test\", \"test_flag\": false}'), NULL, NULL, '{}');")
        ids = writer.run("SELECT id FROM event WHERE kind = 'fault-test' AND id > %s ORDER BY id;" % eid)
        at_commit = heard(0.5)
        writer.run("SELECT koogate_announce_due(true);")
        after = heard(2.0)
        time.sleep(0.3)
        after += heard(0.1)
        payloads = sorted(re.findall(r'payload "(\d+)"', " ".join(after)), key=int)
        R.check(name, not at_commit and len(ids) == 2 and payloads == ids,
                "events %s; at commit: %r; after the bookkeeping call: %r" % (ids, at_commit, after))
        # The trigger no longer notes them, so a writer added later must: every function that inserts
        # events (the programs' own create is the end-to-end check below).
        name = "3 %s every database function that writes events notes them for the announcement" % node.name
        writers = writer.run("SELECT proname, prosrc ~ 'koogate_event_written' FROM pg_proc"
                             " WHERE pronamespace = 'public'::regnamespace"
                             " AND prosrc ~* 'insert\\s+into\\s+event\\s*\\(' ORDER BY 1;")
        R.check(name, writers and all(w.endswith("|t") for w in writers), "writers (name|notes): %r" % writers)
        name = "3 %s a new instance's event is announced with its id right after the answer" % node.name
        order = fr.gen_order_id()
        code, probs = answer(node, v2_call(node, new_instance_body(order)))
        seen = heard(2.0)
        eid = scalar(node, "SELECT id FROM event WHERE order_id = %s AND kind = 'created'" % q(order))
        R.check(name, code == "000000" and not probs and any(('payload "%s"' % eid) in l for l in seen),
                "resultCode %s %s, event %s, notifications within 2 s: %r" % (code, probs, eid, seen))
    except Exception as e:  # noqa: BLE001 -- one failed check, not a crashed suite
        R.fail(name, repr(e))
    finally:
        safe(writer.run, "DELETE FROM event WHERE kind = 'fault-test';")
        watch.close()
        writer.close()


def case3(A, B):
    event_notified_after_answer(A)
    t0 = time.monotonic()
    duplicate_new_instance([A], 100, "3 %s 100 concurrent duplicate newInstance" % A.name)
    note("100 duplicates on A in %.1f s" % (time.monotonic() - t0))
    t0 = time.monotonic()
    duplicate_new_instance([B], 100, "3 %s 100 concurrent duplicate newInstance" % B.name)
    note("100 duplicates on B in %.1f s" % (time.monotonic() - t0))
    concurrent_auth_sync(A)
    concurrent_auth_sync(B)


# ============================================================================ case 4: transport

CRASH_RE = re.compile(r"(?i)(signal (?!9\b)\d+|signal(?:l?ed)?:? (?!9\b)\d+|segmentation fault|core dumped|"
                      r"addresssanitizer|runtime error:|stack smashing|double free|SIGSEGV|SIGABRT|SIGBUS)")


class Background:
    """Slow-body and never-completing requests, started first and collected later."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.results = {}
        self.threads = {"slow": [], "hang": []}

    def start(self):
        for node in self.nodes:
            for kind in ("slow", "hang"):
                th = threading.Thread(target=self._run, args=(node, kind), daemon=True)
                th.start()
                self.threads[kind].append(th)

    def _run(self, node, kind):
        try:
            target, body = v2_url_and_body(node, query_body())
            half = len(body) // 2
            head = raw_head(node, target, len(body))
            if kind == "slow":
                self.results[(node.label, kind)] = raw_exchange(node, head, [(body[:half], 0), (body[half:], 10.0)],
                                                                read_timeout=20)
            else:
                self.results[(node.label, kind)] = raw_exchange(node, head, [(body[:half], 0)], read_timeout=90)
        except Exception as e:  # noqa: BLE001
            self.results[(node.label, kind)] = {"status": None, "raw": b"", "elapsed": 0, "error": repr(e), "eof": False}

    def join(self, kind, timeout):
        deadline = time.monotonic() + timeout
        for th in self.threads[kind]:
            th.join(max(0.1, deadline - time.monotonic()))

    def report_slow(self):
        for node in self.nodes:
            res = self.results.get((node.label, "slow"))
            name = "4 %s slow body (half, 10 s pause, rest): answered 000000" % node.name
            if not res:
                R.fail(name, "no result (thread still running)")
                continue
            resp = parse_raw_response(res["raw"])
            if resp is None:
                R.fail(name, "no HTTP answer (error %s, %.1f s)" % (res["error"], res["elapsed"]))
            else:
                rc, probs = answer(node, resp)
                R.check(name, rc == "000000" and not probs, "resultCode %s %s" % (rc, probs),
                        "%.1f s" % res["elapsed"])

    def report_hang(self):
        for node in self.nodes:
            res = self.results.get((node.label, "hang"))
            name = "4 %s body never completed: the server times the connection out" % node.name
            if not res:
                R.fail(name, "still open after %.0f s" % elapsed())
                continue
            closed = res["eof"] or res["error"] in ("ConnectionResetError", "BrokenPipeError")
            R.check(name, closed and res["status"] != 200,
                    "error %s, status %s, %.1f s" % (res["error"], res["status"], res["elapsed"]),
                    "closed after %.1f s%s" % (res["elapsed"], ", HTTP %s" % res["status"] if res["status"] else ""))


def transport_quick(node):
    """The quick bad inputs against one node, each followed by a normal request."""

    def after(label):
        normal_request_ok("4 %s after %s: a normal request succeeds" % (node.name, label), node)

    # Truncated body: Content-Length 2x what is sent, then the client half-closes.
    target, body = v2_url_and_body(node, query_body())
    res = raw_exchange(node, raw_head(node, target, len(body) * 2), [(body, 0)], half_close=True, read_timeout=10)
    R.check("4 %s truncated body (Content-Length larger, then EOF): no 200, closed within 10 s" % node.name,
            res["status"] != 200 and (res["eof"] or res["error"] in ("ConnectionResetError",)) and res["elapsed"] < 10,
            "status %s, error %s, %.1f s" % (res["status"], res["error"], res["elapsed"]),
            "HTTP %s in %.2f s" % (res["status"], res["elapsed"]))
    # ...and a client that closes completely after half the body.
    try:
        s = socket.create_connection(("127.0.0.1", node.port), timeout=5)
        s.sendall(raw_head(node, target, len(body)) + body[:len(body) // 2])
        s.close()
    except OSError as e:
        R.fail("4 %s client closes mid-body" % node.name, str(e))
    after("a truncated body")

    # Content-Length smaller than the body: the program sees a cut body (bad JSON / bad signature).
    target, body = v2_url_and_body(node, query_body())
    res = raw_exchange(node, raw_head(node, target, len(body) - 7), [(body, 0)], read_timeout=10)
    resp = parse_raw_response(res["raw"])
    if resp is None:
        R.fail("4 %s Content-Length smaller than the body" % node.name, "no HTTP answer: %s" % res)
    elif resp.status == 400:
        R.ok("4 %s Content-Length smaller than the body: refused" % node.name, "HTTP 400")
    else:
        rc, probs = answer(node, resp)
        R.check("4 %s Content-Length smaller than the body: 000001/000002 with Body-Sign" % node.name,
                rc in ("000001", "000002") and not probs, "resultCode %s %s" % (rc, probs), rc)
    after("a short Content-Length")

    # Invalid UTF-8 inside a JSON string.
    order = fr.gen_order_id()
    raw = (b'{"activity":"newInstance","businessId":"' + str(uuid.uuid4()).encode() + b'","orderId":"' +
           order.encode() + b'\xff\xfe\xc3","orderLineId":"' + order.encode() + b'-000001","testFlag":"0"}')
    r = v2_call(node, raw)
    expect_code("4 %s invalid UTF-8 in a JSON string -> 000002" % node.name, node, r, "000002")
    n = scalar(node, "SELECT count(*) FROM instance WHERE order_id LIKE %s" % q(order + "%"))
    R.check("4 %s invalid UTF-8: nothing stored" % node.name, n == "0", "%s instances" % n)
    after("invalid UTF-8")

    # Deep nesting: 100000 '[' (closed, and never closed).
    deep = b'{"activity":"queryInstance","instanceId":"x","testFlag":"1","x":' + b"[" * 100000 + b"]" * 100000 + b"}"
    r = v2_call(node, deep)
    expect_code("4 %s 100000-deep JSON -> 000002" % node.name, node, r, "000002")
    r = v2_call(node, b'{"activity":"queryInstance","x":' + b"[" * 100000)
    expect_code("4 %s 100000 unclosed '[' -> 000002" % node.name, node, r, "000002")
    r = kit_call_raw(node, "authSync", b'{"tenantId":"t","userList":' + b"[" * 100000 + b"]" * 100000 + b"}")
    expect_code("4 %s 100000-deep JSON to a Kit program -> 000002" % node.name, node, r, "000002", family="kit")
    after("deep nesting")

    # Bodies over body_limit (4 MiB, refused by the program) and over the server's limit (8 MiB).
    for size, label in ((5 * 1024 * 1024, "5 MB body (over body_limit)"), (10 * 1024 * 1024, "10 MB body")):
        body = b'{"activity":"queryInstance","pad":"' + b"x" * (size - 40) + b'"}'
        target, _ = v2_url_and_body(node, query_body())
        r, e = safe(fr.http_request, "POST", node.base + target, [("Content-Type", "application/json")], body, 30)
        if e:
            R.fail("4 %s %s -> 413" % (node.name, label), "%s: %s" % (type(e).__name__, e))
        else:
            R.check("4 %s %s -> 413" % (node.name, label), r.status == 413, "HTTP %d %s" % (r.status, r.excerpt(120)),
                    "%.2f s" % r.elapsed)
        after(label)


def kit_call_raw(node, name, raw):
    nonce = secrets.token_hex(32).upper()
    ts = int(time.time() * 1000)
    xs = fr.kit_xsign(node.ctx.kit_key, nonce, ts, raw)
    return fr.http_request("POST", node.url + "/produceAPI/v2/" + name,
                           [("Content-Type", "application/json;charset=utf8"), ("x-sign", xs), ("x-timestamp", str(ts)),
                            ("x-nonce", nonce)], raw, timeout=30)


def case4_start(A, B):
    """Starts the slow and never-completing requests; checks that the programs answer meanwhile."""
    bg = Background([A, B])
    bg.start()
    time.sleep(1.0)
    for node in (A, B):
        r, e = safe(v2_call, node, query_body(), timeout=5)
        if e:
            R.fail("4 %s while slow bodies are pending: a normal request answers within 1 s" % node.name, str(e))
        else:
            expect_code("4 %s while slow bodies are pending: a normal request answers within 1 s" % node.name,
                        node, r, "000000", max_s=1.0)
    return bg


def case4(A, B, bg):
    warm = {}
    for node in (A, B):
        # One of each bad input first, so that the baseline RSS includes first-use allocations.
        v2_call(node, b'{"activity":"queryInstance","x":' + b"[" * 100000)
        v2_call(node, b'{"activity":"queryInstance","x":"\xff"}')
        warm[node.label] = {p: rss_kb(p) for p in node.program_pids("produce")}
        off = node.log_size()
        transport_quick(node)
        for _ in range(20):        # repeat the cheap ones: a leak per request would add up
            v2_call(node, b'{"activity":"queryInstance","instanceId":"x","testFlag":"1","x":' + b"[" * 100000 + b"]" * 100000 + b"}")
            v2_call(node, b'{"activity":"newInstance","orderId":"CS\xff","businessId":"b","orderLineId":"l"}')
            target, body = v2_url_and_body(node, query_body())
            raw_exchange(node, raw_head(node, target, len(body) - 7), [(body, 0)], read_timeout=5)
        node._case4_off = off
    bg.join("slow", 25)
    bg.report_slow()
    for node in (A, B):
        before = warm[node.label]
        after = {p: rss_kb(p) for p in node.program_pids("produce")}
        common = [p for p in before if p in after and before[p] and after[p]]
        if not common:
            R.fail("4 %s produce RSS bounded" % node.name, "no produce process lived through the test (before %s, after %s)"
                   % (sorted(before), sorted(after)))
            continue
        growth = {p: after[p] - before[p] for p in common}
        worst = max(growth.values())
        R.check("4 %s produce RSS grows at most 4 MB per process across the bad inputs" % node.name, worst <= 4096,
                "growth per pid (kB): %s" % growth,
                "max growth %d kB over %d processes; RSS now %s kB" % (worst, len(common), [after[p] for p in common]))
        text = node.log_since(node._case4_off)
        crashes = [l for l in text.splitlines() if CRASH_RE.search(l)]
        R.check("4 %s no FastCGI program crashed (error log)" % node.name, not crashes, " | ".join(crashes[:3])[:500])


def case4_finish(A, B, bg):
    left = 75 - (time.monotonic() - bg_started[0])
    if left > 0:
        note("waiting up to %.0f s for the servers to time out the never-completed bodies" % left)
    bg.join("hang", max(1, left + 5))
    bg.report_hang()
    for node in (A, B):
        normal_request_ok("4 %s after the server timed out the stuck request: a normal request succeeds" % node.name, node)


bg_started = [0.0]


# ============================================================================ case 5: two nodes

def http_get(base_or_conn, path, headers=(), ctx=None, method="GET", body=None):
    u = urllib.parse.urlsplit(base_or_conn)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=15, context=ctx)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    try:
        conn.request(method, path, body=body, headers=dict(headers))
        r = conn.getresponse()
        data = r.read()
        return r.status, r.msg, data
    finally:
        conn.close()


def metrics_of(node):
    """/koogate/metrics of a node with its status-page credentials: (HTTP status, parsed text or None,
    seconds taken, problem)."""
    cred = base64.b64encode(("%s:%s" % (node.env["KOOGATE_STATUS_USER"], node.env["KOOGATE_STATUS_PASSWORD"])).encode())
    t0 = time.monotonic()
    try:
        status, _msg, data = http_get(node.base, "/koogate/metrics", [("Authorization", "Basic " + cred.decode())])
    except OSError as e:
        return None, None, time.monotonic() - t0, "%s: %s" % (type(e).__name__, e)
    took = time.monotonic() - t0
    try:
        return status, promtext.parse(data.decode("utf-8")), took, None
    except (UnicodeDecodeError, promtext.FormatError) as e:
        return status, None, took, "not the Prometheus text format: %s" % e


def check_metrics_db(name, node, up):
    status, parsed, took, problem = metrics_of(node)
    if problem or status != 200:
        R.fail(name, problem or "HTTP %s" % status)
        return
    got = promtext.select(parsed, "koogate_database_up")[0]
    version = [l.get("version") for n, l, _v in parsed["samples"] if n == "koogate_build_info"]
    R.check(name, got == up and version and took < 3.0,
            "koogate_database_up %s (expected %d), build_info %s, %.2f s" % (got, up, version, took), "%.0f ms" % (took * 1000))


def cookie_from(msg, name):
    for v in msg.get_all("Set-Cookie") or []:
        k, _, rest = v.partition("=")
        if k.strip() == name:
            return rest.split(";")[0]
    return None


def case5(A, B, idp_dir, idp_state):
    # ---- nonce shared across nodes
    body = query_body()
    nonce, ts = secrets.token_hex(32).upper(), int(time.time() * 1000)
    r1 = v2_call(A, body, nonce=nonce, ts=ts)
    expect_code("5 nonce: a V2 call on node A succeeds", A, r1, "000000")
    r2 = v2_call(B, body, nonce=nonce, ts=ts)
    expect_code("5 nonce: the same signed call replayed on node B is refused (000001)", B, r2, "000001")
    kbody = {"instanceId": "i-" + secrets.token_hex(4), "tenantId": uuid.uuid4().hex, "appId": "app-n",
             "userList": [fr.kit_user("N", 1)], "currentSyncTime": kit_ts(), "flag": 1, "testFlag": 0, "timeStamp": kit_ts()}
    nonce, ts = secrets.token_hex(32).upper(), int(time.time() * 1000)
    r1 = kit_call(B, "authSync", kbody, nonce=nonce, ts=ts)
    expect_code("5 nonce: a Kit call on node B succeeds", B, r1, "000000", family="kit")
    r2 = kit_call(A, "authSync", kbody, nonce=nonce, ts=ts)
    expect_code("5 nonce: the same Kit call replayed on node A is refused (000001)", A, r2, "000001", family="kit")

    # ---- the same order on both nodes at once
    duplicate_new_instance([A, B], 40, "5 same order on A and B at once (40 calls)")

    # ---- login started on A, completed on B, session used on A
    p = idp_state
    ctx = ssl.create_default_context(cafile=os.path.join(idp_dir, "ca.pem"))
    st, msg, data = http_get(A.base, "/koogate/login?mode=workbench&tenant=" + urllib.parse.quote(p["tenant"]))
    loc = msg.get("Location") or ""
    bind = cookie_from(msg, "kg_login")
    if not R.check("5 login: /koogate/login on node A redirects to the tenant's authorize endpoint and sets kg_login",
                   st == 302 and loc.startswith(p["idp_base"] + "/api/v1/oauth2/authorize?") and bind,
                   "HTTP %d Location %r kg_login %r %s" % (st, loc, bind, data[:200])):
        return
    authq = urllib.parse.urlsplit(loc).query
    state = urllib.parse.parse_qs(authq).get("state", [""])[0]
    form = urllib.parse.urlencode({"flow": "oauth", "q": authq, "username": p["user"], "password": p["password"]})
    st, msg, data = http_get(p["idp_base"], "/login", [("Content-Type", "application/x-www-form-urlencoded")], ctx,
                             method="POST", body=form)
    cb = msg.get("Location") or ""
    if not R.check("5 login: the IdP signs the user in and redirects to the callback with code and state",
                   st == 302 and "/koogate/callback?" in cb and "code=" in cb and ("state=" + state) in cb,
                   "HTTP %d Location %r" % (st, cb)):
        return
    cbq = urllib.parse.urlsplit(cb).query
    st, msg, data = http_get(B.base, "/koogate/callback?" + cbq, [("Cookie", "kg_login=" + bind)])
    sess = cookie_from(msg, "kg_session")
    if not R.check("5 login: the callback on node B (state stored by A) completes the login and sets kg_session",
                   st in (302, 303) and sess, "HTTP %d %s; log tail: %s" % (st, data[:300], B.log_since(max(0, B.log_size() - 600)))):
        return
    st, msg, data = http_get(A.base, "/koogate/session", [("Cookie", "kg_session=" + sess), ("Accept", "application/json")])
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    R.check("5 login: the session issued by node B works on node A (/koogate/session names the user)",
            st == 200 and isinstance(doc, dict) and doc.get("user") == p["user"] and doc.get("tenant") == p["tenant"],
            "HTTP %d %s" % (st, data[:300]), "user %s" % (doc or {}).get("user"))
    st, msg, data = http_get(B.base, "/koogate/session", [("Cookie", "kg_session=" + sess), ("Accept", "application/json")])
    R.check("5 login: ...and on node B", st == 200 and b'"user"' in data, "HTTP %d %s" % (st, data[:200]))
    st, msg, data = http_get(A.base, "/koogate/callback?" + cbq, [("Cookie", "kg_login=" + bind)])
    R.check("5 login: the used state is refused when replayed on node A", st not in (302, 303) and
            not cookie_from(msg, "kg_session"), "HTTP %d (a second session was issued)" % st, "HTTP %d" % st)


def login_setup(A, idp_dir):
    """Provisions a tenant through A (newInstance, tenantSync, applicationSync, authSync) and starts the IdP."""
    port = br.free_port()
    idp_base = "https://127.0.0.1:%d" % port
    h = secrets.token_hex(4)
    p = {"idp_base": idp_base, "tenant": uuid.uuid4().hex, "tenant_code": "flt" + h, "app_id": "kgapp" + h,
         "client_id": secrets.token_hex(20), "client_secret": secrets.token_urlsafe(24),
         "user": "wang.faults", "name": "王五", "password": "Pw-" + secrets.token_urlsafe(12),
         "disabled_user": "zhao.faults", "disabled_password": "Pw-" + secrets.token_urlsafe(12)}
    clients = {p["client_id"]: {"secret": p["client_secret"], "redirect_uris": [A.base + "/koogate/callback"],
                                "tenant": p["tenant"], "app_id": p["app_id"]}}
    users = {p["user"]: {"password": p["password"], "name": p["name"], "role": "admin", "tenant": p["tenant"],
                         "organizationCode": "10000"}}
    proc = br.start_idp(idp_dir, port, clients, users, False)
    with open(os.path.join(idp_dir, "idp.pid"), "w") as f:
        f.write(str(proc.pid))
    key = A.ctx.config.get("rsa_private_key")
    pub = os.path.join(idp_dir, "rsa.pub.pem")
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True, timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    br.provision(fr, A.ctx, p, pub)
    return proc, p


# ============================================================================ main

# ============================================================================ case 7: the supervisor
def supervised(node, program):
    """(supervisor pid, sorted worker pids) of one program of a stack behind mod_proxy_fcgi: the
    program's process whose parent is not the same program, and its children."""
    pids = node.program_pids(program)
    parent = {}
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                parent[pid] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tops = [p for p in parent if parent[p] not in parent]
    if len(tops) != 1:
        return None, []
    return tops[0], sorted(p for p in parent if parent[p] == tops[0])


def wait_for(cond, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def case7(A):
    """The programs behind mod_proxy_fcgi supervise their workers (lib/app/listen.c)."""
    sup, workers = supervised(A, "produce")
    want = -1                # the number the supervisor was started with
    if sup is not None:
        with open("/proc/%d/environ" % sup, "rb") as f:
            for kv in f.read().split(b"\0"):
                if kv.startswith(b"KOOGATE_PROCESSES="):
                    want = int(kv.split(b"=", 1)[1])
    R.check("7 %s: produce is one supervisor with KOOGATE_PROCESSES workers" % A.name,
            sup is not None and len(workers) == want, "supervisor %r, workers %r (want %d)" % (sup, workers, want),
            "%d workers" % len(workers))
    if sup is None or not workers:
        return
    # A worker that dies is replaced at once, and the program keeps answering meanwhile.
    log0 = A.log_size()
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    normal_request_ok("7 %s: a call right after a worker was killed is answered" % A.name, A)
    back = wait_for(lambda: len(supervised(A, "produce")[1]) == want and victim not in supervised(A, "produce")[1], 3.0)
    R.check("7 %s: the supervisor starts another worker within 3 s and says why" % A.name,
            back and re.search(r"supervisor: produce worker %d was killed by signal 9" % victim, A.log_since(log0)),
            "workers now %r; log: %s" % (supervised(A, "produce")[1], A.log_since(log0)[-400:]))
    R.check("7 %s: the supervisor itself is the same process" % A.name, supervised(A, "produce")[0] == sup,
            "supervisor now %r, was %d" % (supervised(A, "produce")[0], sup))
    # SIGTERM (systemctl stop): the workers finish and the supervisor ends after them.
    sup, workers = supervised(A, "cas-login")
    if sup is None:
        R.fail("7 %s: cas-login runs supervised" % A.name, "no supervisor found")
    else:
        log0 = A.log_size()
        os.kill(sup, signal.SIGTERM)
        gone = wait_for(lambda: not A.program_pids("cas-login"), 5.0)
        R.check("7 %s: SIGTERM to a supervisor stops it and its workers within 5 s" % A.name,
                gone and "supervisor: stopping the cas-login workers" in A.log_since(log0),
                "left: %r; log: %s" % (A.program_pids("cas-login"), A.log_since(log0)[-300:]))
    # SIGKILL of the supervisor (systemd's last resort): no worker outlives it.
    sup, workers = supervised(A, "hello")
    if sup is None or not workers:
        R.fail("7 %s: hello runs supervised" % A.name, "supervisor %r, workers %r" % (sup, workers))
    else:
        os.kill(sup, signal.SIGKILL)
        gone = wait_for(lambda: not A.program_pids("hello"), 5.0)
        R.check("7 %s: the workers of a supervisor killed with SIGKILL end within 5 s" % A.name, gone,
                "left: %r" % A.program_pids("hello"))


def main(argv):
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--var-a", required=True)
    ap.add_argument("--var-b", required=True)
    ap.add_argument("--only", default="1,2,3,4,5,6,7", help="comma-separated case numbers")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the error log tails after failures")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose
    only = set(args.only.split(","))
    idp_dir = os.path.join(args.var_a, "faults")
    idp = None
    A = B = None
    timings = []

    def timed(label, fn, *a):
        t0 = time.monotonic()
        try:
            return fn(*a)
        except Exception as e:  # noqa: BLE001 - a test bug must not hide the other cases
            import traceback
            R.fail("%s: runner error" % label, "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc()[-1500:]))
        finally:
            timings.append((label, time.monotonic() - t0))

    try:
        bad = [(n, e) for n, e in fr.selftest() if e]
        if bad:
            for n, e in bad:
                R.fail("signer self-test %s" % n, e)
            return 1
        t0 = time.monotonic()
        A, B = start_stacks(args, idp_dir)
        timings.append(("setup: stacks", time.monotonic() - t0))
        print("== node A: %s %s; node B: %s %s (database of A)" % (A.server, A.base, B.server, B.base), flush=True)
        kit_tenant = (("inst-" + secrets.token_hex(6), uuid.uuid4().hex, "app-pg"))

        bg = None
        if "4" in only:
            print("== 4. bad transport input (slow bodies run in the background)", flush=True)
            bg_started[0] = time.monotonic()
            bg = timed("4 start", case4_start, A, B)
        if "4" in only and bg:
            timed("4 transport", case4, A, B, bg)
        if "3" in only:
            print("== 3. concurrency", flush=True)
            timed("3 concurrency", case3, A, B)
        if "2" in only:
            print("== 2. SIGKILL in the middle of a request", flush=True)
            timed("2 kill", case2, A, B)
        if "5" in only:
            print("== 5. two nodes, one database", flush=True)
            try:
                idp, p = login_setup(A, idp_dir)
                R.ok("5 login setup: tenant provisioned through node A, fake IdP on %s" % p["idp_base"])
                timed("5 two nodes", case5, A, B, idp_dir, p)
            except Exception as e:  # noqa: BLE001
                R.fail("5 login setup", "%s: %s" % (type(e).__name__, e))
        if "4" in only and bg:
            print("== 4. (end) never-completed bodies", flush=True)
            timed("4 finish", case4_finish, A, B, bg)
        if "1" in only:            # last: a restart of PostgreSQL leaves stale connections behind
            print("== 1. PostgreSQL stopped", flush=True)
            timed("1 postgres", case1, A, B, kit_tenant)
        if "6" in only:
            print("== 6. nonces across a PostgreSQL crash", flush=True)
            timed("6 crash", case6, A)
        if "7" in only and A.server == "apache":      # last: it stops two programs of node A
            print("== 7. the supervisor behind mod_proxy_fcgi", flush=True)
            timed("7 supervisor", case7, A)
        for node in (A, B):
            R.check("all %s: koogate's per-call log lines reach the web server's error log (README)" % node.name,
                    logging_works(node), "no 'koogate[produce N]: POST produce ...' line in %s; the FastCGI programs'"
                    " stderr is %s" % (node.errlog, stderr_of(node)))
            crashes = [l for l in node.log_since(0).splitlines() if CRASH_RE.search(l)]
            R.check("all %s: no FastCGI program died of a signal other than our SIGKILLs" % node.name, not crashes,
                    " | ".join(crashes[:3])[:500])
    except Exception as e:  # noqa: BLE001
        import traceback
        R.fail("runner", "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc()[-2000:]))
    finally:
        if idp:
            br.stop_idp(idp)
        if VERBOSE and R.failed and A is not None:
            for node in (A, B):
                print("---- tail of %s" % node.errlog)
                print("\n".join(node.log_since(max(0, node.log_size() - 4000)).splitlines()[-30:]))
        print("\ntimings: " + ", ".join("%s %.1f s" % t for t in timings) + "; total %.1f s" % elapsed())
        print("%d passed, %d failed" % (R.passed, R.failed), flush=True)
    return 0 if R.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
