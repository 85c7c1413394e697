#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""bench/helper.py — the parts of bench/run.sh that are easier in Python (standard library only).

  helper.py rss VAR                      JSON: resident memory of each FastCGI program of the stack
  helper.py procs VAR                    JSON: number of processes per FastCGI class
  helper.py login-setup ENV WORKDIR IDP_BASE APP_ID   provision tenant/app/user for the login benchmark
  helper.py login-codes WORKDIR N OUT    obtain N one-time codes from the fake IdP (unified login)
  helper.py report JSONL FACTS OUT.md    the results table (also printed)

Processes of the stack in VAR: apache (started with VAR/httpd.conf), fcgi:<program> (KOOGATE_CONFIG=
VAR/koogate.conf in the environment), postgres (working directory VAR/pg). CPU per component is measured
by the load generator itself (bench/load.c --cpu-var), exactly over its measured window.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def stack_programs():
    """The FastCGI programs of a stack: the first word of each line of tools/stack/programs."""
    with open(os.path.join(REPO, "tools", "stack", "programs"), encoding="utf-8") as f:
        return {line.split()[0] for line in f if line.strip() and not line.lstrip().startswith("#")}


PROGRAMS = stack_programs()


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def classify(var, pids_fake):
    """{pid: component} for the processes of the stack in var."""
    var = os.path.realpath(var)
    conf = ("KOOGATE_CONFIG=" + os.path.join(var, "koogate.conf")).encode()
    httpd = os.path.join(var, "httpd.conf")
    pgdata = os.path.join(var, "pg")
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        if pid in pids_fake:
            out[pid] = "fakes"
            continue
        comm = (read("/proc/%d/comm" % pid) or "").strip()
        if comm in PROGRAMS:
            env = read("/proc/%d/environ" % pid, "rb") or b""
            if conf in env.split(b"\0"):
                out[pid] = "fcgi:" + comm
        elif comm == "apache2":
            args = (read("/proc/%d/cmdline" % pid) or "").split("\0")
            if httpd in args:
                out[pid] = "apache"
        elif comm in ("postgres", "postmaster"):
            try:
                if os.readlink("/proc/%d/cwd" % pid) == pgdata:
                    out[pid] = "postgres"
            except OSError:
                pass
    return out


def status_fields(pid, names):
    out = {}
    for line in (read("/proc/%d/status" % pid) or "").splitlines():
        k, _, v = line.partition(":")
        if k in names:
            out[k] = int(v.split()[0])
    return out


def cmd_rss(var):
    res = {}
    for pid, c in classify(var, set()).items():
        if not c.startswith("fcgi:"):
            continue
        st = status_fields(pid, ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"))
        pss = None
        rollup = read("/proc/%d/smaps_rollup" % pid)
        if rollup:
            m = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
            pss = int(m.group(1)) if m else None
        st["Pss"] = pss
        st["pid"] = pid
        res.setdefault(c[5:], []).append(st)
    print(json.dumps(res))


def cmd_procs(var):
    res = {}
    for pid, c in classify(var, set()).items():
        res[c] = res.get(c, 0) + 1
    print(json.dumps(res))


# ---------------------------------------------------------------- login benchmark
def load_module(path, name):
    import importlib.util
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def cmd_login_setup(env_path, work, idp_base, app_id):
    """Provisions, through koogate's own Kit interfaces (signed by the fixture runner's signer, as
    tests/browser/run.py does), a tenant whose IdP is the fake, its app credential and one granted
    user, and writes the fake IdP's clients.json/users.json. Prints shell assignments."""
    import secrets
    import uuid
    fr = load_module(os.path.join(REPO, "tests", "fixture_runner.py"), "fixture_runner")
    br = load_module(os.path.join(REPO, "tests", "browser", "run.py"), "browser_run")
    env = dict(os.environ)
    env.update(fr.read_env_file(env_path))
    h = secrets.token_hex(4)
    p = {"idp_base": idp_base, "tenant": uuid.uuid4().hex, "tenant_code": "bench" + h, "app_id": app_id,
         "client_id": secrets.token_hex(20), "client_secret": secrets.token_urlsafe(24),
         "user": "bench.user", "name": "Bench User", "password": "Pw-" + secrets.token_urlsafe(12),
         "disabled_user": "bench.disabled", "disabled_password": "Pw-" + secrets.token_urlsafe(12)}
    kb = env["KOOGATE_BASE"].rstrip("/")
    clients = {p["client_id"]: {"secret": p["client_secret"], "redirect_uris": [kb + "/koogate/callback"],
                                "tenant": p["tenant"], "app_id": p["app_id"]}}
    users = {p["user"]: {"password": p["password"], "name": p["name"], "role": "admin", "tenant": p["tenant"],
                         "organizationCode": "10000", "email": "bench@example.com", "mobile": "12345678901"},
             p["disabled_user"]: {"password": p["disabled_password"], "name": "Off", "role": "user",
                                  "tenant": p["tenant"], "organizationCode": "10000"}}
    for name, doc in (("clients.json", clients), ("users.json", users)):
        path = os.path.join(work, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        os.chmod(path, 0o600)
    conf = read(env["KOOGATE_CONFIG"])
    key = br.conf_get(conf, "rsa_private_key")
    pub = os.path.join(work, "rsa.pub.pem")
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx = fr.Context(env)
    br.provision(fr, ctx, p, pub)
    with open(os.path.join(work, "login.json"), "w") as f:
        json.dump({k: p[k] for k in ("tenant", "app_id", "user", "password", "instance")}, f)
    print("LOGIN_TENANT=%s LOGIN_APP=%s LOGIN_INSTANCE=%s" % (p["tenant"], p["app_id"], p["instance"]))


def cmd_login_codes(work, n, out):
    """Logs in once at the fake's unified login page (flow=unified), then asks it for a code n times
    with that IdP session (each answer is a 302 to the callback with a fresh one-time code)."""
    import http.client
    import ssl
    import threading
    import urllib.parse
    n = int(n)
    with open(os.path.join(work, "login.json")) as f:
        p = json.load(f)
    base = read(os.path.join(work, "idp_base")).strip()
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
    ctx = ssl.create_default_context(cafile=os.path.join(work, "ca.pem"))
    q = urllib.parse.urlencode({"ind": "UNOP", "appId": p["app_id"]})

    def conn():
        return http.client.HTTPSConnection(host, port, context=ctx, timeout=10)

    c = conn()
    c.request("POST", "/login", urllib.parse.urlencode({"flow": "unified", "q": q, "username": p["user"],
                                                         "password": p["password"]}),
              {"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    cookie = r.getheader("Set-Cookie", "").split(";")[0]
    if r.status != 302 or not cookie:
        sys.exit("login-codes: the fake IdP refused the login (HTTP %d)" % r.status)
    codes = []
    lock = threading.Lock()
    errors = []

    def worker(k):
        cc = None
        for _ in range(k):
            try:
                cc = cc or conn()
                cc.request("GET", "/unified-login?" + q, headers={"Cookie": cookie})
                rr = cc.getresponse()
                rr.read()
                if rr.getheader("Connection", "").lower() == "close" or rr.version == 10:
                    cc.close()
                    cc = None
                loc = rr.getheader("Location", "")
                code = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query).get("code", [None])[0]
                if rr.status != 302 or not code:
                    raise RuntimeError("HTTP %d %s" % (rr.status, loc))
                with lock:
                    codes.append(code)
            except Exception as e:  # noqa: BLE001
                errors.append(str(e))
                cc = None
    threads = [threading.Thread(target=worker, args=(n // 8 + (1 if i < n % 8 else 0),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("login-codes: %d errors, first: %s" % (len(errors), errors[0]))
    with open(out, "w") as f:
        f.write("\n".join(codes) + "\n")


# ---------------------------------------------------------------- report
def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def cmd_report(jsonl, facts_path, out):
    runs = [json.loads(l) for l in open(jsonl) if l.strip().startswith("{")]
    facts = json.load(open(facts_path))
    by = {}
    for r in runs:
        by.setdefault(r["label"], []).append(r)

    def med(label, key):
        return median([r[key] for r in by.get(label, [])])

    def cpu_per_req(label):
        """median over runs of CPU ms per answered request, per component"""
        comps = {}
        for r in by.get(label, []):
            n = max(r.get("requests") or r.get("answered") or 0, 1)   # answered inside the window
            for k, v in (r.get("cpu") or {}).items():
                comps.setdefault(k, []).append(v * 1000.0 / n)
        return {k: median(v) for k, v in comps.items()}

    hello = med("hello", "rps") or 0

    def own_cost(label):
        """CPU ms per request of the processes of the benchmark (load generator, apache, FastCGI, postgres,
        fakes): what a request costs, whatever else the machine does."""
        c = cpu_per_req(label)
        return sum(v for k, v in c.items() if not k.startswith("machine"))
    hello_cost = own_cost("hello") if "hello" in by else 0
    L = []
    L.append("# koogate benchmark results\n")
    L.append("Written by `bench/run.sh` (`make bench`) on %s. Loopback only; load generator `bench/load.c` "
             "(one thread, epoll, HTTP/1.1 keep-alive, every request freshly signed with its own nonce and "
             "timestamp).\n" % facts["date"])
    L.append("## Machine\n")
    L.append("| | |\n|---|---|")
    for k in ("code", "binaries", "cpu_model", "cores", "kernel", "memory", "postgres", "apache", "fcgid", "load"):
        if k in facts:
            L.append("| %s | %s |" % (k.replace("_", " "), facts[k]))
    L.append("")
    L.append("## Throughput and latency (closed loop, median of %s runs of %s s, %s connections)\n"
             % (facts["rounds"], facts["seconds"], facts["conns"]))
    L.append("| kind | req/s | ratio to hello | CPU ms per request | ratio by CPU cost | p50 ms | p90 ms | p99 ms | max ms | errors (http / result / io) | target |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    targets = {"query1": 0.70, "new_noqo": 0.50}
    order = [("hello", "hello (ceiling)"), ("query1", "queryInstance, 1 id"), ("query100", "queryInstance, 100 ids"),
             ("new", "newInstance, Query Order inline"), ("new_noqo", "newInstance, Query Order by the worker"), ("authsync10", "authSync, 10 users"), ("authsync500", "authSync, 500 users"),
             ("login", "login callback"), ("query1_1m", "queryInstance, 1 id, 1,000,000 instances"),
             ("query100_1m", "queryInstance, 100 ids, 1,000,000 instances")]
    verdicts = []
    for label, name in order:
        if label not in by:
            continue
        rps = med(label, "rps")
        ratio = rps / hello if hello else 0
        errs = "%d / %d / %d" % tuple(sum(r[k] for r in by[label]) for k in ("http_errors", "result_errors", "io_errors"))
        tgt = ""
        if label in targets:
            met = ratio >= targets[label]
            tgt = "≥ %d %%: %s" % (targets[label] * 100, "met" if met else "**not met**")
            verdicts.append(("%s ≥ %d %% of the ceiling" % (name, targets[label] * 100),
                             "%.1f %%" % (ratio * 100), met))
        cost = own_cost(label)
        L.append("| %s | %.0f | %.1f %% | %.3f | %.1f %% | %.2f | %.2f | %.2f | %.1f | %s | %s |" % (
            name, rps, ratio * 100, cost, hello_cost / cost * 100 if cost else 0,
            med(label, "p50_us") / 1e3, med(label, "p90_us") / 1e3,
            med(label, "p99_us") / 1e3, max(r["max_us"] for r in by[label]) / 1e3, errs, tgt))
    L.append("")
    L.append("`CPU ms per request` is the CPU time the benchmark's own processes (load generator, Apache, the "
             "FastCGI programs, PostgreSQL, the fakes) spent per answered request inside the measured window; "
             "`ratio by CPU cost` is hello's cost divided by the kind's: the throughput ratio a CPU-bound run "
             "would show on a machine with nothing else running (see the CPU table).\n")
    if "login" in by:
        L.append("The login callback is measured with %s requests per run (each needs a fresh one-time code from "
                 "the fake IdP, fetched beforehand), %s connections; every callback makes two HTTPS calls to the "
                 "fake IdP (Python, `tests/fakes/idp.py`), so it measures koogate plus that fake.\n"
                 % (facts.get("login_codes"), facts.get("login_conns")))

    slow = facts.get("slow") or {}
    if slow:
        L.append("Requests that spent 1 s or more in the web server (access log `%%D`, whole run): %s. mod_fcgid "
                 "waits in steps of about one second when no process of the class is free.\n" % ", ".join(
                     "%s %d of %d (max %.2f s)" % (k, v[1], v[0], v[2] / 1e6) for k, v in sorted(slow.items())))

    # half load
    half = [l for l in by if l.startswith("half_")]
    if half:
        L.append("## Latency at half of the maximum load (open loop, fixed rate, median of %s runs)\n" % facts["rounds"])
        L.append("| kind | max req/s (closed loop) | offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | errors | p99 < 20 ms |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
        for label in sorted(half, key=lambda x: [o[0] for o in order].index(x[5:]) if x[5:] in [o[0] for o in order] else 99):
            base = label[5:]
            p99 = med(label, "p99_us") / 1e3
            met = p99 < 20
            verdicts.append(("p99 < 20 ms at half load, %s" % dict(order).get(base, base), "%.2f ms" % p99, met))
            errs = sum(r["http_errors"] + r["result_errors"] + r["io_errors"] for r in by[label])
            L.append("| %s | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f | %.1f | %d | %s |" % (
                dict(order).get(base, base), med(base, "rps") or 0, med(label, "rate"), med(label, "rps"),
                med(label, "p50_us") / 1e3, med(label, "p90_us") / 1e3, p99,
                max(r["max_us"] for r in by[label]) / 1e3, errs, "met" if met else "**not met**"))
        L.append("")

    # CPU attribution
    L.append("## Where the CPU goes (ms of CPU per answered request, median of runs)\n")
    comps = ["client", "apache", "fcgi", "postgres", "fakes", "machine_busy", "machine_iowait"]
    L.append("| kind | load generator | apache | FastCGI program | postgres | fakes | other processes | machine busy | iowait | best ratio if the program cost nothing |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, name in order:
        if label not in by:
            continue
        c = cpu_per_req(label)
        fc = sum(v for k, v in c.items() if k.startswith("fcgi:"))
        ours = c.get("client", 0) + c.get("apache", 0) + fc + c.get("postgres", 0) + c.get("fakes", 0)
        rest = ours - fc
        L.append("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s |" % (
            name, c.get("client", 0), c.get("apache", 0), fc, c.get("postgres", 0), c.get("fakes", 0),
            max(c.get("machine_busy", 0) - ours, 0), c.get("machine_busy", 0), c.get("machine_iowait", 0),
            "%.0f %%" % (hello_cost / rest * 100) if rest > 0 and label != "hello" else ""))
    L.append("")
    L.append("`machine busy` is all CPU time of the machine (user + system + interrupts, all %s cores) divided by "
             "the answered requests; `other processes` is what of it none of the listed processes used (kernel "
             "work not charged to a process, and unrelated processes on the machine). When `machine busy` × "
             "req/s is well below %s cores, the kind is bound by waiting (locks, I/O, a process pool), not CPU. "
             "`best ratio if the program cost nothing` is hello's CPU per request divided by what the load "
             "generator, Apache, PostgreSQL and the fakes alone spent per request of the kind: the most a "
             "CPU-bound run could reach with a free koogate program, on the database work it does now.\n"
             % (facts.get("cores"), facts.get("cores")))

    # RSS
    rss = facts.get("rss") or {}
    if rss:
        L.append("## Resident memory per FastCGI process (after the runs)\n")
        L.append("| program | processes | VmRSS max MB | VmRSS mean MB | RssAnon max MB | PSS mean MB | VmHWM max MB | < 10 MB |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for prog in sorted(rss):
            ps = rss[prog]
            mx = max(p["VmRSS"] for p in ps) / 1024
            met = mx < 10
            if prog != "hello":
                verdicts.append(("resident < 10 MB per process, %s" % prog, "%.1f MB" % mx, met))
            pss = [p["Pss"] for p in ps if p.get("Pss") is not None]
            L.append("| %s | %d | %.1f | %.1f | %.1f | %s | %.1f | %s |" % (
                prog, len(ps), mx, sum(p["VmRSS"] for p in ps) / len(ps) / 1024,
                max(p.get("RssAnon", 0) for p in ps) / 1024,
                "%.1f" % (sum(pss) / len(pss) / 1024) if pss else "-",
                max(p.get("VmHWM", 0) for p in ps) / 1024, "met" if met else "**not met**"))
        L.append("")
        L.append("VmRSS counts every shared-library page a process has touched (libcrypto, libc, and GnuTLS, "
                 "Kerberos and LDAP pulled in by Debian's libpq), although those pages are shared by all "
                 "processes; RssAnon (heap, stacks) and PSS (shared pages divided among their users) are what "
                 "one more process costs.\n")
        L.append("FastCGI process management (apache-conf/koogate.conf): %s. Processes per class at the end: %s.\n"
                 % (facts.get("fcgid_settings", "?"), facts.get("procs", "?")))

    # usage push
    u = facts.get("usage")
    if u:
        met = u.get("ok") and u["seconds"] < 10
        verdicts.append(("10,000-record usage backlog drained < 10 s", "%.2f s" % u["seconds"], met))
        L.append("## Usage push backlog\n")
        L.append("| records | batches | seconds | records/s | accepted by the fake | left pending | < 10 s |")
        L.append("|---:|---:|---:|---:|---:|---:|---|")
        L.append("| %d | %s | %.2f | %.0f | %s | %s | %s |" % (
            u["records"], u.get("batches"), u["seconds"], u["records"] / u["seconds"] if u["seconds"] else 0,
            u.get("accepted"), u.get("left"), "met" if met else "**not met**"))
        L.append("")
        L.append("`build/koogate usage push` against `tests/fakes/koogallery.py` over TLS (throwaway CA in "
                 "`ca_file`), new API (signature/ts/nonce headers), batches of 100.\n")

    if "query1_1m" in by or "query100_1m" in by:
        L.append("## queryInstance with 1,000 vs 1,000,000 instances\n")
        L.append("| ids per request | req/s, 1,000 | req/s, 1,000,000 | change | PostgreSQL CPU ms per request, 1,000 | same, 1,000,000 | p50 ms, 1,000 | p50 ms, 1,000,000 | p99 ms, 1,000 | p99 ms, 1,000,000 |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for small, big, n in (("query1", "query1_1m", 1), ("query100", "query100_1m", 100)):
            if small in by and big in by:
                a, b = med(small, "rps"), med(big, "rps")
                L.append("| %d | %.0f | %.0f | %+.1f %% | %.3f | %.3f | %.2f | %.2f | %.2f | %.2f |" % (
                    n, a, b, (b / a - 1) * 100 if a else 0, cpu_per_req(small).get("postgres", 0),
                    cpu_per_req(big).get("postgres", 0), med(small, "p50_us") / 1e3, med(big, "p50_us") / 1e3,
                    med(small, "p99_us") / 1e3, med(big, "p99_us") / 1e3))
        L.append("")
        L.append("The 1,000,000-instance runs come last, after the others, so the machine's background load differs "
                 "from the 1,000-instance runs; PostgreSQL's CPU per request is the steadier comparison.\n")

    floor = facts.get("floor") or []
    if floor:
        L.append("## The database alone (pgbench, the same statements, %s clients, nothing else running)\n" % facts["conns"])
        L.append("| what one request sends | per second | WAL bytes per request | ratio to hello | the stack measured |")
        L.append("|---|---:|---:|---:|---:|")
        for label, name, stack in (("claim", "the bookkeeping call alone (nonce claim + one audit row)", None),
                                   ("query1", "queryInstance: bookkeeping + the read", "query1"),
                                   ("new", "newInstance: bookkeeping + find + create with order row and event (synchronous commit)", "new_noqo")):
            xs = [f["tps"] for f in floor if f["label"] == "floor_" + label]
            if not xs:
                continue
            tps = median(xs)
            wal = median([f.get("wal_bytes", 0) for f in floor if f["label"] == "floor_" + label])
            got = med(stack, "rps") if stack and stack in by else None
            L.append("| %s | %.0f | %.0f | %.1f %% | %s |" % (name, tps, wal, tps / hello * 100 if hello else 0,
                     "%.0f (%.1f %%)" % (got, got / hello * 100) if got and hello else ""))
        L.append("")
        L.append("pgbench (prepared statements, 2 threads) shares the same cores but is a lighter client than the "
                 "web tier, so these rates bound the whole stack from above: a kind whose database-only rate is "
                 "below its target share of the ceiling cannot meet the target on this machine.\n")

    L.append("## Targets\n")
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    for name, val, met in verdicts:
        L.append("| %s | %s | %s |" % (name, val, "met" if met else "**not met**"))
    L.append("")
    if facts.get("notes"):
        L.append("## Notes\n")
        for n in facts["notes"]:
            L.append("* " + n)
        L.append("")
    text = "\n".join(L)
    with open(out, "w") as f:
        f.write(text)
    print(text)


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    fn = {"rss": cmd_rss, "procs": cmd_procs, "login-setup": cmd_login_setup,
          "login-codes": cmd_login_codes, "report": cmd_report}.get(cmd)
    if not fn:
        print(__doc__)
        return 2
    fn(*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
