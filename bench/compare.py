#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""bench/compare.py — is any path slower than in another version? Two checkouts, each built (make all,
make -f bench/Makefile), each on a stack of its own (its own tools/stack.sh, Apache, the same machine),
the same rows seeded in both; then rounds of short runs alternating between the two, so that a busy
machine slows both alike. Prints, per kind, the median requests per second of each, the ratio
new / old, and PostgreSQL's and the program's CPU per request (steadier than rates on a shared machine).

    bench/compare.py --old ../koogate-old [--new .] [--instances 100000] [--seconds 5] [--rounds 3]

Kinds: hello, queryInstance with 1 and with 100 ids, newInstance (Query Order left to the worker:
order_fetch_inline = 0 on both). Everything started is stopped on exit.
"""
import argparse, json, os, statistics, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from runner.variables import free_port  # noqa: E402

KINDS = (("hello", ["--kind", "hello"]),
         ("query1", ["--kind", "query", "--ids-prefix", "bench-", "--ids-per-req", "1"]),
         ("query100", ["--kind", "query", "--ids-prefix", "bench-", "--ids-per-req", "100"]),
         ("new", ["--kind", "new"]))


class Stack:
    def __init__(self, name, checkout, var):
        self.name, self.checkout, self.var = name, os.path.abspath(checkout), os.path.abspath(var)

    def start(self, instances):
        subprocess.run([self.checkout + "/tools/stack.sh", "stop", "--var", self.var], capture_output=True)
        subprocess.run(["rm", "-rf", self.var], check=True)
        r = subprocess.run([self.checkout + "/tools/stack.sh", "start", "--server", "apache", "--var", self.var,
                            "--port", str(free_port()), "--set", "order_fetch_inline=0"]
                           + [a for kv in self.settings for a in ("--set", kv)],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit("compare: %s stack did not start:\n%s" % (self.name, r.stderr[-2000:]))
        self.env = dict(os.environ)
        for line in open(self.var + "/stack.env"):
            if line.startswith("export "):
                k, v = line[7:].strip().split("=", 1)
                self.env[k] = v
        self.psql("INSERT INTO instance (instance_id, generation, order_id, order_line_id, business_id, status,"
                  " app_front_end_url, app_user_name) SELECT 'bench-' || lpad(g::text, 7, '0'), 2, 'CSCMP' || g, '',"
                  " 'bench-' || g, 'active', 'https://app.example.com/', 'admin' FROM generate_series(0, %d) g" % (instances - 1))
        self.psql("VACUUM ANALYZE instance")
        data = self.psql("SHOW data_directory", su=True).strip()
        self.postmaster = int(open(data + "/postmaster.pid").readline())
        self.httpd = int(open(self.env["KOOGATE_PIDFILE"]).read())

    def psql(self, sql, su=False):
        cmd = ["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql] + (["-U", "postgres"] if su else [])
        r = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        if r.returncode:
            sys.exit("compare: %s: %s" % (self.name, r.stderr.strip()))
        return r.stdout

    def stop(self):
        subprocess.run([self.checkout + "/tools/stack.sh", "stop", "--var", self.var], capture_output=True)

    def cpu(self):
        """CPU ticks of PostgreSQL (with its exited children) and of the FastCGI programs."""
        procs = {}
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    s = open("/proc/%s/stat" % p).read()
                except OSError:
                    continue
                f = s[s.rfind(")") + 2:].split()
                procs[int(p)] = (s[s.find("(") + 1:s.rfind(")")], int(f[1]), int(f[11]) + int(f[12]),
                                 int(f[13]) + int(f[14]))
        kids = {}
        for pid, (_, ppid, _, _) in procs.items():
            kids.setdefault(ppid, []).append(pid)

        def tree(root):
            out, todo = [], [root]
            while todo:
                x = todo.pop()
                out.append(x)
                todo += kids.get(x, [])
            return out
        pg = sum(procs[p][2] for p in tree(self.postmaster) if p in procs) + procs.get(self.postmaster, (0, 0, 0, 0))[3]
        prog = sum(procs[p][2] for p in tree(self.httpd)
                   if p in procs and procs[p][0] not in ("apache2", "httpd"))
        return pg, prog

    def run(self, args, seconds, load):
        a = self.cpu()
        out = subprocess.run([load, "--url", self.env["KOOGATE_BASE"], "--conns", "16", "--duration", str(seconds),
                              "--ids-count", str(self.instances)] + args,
                             env=self.env, capture_output=True, text=True).stdout
        b = self.cpu()
        d = json.loads(out.strip().splitlines()[-1])
        n = max(d["answered"], 1)
        tick = os.sysconf("SC_CLK_TCK")
        bad = d["http_errors"] + d["result_errors"] + d["io_errors"]
        return {"rps": d["rps"], "pg_ms": (b[0] - a[0]) * 1000 / tick / n, "prog_ms": (b[1] - a[1]) * 1000 / tick / n,
                "bad": bad}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--instances", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--var", default="var/compare")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting for both stacks (e.g. usage_info=0 to compare without a feature the old one lacks)")
    o = ap.parse_args()
    stacks = [Stack("old", o.old, o.var + "-old"), Stack("new", o.new, o.var + "-new")]
    try:
        for s in stacks:
            s.instances, s.settings = o.instances, o.set
            s.start(o.instances)
        for s in stacks:     # every program's processes started before anything is measured
            for _, args in KINDS:
                s.run(args, 2, s.checkout + "/build/bench/load")
        res = {(s.name, k): [] for s in stacks for k, _ in KINDS}
        for r in range(o.rounds):
            for kind, args in KINDS:
                for s in (stacks if r % 2 == 0 else stacks[::-1]):
                    res[(s.name, kind)].append(s.run(args, o.seconds, s.checkout + "/build/bench/load"))
        print("| kind | old req/s | new req/s | new / old | PostgreSQL ms/req old → new | program ms/req old → new |")
        print("|---|---:|---:|---:|---:|---:|")
        for kind, _ in KINDS:
            m = {s.name: {k: statistics.median(x[k] for x in res[(s.name, kind)]) for k in ("rps", "pg_ms", "prog_ms")}
                 for s in stacks}
            bad = sum(x["bad"] for s in stacks for x in res[(s.name, kind)])
            print("| %s | %.0f | %.0f | %.2f | %.3f → %.3f | %.3f → %.3f |%s" % (
                kind, m["old"]["rps"], m["new"]["rps"], m["new"]["rps"] / m["old"]["rps"] if m["old"]["rps"] else 0,
                m["old"]["pg_ms"], m["new"]["pg_ms"], m["old"]["prog_ms"], m["new"]["prog_ms"],
                "  (%d bad answers)" % bad if bad else ""))
        print("\n%d instances, %d rounds of %d s per kind and version, alternating; medians." % (
            o.instances, o.rounds, o.seconds))
    finally:
        for s in stacks:
            s.stop()


if __name__ == "__main__":
    main()
