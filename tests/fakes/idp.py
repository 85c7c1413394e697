#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A fake of a tenant's identity provider (Huawei Cloud OneAccess at the tenant's `domainName`) and of
the marketplace's unified login page, for koogate's login tests (spec/login.md §3-§10). Python 3
standard library only; the self-test also needs the `openssl` command line.

It checks what the real service checks: registered clients and redirect URIs, single-use codes bound
to a client and to the authorize `redirect_uri`, short-lived codes, client credentials in the form body,
bearer tokens with `Accept: application/json`, rotating refresh tokens, single-use CAS tickets bound to
the exact `service` string. Error bodies are the documented ones (Spring Security OAuth wording).

  idp.py --cert C --key K --port P --clients CLIENTS.json --users USERS.json
         [--host 127.0.0.1] [--access-ttl 7200] [--code-ttl 60] [--ticket-ttl 300]
         [--refresh-ttl 2592000] [--no-refresh] [--verbose]
  idp.py --selftest            starts one on a free port with throw-away certificates and checks
                               every endpoint; prints `N passed, N failed`

--port 0 picks a free port. On start it prints `idp: listening on https://HOST:PORT` to stderr.
CLIENTS.json (re-read on every request, so tests may add clients while it runs):
  {"<client_id>": {"secret": "...", "redirect_uris": ["https://app/cb", ...], "tenant": "<tenantId>",
                   "app_id": "<appId>"?, "cas_services": ["https://app/cas-cb", ...]?,
                   "scopes": ["get_user_info"]?}}
  A redirect URI entry that is only an origin ("https://app.example.com") admits any URL on it
  ("the registered callback or its domain", login.md §5); otherwise the match is exact. CAS services
  are matched without their query string against cas_services (default: redirect_uris).
USERS.json (re-read on every request):
  {"<userName>": {"password": "...", "name": "...", "role": "admin|user", "tenant": "<tenantId>",
                  "organizationCode": "...", "email"?, "mobile"?, "id"?, <any other userinfo field>?}}
  A user can only log in for a client (or CAS service) of their own tenant.

Endpoints:
  GET  /unified-login?ind=UNOP&appId=A[&callback=URL]  marketplace unified login (login.md §3); also
       /unified-login/#/portal-login?ind=UNOP&appId=A (the real URL's shape: a small script moves the
       fragment into the query). After login: 302 to CALLBACK?code=..&tenant=.. (no state); CALLBACK is
       `callback` (must be registered) or the first redirect_uri of the user's tenant's client whose
       app_id is A.
  GET  /api/v1/oauth2/authorize?response_type=code&client_id&redirect_uri&scope&state      (§5)
  POST /login                       the login form's target (username, password, flow, q)
  POST /api/v1/oauth2/token         grant_type=authorization_code | refresh_token (§6, §7)
  GET  /api/v1/oauth2/userinfo      Authorization: Bearer, Accept: application/json (§8)
  GET  /api/v1/logout?redirect_url=URL                                                   (§9)
  GET  /api/v1/cas/login?service=URL, /api/v1/cas/p3/serviceValidate, /api/v1/cas/logout (§10)
Test controls (no authentication):
  GET /_control?access_ttl=N | code_ttl=N | ticket_ttl=N | refresh=on|off | revoke_refresh=all |
               expire_access=all | fail_token=STATUS[&times=N] | fail_userinfo=STATUS[&times=N] |
               cas_attrs=scalar|array | reset=1         (several may be combined; answers the settings)
  GET /_state   counts of live sessions/codes/tokens/tickets, the settings, and the requests received:
                method, path, query (secret values masked), form field names, authorization scheme,
                Accept, Content-Type, answer status. Never a secret.
  GET /_page?name=X   a plain page `<h1 id="page">X</h1>` (a post-logout landing page for tests)
"""
import argparse
import datetime
import hashlib
import html
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSION_COOKIE = "oa_session"
SECRET_NAMES = {"code", "ticket", "client_secret", "password", "refresh_token", "access_token"}
CAS_NS = "http://www.yale.edu/tp/cas"
UNAUTHORIZED = {"error": "unauthorized", "error_description": "Full authentication is required to access this resource"}
MAX_REQUESTS = 2000


def now():
    return time.time()


def token(prefix="", n=24):
    return prefix + secrets.token_urlsafe(n)


def add_params(url, pairs):
    """url with pairs appended to its query (before any fragment), with '?' or '&' as needed."""
    base, hash_, frag = url.partition("#")
    extra = urllib.parse.urlencode(pairs)
    if "?" in base:
        sep = "" if base.endswith("?") or base.endswith("&") else "&"
    else:
        sep = "?"
    return base + sep + extra + (hash_ + frag if hash_ else "")


def origin_only(u):
    p = urllib.parse.urlsplit(u)
    return p.scheme in ("http", "https") and p.netloc and p.path in ("", "/") and not p.query


def same_origin(a, b):
    pa, pb = urllib.parse.urlsplit(a), urllib.parse.urlsplit(b)
    return (pa.scheme.lower(), (pa.hostname or "").lower(), pa.port) == (pb.scheme.lower(), (pb.hostname or "").lower(), pb.port)


def redirect_allowed(requested, registered):
    for r in registered:
        if requested == r:
            return True
        if origin_only(r) and same_origin(requested, r):
            return True
    return False


def service_allowed(service, registered):
    s = urllib.parse.urlsplit(service)
    if s.scheme not in ("http", "https") or not s.netloc:
        return False
    bare = urllib.parse.urlunsplit((s.scheme, s.netloc, s.path, "", ""))
    for r in registered:
        if origin_only(r) and same_origin(service, r):
            return True
        rp = urllib.parse.urlsplit(r)
        if bare == urllib.parse.urlunsplit((rp.scheme, rp.netloc, rp.path, "", "")):
            return True
    return False


def is_alnum(s):
    return s.isascii() and s.isalnum()


class State:
    """Everything the IdP remembers. All access under self.lock."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        a = self.args
        self.settings = {"access_ttl": a.access_ttl, "code_ttl": a.code_ttl, "ticket_ttl": a.ticket_ttl,
                         "refresh": a.issue_refresh, "refresh_ttl": a.refresh_ttl, "cas_attrs": "scalar",
                         "fail_token": None, "fail_token_times": 0, "fail_userinfo": None, "fail_userinfo_times": 0}
        self.sessions = {}   # sid -> {user, tenant, created}
        self.codes = {}      # code -> {client_id, redirect_param, redirect_target, user, expires}
        self.access = {}     # token -> {user, tenant, client_id, expires}
        self.refresh = {}    # token -> {user, tenant, client_id, expires}
        self.tickets = {}    # ticket -> {service, user, tenant, expires, new_login}
        self.requests = []

    def purge(self):
        t = now()
        for d in (self.codes, self.access, self.refresh, self.tickets):
            for k in [k for k, v in d.items() if v["expires"] <= t]:
                del d[k]

    def counts(self):
        self.purge()
        return {"sessions": len(self.sessions), "codes": len(self.codes), "access_tokens": len(self.access),
                "refresh_tokens": len(self.refresh), "tickets": len(self.tickets)}


def load_json(path):
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return d if isinstance(d, dict) else {}
    except (OSError, ValueError) as e:
        sys.stderr.write("idp: cannot read %s: %s\n" % (path, e))
        return {}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s</title>
<style>body{font-family:sans-serif;margin:3em auto;max-width:28em}label{display:block;margin:.6em 0}
input[type=text],input[type=password]{width:100%%;padding:.3em}.error{color:#b00}</style></head>
<body>%(body)s</body></html>
"""


def page(title, body):
    return (PAGE % {"title": html.escape(title), "body": body}).encode("utf-8")


def login_form(flow, q, error=None, heading="Sign in"):
    err = '<p class="error" id="login-error">%s</p>' % html.escape(error) if error else ""
    body = """<h1 id="idp-title">Fake OneAccess: %s</h1>%s
<form method="post" action="/login" id="login-form">
<input type="hidden" name="flow" value="%s">
<input type="hidden" name="q" value="%s">
<label>Account <input type="text" name="username" id="username" autocomplete="username"></label>
<label>Password <input type="password" name="password" id="password" autocomplete="current-password"></label>
<button type="submit" id="login">Log in</button>
</form>""" % (html.escape(heading), err, html.escape(flow), html.escape(q))
    return page("Fake OneAccess login", body)


UNIFIED_SHIM = page("Unified login", """<p id="shim">Loading...</p>
<script>
(function () {
  var h = location.hash || "";
  var i = h.indexOf("?");
  if (i >= 0) { location.replace("/unified-login?" + h.substring(i + 1)); }
  else { document.getElementById("shim").textContent = "missing ind/appId"; }
})();
</script>""")


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-oneaccess"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK (about 40 ms a call), which the real service does not add.
    disable_nagle_algorithm = True

    # ------------------------------------------------------------------ plumbing
    def log_message(self, fmt, *args):
        pass

    @property
    def st(self):
        return self.server.state

    def clients(self):
        return load_json(self.server.args.clients)

    def users(self):
        return load_json(self.server.args.users)

    def record(self, form_names=None):
        u = urllib.parse.urlsplit(self.path)
        q = {}
        for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True):
            q[k] = "***" if k in SECRET_NAMES else v
        auth = self.headers.get("Authorization")
        rec = {"t": round(now(), 3), "method": self.command, "path": u.path, "query": q,
               "form": sorted(form_names) if form_names is not None else None,
               "authorization": auth.split(" ", 1)[0] if auth else None,
               "accept": self.headers.get("Accept"), "content_type": self.headers.get("Content-Type"),
               "cookie": SESSION_COOKIE in (self.headers.get("Cookie") or ""), "status": None}
        with self.st.lock:
            self.st.requests.append(rec)
            del self.st.requests[:-MAX_REQUESTS]
        self._rec = rec

    def send(self, status, body=b"", ctype="text/html; charset=utf-8", headers=()):
        if getattr(self, "_rec", None) is not None:
            self._rec["status"] = status
        if self.server.args.verbose:
            sys.stderr.write("idp: %s %s -> %d\n" % (self.command, urllib.parse.urlsplit(self.path).path, status))
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, doc, headers=()):
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send(status, body, "application/json;charset=UTF-8", headers)

    def redirect(self, location, headers=()):
        self.send(302, b"", "text/html; charset=utf-8", [("Location", location)] + list(headers))

    def error_page(self, status, error, description):
        self.send(status, page("OAuth Error", '<h1>OAuth Error</h1><p id="oauth-error">error="%s", error_description="%s"</p>'
                                % (html.escape(error), html.escape(description))))

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            return None
        return self.rfile.read(n) if n > 0 else b""

    def form(self):
        """The form-encoded body (only for application/x-www-form-urlencoded), else {}."""
        raw = self.read_body() or b""
        ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ct != "application/x-www-form-urlencoded":
            return {}, ct
        try:
            pairs = urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            pairs = []
        d = {}
        for k, v in pairs:
            d.setdefault(k, v)
        return d, ct

    def session(self):
        """(sid, session) of the request's IdP cookie, or (None, None)."""
        raw = self.headers.get("Cookie") or ""
        for part in raw.split(";"):
            k, _, v = part.strip().partition("=")
            if k == SESSION_COOKIE:
                with self.st.lock:
                    s = self.st.sessions.get(v)
                if s:
                    return v, s
        return None, None

    def set_session(self, user, tenant):
        sid = token("", 32)
        with self.st.lock:
            self.st.sessions[sid] = {"user": user, "tenant": tenant, "created": now()}
        return ("Set-Cookie", "%s=%s; Path=/; HttpOnly; Secure; SameSite=None" % (SESSION_COOKIE, sid))

    def clear_session(self):
        sid, _ = self.session()
        if sid:
            with self.st.lock:
                self.st.sessions.pop(sid, None)
        return ("Set-Cookie", "%s=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=None"
                % SESSION_COOKIE)

    # ------------------------------------------------------------------ dispatch
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = {}
        for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True):
            q.setdefault(k, v)
        path = u.path
        if path == "/_state":
            with self.st.lock:
                doc = dict(self.st.counts())
                doc["settings"] = dict(self.st.settings)
                doc["requests"] = list(self.st.requests)
            return self.send_json(200, doc)
        if path == "/_control":
            return self.control(q)
        self.record()
        routes = {
            "/unified-login": self.unified_login, "/unified-login/": self.unified_login,
            "/api/v1/oauth2/authorize": self.authorize,
            "/api/v1/oauth2/userinfo": self.userinfo,
            "/api/v1/logout": self.logout,
            "/api/v1/cas/login": self.cas_login,
            "/api/v1/cas/p3/serviceValidate": self.cas_validate,
            "/api/v1/cas/logout": self.cas_logout,
            "/login": lambda q: self.send(200, login_form("none", "")),
            "/_page": lambda q: self.send(200, page(q.get("name", "page"), '<h1 id="page">%s</h1>' % html.escape(q.get("name", "page")))),
        }
        fn = routes.get(path)
        if fn is None:
            if path == "/api/v1/oauth2/token":
                return self.send_json(405, {"error": "method_not_allowed", "error_description": "Request method 'GET' not supported"})
            return self.send_json(404, {"error": "not_found", "error_description": "No handler for " + path})
        return fn(q)

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/api/v1/oauth2/token":
            return self.token()
        if path == "/login":
            return self.login_post()
        self.read_body()
        self.record()
        if path == "/api/v1/oauth2/userinfo":
            return self.send_json(405, {"error": "method_not_allowed", "error_description": "Request method 'POST' not supported"})
        return self.send_json(404, {"error": "not_found", "error_description": "No handler for " + path})

    # ------------------------------------------------------------------ test controls
    def control(self, q):
        s = self.st
        with s.lock:
            if q.get("reset"):
                s.reset()
            for k in ("access_ttl", "code_ttl", "ticket_ttl", "refresh_ttl"):
                if k in q:
                    s.settings[k] = max(0, int(q[k]))
            if "refresh" in q:
                s.settings["refresh"] = q["refresh"] not in ("off", "0", "false", "no")
            if q.get("revoke_refresh") == "all":
                s.refresh.clear()
            if q.get("expire_access") == "all":
                for v in s.access.values():
                    v["expires"] = 0
                s.purge()
            for k in ("fail_token", "fail_userinfo"):
                if k in q:
                    v = q[k]
                    s.settings[k] = int(v) if v and v not in ("0", "off") else None
                    s.settings[k + "_times"] = int(q.get("times", "1")) if s.settings[k] else 0
            if "cas_attrs" in q:
                s.settings["cas_attrs"] = "array" if q["cas_attrs"] == "array" else "scalar"
            doc = {"ok": True, "settings": dict(s.settings)}
        return self.send_json(200, doc)

    def take_failure(self, name):
        with self.st.lock:
            st = self.st.settings
            if st[name] and st[name + "_times"] > 0:
                st[name + "_times"] -= 1
                code = st[name]
                if st[name + "_times"] == 0:
                    st[name] = None
                return code
        return None

    # ------------------------------------------------------------------ login pages
    def user_for(self, username, password, tenant):
        """The user record if the credentials are right and the user belongs to tenant (None: any)."""
        u = self.users().get(username)
        if not isinstance(u, dict) or not isinstance(u.get("password"), str):
            return None
        if not secrets.compare_digest(u["password"].encode(), (password or "").encode()):
            return None
        if tenant is not None and u.get("tenant") != tenant:
            return None
        return u

    def session_user(self, tenant):
        """The logged-in user name of the IdP session if it belongs to tenant (None: any)."""
        sid, s = self.session()
        if not s:
            return None
        u = self.users().get(s["user"])
        if not isinstance(u, dict):
            return None
        if tenant is not None and u.get("tenant") != tenant:
            return None
        return s["user"]

    def unified_client(self, q):
        """(client_id, client, callback) or an error string. The client is chosen by appId (and later
        narrowed to the user's tenant)."""
        if "appId" not in q and "ind" not in q:
            return None
        if q.get("ind") != "UNOP":
            return "ind must be UNOP"
        app_id = q.get("appId", "")
        if not app_id:
            return "appId is required"
        cands = [(cid, c) for cid, c in self.clients().items() if isinstance(c, dict) and c.get("app_id") == app_id]
        if not cands:
            return "unknown appId"
        return cands

    def unified_login(self, q):
        cands = self.unified_client(q)
        if cands is None:
            return self.send(200, UNIFIED_SHIM)
        if isinstance(cands, str):
            return self.error_page(400, "invalid_request", cands)
        cb = q.get("callback")
        if cb and not any(redirect_allowed(cb, c.get("redirect_uris", [])) for _, c in cands):
            return self.error_page(400, "invalid_request", "callback is not a registered login address of this app")
        user = self.session_user(None)
        if user:
            done = self.finish_unified(q, user)
            if done:
                return done
        return self.send(200, login_form("unified", urllib.parse.urlencode(q), heading="marketplace unified login"))

    def finish_unified(self, q, username, extra_headers=()):
        cands = self.unified_client(q)
        if not isinstance(cands, list):
            return None
        u = self.users().get(username) or {}
        mine = [(cid, c) for cid, c in cands if c.get("tenant") == u.get("tenant")]
        if not mine:
            return None
        cb = q.get("callback")
        cid, c = mine[0]
        if cb:
            m = [(i, cc) for i, cc in mine if redirect_allowed(cb, cc.get("redirect_uris", []))]
            if not m:
                return None
            cid, c = m[0]
            target = cb
        else:
            uris = c.get("redirect_uris") or []
            if not uris:
                return None
            target = uris[0]
        code = self.issue_code(cid, None, target, username)
        return self.redirect(add_params(target, [("code", code), ("tenant", c.get("tenant", ""))]), extra_headers) or True

    def check_authorize(self, q):
        """(client_id, client, target redirect) or an (error, description) pair."""
        if q.get("response_type") != "code":
            return ("unsupported_response_type", "Unsupported response types: [%s]" % q.get("response_type", ""))
        cid = q.get("client_id", "")
        c = self.clients().get(cid)
        if not cid or not isinstance(c, dict):
            return ("invalid_client", "Bad client credentials")
        uris = c.get("redirect_uris") or []
        ru = q.get("redirect_uri")
        if ru is not None:
            if not redirect_allowed(ru, uris):
                return ("invalid_grant", "Invalid redirect: %s does not match one of the registered values." % ru)
            target = ru
        else:
            if not uris or origin_only(uris[0]):
                return ("invalid_request", "A redirect_uri must be supplied.")
            target = uris[0]
        scopes = c.get("scopes") or ["get_user_info"]
        for sc in (q.get("scope") or "").split():
            if sc not in scopes:
                return ("invalid_scope", "Invalid scope: %s" % sc)
        if "state" in q and not (q["state"] and is_alnum(q["state"])):
            return ("invalid_request", "state must be letters and digits")
        return (cid, c, target)

    def authorize(self, q):
        r = self.check_authorize(q)
        if len(r) == 2:
            return self.error_page(400, *r)
        cid, c, target = r
        user = self.session_user(c.get("tenant"))
        if user:
            return self.finish_authorize(q, user)
        return self.send(200, login_form("oauth", urllib.parse.urlencode(q)))

    def finish_authorize(self, q, username, extra_headers=()):
        r = self.check_authorize(q)
        if len(r) == 2:
            return self.error_page(400, *r)
        cid, c, target = r
        code = self.issue_code(cid, q.get("redirect_uri"), target, username)
        pairs = [("code", code)]
        if "state" in q:
            pairs.append(("state", q["state"]))
        pairs.append(("tenant", c.get("tenant", "")))
        return self.redirect(add_params(target, pairs), extra_headers)

    def issue_code(self, cid, redirect_param, target, username):
        code = token("", 18)
        with self.st.lock:
            self.st.codes[code] = {"client_id": cid, "redirect_param": redirect_param, "redirect_target": target,
                                   "user": username, "expires": now() + self.st.settings["code_ttl"]}
        return code

    def cas_registered(self, service):
        """The client whose CAS services admit service, or None."""
        for cid, c in self.clients().items():
            if isinstance(c, dict) and service_allowed(service, c.get("cas_services") or c.get("redirect_uris") or []):
                return c
        return None

    def cas_login(self, q):
        service = q.get("service")
        if not service:
            user = self.session_user(None)
            if user:
                return self.send(200, page("Logged in", '<p id="logged-in">Logged in as %s</p>' % html.escape(user)))
            return self.send(200, login_form("none", ""))
        c = self.cas_registered(service)
        if c is None:
            return self.send(400, page("CAS error", '<p id="cas-error">Application not authorized to use CAS: %s</p>' % html.escape(service)))
        if q.get("renew") != "true":
            user = self.session_user(c.get("tenant"))
            if user:
                return self.finish_cas(q, user, new_login=False)
        return self.send(200, login_form("cas", urllib.parse.urlencode(q), heading="CAS sign in"))

    def finish_cas(self, q, username, extra_headers=(), new_login=True):
        service = q.get("service", "")
        c = self.cas_registered(service)
        if c is None:
            return self.send(400, page("CAS error", '<p id="cas-error">Application not authorized to use CAS</p>'))
        ticket = "ST-" + secrets.token_urlsafe(24).replace("_", "x").replace("-", "y")
        with self.st.lock:
            self.st.tickets[ticket] = {"service": service, "user": username, "tenant": c.get("tenant"),
                                       "new_login": new_login, "auth_date": now(),
                                       "expires": now() + self.st.settings["ticket_ttl"]}
        return self.redirect(add_params(service, [("ticket", ticket)]), extra_headers)

    def login_post(self):
        f, _ = self.form()
        self.record(form_names=list(f.keys()))
        flow = f.get("flow", "none")
        qs = f.get("q", "")
        q = {}
        for k, v in urllib.parse.parse_qsl(qs, keep_blank_values=True):
            q.setdefault(k, v)
        tenant = None
        if flow == "oauth":
            r = self.check_authorize(q)
            if len(r) == 2:
                return self.error_page(400, *r)
            tenant = r[1].get("tenant")
        elif flow == "cas":
            c = self.cas_registered(q.get("service", ""))
            if c is None:
                return self.send(400, page("CAS error", '<p id="cas-error">Application not authorized to use CAS</p>'))
            tenant = c.get("tenant")
        elif flow == "unified":
            cands = self.unified_client(q)
            if not isinstance(cands, list):
                return self.error_page(400, "invalid_request", cands or "appId is required")
        username = f.get("username", "")
        u = self.user_for(username, f.get("password", ""), tenant)
        if flow == "unified" and u is not None and not any(c.get("tenant") == u.get("tenant") for _, c in cands):
            u = None
        if u is None:
            return self.send(200, login_form(flow, qs, error="Incorrect account or password."))
        cookie = self.set_session(username, u.get("tenant"))
        if flow == "oauth":
            return self.finish_authorize(q, username, [cookie])
        if flow == "cas":
            return self.finish_cas(q, username, [cookie])
        if flow == "unified":
            if self.finish_unified(q, username, [cookie]):
                return None
            return self.error_page(400, "invalid_request", "no login address for this app")
        return self.send(200, page("Logged in", '<p id="logged-in">Logged in as %s</p>' % html.escape(username)), headers=[cookie])

    # ------------------------------------------------------------------ token endpoint
    def token(self):
        f, ct = self.form()
        self.record(form_names=list(f.keys()))
        fail = self.take_failure("fail_token")
        if fail:
            if fail == 403:
                return self.send_json(403, {"error": "access_denied", "error_description": "Access is denied"})
            return self.send_json(fail, {"error": "server_error", "error_description": "Internal Server Error"})
        cid = f.get("client_id")
        if not cid:
            # Credentials must be in the body (login.md §6); a Basic header alone does not count.
            return self.send_json(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
        c = self.clients().get(cid)
        if not isinstance(c, dict):
            return self.send_json(401, {"error": "invalid_client", "error_description": "Client ID mismatch"})
        if not secrets.compare_digest(str(c.get("secret", "")).encode(), f.get("client_secret", "").encode()):
            return self.send_json(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
        grant = f.get("grant_type")
        if not grant:
            return self.send_json(400, {"error": "invalid_request", "error_description": "Missing grant type"})
        if grant == "authorization_code":
            return self.grant_code(cid, c, f)
        if grant == "refresh_token":
            return self.grant_refresh(cid, c, f)
        return self.send_json(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type: " + grant})

    def grant_code(self, cid, c, f):
        bad = {"error": "invalid_grant", "error_description": "Invalid authorization code"}
        code = f.get("code", "")
        with self.st.lock:
            ent = self.st.codes.pop(code, None)   # consumed on first use, whatever happens next
        if not code or ent is None or ent["expires"] <= now():
            return self.send_json(400, bad)
        if ent["client_id"] != cid:
            return self.send_json(400, bad)
        # Spring's rule: a redirect_uri sent at authorize must be sent again and equal; one sent now
        # without one at authorize must equal the redirect target used.
        sent = f.get("redirect_uri")
        if ent["redirect_param"] is not None or sent is not None:
            want = ent["redirect_param"] if ent["redirect_param"] is not None else ent["redirect_target"]
            if sent != want:
                return self.send_json(400, {"error": "invalid_grant", "error_description": "Redirect URI mismatch."})
        return self.send_json(200, self.issue_tokens(cid, ent["user"]), [("Pragma", "no-cache")])

    def grant_refresh(self, cid, c, f):
        bad = {"error": "invalid_grant", "error_description": "Invalid refresh token"}
        rt = f.get("refresh_token", "")
        with self.st.lock:
            ent = self.st.refresh.get(rt)
            if not rt or ent is None or ent["expires"] <= now() or ent["client_id"] != cid:
                ent = None
            else:
                del self.st.refresh[rt]
        if ent is None:
            return self.send_json(400, bad)
        doc = self.issue_tokens(cid, ent["user"], force_refresh=True)
        return self.send_json(200, doc, [("Pragma", "no-cache")])

    def issue_tokens(self, cid, user, force_refresh=False):
        u = self.users().get(user) or {}
        with self.st.lock:
            s = self.st.settings
            at = token("", 24)
            self.st.access[at] = {"user": user, "tenant": u.get("tenant"), "client_id": cid,
                                  "expires": now() + s["access_ttl"]}
            doc = {"access_token": at, "token_type": "Bearer", "expires_in": s["access_ttl"], "scope": "get_user_info"}
            if s["refresh"] or force_refresh:
                rt = token("", 24)
                self.st.refresh[rt] = {"user": user, "tenant": u.get("tenant"), "client_id": cid,
                                       "expires": now() + s["refresh_ttl"]}
                doc["refresh_token"] = rt
        return doc

    # ------------------------------------------------------------------ userinfo
    def userinfo(self, q):
        auth = self.headers.get("Authorization") or ""
        scheme, _, tok = auth.partition(" ")
        tok = tok.strip()
        with self.st.lock:
            ent = self.st.access.get(tok) if scheme.lower() == "bearer" and tok else None
            if ent is not None and ent["expires"] <= now():
                ent = None
        if ent is None:
            return self.send_json(401, UNAUTHORIZED, [("WWW-Authenticate", 'Bearer realm="oauth2-resource", error="unauthorized"')])
        accept = (self.headers.get("Accept") or "").lower()
        if "application/json" not in accept:
            return self.send_json(406, {"error": "not_acceptable", "error_description": "Accept: application/json is required"})
        fail = self.take_failure("fail_userinfo")
        if fail:
            return self.send_json(fail, {"error": "server_error", "error_description": "Internal Server Error"})
        u = self.users().get(ent["user"])
        if not isinstance(u, dict):
            return self.send_json(401, UNAUTHORIZED)
        return self.send_json(200, self.user_doc(ent["user"], u))

    @staticmethod
    def user_id(username, u):
        return u.get("id") or hashlib.sha256(("%s/%s" % (u.get("tenant"), username)).encode()).hexdigest()[:32]

    def user_doc(self, username, u):
        doc = {"id": self.user_id(username, u), "userName": username}
        for k, v in u.items():
            if k in ("password", "id") or v is None:
                continue
            doc[k] = v
        doc.setdefault("userId", doc["id"])
        return doc

    # ------------------------------------------------------------------ logout
    @staticmethod
    def absolute_url(u):
        p = urllib.parse.urlsplit(u)
        return u == u.strip() and p.scheme in ("http", "https") and bool(p.netloc)

    def logout(self, q):
        target = q.get("redirect_url")
        if target is not None and not self.absolute_url(target):
            return self.send(400, page("Logout error", '<p id="logout-error">redirect_url must be an absolute http(s) URL</p>'))
        cookie = self.clear_session()
        return self.redirect(target or "/login", [cookie])

    def cas_logout(self, q):
        target = q.get("service")
        if target is not None and not self.absolute_url(target):
            return self.send(400, page("Logout error", '<p id="logout-error">service must be an absolute http(s) URL</p>'))
        cookie = self.clear_session()
        return self.redirect(target or "/api/v1/cas/login", [cookie])

    # ------------------------------------------------------------------ CAS validation
    def cas_validate(self, q):
        fmt = (q.get("format") or "XML").upper()
        if fmt not in ("XML", "JSON"):
            fmt = "XML"
        service, ticket = q.get("service"), q.get("ticket")
        if not service or not ticket:
            return self.cas_failure(fmt, "INVALID_REQUEST", "'service' and 'ticket' parameters are both required", ticket or "")
        with self.st.lock:
            ent = self.st.tickets.pop(ticket, None)   # single use, whatever happens next
        if ent is None or ent["expires"] <= now() or not ticket.startswith("ST-"):
            return self.cas_failure(fmt, "INVALID_TICKET", None, ticket)
        if ent["service"] != service:
            return self.cas_failure(fmt, "INVALID_SERVICE", "Ticket %s does not match supplied service. The original service was %s and the supplied service was %s."
                                    % (ticket, ent["service"], service), ticket)
        u = self.users().get(ent["user"]) or {}
        attrs = [("authenticationDate", datetime.datetime.fromtimestamp(ent["auth_date"], datetime.timezone.utc)
                  .strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (int(ent["auth_date"] * 1000) % 1000)),
                 ("longTermAuthenticationRequestTokenUsed", "false"),
                 ("isFromNewLogin", "true" if ent["new_login"] else "false")]
        for k in ("role", "organizationCode", "name"):
            if u.get(k) is not None:
                attrs.append((k, str(u[k])))
        attrs.append(("userName", ent["user"]))
        if u.get("tenant") is not None:
            attrs.append(("tenant", str(u["tenant"])))
        with self.st.lock:
            arrays = self.st.settings["cas_attrs"] == "array"
        if fmt == "JSON":
            a = {k: ([v] if arrays else v) for k, v in attrs if k not in ("authenticationDate", "longTermAuthenticationRequestTokenUsed", "isFromNewLogin")}
            return self.send_json(200, {"serviceResponse": {"authenticationSuccess": {"user": ent["user"], "attributes": a}}})
        e = html.escape
        lines = ['<cas:serviceResponse xmlns:cas="%s">' % CAS_NS, " <cas:authenticationSuccess>",
                 "  <cas:user>%s</cas:user>" % e(ent["user"]), "  <cas:attributes>"]
        for k, v in attrs:
            lines.append("   <cas:%s>%s</cas:%s>" % (k, e(v), k))
        lines += ["  </cas:attributes>", " </cas:authenticationSuccess>", "</cas:serviceResponse>", ""]
        return self.send(200, "\n".join(lines).encode("utf-8"), "application/xml;charset=UTF-8")

    def cas_failure(self, fmt, code, desc, ticket):
        if fmt == "JSON":
            d = desc or "the ticket provided was not valid, ticket is %s" % ticket
            return self.send_json(200, {"serviceResponse": {"authenticationFailure": {"code": code, "description": d}}})
        d = desc or "Ticket %s not recognized" % ticket
        body = '<cas:serviceResponse xmlns:cas="%s"><cas:authenticationFailure code="%s">%s</cas:authenticationFailure></cas:serviceResponse>' % (
            CAS_NS, code, html.escape(d))
        return self.send(200, body.encode("utf-8"), "application/xml;charset=UTF-8")


# ============================================================================ server

def make_server(args):
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    srv.args = args
    srv.state = State(args)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    return srv


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Fake OneAccess / unified login for koogate's login tests")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--clients")
    ap.add_argument("--users")
    ap.add_argument("--access-ttl", type=int, default=7200)
    ap.add_argument("--code-ttl", type=int, default=60)
    ap.add_argument("--ticket-ttl", type=int, default=300)
    ap.add_argument("--refresh-ttl", type=int, default=30 * 86400)
    ap.add_argument("--issue-refresh", dest="issue_refresh", action="store_true", default=True)
    ap.add_argument("--no-refresh", dest="issue_refresh", action="store_false")
    ap.add_argument("--verbose", action="store_true", help="one line per request on stderr (path and status only)")
    a = ap.parse_args(argv)
    if not a.selftest:
        for k in ("cert", "key", "clients", "users"):
            if not getattr(a, k):
                ap.error("--%s is required" % k)
    return a


def main(argv):
    args = parse_args(argv)
    if args.selftest:
        return selftest()
    srv = make_server(args)
    sys.stderr.write("idp: listening on https://%s:%d\n" % (args.host, srv.server_address[1]))
    sys.stderr.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


# ============================================================================ self-test

def selftest():
    import concurrent.futures
    import http.client
    import re
    import shutil
    import socket
    import subprocess
    import tempfile
    import xml.etree.ElementTree as ET

    tmp = tempfile.mkdtemp(prefix="idp-selftest.")
    proc = None
    results = []

    def check(name, cond, detail=""):
        results.append((name, bool(cond)))
        print(("ok %s" % name) if cond else ("FAIL %s: %s" % (name, detail)))
        sys.stdout.flush()

    try:
        # ---- certificates: a CA and a leaf for 127.0.0.1 signed by it (so the client verifies fully)
        def ossl(*a):
            subprocess.run(["openssl"] + list(a), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp)
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=idp selftest CA")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "idp.key", "-out", "idp.csr", "-subj", "/CN=127.0.0.1")
        with open(os.path.join(tmp, "ext.cnf"), "w") as fh:
            fh.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        ossl("x509", "-req", "-in", "idp.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "idp.pem",
             "-days", "2", "-extfile", "ext.cnf")

        T1, T2 = "tenant-one-0001", "tenant-two-0002"
        APP = "app-selftest-1"
        CB = "https://app.example.com/koogate/callback"
        CAS_CB = "https://app.example.com/koogate/cas-callback"
        clients = {
            "client-one": {"secret": "s3cret-one", "redirect_uris": [CB], "tenant": T1, "app_id": APP, "cas_services": [CAS_CB]},
            "client-two": {"secret": "s3cret-two", "redirect_uris": [CB], "tenant": T2, "app_id": APP},
        }
        users = {
            "zhangsan": {"password": "Pass-word-1", "name": "张三", "role": "admin", "tenant": T1, "organizationCode": "10000",
                         "email": "zs@example.com", "mobile": "12345678901"},
            "lisi": {"password": "Pass-word-2", "name": "李四", "role": "user", "tenant": T2, "organizationCode": "20000"},
        }
        cpath, upath = os.path.join(tmp, "clients.json"), os.path.join(tmp, "users.json")

        def write_clients():
            with open(cpath + ".tmp", "w") as fh:
                json.dump(clients, fh)
            os.replace(cpath + ".tmp", cpath)
        write_clients()
        with open(upath, "w") as fh:
            json.dump(users, fh, ensure_ascii=False)

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--port", str(port), "--cert", os.path.join(tmp, "idp.pem"),
                                 "--key", os.path.join(tmp, "idp.key"), "--clients", cpath, "--users", upath],
                                stderr=subprocess.PIPE, text=True)
        line = proc.stderr.readline()
        check("server starts", "listening on https://127.0.0.1:%d" % port in line, line)

        cactx = ssl.create_default_context(cafile=os.path.join(tmp, "ca.pem"))

        class R:
            def __init__(self, status, headers, body):
                self.status, self.headers, self.body = status, headers, body

            def h(self, name):
                return self.headers.get(name.lower())

            def json(self):
                try:
                    return json.loads(self.body)
                except ValueError:
                    return None

            @property
            def text(self):
                return self.body.decode("utf-8", "replace")

        def req(method, path, query=None, form=None, headers=None, cookie=None, body=None):
            if query:
                path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
            hdrs = dict(headers or {})
            if form is not None:
                body = urllib.parse.urlencode(form).encode()
                hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
            if cookie:
                hdrs["Cookie"] = "%s=%s" % (SESSION_COOKIE, cookie)
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=cactx, timeout=10)
            try:
                conn.request(method, path, body=body, headers=hdrs)
                r = conn.getresponse()
                hd = {}
                for k, v in r.getheaders():
                    hd.setdefault(k.lower(), v) if k.lower() != "set-cookie" else hd.setdefault("set-cookie", v)
                return R(r.status, hd, r.read())
            finally:
                conn.close()

        def cookie_of(r):
            m = re.match(r"%s=([^;]*)" % SESSION_COOKIE, r.h("set-cookie") or "")
            return m.group(1) if m else None

        def qs(url):
            return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))

        def control(**kw):
            return req("GET", "/_control", {k: str(v) for k, v in kw.items()}).json()

        def state():
            return req("GET", "/_state").json()

        def token_code(code, cid="client-one", secret="s3cret-one", redirect_uri=None, extra=None):
            f = {"grant_type": "authorization_code", "code": code, "client_id": cid, "client_secret": secret}
            if redirect_uri is not None:
                f["redirect_uri"] = redirect_uri
            f.update(extra or {})
            return req("POST", "/api/v1/oauth2/token", form=f)

        def userinfo(at, accept="application/json"):
            h = {"Authorization": "Bearer " + at}
            if accept:
                h["Accept"] = accept
            return req("GET", "/api/v1/oauth2/userinfo", headers=h)

        AUTH = {"response_type": "code", "client_id": "client-one", "redirect_uri": CB, "scope": "get_user_info", "state": "abc123XYZ"}

        def login(flow_query, path="/api/v1/oauth2/authorize", user="zhangsan", pw="Pass-word-1", cookie=None):
            """GET the form, POST it; returns (form response, post response)."""
            r1 = req("GET", path, flow_query, cookie=cookie)
            m_flow = re.search(r'name="flow" value="([^"]*)"', r1.text)
            m_q = re.search(r'name="q" value="([^"]*)"', r1.text)
            if not (m_flow and m_q):
                return r1, None
            r2 = req("POST", "/login", form={"flow": html.unescape(m_flow.group(1)), "q": html.unescape(m_q.group(1)),
                                             "username": user, "password": pw})
            return r1, r2

        # ---- TLS
        try:
            old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            old.check_hostname = False
            old.verify_mode = ssl.CERT_NONE
            old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.set_ciphers("ALL:@SECLEVEL=0")
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sk:
                with old.wrap_socket(sk):
                    pass
            check("TLS 1.1 is refused", False, "handshake succeeded")
        except (ssl.SSLError, OSError):
            check("TLS 1.1 is refused", True)
        r = req("GET", "/_page", {"name": "x"})
        check("TLS >= 1.2 with a verified certificate works", r.status == 200 and b'id="page"' in r.body, r.status)
        t12 = ssl.create_default_context(cafile=os.path.join(tmp, "ca.pem"))
        t12.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sk:
            with t12.wrap_socket(sk, server_hostname="127.0.0.1") as tls:
                v = tls.version()
        check("a TLS 1.2-only client is served", v == "TLSv1.2", v)

        # ---- authorize validation
        r = req("GET", "/api/v1/oauth2/authorize", dict(AUTH, response_type="token"))
        check("authorize: response_type other than code -> 400", r.status == 400, r.status)
        r = req("GET", "/api/v1/oauth2/authorize", dict(AUTH, client_id="nope"))
        check("authorize: unknown client_id -> 400", r.status == 400, r.status)
        r = req("GET", "/api/v1/oauth2/authorize", dict(AUTH, redirect_uri="https://evil.example.com/cb"))
        check("authorize: unregistered redirect_uri -> 400, no redirect", r.status == 400 and not r.h("location"), r.status)
        r = req("GET", "/api/v1/oauth2/authorize", dict(AUTH, scope="admin"))
        check("authorize: unknown scope -> 400", r.status == 400, r.status)
        r = req("GET", "/api/v1/oauth2/authorize", dict(AUTH, state="a-b_c"))
        check("authorize: state that is not letters and digits -> 400", r.status == 400, r.status)
        r = req("GET", "/api/v1/oauth2/authorize", AUTH)
        check("authorize without session: login form", r.status == 200 and b'<form method="post"' in r.body
              and b'name="username"' in r.body and b'name="password"' in r.body and b'id="login"' in r.body
              and b'name="q"' in r.body, r.text[:200])

        # ---- login form
        r1, r2 = login(AUTH, pw="wrong")
        check("wrong password: the form again with an error, HTTP 200, no cookie",
              r2 is not None and r2.status == 200 and b'id="login-error"' in r2.body and not cookie_of(r2), r2 and r2.status)
        r1, r2 = login(AUTH, user="lisi", pw="Pass-word-2")
        check("user of another tenant cannot log in for this client", r2 is not None and r2.status == 200 and b'id="login-error"' in r2.body,
              r2 and r2.status)
        r1, r2 = login(AUTH)
        loc = r2.h("location") if r2 else ""
        sid = cookie_of(r2) if r2 else None
        p = qs(loc or "")
        check("login: 302 to redirect_uri with code, state, tenant; session cookie",
              r2 is not None and r2.status == 302 and loc.startswith(CB + "?code=") and p.get("state") == "abc123XYZ"
              and p.get("tenant") == T1 and sid, "%s %s" % (r2 and r2.status, loc))
        sc = r2.h("set-cookie") if r2 else ""
        check("session cookie is HttpOnly; Secure; SameSite=None", all(x in sc for x in ("HttpOnly", "Secure", "SameSite=None")), sc)
        code1 = p.get("code", "")

        # ---- token
        r = token_code(code1, cid="nope")
        check("token: unknown client -> 401 Client ID mismatch",
              r.status == 401 and r.json() == {"error": "invalid_client", "error_description": "Client ID mismatch"}, r.text)
        r = token_code(code1, secret="wrong")
        check("token: wrong secret -> 401 Bad client credentials",
              r.status == 401 and r.json() == {"error": "invalid_client", "error_description": "Bad client credentials"}, r.text)
        r = req("POST", "/api/v1/oauth2/token", body=json.dumps({"grant_type": "authorization_code", "code": code1, "client_id": "client-one",
                                                                  "client_secret": "s3cret-one"}).encode(),
                headers={"Content-Type": "application/json"})
        check("token: JSON body is not accepted (form only)", r.status in (400, 401), r.status)
        r = req("POST", "/api/v1/oauth2/token", form={"grant_type": "authorization_code", "code": code1},
                headers={"Authorization": "Basic Y2xpZW50LW9uZTpzM2NyZXQtb25l"})
        check("token: credentials only in a Basic header -> 401", r.status == 401, r.status)
        r = token_code(code1, redirect_uri=CB)
        tok = r.json() or {}
        check("token: code -> 200 access_token, Bearer, expires_in 7200, scope, refresh_token",
              r.status == 200 and tok.get("token_type") == "Bearer" and tok.get("expires_in") == 7200 and tok.get("scope") == "get_user_info"
              and tok.get("access_token") and tok.get("refresh_token")
              and r.h("content-type", ).startswith("application/json"), r.text)
        r = token_code(code1, redirect_uri=CB)
        check("token: the same code again -> 400 Invalid authorization code",
              r.status == 400 and r.json() == {"error": "invalid_grant", "error_description": "Invalid authorization code"}, r.text)

        _, r2 = login(AUTH, cookie=None)
        c2 = qs(r2.h("location")).get("code")
        r = token_code(c2)
        check("token: redirect_uri sent at authorize but omitted now -> 400 Redirect URI mismatch",
              r.status == 400 and (r.json() or {}).get("error") == "invalid_grant", r.text)
        r = req("GET", "/api/v1/oauth2/authorize", AUTH, cookie=sid)
        c3 = qs(r.h("location") or "").get("code")
        check("authorize with IdP session: 302 at once with a code", r.status == 302 and c3, r.status)
        r = token_code(c3, redirect_uri=CB + "/other")
        check("token: different redirect_uri -> 400 Redirect URI mismatch",
              r.status == 400 and r.json() == {"error": "invalid_grant", "error_description": "Redirect URI mismatch."}, r.text)
        r = req("GET", "/api/v1/oauth2/authorize", {k: v for k, v in AUTH.items() if k not in ("redirect_uri", "state")}, cookie=sid)
        loc = r.h("location") or ""
        c4 = qs(loc).get("code")
        check("authorize without redirect_uri and state: registered URI, no state in the callback",
              r.status == 302 and loc.startswith(CB + "?") and "state" not in qs(loc), loc)
        r = token_code(c4, cid="client-two", secret="s3cret-two")
        check("token: code issued to another client -> 400", r.status == 400 and (r.json() or {}).get("error") == "invalid_grant", r.text)
        r = req("GET", "/api/v1/oauth2/authorize", {k: v for k, v in AUTH.items() if k != "redirect_uri"}, cookie=sid)
        c5 = qs(r.h("location") or "").get("code")
        r = token_code(c5)
        check("token: no redirect_uri at authorize nor at token -> 200", r.status == 200, r.text)

        control(code_ttl=1)
        r = req("GET", "/api/v1/oauth2/authorize", AUTH, cookie=sid)
        c6 = qs(r.h("location") or "").get("code")
        time.sleep(1.3)
        r = token_code(c6, redirect_uri=CB)
        check("token: expired code -> 400 Invalid authorization code", r.status == 400 and (r.json() or {}).get("error") == "invalid_grant", r.text)
        control(code_ttl=60)

        # ---- concurrency: one code, 12 parallel redemptions, exactly one wins
        r = req("GET", "/api/v1/oauth2/authorize", AUTH, cookie=sid)
        c7 = qs(r.h("location") or "").get("code")
        with concurrent.futures.ThreadPoolExecutor(12) as ex:
            sts = list(ex.map(lambda _: token_code(c7, redirect_uri=CB).status, range(12)))
        check("12 concurrent redemptions of one code: exactly one 200", sts.count(200) == 1 and sts.count(400) == 11, sts)

        # ---- userinfo
        at = tok.get("access_token", "")
        r = userinfo(at)
        u = r.json() or {}
        check("userinfo: fields", r.status == 200 and u.get("userName") == "zhangsan" and u.get("name") == "张三" and u.get("role") == "admin"
              and u.get("tenant") == T1 and u.get("organizationCode") == "10000" and u.get("email") and u.get("mobile") and u.get("id")
              and "password" not in u, r.text)
        r = userinfo(at, accept=None)
        check("userinfo: no Accept header -> 406", r.status == 406, r.status)
        r = userinfo(at, accept="text/html")
        check("userinfo: Accept text/html -> 406", r.status == 406, r.status)
        r = req("GET", "/api/v1/oauth2/userinfo", headers={"Accept": "application/json"})
        check("userinfo: no token -> 401 unauthorized", r.status == 401 and r.json() == UNAUTHORIZED, r.text)
        r = userinfo("not-a-token")
        check("userinfo: unknown token -> 401", r.status == 401 and r.json() == UNAUTHORIZED, r.text)
        r = req("GET", "/api/v1/oauth2/userinfo", {"access_token": at}, headers={"Accept": "application/json"})
        check("userinfo: token in the query is not accepted -> 401", r.status == 401, r.status)
        control(access_ttl=1)
        r = req("GET", "/api/v1/oauth2/authorize", AUTH, cookie=sid)
        tk = token_code(qs(r.h("location") or "").get("code"), redirect_uri=CB).json() or {}
        check("access_ttl=1: expires_in 1", tk.get("expires_in") == 1, tk.get("expires_in"))
        time.sleep(1.3)
        r = userinfo(tk.get("access_token", ""))
        check("userinfo: expired token -> 401", r.status == 401 and r.json() == UNAUTHORIZED, r.text)
        control(access_ttl=7200)
        r = userinfo(at)
        check("older long-lived token still works", r.status == 200, r.status)
        control(expire_access="all")
        r = userinfo(at)
        check("expire_access=all: token -> 401", r.status == 401, r.status)

        # ---- refresh
        rt = tok.get("refresh_token", "")
        form = {"grant_type": "refresh_token", "client_id": "client-one", "client_secret": "s3cret-one", "refresh_token": rt}
        r = req("POST", "/api/v1/oauth2/token", form=form)
        nt = r.json() or {}
        check("refresh: 200 with a new access and a new refresh token",
              r.status == 200 and nt.get("access_token") not in (None, at) and nt.get("refresh_token") not in (None, rt)
              and nt.get("token_type") == "Bearer" and nt.get("expires_in") == 7200, r.text)
        r = userinfo(nt.get("access_token", ""))
        check("refresh: the new access token works", r.status == 200, r.status)
        r = req("POST", "/api/v1/oauth2/token", form=form)
        check("refresh: the old refresh token is invalid -> 400 Invalid refresh token",
              r.status == 400 and r.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}, r.text)
        r = req("POST", "/api/v1/oauth2/token", form=dict(form, refresh_token=nt.get("refresh_token", ""), client_secret="bad"))
        check("refresh: wrong secret -> 401", r.status == 401, r.status)
        r = req("POST", "/api/v1/oauth2/token", form=dict(form, refresh_token=nt.get("refresh_token", ""), client_id="client-two",
                                                          client_secret="s3cret-two"))
        check("refresh: token of another client -> 400", r.status == 400, r.status)
        # (that attempt did not consume it? it must not have: binding is checked before consuming)
        r = req("POST", "/api/v1/oauth2/token", form=dict(form, refresh_token=nt.get("refresh_token", "")))
        nt2 = r.json() or {}
        check("refresh: rotation again works", r.status == 200 and nt2.get("refresh_token"), r.text)
        control(revoke_refresh="all")
        r = req("POST", "/api/v1/oauth2/token", form=dict(form, refresh_token=nt2.get("refresh_token", "")))
        check("revoke_refresh=all: refresh -> 400", r.status == 400 and (r.json() or {}).get("error") == "invalid_grant", r.text)
        control(refresh="off")
        r = req("GET", "/api/v1/oauth2/authorize", AUTH, cookie=sid)
        r = token_code(qs(r.h("location") or "").get("code"), redirect_uri=CB)
        check("refresh=off: no refresh_token in the answer", r.status == 200 and "refresh_token" not in (r.json() or {}), r.text)
        control(refresh="on")

        # ---- fail_token
        control(fail_token=500)
        r = req("GET", "/api/v1/oauth2/authorize", AUTH, cookie=sid)
        c8 = qs(r.h("location") or "").get("code")
        r = token_code(c8, redirect_uri=CB)
        check("fail_token=500: the next token call -> 500", r.status == 500, r.status)
        r = token_code(c8, redirect_uri=CB)
        check("fail_token: only once; the code was not consumed by the failure", r.status == 200, r.text)
        control(fail_userinfo=502)
        r = userinfo(nt.get("access_token", "x"))
        check("fail_userinfo=502 -> 502", r.status == 502, r.status)

        # ---- unified login
        r = req("GET", "/unified-login/")
        check("unified login (fragment form): script moves the fragment into the query",
              r.status == 200 and b"location.hash" in r.body, r.status)
        UQ = {"ind": "UNOP", "appId": APP}
        r = req("GET", "/unified-login", dict(UQ, ind="X"))
        check("unified login: ind other than UNOP -> 400", r.status == 400, r.status)
        r = req("GET", "/unified-login", dict(UQ, appId="unknown"))
        check("unified login: unknown appId -> 400", r.status == 400, r.status)
        r = req("GET", "/unified-login", dict(UQ, callback="https://evil.example.com/"))
        check("unified login: unregistered callback -> 400", r.status == 400, r.status)
        r1, r2 = login(UQ, path="/unified-login", user="lisi", pw="Pass-word-2")
        loc = r2.h("location") if r2 else ""
        p = qs(loc or "")
        check("unified login: 302 to the registered login address with code and tenant, no state",
              r2 is not None and r2.status == 302 and loc.startswith(CB + "?code=") and p.get("tenant") == T2 and "state" not in p,
              "%s %s" % (r2 and r2.status, loc))
        sid2 = cookie_of(r2) if r2 else None
        r = token_code(p.get("code", ""), cid="client-two", secret="s3cret-two")
        check("unified login: code redeemable by the user's tenant's client without redirect_uri", r.status == 200, r.text)
        ui = userinfo((r.json() or {}).get("access_token", "")).json() or {}
        check("unified login: userinfo of the tenant-two user", ui.get("userName") == "lisi" and ui.get("tenant") == T2, ui)
        r = req("GET", "/unified-login", UQ, cookie=sid2)
        check("unified login with an IdP session: 302 at once", r.status == 302 and (r.h("location") or "").startswith(CB + "?code="), r.status)
        r = token_code(qs(r.h("location") or "").get("code", ""), cid="client-two", secret="s3cret-two", redirect_uri=CB + "x")
        check("unified login code: a wrong redirect_uri -> 400", r.status == 400, r.status)

        # ---- logout
        before = state()["sessions"]
        r = req("GET", "/api/v1/logout", {"redirect_url": "https://app.example.com/bye"}, cookie=sid)
        check("logout: 302 to redirect_url, cookie cleared",
              r.status == 302 and r.h("location") == "https://app.example.com/bye" and "Max-Age=0" in (r.h("set-cookie") or ""), r.status)
        check("logout: the IdP session is gone", state()["sessions"] == before - 1, state()["sessions"])
        r = req("GET", "/api/v1/oauth2/authorize", AUTH, cookie=sid)
        check("after logout: authorize shows the login form again", r.status == 200 and b'id="login"' in r.body, r.status)
        r = req("GET", "/api/v1/logout")
        check("logout without redirect_url: 302 to the login page", r.status == 302 and r.h("location") == "/login", r.h("location"))
        r = req("GET", "/api/v1/logout", {"redirect_url": " https://app.example.com/bye"})
        check("logout: a redirect_url that is not an absolute URL -> 400", r.status == 400, r.status)

        # ---- CAS
        SVC = CAS_CB + "?tenant=" + T1
        r = req("GET", "/api/v1/cas/login", {"service": "https://evil.example.com/cas"})
        check("CAS login: unregistered service -> 400", r.status == 400, r.status)
        r1, r2 = login({"service": SVC}, path="/api/v1/cas/login", user="lisi", pw="Pass-word-2")
        check("CAS login: user of another tenant refused", r2 is not None and r2.status == 200 and b'id="login-error"' in r2.body,
              r2 and r2.status)
        r1, r2 = login({"service": SVC}, path="/api/v1/cas/login")
        loc = r2.h("location") if r2 else ""
        check("CAS login: form, then 302 to service&ticket=ST-",
              r1.status == 200 and r2 is not None and r2.status == 302 and loc.startswith(SVC + "&ticket=ST-"), loc)
        csid = cookie_of(r2) if r2 else None
        t1 = qs(loc or "").get("ticket", "")

        def validate(ticket, service=SVC, fmt="JSON"):
            q = {"service": service, "ticket": ticket}
            if fmt:
                q["format"] = fmt
            return req("GET", "/api/v1/cas/p3/serviceValidate", q)
        r = validate(t1)
        j = r.json() or {}
        succ = j.get("serviceResponse", {}).get("authenticationSuccess", {})
        check("CAS validate JSON: success with attributes",
              r.status == 200 and succ.get("user") == "zhangsan" and succ.get("attributes", {}).get("userName") == "zhangsan"
              and succ["attributes"].get("tenant") == T1 and succ["attributes"].get("role") == "admin"
              and succ["attributes"].get("name") == "张三" and succ["attributes"].get("organizationCode") == "10000", r.text)
        r = validate(t1)
        j = r.json() or {}
        check("CAS validate: ticket reuse -> INVALID_TICKET (exact JSON shape)",
              j == {"serviceResponse": {"authenticationFailure": {"code": "INVALID_TICKET",
                                                                  "description": "the ticket provided was not valid, ticket is %s" % t1}}}, r.text)
        r = req("GET", "/api/v1/cas/login", {"service": SVC}, cookie=csid)
        t2 = qs(r.h("location") or "").get("ticket", "")
        check("CAS login with IdP session: 302 at once", r.status == 302 and t2.startswith("ST-"), r.status)
        r = validate(t2, service=CAS_CB)
        j = r.json() or {}
        check("CAS validate: wrong service (tenant parameter dropped) -> INVALID_SERVICE",
              j.get("serviceResponse", {}).get("authenticationFailure", {}).get("code") == "INVALID_SERVICE", r.text)
        r = validate(t2)
        check("CAS validate: the ticket is gone after a wrong-service attempt",
              (r.json() or {}).get("serviceResponse", {}).get("authenticationFailure", {}).get("code") == "INVALID_TICKET", r.text)
        r = req("GET", "/api/v1/cas/login", {"service": SVC}, cookie=csid)
        t3 = qs(r.h("location") or "").get("ticket", "")
        r = validate(t3, fmt="XML")
        ok = False
        try:
            root = ET.fromstring(r.body)
            ns = {"cas": CAS_NS}
            ok = (root.tag == "{%s}serviceResponse" % CAS_NS and root.findtext("cas:authenticationSuccess/cas:user", namespaces=ns) == "zhangsan"
                  and root.findtext("cas:authenticationSuccess/cas:attributes/cas:tenant", namespaces=ns) == T1
                  and root.findtext("cas:authenticationSuccess/cas:attributes/cas:name", namespaces=ns) == "张三"
                  and r.h("content-type").startswith("application/xml"))
        except ET.ParseError:
            pass
        check("CAS validate XML: success in the cas: namespace", ok, r.text[:300])
        r = validate(t3, fmt="XML")
        check("CAS validate XML: failure body exactly as login.md §10.2",
              r.text == '<cas:serviceResponse xmlns:cas="%s"><cas:authenticationFailure code="INVALID_TICKET">Ticket %s not recognized'
              '</cas:authenticationFailure></cas:serviceResponse>' % (CAS_NS, t3), r.text)
        r = req("GET", "/api/v1/cas/login", {"service": SVC}, cookie=csid)
        t4 = qs(r.h("location") or "").get("ticket", "")
        r = validate(t4, fmt=None)
        check("CAS validate without format: XML (OneAccess default)", r.body.startswith(b"<cas:serviceResponse"), r.text[:100])
        r = validate("", fmt="JSON")
        check("CAS validate: missing ticket -> INVALID_REQUEST",
              (r.json() or {}).get("serviceResponse", {}).get("authenticationFailure", {}).get("code") == "INVALID_REQUEST", r.text)
        control(cas_attrs="array")
        r = req("GET", "/api/v1/cas/login", {"service": SVC}, cookie=csid)
        r = validate(qs(r.h("location") or "").get("ticket", ""))
        a = (r.json() or {}).get("serviceResponse", {}).get("authenticationSuccess", {}).get("attributes", {})
        check("cas_attrs=array: attribute values are arrays", a.get("userName") == ["zhangsan"], r.text)
        control(cas_attrs="scalar", ticket_ttl=1)
        r = req("GET", "/api/v1/cas/login", {"service": CAS_CB}, cookie=csid)
        loc = r.h("location") or ""
        check("CAS: service without a query gets ?ticket=", loc.startswith(CAS_CB + "?ticket=ST-"), loc)
        time.sleep(1.3)
        r = validate(qs(loc).get("ticket", ""), service=CAS_CB)
        check("CAS validate: expired ticket -> INVALID_TICKET",
              (r.json() or {}).get("serviceResponse", {}).get("authenticationFailure", {}).get("code") == "INVALID_TICKET", r.text)
        control(ticket_ttl=300)
        r = req("GET", "/api/v1/cas/logout", {"service": "https://app.example.com/after"}, cookie=csid)
        check("CAS logout: 302 to service, cookie cleared",
              r.status == 302 and r.h("location") == "https://app.example.com/after" and "Max-Age=0" in (r.h("set-cookie") or ""), r.status)
        r = req("GET", "/api/v1/cas/login", {"service": SVC}, cookie=csid)
        check("after CAS logout: CAS login shows the form", r.status == 200 and b'id="login"' in r.body, r.status)

        # ---- client file reload
        clients["client-three"] = {"secret": "s3", "redirect_uris": ["https://three.example.com"], "tenant": T1}
        write_clients()
        r = req("GET", "/api/v1/oauth2/authorize", {"response_type": "code", "client_id": "client-three",
                                                    "redirect_uri": "https://three.example.com/any/path"})
        check("clients file is re-read; an origin-only redirect_uri admits paths on it", r.status == 200 and b'id="login"' in r.body, r.status)

        # ---- state: no secrets, requests recorded
        st = state()
        dump = json.dumps(st)
        leaked = [x for x in ("s3cret-one", "s3cret-two", "Pass-word-1", "Pass-word-2", at, rt, code1, t1) if x and x in dump]
        check("_state holds no secrets", not leaked, leaked)
        toks = [q for q in st["requests"] if q["path"] == "/api/v1/oauth2/token"]
        check("_state records token calls with form field names",
              toks and "client_secret" in toks[0]["form"] and "code" in toks[0]["form"] and toks[0]["status"] is not None, toks[:1])
        auths = [q for q in st["requests"] if q["path"] == "/api/v1/oauth2/authorize" and q["query"].get("state") == "abc123XYZ"]
        check("_state records authorize queries (state, redirect_uri)", auths and auths[0]["query"].get("redirect_uri") == CB, auths[:1])
        r = req("GET", "/_control", {"reset": "1"})
        st = state()
        check("reset: empty", st["sessions"] == 0 and st["codes"] == 0 and st["access_tokens"] == 0 and st["tickets"] == 0
              and st["requests"] == [] and st["settings"]["access_ttl"] == 7200, {k: st[k] for k in ("sessions", "codes", "access_tokens")})
        r = req("GET", "/nope")
        check("unknown path -> 404", r.status == 404, r.status)
        r = req("GET", "/api/v1/oauth2/token")
        check("GET token -> 405", r.status == 405, r.status)
    except Exception as e:  # noqa: BLE001 - report, don't hide the summary
        import traceback
        traceback.print_exc()
        check("selftest ran to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
