#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Set up and run the end-to-end browser login test (tests/browser/login.mjs) against a running koogate
stack (tools/stack.sh), with the fake tenant IdP (tests/fakes/idp.py).

    tests/browser/run.py --env VAR/stack.env [--scenarios web,workbench,redirect,cas,refused,jit,renewal,idp-error,iframe] [--no-restart] [-v]
    tests/browser/run.py --smoke          only the fake IdP and the browser (no koogate needed)

What it does (each step prints `ok setup: ...` or `FAIL setup: ...`):
  1. In $KOOGATE_VAR/browser: a test CA and a certificate for 127.0.0.1 signed by it; the IdP's
     clients.json and users.json; starts tests/fakes/idp.py on a free port (IDP_BASE).
  2. Writes the login keys into $KOOGATE_CONFIG (app_id, login_unified_url, login_callback_url,
     cas_callback_url, login_landing_url, logout_redirect_url, ca_file [the test CA appended to any
     existing ca_file], rsa_private_key [generated with `koogate keygen` if missing]) and restarts the
     stack with the same server, port and state directory (the FastCGI programs read the configuration
     only when they start).
  3. Provisions through koogate's own interfaces, signed by tests/fixture_runner.py's signer:
     V2 newInstance -> instanceId; Kit V2 tenantSync (domainName = IDP_BASE), applicationSync
     (clientSecret RSA-OAEP SHA-256/MGF1-SHA1 encrypted with the stack's public key, `openssl pkeyutl`),
     authSync (an enabled admin user, and a disabled user for the `refused` scenario).
  4. Runs `node tests/browser/login.mjs` with KOOGATE_BASE, IDP_BASE, LOGIN_USER, LOGIN_PASSWORD,
     KOOGATE_TENANT, SCREENSHOT_DIR (= $KOOGATE_VAR/browser/screenshots), LOGOUT_LANDING, ...
  5. Checks that the user of the `jit` scenario (known to the IdP, never sent by authSync) was created
     just in time and flagged as not yet synced (D34).
  6. For the `iframe` scenario: switches koogate to login_mode = workbench with frame_ancestors naming a
     page on another site (http://localhost:P, served by the browser itself), restarts the stack, and
     runs login.mjs's `iframe` scenario (the workbench login inside that page's iframe, login.md §11);
     the configuration file is put back to web mode afterwards (a later start uses it).
  7. Stops the IdP. Ends with `N passed, N failed` over the setup steps and login.mjs's steps.

Needs: python3, openssl, node >= 20 (playwright-core 1.65), /usr/bin/chromium (Debian package `chromium`), and
tests/browser/node_modules (`npm ci` in tests/browser; done here when missing).
"""
import argparse
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
IDP = os.path.join(REPO, "tests", "fakes", "idp.py")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

passed = failed = 0


def ok(name):
    global passed
    passed += 1
    print("ok setup: %s" % name, flush=True)


def fail(name, why):
    global failed
    failed += 1
    print("FAIL setup: %s: %s" % (name, why), flush=True)


class SetupError(Exception):
    pass


def step(name, fn, *a, **kw):
    try:
        r = fn(*a, **kw)
    except SetupError as e:
        fail(name, e)
        raise
    except Exception as e:  # noqa: BLE001
        fail(name, "%s: %s" % (type(e).__name__, e))
        raise SetupError(str(e))
    ok(name)
    return r


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        raise SetupError("%s failed (%d): %s" % (" ".join(cmd[:3]), r.returncode, (r.stderr or r.stdout).strip()[-600:]))
    return r.stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def load_runner():
    sys.dont_write_bytecode = True   # no tests/__pycache__ in the work tree
    spec = importlib.util.spec_from_file_location("fixture_runner", os.path.join(REPO, "tests", "fixture_runner.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


# ---------------------------------------------------------------- certificates, IdP
def make_certs(d):
    if os.path.exists(os.path.join(d, "idp.pem")) and os.path.exists(os.path.join(d, "ca.pem")):
        return
    def ossl(*a):
        run(["openssl"] + list(a), cwd=d)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
         "-subj", "/CN=koogate browser-test CA")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "idp.key", "-out", "idp.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", "idp.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "idp.pem",
         "-days", "30", "-extfile", "ext.cnf")
    os.chmod(os.path.join(d, "ca.pem"), 0o644)


def start_idp(d, port, clients, users, verbose):
    cpath, upath = os.path.join(d, "clients.json"), os.path.join(d, "users.json")
    for path, doc in ((cpath, clients), (upath, users)):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
        os.chmod(path, 0o600)
    log = open(os.path.join(d, "idp.log"), "w")
    cmd = [sys.executable, IDP, "--port", str(port), "--cert", os.path.join(d, "idp.pem"), "--key", os.path.join(d, "idp.key"),
           "--clients", cpath, "--users", upath]
    if verbose:
        cmd.append("--verbose")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    for _ in range(100):
        if proc.poll() is not None:
            raise SetupError("idp.py exited (%s); see %s" % (proc.returncode, log.name))
        with open(log.name) as f:
            if "listening on" in f.read():
                return proc
        time.sleep(0.1)
    proc.terminate()
    raise SetupError("idp.py did not start")


def stop_idp(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---------------------------------------------------------------- koogate configuration
def conf_get(text, key):
    m = None
    for m in re.finditer(r"(?m)^[ \t]*%s[ \t]*=[ \t]*(.*?)[ \t]*$" % re.escape(key), text):
        return m.group(1)
    return None


def conf_set(text, key, value):
    line = "%s = %s" % (key, value)
    pat = re.compile(r"(?m)^[ \t]*%s[ \t]*=.*$" % re.escape(key))
    if pat.search(text):
        return pat.sub(lambda _: line, text, count=1)
    if not text.endswith("\n"):
        text += "\n"
    return text + line + "\n"


def configure(env, d, idp_base, app_id):
    conf = env["KOOGATE_CONFIG"]
    with open(conf, encoding="utf-8") as f:
        text = f.read()
    st = os.stat(conf)
    gid = st.st_gid

    # RSA key for applicationSync: keep the stack's, or make one.
    key = conf_get(text, "rsa_private_key")
    if not key or not os.path.exists(key):
        key = os.path.join(d, "rsa.pem")
        run([os.path.join(env["KOOGATE_BUILD"], "koogate"), "keygen", "--out", key, "--force"])
        os.chown(key, -1, gid)
        os.chmod(key, 0o640)
        text = conf_set(text, "rsa_private_key", key)
    pub = os.path.join(d, "rsa.pub.pem")
    run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub])

    # Trust the test CA for the outbound IdP calls without dropping a CA another test configured.
    bundle = os.path.join(d, "ca-bundle.pem")
    old = conf_get(text, "ca_file")
    parts = []
    if old and os.path.abspath(old) != bundle and os.path.exists(old):
        with open(old) as f:
            parts.append(f.read())
        with open(os.path.join(d, "ca_file.orig"), "w") as f:
            f.write(old)
    elif os.path.exists(os.path.join(d, "ca_file.orig")):
        with open(os.path.join(d, "ca_file.orig")) as f:
            o = f.read().strip()
        if os.path.exists(o):
            with open(o) as g:
                parts.append(g.read())
    with open(os.path.join(d, "ca.pem")) as f:
        parts.append(f.read())
    with open(bundle, "w") as f:
        f.write("\n".join(p.strip() + "\n" for p in parts))
    os.chmod(bundle, 0o644)

    kb = env["KOOGATE_BASE"].rstrip("/")
    for k, v in (("app_id", app_id),
                 ("login_unified_url", idp_base + "/unified-login/#/portal-login?ind=UNOP&appId={appId}"),
                 ("login_callback_url", kb + "/koogate/callback"),
                 ("cas_callback_url", kb + "/koogate/cas-callback"),
                 ("login_landing_url", "/koogate/session?view=page"),
                 ("login_mode", "web"), ("frame_ancestors", "'self'"),
                 ("logout_redirect_url", idp_base + "/_page?name=logged-out"),
                 ("ca_file", bundle)):
        text = conf_set(text, k, v)
    with open(conf, "w", encoding="utf-8") as f:   # in place: keeps mode and owner
        f.write(text)
    return pub


def start_workbench_page(port, src):
    """The workbench: a page on http://localhost:port (another site than koogate's 127.0.0.1, and still a
    loopback address, which Chromium's local-network checks require) embedding src in an iframe."""
    import html
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    body = ('<!DOCTYPE html><meta charset="utf-8"><title>workbench</title><h1>Workbench</h1>'
            '<iframe id="app" src="%s" width="900" height="600"></iframe>' % html.escape(src)).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path.startswith("/workbench") else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def workbench_mode(env, embed):
    """login_mode = workbench embedded by embed (or back to web mode with embed None)."""
    conf = env["KOOGATE_CONFIG"]
    with open(conf, encoding="utf-8") as f:
        text = f.read()
    text = conf_set(text, "login_mode", "workbench" if embed else "web")
    text = conf_set(text, "frame_ancestors", embed or "'self'")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(text)


def restart_stack(env_path, env):
    port = re.sub(r"^https?://[^:]+:(\d+).*$", r"\1", env["KOOGATE_BASE"])
    stack = os.path.join(REPO, "tools", "stack.sh")
    subprocess.run([stack, "stop", "--var", env["KOOGATE_VAR"]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run([stack, "start", "--server", env["KOOGATE_SERVER"], "--var", env["KOOGATE_VAR"], "--build", env["KOOGATE_BUILD"],
         "--port", port])
    return port


# ---------------------------------------------------------------- provisioning through the interfaces
def call(fr, ctx, name, sign, path, body):
    case = {"name": name, "request": {"sign": sign, "path": path, "body": body}}
    info, resp = fr.build_and_send(case, fr.Scope(None), ctx, fr.CaseState(), "browser")
    obj = resp.json()
    if resp.status != 200 or not isinstance(obj, dict) or obj.get("resultCode") != "000000":
        raise SetupError("%s: HTTP %d %s" % (path or "newInstance", resp.status, resp.excerpt(300)))
    return obj


def kit_ts():
    t = time.gmtime(time.time() + 8 * 3600)   # yyyyMMddHHmmssSSS, UTC+8
    return time.strftime("%Y%m%d%H%M%S", t) + "%03d" % (int(time.time() * 1000) % 1000)


def rsa_encrypt(pub, plaintext):
    r = subprocess.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pub, "-pkeyopt", "rsa_padding_mode:oaep",
                        "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha1"],
                       input=plaintext.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SetupError("openssl pkeyutl: " + r.stderr.decode(errors="replace"))
    import base64
    return base64.b64encode(r.stdout).decode()


def provision(fr, ctx, p, pub):
    order = fr.gen_order_id()
    biz = str(uuid.uuid4())
    o = call(fr, ctx, "newInstance", "v2", "", {"activity": "newInstance", "orderId": order, "orderLineId": order + "-000001",
                                                 "businessId": biz, "testFlag": "0"})
    iid = o.get("instanceId") or biz
    p["instance"] = iid
    call(fr, ctx, "tenantSync", "kit", "/produceAPI/v2/tenantSync",
         {"instanceId": iid, "orderId": order, "tenantId": p["tenant"], "tenantCode": p["tenant_code"], "name": "E2E tenant",
          "domainName": p["idp_base"], "flag": 1, "testFlag": 0, "timeStamp": kit_ts()})
    call(fr, ctx, "applicationSync", "kit", "/produceAPI/v2/applicationSync",
         {"instanceId": iid, "tenantId": p["tenant"], "appId": p["app_id"], "clientId": p["client_id"],
          "clientSecret": rsa_encrypt(pub, p["client_secret"]), "flag": 1, "testFlag": 0, "timeStamp": kit_ts()})
    users = [{"userName": p["user"], "name": p["name"], "orgCode": "10000", "role": "admin", "enable": "true",
              "mobile": "12345678901", "email": "e2e@example.com"},
             {"userName": p["disabled_user"], "name": "李四", "orgCode": "10000", "role": "user", "enable": "false"}]
    call(fr, ctx, "authSync", "kit", "/produceAPI/v2/authSync",
         {"instanceId": iid, "tenantId": p["tenant"], "appId": p["app_id"], "userList": users, "currentSyncTime": kit_ts(),
          "flag": 1, "testFlag": 0, "timeStamp": kit_ts()})


# ---------------------------------------------------------------- browser prerequisites
def ensure_browser_deps():
    if not shutil.which("node"):
        raise SetupError("node not found (Debian packages nodejs npm)")
    if not os.access(CHROMIUM, os.X_OK):
        raise SetupError("%s not found (Debian package chromium; tools/deps.sh)" % CHROMIUM)
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE)


def run_node(env_extra, args=()):
    env = dict(os.environ)
    env.update(env_extra)
    proc = subprocess.Popen(["node", os.path.join(HERE, "login.mjs")] + list(args), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    p = f = None
    for line in proc.stdout:
        m = re.fullmatch(r"(\d+) passed, (\d+) failed\s*", line)
        if m:
            p, f = int(m.group(1)), int(m.group(2))
            print("login.mjs: " + line, end="", flush=True)
        else:
            print(line, end="", flush=True)
    rc = proc.wait()
    if p is None:
        return 0, 1, "login.mjs printed no summary (exit status %d)" % rc
    if rc != 0 and f == 0:
        return p, 1, "login.mjs exit status %d" % rc
    return p, f, None


def main(argv):
    global passed, failed
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env", help="stack.env written by tools/stack.sh")
    ap.add_argument("--scenarios", default=os.environ.get("SCENARIOS", "web,workbench,redirect,cas,refused,jit,renewal,idp-error,iframe"))
    ap.add_argument("--no-restart", action="store_true", help="do not restart the stack after writing the configuration")
    ap.add_argument("--smoke", action="store_true", help="fake IdP + browser only")
    ap.add_argument("--workdir", help="default: $KOOGATE_VAR/browser (smoke: a temporary directory)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)

    idp = None
    tmp = None
    try:
        step("browser prerequisites (node, chromium, playwright-core)", ensure_browser_deps)
        if a.smoke:
            d = a.workdir or __import__("tempfile").mkdtemp(prefix="kg-browser-smoke.")
            tmp = None if a.workdir else d
            os.makedirs(d, exist_ok=True)
            step("test CA and IdP certificate", make_certs, d)
            port = free_port()
            idp_base = "https://127.0.0.1:%d" % port
            dead = "http://127.0.0.1:%d" % free_port()     # nothing listens: the callback is only observed
            user, pw = "smoke.user", secrets.token_urlsafe(12)
            clients = {"smoke-client": {"secret": secrets.token_urlsafe(16), "redirect_uris": [dead + "/koogate/callback"],
                                        "tenant": "smoke-tenant", "app_id": "smoke-app"}}
            users = {user: {"password": pw, "name": "Smoke", "role": "user", "tenant": "smoke-tenant", "organizationCode": "1"}}
            idp = step("fake IdP started on %s" % idp_base, start_idp, d, port, clients, users, a.verbose)
            p2, f2, why = run_node({"IDP_BASE": idp_base, "APP_ID": "smoke-app", "LOGIN_USER": user, "LOGIN_PASSWORD": pw,
                                    "CALLBACK_PREFIX": dead + "/koogate/callback",
                                    "SCREENSHOT_DIR": os.environ.get("SCREENSHOT_DIR", os.path.join(d, "screenshots"))},
                                   ["--smoke"])
            passed += p2
            failed += f2
            if why:
                print("FAIL login.mjs: %s" % why)
            return 0 if failed == 0 else 1

        fr = load_runner()
        if not a.env:
            raise SetupError("--env VAR/stack.env is required")
        env = dict(os.environ)
        try:
            env.update(fr.read_env_file(a.env))
        except OSError as e:
            raise SetupError("cannot read %s: %s (start the stack first: tools/stack.sh start)" % (a.env, e))
        for k in ("KOOGATE_BASE", "KOOGATE_CONFIG", "KOOGATE_VAR", "KOOGATE_BUILD", "KOOGATE_SERVER", "KOOGATE_KIT_KEY"):
            if not env.get(k):
                raise SetupError("%s missing in %s" % (k, a.env))
        d = a.workdir or os.path.join(env["KOOGATE_VAR"], "browser")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        step("test CA and IdP certificate", make_certs, d)

        port = free_port()
        idp_base = "https://127.0.0.1:%d" % port
        h = secrets.token_hex(4)
        p = {"idp_base": idp_base, "tenant": uuid.uuid4().hex, "tenant_code": "e2e" + h, "app_id": "kgapp" + h,
             "client_id": secrets.token_hex(20), "client_secret": secrets.token_urlsafe(24),
             "user": "zhangsan.e2e", "name": "张三", "password": "Pw-" + secrets.token_urlsafe(12),
             "disabled_user": "lisi.e2e", "disabled_password": "Pw-" + secrets.token_urlsafe(12),
             "jit_user": "wangwu.jit%s" % h, "jit_password": "Pw-" + secrets.token_urlsafe(12)}
        kb = env["KOOGATE_BASE"].rstrip("/")
        clients = {p["client_id"]: {"secret": p["client_secret"], "redirect_uris": [kb + "/koogate/callback"],
                                    "cas_services": [kb + "/koogate/cas-callback"], "tenant": p["tenant"], "app_id": p["app_id"]}}
        users = {p["user"]: {"password": p["password"], "name": p["name"], "role": "admin", "tenant": p["tenant"],
                             "organizationCode": "10000", "email": "e2e@example.com", "mobile": "12345678901"},
                 p["disabled_user"]: {"password": p["disabled_password"], "name": "李四", "role": "user", "tenant": p["tenant"],
                                      "organizationCode": "10000"},
                 # known to the IdP, never sent by authSync (D34)
                 p["jit_user"]: {"password": p["jit_password"], "name": "王五", "role": "user", "tenant": p["tenant"],
                                 "organizationCode": "10000"}}
        idp = step("fake IdP started on %s" % idp_base, start_idp, d, port, clients, users, a.verbose)
        pub = step("koogate configuration (login keys, ca_file, rsa_private_key)", configure, env, d, idp_base, p["app_id"])
        if not a.no_restart:
            step("stack restarted to load the configuration", restart_stack, a.env, env)
            env.update(fr.read_env_file(a.env))
        ctx = fr.Context(env)
        step("provisioned: newInstance, tenantSync, applicationSync, authSync", provision, fr, ctx, p, pub)

        node_env = {
            "KOOGATE_BASE": kb, "IDP_BASE": idp_base, "LOGIN_USER": p["user"], "LOGIN_PASSWORD": p["password"],
            "LOGIN_NAME": p["name"], "KOOGATE_TENANT": p["tenant"], "KOOGATE_TENANT_CODE": p["tenant_code"],
            "KOOGATE_INSTANCE": p["instance"], "APP_ID": p["app_id"],
            "DISABLED_USER": p["disabled_user"], "DISABLED_PASSWORD": p["disabled_password"],
            "JIT_USER": p["jit_user"], "JIT_PASSWORD": p["jit_password"],
            "LOGOUT_LANDING": idp_base + "/_page?name=logged-out",
            "SCREENSHOT_DIR": os.environ.get("SCREENSHOT_DIR", os.path.join(d, "screenshots"))}
        scenarios = [x.strip() for x in a.scenarios.split(",") if x.strip()]
        web_scenarios = [x for x in scenarios if x != "iframe"]
        if web_scenarios:
            p2, f2, why = run_node(dict(node_env, SCENARIOS=",".join(web_scenarios)))
            passed += p2
            failed += f2
            if why:
                print("FAIL login.mjs: %s" % why)
        if "jit" in web_scenarios:
            def jit_row():
                rows = fr.psql(ctx, "SELECT synced::text, role FROM tenant_user WHERE tenant_id = '%s' AND user_name = '%s'"
                               % (p["tenant"], p["jit_user"]))
                if rows != [["false", "user"]]:
                    raise SetupError("tenant_user row of %s: %r, expected [['false', 'user']]" % (p["jit_user"], rows))
            try:
                step("D34: the jit user was created just in time, flagged as not yet synced", jit_row)
            except SetupError:
                pass        # counted; the iframe stage still runs
        if "iframe" in scenarios:
            port = free_port()
            embed = "http://localhost:%d" % port
            page = step("workbench page on %s/workbench" % embed, start_workbench_page, port,
                        "%s/koogate/login?tenant=%s" % (kb, p["tenant"]))
            try:
                step("koogate in login_mode = workbench, frame_ancestors = %s (defaults: SameSite=None)" % embed,
                     workbench_mode, env, embed)
                if not a.no_restart:
                    step("stack restarted in workbench mode", restart_stack, a.env, env)
                p2, f2, why = run_node(dict(node_env, SCENARIOS="iframe", EMBED_ORIGIN=embed, KG_EXPECT_SAMESITE="None"))
                passed += p2
                failed += f2
                if why:
                    print("FAIL login.mjs: %s" % why)
            finally:
                page.shutdown()
                workbench_mode(env, None)
    except SetupError as e:
        if not str(e) or failed == 0:
            fail("setup", e)
    except Exception as e:  # noqa: BLE001 - a runner bug must still end with the summary line
        fail("setup", "%s: %s" % (type(e).__name__, e))
    finally:
        stop_idp(idp)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
