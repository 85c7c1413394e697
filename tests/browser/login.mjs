#!/usr/bin/env node
// SPDX-License-Identifier: ISC
// End-to-end login test of koogate in a real headless browser (Debian's /usr/bin/chromium driven by
// playwright-core; no browser download). Scenarios (login.md §3-§10):
//   web        /koogate/login -> unified login page (fake) -> /koogate/callback -> landing page;
//              cookie flags, /koogate/session JSON, replayed callback, logout through the IdP.
//   workbench  /koogate/login?mode=workbench&tenant=T -> IdP authorize (state) -> back logged in;
//              state checks (replay, forged), next=, redirect_uri at the token call (D32), logout.
//   cas        /koogate/cas-login?tenant=T -> CAS login -> /koogate/cas-callback -> logged in;
//              format=JSON validation (D11), replayed ticket, logout through /api/v1/cas/logout.
//   refused    (only with DISABLED_USER/DISABLED_PASSWORD) a user disabled by authSync gets 403.
//   jit        (only with JIT_USER/JIT_PASSWORD) a user authSync has not sent yet logs in (D34; run.py
//              checks the row is flagged not yet synced).
//   iframe     (koogate in login_mode = workbench, EMBED_ORIGIN in frame_ancestors) the workbench login
//              inside the iframe of EMBED_ORIGIN/workbench, a page of another site: the state cookie and
//              kg_session (SameSite=None) travel in the cross-site frame, the frame ends logged in.
//   renewal    D26: access_ttl=1 at the IdP; once a token is spent /koogate/session renews it with the
//              (rotating) refresh token (the thresholds themselves: tests/unit/test_login.c);
//              with the refresh tokens revoked the session ends (401).
//   idp-error  the IdP's token endpoint answers 500: the callback shows a 5xx page, no session.
//   redirect   next= with known open-redirect bypass forms (tab, newline, backslash, //, %2F, %5C, schemes,
//              Unicode slashes), web and workbench: every login ends on this origin's landing page.
// Each scenario uses a fresh browser context (own cookies) and resets the fake IdP first.
//
// Environment: KOOGATE_BASE (http://127.0.0.1:PORT), IDP_BASE (https://127.0.0.1:PORT of
// tests/fakes/idp.py), LOGIN_USER, LOGIN_PASSWORD, KOOGATE_TENANT (tenantId), SCREENSHOT_DIR;
// optional: LOGIN_NAME (display name), KOOGATE_TENANT_CODE, LOGOUT_LANDING (where logout must end;
// default IDP_BASE/_page?name=logged-out), KG_EXPECT_SAMESITE (Lax [default, koogate's
// cookie_samesite default] | None | Strict), SCENARIOS (comma list, default
// web,workbench,redirect,cas,refused,jit,renewal,idp-error; iframe only when asked),
// DISABLED_USER, DISABLED_PASSWORD, JIT_USER, JIT_PASSWORD, EMBED_ORIGIN (http://localhost:PORT, iframe), STEP_TIMEOUT_MS (15000), CHROMIUM (/usr/bin/chromium).
// `node login.mjs --smoke` needs only IDP_BASE, APP_ID, LOGIN_USER, LOGIN_PASSWORD, CALLBACK_PREFIX:
// it checks the browser and the fake IdP's unified login page without koogate.
// Output: `ok <step>` / `FAIL <step>: reason` per step, then `N passed, N failed`; exit 1 on failure.
import { chromium, request as pwRequest } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const E = process.env;
const SMOKE = process.argv.includes('--smoke');
const KB = (E.KOOGATE_BASE || '').replace(/\/+$/, '');
const IDP = (E.IDP_BASE || '').replace(/\/+$/, '');
const USER = E.LOGIN_USER || '';
const PASSWORD = E.LOGIN_PASSWORD || '';
const TENANT = E.KOOGATE_TENANT || '';
const SHOTS = E.SCREENSHOT_DIR || path.join(path.dirname(new URL(import.meta.url).pathname), 'screenshots');
const LOGOUT_LANDING = E.LOGOUT_LANDING || `${IDP}/_page?name=logged-out`;
const SAMESITE = E.KG_EXPECT_SAMESITE || 'Lax';
const TIMEOUT = Number(E.STEP_TIMEOUT_MS || 15000);
const SCENARIOS = (E.SCENARIOS || 'web,workbench,redirect,cas,refused,jit,renewal,idp-error').split(',').map((s) => s.trim()).filter(Boolean);
const CHROMIUM = E.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let passed = 0;
let failed = 0;
const out = (s) => process.stdout.write(s + '\n');
const oneLine = (s) => String(s).replace(/\s+/g, ' ').trim().slice(0, 400);

class Abort extends Error {}

// Runs one step. critical: a failure aborts the rest of the scenario.
async function step(name, fn, { critical = false } = {}) {
  try {
    const r = await fn();
    passed += 1;
    out(`ok ${name}`);
    return r;
  } catch (e) {
    failed += 1;
    out(`FAIL ${name}: ${oneLine(e && e.message ? e.message : e)}`);
    if (critical) throw new Abort(name);
    return undefined;
  }
}

function must(cond, msg) {
  if (!cond) throw new Error(msg);
}

const qp = (u) => Object.fromEntries(new URL(u).searchParams.entries());
const startsWithUrl = (u, prefix) => typeof u === 'string' && u.startsWith(prefix);

// ------------------------------------------------------------------ helpers
async function apiContext() {
  return pwRequest.newContext({ ignoreHTTPSErrors: true });
}

let idpApi;
async function idp(pathAndQuery) {
  const r = await idpApi.get(IDP + pathAndQuery, { timeout: TIMEOUT });
  must(r.ok(), `fake IdP ${pathAndQuery} -> HTTP ${r.status()}`);
  return r.json();
}

async function describe(page) {
  let text = '';
  try {
    text = await page.evaluate(() => document.body ? document.body.innerText : '');
  } catch { /* navigation in progress */ }
  return `at ${page.url()} (${oneLine(text).slice(0, 200)})`;
}

// A browser context with a log of redirects, navigations and Set-Cookie headers from koogate.
async function newScenario(browser) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(TIMEOUT);
  const page = await context.newPage();
  const log = { redirects: [], navs: [], setCookies: [] };
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) log.navs.push(r.url());
  });
  page.on('response', async (r) => {
    const s = r.status();
    let loc;
    let sc = [];
    try {
      loc = await r.headerValue('location');
      sc = await r.headerValues('set-cookie');
    } catch { /* response gone */ }
    if (s >= 300 && s < 400) log.redirects.push({ url: r.url(), status: s, location: loc ? new URL(loc, r.url()).href : loc });
    if (KB && r.url().startsWith(KB)) for (const c of sc) log.setCookies.push({ url: r.url(), cookie: c });
  });
  return { context, page, log };
}

const redirectFrom = (log, prefix) => log.redirects.find((r) => r.url.startsWith(prefix));

async function fillLogin(page, user, password) {
  await page.waitForSelector('#login', { state: 'visible' });
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', password);
}

// Submits the IdP login form and waits until the browser has left the IdP.
async function submitAndLeaveIdp(page) {
  await Promise.all([
    page.waitForURL((u) => !u.href.startsWith(IDP), { timeout: TIMEOUT, waitUntil: 'load' }).catch(async (e) => {
      const err = await page.$eval('#login-error', (n) => n.textContent).catch(() => null);
      throw new Error(err ? `the IdP refused the login: ${err}` : `still on the IdP after ${TIMEOUT} ms ${await describe(page)}`);
    }),
    page.click('#login'),
  ]);
}

async function landedLoggedIn(page, log) {
  const u = new URL(page.url());
  if (u.origin + u.pathname !== `${KB}/koogate/session` || u.searchParams.get('view') !== 'page') {
    const cb = log.navs.filter((n) => n.includes('/koogate/callback') || n.includes('/koogate/cas-callback')).pop();
    throw new Error(`not on the landing page ${KB}/koogate/session?view=page but ${await describe(page)}` +
      (cb ? `; callback was ${cb.replace(/(code|ticket)=[^&]+/, '$1=...')}` : ''));
  }
  const shown = (await page.textContent('#kg-user')) || '';
  must(shown.trim() === USER, `#kg-user shows ${JSON.stringify(shown)}, expected ${JSON.stringify(USER)}`);
  if (E.LOGIN_NAME) {
    const body = await page.evaluate(() => document.body.innerText);
    must(body.includes(E.LOGIN_NAME), `the page does not show the display name ${E.LOGIN_NAME}`);
  }
}

async function checkCookie(context, log) {
  const all = await context.cookies(KB);
  const c = all.find((x) => x.name === 'kg_session');
  if (!c) {
    const sent = log.setCookies.filter((x) => x.cookie.startsWith('kg_session='));
    throw new Error(sent.length
      ? `koogate sent ${JSON.stringify(sent.map((x) => x.cookie.replace(/=[^;]*/, '=...')))} but Chromium did not store kg_session for ${KB}`
      : 'koogate sent no kg_session cookie');
  }
  const bad = [];
  if (!c.httpOnly) bad.push('not HttpOnly');
  if (!c.secure) bad.push('not Secure');
  if (c.sameSite !== SAMESITE) bad.push(`SameSite=${c.sameSite}, expected ${SAMESITE} (KG_EXPECT_SAMESITE)`);
  if (c.path !== '/' && !'/koogate'.startsWith(c.path)) bad.push(`Path=${c.path} does not cover /koogate/session`);
  must(!bad.length, bad.join(', '));
  return c.value;
}

async function sessionFromPage(page, kind) {
  const r = await page.evaluate(async () => {
    const x = await fetch('/koogate/session', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    return { status: x.status, type: x.headers.get('content-type'), text: await x.text() };
  });
  must(r.status === 200, `GET /koogate/session -> HTTP ${r.status} ${oneLine(r.text)}`);
  must(/^application\/json/i.test(r.type || ''), `Content-Type ${r.type}`);
  const j = JSON.parse(r.text);
  must(j.user === USER, `user ${JSON.stringify(j.user)}, expected ${JSON.stringify(USER)}`);
  must(j.tenant === TENANT, `tenant ${JSON.stringify(j.tenant)}, expected ${JSON.stringify(TENANT)}`);
  for (const k of ['name', 'role', 'tenantCode', 'org', 'instanceId', 'expiresAt']) must(k in j, `field ${k} missing in ${oneLine(r.text)}`);
  if (E.KOOGATE_TENANT_CODE) must(j.tenantCode === E.KOOGATE_TENANT_CODE, `tenantCode ${j.tenantCode}, expected ${E.KOOGATE_TENANT_CODE}`);
  if (E.LOGIN_NAME) must(j.name === E.LOGIN_NAME, `name ${JSON.stringify(j.name)}, expected ${JSON.stringify(E.LOGIN_NAME)}`);
  if (kind && 'kind' in j) must(j.kind === kind, `kind ${j.kind}, expected ${kind}`);
  must(!/access_token|refresh_token|secret/i.test(r.text), 'the session JSON exposes token or secret fields');
  return j;
}

// Requests url without cookies and without following redirects; it must not create a session.
async function mustNotLogIn(url, wantStatus) {
  const api = await apiContext();
  try {
    const r = await api.get(url, { maxRedirects: 0, timeout: TIMEOUT });
    const st = r.status();
    const sc = r.headersArray().filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => h.value);
    const made = sc.find((v) => /^kg_session=[^;]+/.test(v) && !/max-age=0/i.test(v) && !/expires=thu, 01 jan 1970/i.test(v));
    must(!made, `HTTP ${st} set a new session cookie`);
    if (wantStatus) must(st === wantStatus, `HTTP ${st}, expected ${wantStatus}: ${oneLine(await r.text())}`);
    const loc = r.headers().location || '';
    must(!(st >= 300 && st < 400 && loc.includes('/koogate/session')), `HTTP ${st} to the landing page ${loc}`);
    must(st !== 200 || !(await r.text()).includes('kg-user'), 'HTTP 200 with a logged-in page');
    return st;
  } finally {
    await api.dispose();
  }
}

async function sessionStatus(context, cookieValue) {
  // With cookieValue: a fresh client presenting that cookie; without: the browser context's cookies.
  if (cookieValue === undefined) {
    const r = await context.request.get(`${KB}/koogate/session`, { headers: { Accept: 'application/json' }, maxRedirects: 0 });
    return [r.status(), await r.text()];
  }
  const api = await apiContext();
  try {
    const r = await api.get(`${KB}/koogate/session`, { headers: { Accept: 'application/json', Cookie: `kg_session=${cookieValue}` }, maxRedirects: 0 });
    return [r.status(), await r.text()];
  } finally {
    await api.dispose();
  }
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function logoutSteps(sc, label, idpLogoutPath, cookieValue) {
  const { context, page, log } = sc;
  await step(`${label}: /koogate/logout goes through the IdP logout to the post-logout page`, async () => {
    log.redirects.length = 0;
    await page.goto(`${KB}/koogate/logout`, { waitUntil: 'load' });
    const r = redirectFrom(log, `${KB}/koogate/logout`);
    must(r, `koogate did not redirect (${await describe(page)})`);
    must(startsWithUrl(r.location, `${IDP}${idpLogoutPath}`), `koogate redirected to ${r.location}, expected ${IDP}${idpLogoutPath}?...`);
    const param = idpLogoutPath.includes('/cas/') ? 'service' : 'redirect_url';
    must(qp(r.location)[param] === LOGOUT_LANDING, `${param}=${qp(r.location)[param]}, expected ${LOGOUT_LANDING}`);
    must(page.url() === LOGOUT_LANDING, `ended ${await describe(page)}, expected ${LOGOUT_LANDING}`);
  });
  await step(`${label}: the kg_session cookie is cleared`, async () => {
    const c = (await context.cookies(KB)).find((x) => x.name === 'kg_session');
    must(!c || c.value === '', `kg_session still stored (${c && c.value.length} characters)`);
  });
  await step(`${label}: /koogate/session answers 401 afterwards`, async () => {
    const [st, body] = await sessionStatus(context);
    must(st === 401, `HTTP ${st} ${oneLine(body)}`);
    if (cookieValue) {
      const [st2] = await sessionStatus(context, cookieValue);
      must(st2 === 401, `the old cookie value still gives HTTP ${st2}: the session was not destroyed on the server`);
    }
  });
  await step(`${label}: the IdP session is gone`, async () => {
    const s = await idp('/_state');
    const lo = s.requests.filter((q) => q.path === idpLogoutPath);
    must(lo.length === 1, `${lo.length} requests to ${idpLogoutPath}`);
    must(lo[0].cookie, `the browser did not send the IdP session cookie to ${idpLogoutPath}`);
    must(s.sessions === 0, `${s.sessions} IdP sessions left`);
  });
}

// ------------------------------------------------------------------ scenarios
async function scenarioWeb(browser) {
  await idp('/_control?reset=1');
  const sc = await newScenario(browser);
  const { context, page, log } = sc;
  try {
    await step('web: /koogate/login redirects to the unified login page with ind=UNOP and appId', async () => {
      await page.goto(`${KB}/koogate/login`, { waitUntil: 'load' });
      const r = redirectFrom(log, `${KB}/koogate/login`);
      must(r, `no redirect from /koogate/login (${await describe(page)})`);
      must(startsWithUrl(r.location, `${IDP}/unified-login`), `Location ${r.location}`);
      const h = new URL(r.location).hash;
      const q = Object.fromEntries(new URLSearchParams(h.includes('?') ? h.slice(h.indexOf('?') + 1) : new URL(r.location).search));
      must(q.ind === 'UNOP', `ind=${q.ind}`);
      if (E.APP_ID) must(q.appId === E.APP_ID, `appId=${q.appId}, expected ${E.APP_ID}`);
      else must(q.appId, 'no appId');
      await page.waitForSelector('#login', { state: 'visible' });
    }, { critical: true });
    await step('web: the login returns to the landing page showing the user', async () => {
      await fillLogin(page, USER, PASSWORD);
      await submitAndLeaveIdp(page);
      await landedLoggedIn(page, log);
    }, { critical: true });
    await shot(page, 'web');
    const cookie = await step(`web: kg_session is HttpOnly, Secure, SameSite=${SAMESITE}`, () => checkCookie(context, log));
    await step('web: GET /koogate/session (page context) returns the user and tenant', () => sessionFromPage(page, 'oauth'));
    await step('web: the callback carried code and tenant, no state', async () => {
      const cb = log.navs.find((n) => n.startsWith(`${KB}/koogate/callback`));
      must(cb, 'no navigation to /koogate/callback');
      const q = qp(cb);
      must(q.code && q.tenant === TENANT && !('state' in q), `callback query keys ${Object.keys(q)} tenant=${q.tenant}`);
    });
    await step('web: token call with credentials in the body and no redirect_uri (D32); userinfo with Accept JSON', async () => {
      const s = await idp('/_state');
      const t = s.requests.filter((q) => q.path === '/api/v1/oauth2/token');
      must(t.length === 1, `${t.length} token calls`);
      must(t[0].status === 200, `token call answered ${t[0].status}`);
      for (const f of ['grant_type', 'code', 'client_id', 'client_secret']) must(t[0].form.includes(f), `form field ${f} missing`);
      must(!t[0].form.includes('redirect_uri'), 'redirect_uri sent although the flow had none (D32)');
      must(!t[0].authorization, `Authorization header (${t[0].authorization}) on the token call`);
      const u = s.requests.filter((q) => q.path === '/api/v1/oauth2/userinfo');
      must(u.length >= 1 && u[0].status === 200 && u[0].authorization === 'Bearer', `userinfo calls: ${JSON.stringify(u.map((x) => x.status))}`);
      must(s.codes === 0, `${s.codes} unredeemed codes`);
    });
    await step('web: a replayed callback (used code) does not log in', async () => {
      const cb = log.navs.find((n) => n.startsWith(`${KB}/koogate/callback`));
      must(cb, 'no callback URL to replay');
      await mustNotLogIn(cb);
    });
    await logoutSteps(sc, 'web', '/api/v1/logout', cookie);
    await step('web: after logout /koogate/login asks for the password again', async () => {
      await page.goto(`${KB}/koogate/login`, { waitUntil: 'load' });
      await page.waitForSelector('#login', { state: 'visible', timeout: TIMEOUT });
      must(page.url().startsWith(IDP), `not on the IdP: ${page.url()}`);
    });
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    await shot(page, 'web-failed').catch(() => {});
    out(`skip web: remaining steps not run after "${e.message}"`);
  } finally {
    await context.close();
  }
}

async function scenarioWorkbench(browser) {
  await idp('/_control?reset=1');
  const sc = await newScenario(browser);
  const { context, page, log } = sc;
  const next = '/koogate/session?view=page&from=next';
  let issued;
  try {
    await step('workbench: /koogate/login?mode=workbench redirects to the IdP authorize endpoint with a fresh state', async () => {
      await page.goto(`${KB}/koogate/login?mode=workbench&tenant=${encodeURIComponent(TENANT)}&next=${encodeURIComponent(next)}`, { waitUntil: 'load' });
      const r = redirectFrom(log, `${KB}/koogate/login`);
      must(r, `no redirect from /koogate/login (${await describe(page)})`);
      const u = new URL(r.location);
      must(u.origin + u.pathname === `${IDP}/api/v1/oauth2/authorize`, `Location ${r.location}`);
      const q = qp(r.location);
      must(q.response_type === 'code', `response_type=${q.response_type}`);
      must(q.client_id, 'no client_id');
      must(q.redirect_uri === `${KB}/koogate/callback`, `redirect_uri=${q.redirect_uri}`);
      must(/^[A-Za-z0-9]{22,}$/.test(q.state || ''), `state ${JSON.stringify(q.state)} is not >= 22 letters and digits (128 bits)`);
      if ('scope' in q) must(q.scope === 'get_user_info', `scope=${q.scope}`);
      issued = q.state;
      await page.waitForSelector('#login', { state: 'visible' });
    }, { critical: true });
    await step('workbench: the login returns logged in', async () => {
      await fillLogin(page, USER, PASSWORD);
      await submitAndLeaveIdp(page);
      await landedLoggedIn(page, log);
    }, { critical: true });
    await shot(page, 'workbench');
    await step('workbench: the callback carried the issued state and the tenant', async () => {
      const cb = log.navs.find((n) => n.startsWith(`${KB}/koogate/callback`));
      must(cb, 'no navigation to /koogate/callback');
      const q = qp(cb);
      must(q.state === issued && q.tenant === TENANT && q.code, `callback state/tenant ${q.state}/${q.tenant}`);
    });
    await step('workbench: next= is honoured', async () => {
      must(qp(page.url()).from === 'next', `landed on ${page.url()}, expected ${KB}${next}`);
    });
    const cookie = await step(`workbench: kg_session is HttpOnly, Secure, SameSite=${SAMESITE}`, () => checkCookie(context, log));
    await step('workbench: GET /koogate/session returns the user and tenant', () => sessionFromPage(page, 'oauth'));
    await step('workbench: the token call repeated the authorize redirect_uri (D32)', async () => {
      const s = await idp('/_state');
      const t = s.requests.filter((q) => q.path === '/api/v1/oauth2/token');
      must(t.length === 1 && t[0].status === 200, `token calls: ${JSON.stringify(t.map((x) => x.status))}`);
      must(t[0].form.includes('redirect_uri'), 'redirect_uri not sent although the authorize request had one');
    });
    await step('workbench: a replayed callback (used state) is refused with 400', async () => {
      const cb = log.navs.find((n) => n.startsWith(`${KB}/koogate/callback`));
      await mustNotLogIn(cb, 400);
    });
    await step('workbench: a callback with a state this server never issued counts as absent (D31): its forged code does not log in', async () => {
      await mustNotLogIn(`${KB}/koogate/callback?code=forgedcode&tenant=${encodeURIComponent(TENANT)}&state=Forged0123456789abcdefXYZ`);
    });
    await logoutSteps(sc, 'workbench', '/api/v1/logout', cookie);
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    await shot(page, 'workbench-failed').catch(() => {});
    out(`skip workbench: remaining steps not run after "${e.message}"`);
  } finally {
    await context.close();
  }
}

// Known open-redirect bypass forms for next= (WHATWG URL parsing strips tabs and newlines, reads '\' as
// '/', and a scheme or "//" makes the URL absolute): each must end on this origin's landing page.
const BYPASS_NEXT = ['/\t/evil.example', '/\n/evil.example', '/\r\n/evil.example', '//evil.example',
  '/\\evil.example', '\\/evil.example', '/%2F/evil.example', '/%5Cevil.example', '/%09/evil.example',
  'https://evil.example', 'https:evil.example', 'javascript:alert(1)', '/\uFF0F/evil.example',
  '\uFF0F\uFF0Fevil.example', '/\u2215evil.example'];

async function scenarioRedirect(browser) {
  await idp('/_control?reset=1');
  const sc = await newScenario(browser);
  const { context, page, log } = sc;
  try {
    for (const [i, next] of BYPASS_NEXT.entries()) {
      const mode = i % 3 === 2 ? 'web' : 'workbench';
      await step(`redirect: ${mode} login with next=${JSON.stringify(next)} ends on ${KB}`, async () => {
        log.navs.length = 0;
        const tenant = mode === 'workbench' ? `&tenant=${encodeURIComponent(TENANT)}` : '';
        const first = await page.goto(`${KB}/koogate/login?mode=${mode}${tenant}&next=${encodeURIComponent(next)}`, { waitUntil: 'load' });
        // lighttpd refuses encoded control characters in a URL itself (400): nowhere to go, also safe.
        if (first && first.status() === 400 && page.url().startsWith(`${KB}/koogate/login`) &&
            !(await page.content()).includes('Login failed')) return;
        if (page.url().startsWith(IDP) && await page.$('#login')) {
          await fillLogin(page, USER, PASSWORD);
          await submitAndLeaveIdp(page);
        } else if (page.url().startsWith(IDP)) {
          await page.waitForURL((u) => !u.href.startsWith(IDP), { timeout: TIMEOUT, waitUntil: 'load' });
        }
        const off = log.navs.find((n) => !n.startsWith(KB) && !n.startsWith(IDP));
        must(!off, `the browser was sent to ${off}`);
        await landedLoggedIn(page, log);
      });
    }
  } finally {
    await context.close();
  }
}

async function scenarioCas(browser) {
  await idp('/_control?reset=1');
  const sc = await newScenario(browser);
  const { context, page, log } = sc;
  let service;
  try {
    await step('cas: /koogate/cas-login redirects to the CAS login with the callback as service', async () => {
      await page.goto(`${KB}/koogate/cas-login?tenant=${encodeURIComponent(TENANT)}`, { waitUntil: 'load' });
      const r = redirectFrom(log, `${KB}/koogate/cas-login`);
      must(r, `no redirect from /koogate/cas-login (${await describe(page)})`);
      const u = new URL(r.location);
      must(u.origin + u.pathname === `${IDP}/api/v1/cas/login`, `Location ${r.location}`);
      service = qp(r.location).service || '';
      must(service.startsWith(`${KB}/koogate/cas-callback`), `service=${service}`);
      must(new URL(service).searchParams.get('tenant') === TENANT, `service ${service} does not carry tenant=${TENANT}`);
      await page.waitForSelector('#login', { state: 'visible' });
    }, { critical: true });
    await step('cas: the login returns logged in', async () => {
      await fillLogin(page, USER, PASSWORD);
      await submitAndLeaveIdp(page);
      await landedLoggedIn(page, log);
    }, { critical: true });
    await shot(page, 'cas');
    const cookie = await step(`cas: kg_session is HttpOnly, Secure, SameSite=${SAMESITE}`, () => checkCookie(context, log));
    await step('cas: GET /koogate/session returns the user and tenant', () => sessionFromPage(page, 'cas'));
    await step('cas: the ticket was validated once, with format=JSON and the exact service (D11, D27)', async () => {
      const s = await idp('/_state');
      const v = s.requests.filter((q) => q.path === '/api/v1/cas/p3/serviceValidate');
      must(v.length === 1, `${v.length} validation calls`);
      must(v[0].query.format === 'JSON', `format=${v[0].query.format}`);
      must(v[0].query.service === service, `service ${v[0].query.service}, expected ${service}`);
      must(s.tickets === 0, `${s.tickets} unvalidated tickets`);
    });
    await step('cas: a replayed callback (used ticket) does not log in', async () => {
      const cb = log.navs.find((n) => n.startsWith(`${KB}/koogate/cas-callback`));
      must(cb, 'no navigation to /koogate/cas-callback');
      const st = await mustNotLogIn(cb);
      must(st >= 400, `HTTP ${st}`);
    });
    await logoutSteps(sc, 'cas', '/api/v1/cas/logout', cookie);
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    await shot(page, 'cas-failed').catch(() => {});
    out(`skip cas: remaining steps not run after "${e.message}"`);
  } finally {
    await context.close();
  }
}

async function scenarioRefused(browser) {
  if (!E.DISABLED_USER || !E.DISABLED_PASSWORD) {
    out('skip refused: DISABLED_USER/DISABLED_PASSWORD not set');
    return;
  }
  await idp('/_control?reset=1');
  const sc = await newScenario(browser);
  const { context, page } = sc;
  try {
    await step('refused: a user disabled through authSync gets HTTP 403 and no session', async () => {
      await page.goto(`${KB}/koogate/login`, { waitUntil: 'load' });
      await fillLogin(page, E.DISABLED_USER, E.DISABLED_PASSWORD);
      let cbStatus;
      page.on('response', (r) => { if (r.url().startsWith(`${KB}/koogate/callback`)) cbStatus = r.status(); });
      await submitAndLeaveIdp(page);
      await shot(page, 'refused');
      must(cbStatus === 403, `the callback answered ${cbStatus} ${await describe(page)}`);
      const c = (await context.cookies(KB)).find((x) => x.name === 'kg_session' && x.value);
      must(!c, 'a kg_session cookie was stored');
      const [st] = await sessionStatus(context);
      must(st === 401, `/koogate/session -> ${st}`);
    });
  } finally {
    await context.close();
  }
}

async function scenarioJit(browser) {
  if (!E.JIT_USER || !E.JIT_PASSWORD) {
    out('skip jit: JIT_USER/JIT_PASSWORD not set');
    return;
  }
  await idp('/_control?reset=1');
  const sc = await newScenario(browser);
  const { context, page } = sc;
  try {
    await step('jit: a user authSync has not sent yet logs in (D34)', async () => {
      await page.goto(`${KB}/koogate/login`, { waitUntil: 'load' });
      await fillLogin(page, E.JIT_USER, E.JIT_PASSWORD);
      await submitAndLeaveIdp(page);
      await shot(page, 'jit');
      const u = new URL(page.url());
      must(u.pathname === '/koogate/session', `not on the landing page: ${await describe(page)}`);
      const shown = ((await page.textContent('#kg-user')) || '').trim();
      must(shown === E.JIT_USER, `#kg-user shows ${JSON.stringify(shown)}, expected ${E.JIT_USER}`);
    });
  } finally {
    await context.close();
  }
}

// The workbench embeds the app in an iframe of its own page, on another site (login.md §11).
async function scenarioIframe(browser) {
  const embed = (E.EMBED_ORIGIN || '').replace(/\/+$/, '');
  if (!embed) {
    out('skip iframe: EMBED_ORIGIN not set');
    return;
  }
  await idp('/_control?reset=1');
  const sc = await newScenario(browser);
  const { context, page, log } = sc;
  // run.py serves the workbench page on embed (localhost: another site than koogate's 127.0.0.1); its
  // iframe opens koogate's /koogate/login?tenant=T.
  const frameOf = () => page.frames().find((f) => f !== page.mainFrame());
  try {
    await step('iframe: the login page loads inside the cross-site workbench frame (frame-ancestors names it)', async () => {
      await page.goto(`${embed}/workbench`, { waitUntil: 'load' });
      const f = frameOf();
      must(f, 'no iframe');
      await f.waitForSelector('#login', { state: 'visible', timeout: TIMEOUT }).catch(async () => {
        let text = '';
        try { text = await f.evaluate(() => document.body.innerText); } catch { /* blocked or navigating */ }
        throw new Error(`the frame shows no IdP login: at ${f.url()} (${oneLine(text).slice(0, 200)}); redirects ${JSON.stringify(log.redirects)}`);
      });
      const r = redirectFrom(log, `${KB}/koogate/login`);
      must(r && startsWithUrl(r.location, `${IDP}/api/v1/oauth2/authorize`), `koogate did not send the frame to the authorize endpoint: ${JSON.stringify(r)}`);
    }, { critical: true });
    await step('iframe: the state cookie is SameSite=None; Secure; Partitioned (kept where third-party cookies are blocked)', async () => {
      const sent = log.setCookies.filter((x) => /^kg_login=/.test(x.cookie));
      must(sent.length && /SameSite=None/i.test(sent[0].cookie) && /Secure/i.test(sent[0].cookie) && /Partitioned/i.test(sent[0].cookie),
        `kg_login: ${JSON.stringify(sent.map((x) => x.cookie.replace(/=[^;]*/, '=...')))}`);
    });
    await step('iframe: the login completes in the frame and shows the user', async () => {
      const f = frameOf();
      await f.fill('input[name="username"]', USER);
      await f.fill('input[name="password"]', PASSWORD);
      await f.click('#login');
      await f.waitForURL((u) => u.href.startsWith(`${KB}/koogate/session`), { timeout: TIMEOUT }).catch(async () => {
        let text = '';
        try { text = await f.evaluate(() => document.body.innerText); } catch { /* navigating */ }
        throw new Error(`the frame is at ${f.url()} (${oneLine(text).slice(0, 200)})`);
      });
      await f.waitForSelector('#kg-user', { timeout: TIMEOUT });
      const shown = ((await f.textContent('#kg-user')) || '').trim();
      must(shown === USER, `#kg-user shows ${JSON.stringify(shown)}`);
      await shot(page, 'iframe');
    }, { critical: true });
    await step('iframe: kg_session is stored as HttpOnly, Secure, SameSite=None', async () => {
      const c = (await context.cookies(KB)).find((x) => x.name === 'kg_session');
      must(c, 'no kg_session cookie for koogate');
      must(c.httpOnly && c.secure && c.sameSite === 'None', `HttpOnly=${c.httpOnly} Secure=${c.secure} SameSite=${c.sameSite}`);
    });
    await step('iframe: a request from inside the frame carries the session (/koogate/session JSON)', async () => {
      const r = await frameOf().evaluate(async () => {
        const x = await fetch('/koogate/session', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        return { status: x.status, text: await x.text() };
      });
      must(r.status === 200 && JSON.parse(r.text).user === USER, `HTTP ${r.status} ${oneLine(r.text)}`);
    });
    await step('iframe: the login pages allow the workbench origin in frame-ancestors', async () => {
      const r = await context.request.get(`${KB}/koogate/session?view=page`, { maxRedirects: 0 });
      const csp = r.headers()['content-security-policy'] || '';
      must(csp.includes(`frame-ancestors`) && csp.includes(embed), `Content-Security-Policy: ${csp}`);
      must(!r.headers()['x-frame-options'], `X-Frame-Options: ${r.headers()['x-frame-options']}`);
    });
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    await shot(page, 'iframe-failed').catch(() => {});
    out(`skip iframe: remaining steps not run after "${e.message}"`);
  } finally {
    await context.close();
  }
}

// Web login, stopping on the landing page (for the scenarios below).
async function webLogin(sc, label) {
  const { page, log } = sc;
  await step(`${label}: web login`, async () => {
    await page.goto(`${KB}/koogate/login`, { waitUntil: 'load' });
    await fillLogin(page, USER, PASSWORD);
    await submitAndLeaveIdp(page);
    await landedLoggedIn(page, log);
  }, { critical: true });
}

const tokenCalls = (s, kind) => s.requests.filter((q) => q.path === '/api/v1/oauth2/token' &&
  q.form && (kind === 'refresh' ? q.form.includes('refresh_token') : q.form.includes('code')));

// D26: the server renews a nearly expired access token with the refresh token; a failed renewal ends
// the session. access_ttl=1 makes every token "nearly expired".
async function scenarioRenewal(browser) {
  await idp('/_control?reset=1&access_ttl=1');
  const sc = await newScenario(browser);
  const { context, page } = sc;
  try {
    await webLogin(sc, 'renewal');
    // A 1 s token is renewed once it is (about to be) spent: the margin is bounded by the lifetime.
    const spent = () => new Promise((res) => setTimeout(res, 1100));
    await step('renewal: /koogate/session renews the token with the refresh token and stays logged in', async () => {
      await spent();
      await sessionFromPage(page, 'oauth');
      const s = await idp('/_state');
      const r = tokenCalls(s, 'refresh');
      must(r.length >= 1, 'no refresh_token grant call');
      must(r.every((x) => x.status === 200), `refresh calls answered ${r.map((x) => x.status)}`);
      for (const f of ['grant_type', 'client_id', 'client_secret', 'refresh_token']) must(r[0].form.includes(f), `form field ${f} missing`);
    });
    await step('renewal: the rotated refresh token is used next time', async () => {
      await spent();
      await sessionFromPage(page, 'oauth');
      const r = tokenCalls(await idp('/_state'), 'refresh');
      must(r.length >= 2 && r.every((x) => x.status === 200), `refresh calls answered ${r.map((x) => x.status)} (an old refresh token was reused?)`);
    });
    await step('renewal: when the refresh fails the session ends (401)', async () => {
      await idp('/_control?revoke_refresh=all');
      await spent();
      const [st, body] = await sessionStatus(context);
      must(st === 401, `HTTP ${st} ${oneLine(body)}`);
      const r = tokenCalls(await idp('/_state'), 'refresh');
      must(r.length && r[r.length - 1].status === 400, 'no failed refresh call seen');
    });
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    out(`skip renewal: remaining steps not run after "${e.message}"`);
  } finally {
    await idp('/_control?access_ttl=7200');
    await context.close();
  }
}

// The IdP's token endpoint fails: the callback shows an error and creates no session.
async function scenarioIdpError(browser) {
  await idp('/_control?reset=1&fail_token=500');
  const sc = await newScenario(browser);
  const { context, page } = sc;
  try {
    await step('idp-error: a token endpoint failure gives an error page and no session', async () => {
      let cbStatus;
      page.on('response', (r) => { if (r.url().startsWith(`${KB}/koogate/callback`)) cbStatus = r.status(); });
      await page.goto(`${KB}/koogate/login`, { waitUntil: 'load' });
      await fillLogin(page, USER, PASSWORD);
      await submitAndLeaveIdp(page);
      must(cbStatus >= 500 && cbStatus <= 504, `the callback answered ${cbStatus} ${await describe(page)}`);
      const c = (await context.cookies(KB)).find((x) => x.name === 'kg_session' && x.value);
      must(!c, 'a kg_session cookie was stored');
      const body = await page.evaluate(() => document.body.innerText);
      must(!/client_secret|Internal Server Error|server_error/.test(body), `the error page leaks IdP details: ${oneLine(body)}`);
    });
  } finally {
    await context.close();
  }
}

async function smoke(browser) {
  const CB = E.CALLBACK_PREFIX || '';
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  try {
    await step('smoke: the unified login URL (fragment form) shows the fake login form', async () => {
      await page.goto(`${IDP}/unified-login/#/portal-login?ind=UNOP&appId=${encodeURIComponent(E.APP_ID || '')}`);
      await page.waitForSelector('#login', { state: 'visible' });
      must(new URL(page.url()).pathname === '/unified-login', `at ${page.url()}`);
      await shot(page, 'smoke-form');
    }, { critical: true });
    await step('smoke: a wrong password shows the form again with an error', async () => {
      await fillLogin(page, USER, 'wrong-password');
      await Promise.all([page.waitForLoadState('load'), page.click('#login')]);
      await page.waitForSelector('#login-error', { state: 'visible' });
    });
    await step('smoke: the right password sends the browser to the login address with code and tenant', async () => {
      await fillLogin(page, USER, PASSWORD);
      const [req] = await Promise.all([
        page.waitForRequest((r) => r.url().startsWith(CB), { timeout: TIMEOUT }),
        page.click('#login'),
      ]);
      const q = qp(req.url());
      must(q.code && q.tenant && !('state' in q), `callback ${req.url().replace(/code=[^&]+/, 'code=...')}`);
    });
    await step('smoke: the IdP session cookie is stored (Secure, HttpOnly, SameSite=None)', async () => {
      const c = (await context.cookies(IDP)).find((x) => x.name === 'oa_session');
      must(c && c.secure && c.httpOnly && c.sameSite === 'None', JSON.stringify(c || null));
    });
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    out(`skip smoke: remaining steps not run after "${e.message}"`);
  } finally {
    await context.close();
  }
}

// ------------------------------------------------------------------ main
async function main() {
  const need = SMOKE ? ['IDP_BASE', 'APP_ID', 'LOGIN_USER', 'LOGIN_PASSWORD', 'CALLBACK_PREFIX']
    : ['KOOGATE_BASE', 'IDP_BASE', 'LOGIN_USER', 'LOGIN_PASSWORD', 'KOOGATE_TENANT'];
  const missing = need.filter((k) => !E[k]);
  if (missing.length) {
    out(`FAIL environment: ${missing.join(', ')} not set`);
    out('0 passed, 1 failed');
    return 1;
  }
  let browser;
  await step('browser: Chromium launches headless', async () => {
    must(fs.existsSync(CHROMIUM), `${CHROMIUM} not found (apt-get install chromium)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60000 });
    out(`# chromium ${browser.version()}`);
  });
  if (!browser) {
    out(`${passed} passed, ${failed} failed`);
    return 1;
  }
  idpApi = await apiContext();
  try {
    await step('fake IdP answers', () => idp('/_state'), { critical: true });
    if (SMOKE) {
      await smoke(browser);
    } else {
      const all = { web: scenarioWeb, workbench: scenarioWorkbench, cas: scenarioCas, refused: scenarioRefused,
        jit: scenarioJit, renewal: scenarioRenewal, 'idp-error': scenarioIdpError, redirect: scenarioRedirect, iframe: scenarioIframe };
      for (const name of SCENARIOS) {
        if (!all[name]) {
          await step(`scenario ${name}`, () => { throw new Error('unknown scenario'); });
          continue;
        }
        try {
          await all[name](browser);
        } catch (e) {
          failed += 1;
          out(`FAIL ${name}: ${oneLine(e && e.stack ? e.stack : e)}`);
        }
      }
    }
  } catch (e) {
    if (!(e instanceof Abort)) {
      failed += 1;
      out(`FAIL run: ${oneLine(e && e.stack ? e.stack : e)}`);
    }
  } finally {
    await idpApi.dispose();
    await browser.close();
  }
  out(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
  out(`FAIL run: ${oneLine(e && e.stack ? e.stack : e)}`);
  out(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
