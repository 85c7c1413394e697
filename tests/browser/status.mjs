/* SPDX-License-Identifier: ISC */
// The on-call status page and the buyer-facing pages in a real headless
// Chromium (run by tests/run.sh against Apache and against lighttpd): HTTP
// authentication, the health line, the time taken and the refresh, the
// sections, calls kept apart (failed, refused, probes), escaping, the view of
// one instance reached by its link, the phone-width layout, no JavaScript
// needed; the login error page's reference id and the session page's link to
// the login, in the same style. Screenshots are checked by size and regions
// (element boxes), never pixel by pixel.
// Inputs (from stack.env): KOOGATE_STATUS_URL, KOOGATE_STATUS_USER,
// KOOGATE_STATUS_PASSWORD, SCREENSHOT_DIR. Prints ok/FAIL lines and
// "N passed, N failed".
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const E = process.env;
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const BASE = E.KOOGATE_STATUS_URL.replace(/\/status$/, '');   // .../koogate
const WIDE = { width: 1280, height: 900 }, PHONE = { width: 390, height: 844 };
let passed = 0, failed = 0;

async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok status: ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL status: ${name}: ${String(e && e.message || e).split('\n')[0]}`);
  }
}
function expect(cond, why) { if (!cond) throw new Error(why); }
// Width and height of a PNG, from its IHDR chunk.
function pngSize(file) {
  const b = fs.readFileSync(file);
  expect(b.toString('latin1', 1, 4) === 'PNG', `${file} is not a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
// Every visible element of the page that sticks out to the right of the viewport.
async function overflowing(page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth, out = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > w + 1 && !el.closest('.scroll')) out.push(`${el.tagName}#${el.id} ${Math.round(r.right)}`);
    }
    return { w, scroll: document.documentElement.scrollWidth, out: out.slice(0, 3) };
  });
}

const shots = E.SCREENSHOT_DIR || 'tests/browser/screenshots';
fs.mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({ executablePath: E.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ARGS, timeout: 60000 });
const auth = { username: E.KOOGATE_STATUS_USER, password: E.KOOGATE_STATUS_PASSWORD };
try {
  await step('refused without credentials (401)', async () => {
    // (the page itself would only show Chromium's own error for an unanswered challenge)
    const ctx = await browser.newContext();
    const r = await ctx.request.get(E.KOOGATE_STATUS_URL);
    expect(r.status() === 401, `HTTP ${r.status()}`);
    expect((r.headers()['www-authenticate'] || '').startsWith('Basic'), 'no Basic challenge');
    await ctx.close();
  });
  await step('refused with a wrong password (401)', async () => {
    const ctx = await browser.newContext({ httpCredentials: { ...auth, password: 'wrong' } });
    const page = await ctx.newPage();
    const r = await page.goto(E.KOOGATE_STATUS_URL);
    expect(r.status() === 401, `HTTP ${r.status()}`);
    await ctx.close();
  });
  // JavaScript off: the page must not need it.
  const ctx = await browser.newContext({ httpCredentials: auth, viewport: WIDE, javaScriptEnabled: false });
  const page = await ctx.newPage();
  await step('shown with the right credentials, without JavaScript', async () => {
    const r = await page.goto(E.KOOGATE_STATUS_URL);
    expect(r.status() === 200, `HTTP ${r.status()}`);
    expect(await page.locator('script').count() === 0, 'a script element');
  });
  await step('wide screenshot: the viewport width, the health line first, in the first screen', async () => {
    const file = path.join(shots, 'status.png');
    await page.screenshot({ path: file, fullPage: true });
    const png = pngSize(file), h = await page.locator('#health').boundingBox();
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    expect(png.width === WIDE.width, `screenshot ${png.width} px wide`);
    expect(Math.abs(png.height - height) <= 2, `screenshot ${png.height} px high, page ${height}`);
    expect(h && h.y < 250 && h.y + h.height < WIDE.height, `health line at ${JSON.stringify(h)}`);
    expect(h.width > WIDE.width * 0.8, `health line only ${h.width} px wide`);
    const first = await page.locator('main > section').first().getAttribute('id');
    expect(first === 'health', `the first section is ${first}`);
  });
  let level = '';
  await step('the health line: a level, its colour and the reasons (or why it is green)', async () => {
    level = await page.locator('#health').getAttribute('data-level');
    expect(['green', 'amber', 'red'].includes(level), `level ${level}`);
    expect(await page.locator(`#health.${level}`).count() === 1, 'class does not match the level');
    const h2 = await page.locator('#health h2').textContent();
    expect(h2.toLowerCase().startsWith(level), `heading ${JSON.stringify(h2)}`);
    const border = await page.locator('#health').evaluate((el) => getComputedStyle(el).borderLeftColor);
    const want = { green: 'rgb(26, 127, 55)', amber: 'rgb(191, 135, 0)', red: 'rgb(207, 34, 46)' }[level];
    expect(border === want, `border ${border}, expected ${want}`);
    if (level === 'green')
      expect((await page.locator('#health p').first().textContent()).includes('No failing'), 'green without why');
    else
      expect(await page.locator('#health li').count() > 0, `${level} without a reason`);
    expect(await page.locator('#health a[href="#verdicts"]').count() === 1, 'no link to the explanation');
  });
  await step('the time it was taken, with its zone, and an automatic refresh', async () => {
    const t = await page.locator('#taken');
    const text = await t.textContent(), iso = await t.getAttribute('datetime');
    expect(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(text), `taken ${JSON.stringify(text)}`);
    expect(Math.abs(Date.parse(iso) - Date.now()) < 120000, `taken at ${iso}, not now`);
    expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content') === '60', 'no refresh');
  });
  for (const [id, title] of [['calls', 'Last inbound calls'], ['failed', 'Failed calls'], ['refused', 'Refused calls'],
    ['probes', 'Probe calls that did not succeed'], ['events', 'Events not yet delivered'],
    ['orders', 'Order fetches'], ['usage', 'Usage backlog'], ['tenants', 'Tenants'],
    ['instances', 'Instances by state'], ['verdicts', 'What the colours mean']]) {
    await step(`section "${title}"`, async () => {
      const h = await page.locator(`#${id} h2`).textContent();
      expect(h === title, `heading ${JSON.stringify(h)}`);
    });
  }
  await step('human column names, no raw at_utc or ms', async () => {
    const th = await page.locator('#calls th').allTextContents();
    expect(th.includes('When (UTC)') && th.includes('Took'), `columns ${th.join(', ')}`);
    expect(!th.includes('at_utc') && !th.includes('ms'), 'raw column names');
    const took = await page.locator('#calls td[data-label="Took"]').first().textContent();
    expect(/^\d+(\.\d)? ms$/.test(took), `took ${JSON.stringify(took)}`);
  });
  await step('refused, failed and probe calls are apart (the fixtures made all three kinds but failed)', async () => {
    expect(await page.locator('#refused tbody tr').count() > 0, 'no refused calls listed');
    expect(await page.locator('#refused tbody tr:not(.refused)').count() === 0, 'a refused row not marked');
    expect(await page.locator('#probes tbody tr').count() > 0, 'no probe failures listed (koogate simulate ran)');
    expect(await page.locator('#probes tbody tr:not(.probe)').count() === 0, 'a probe row not marked');
    const probeCells = await page.locator('#refused td[data-label="Probe"]').allTextContents();
    expect(probeCells.every((t) => t === ''), 'a probe call among the refusals');
    expect((await page.locator('#probes td[data-label="Probe"]').allTextContents()).every((t) => t !== ''),
      'an unmarked call among the probes');
    expect(await page.locator('#failed tbody tr:not(.failed)').count() === 0, 'a failed row not marked');
  });
  await step('values are escaped (no element injected from a request)', async () => {
    expect(await page.locator('main img, main script, main iframe').count() === 0, 'markup injected');
  });
  await step('not embeddable and no secrets shown', async () => {
    const r = await page.goto(E.KOOGATE_STATUS_URL);
    const h = r.headers();
    expect((h['content-security-policy'] || '').includes("frame-ancestors 'none'"), 'CSP frame-ancestors missing');
    const text = await page.content();
    for (const k of [E.KOOGATE_BASIC_KEY, E.KOOGATE_KIT_KEY].filter(Boolean))
      expect(!text.includes(k), 'an access key is on the page');
  });
  let instance = '';
  await step('an instance link opens the view of that instance', async () => {
    const link = page.locator('#calls td[data-label="Instance"] a').first();
    instance = await link.textContent();
    await Promise.all([page.waitForNavigation(), link.click()]);
    expect(page.url().endsWith(`/koogate/status?instance=${encodeURIComponent(instance)}`), `at ${page.url()}`);
    expect((await page.locator('h1').textContent()) === `Instance ${instance}`, 'heading');
    for (const id of ['instance', 'orders', 'events', 'calls'])
      expect(await page.locator(`#${id}`).count() === 1, `no #${id} section`);
    const dt = await page.locator('#instance dt').allTextContents();
    expect(['State', 'Traffic', 'Order', 'Created'].every((k) => dt.includes(k)), `fields ${dt.join(', ')}`);
    expect(await page.locator('#calls tbody tr').count() > 0, 'no calls of the instance');
    await page.screenshot({ path: path.join(shots, 'status-instance.png'), fullPage: true });
    expect(pngSize(path.join(shots, 'status-instance.png')).width === WIDE.width, 'screenshot width');
  });
  await step('the instance view links back to the overview', async () => {
    await Promise.all([page.waitForNavigation(), page.locator('#back').click()]);
    expect(await page.locator('#health').count() === 1, `at ${page.url()}`);
  });
  await step('an unknown instance: 404 page with a way back; a malformed id: 400', async () => {
    let r = await page.goto(`${E.KOOGATE_STATUS_URL}?instance=no-such-instance-${Date.now()}`);
    expect(r.status() === 404, `HTTP ${r.status()}`);
    expect(await page.locator('#kg-link[href="status"]').count() === 1, 'no way back');
    r = await page.goto(`${E.KOOGATE_STATUS_URL}?instance=%3Cb%3E`);
    expect(r.status() === 400, `HTTP ${r.status()}`);
    expect(await page.locator('main b').count() === 0, 'markup echoed');
  });
  await ctx.close();

  const phone = await browser.newContext({ httpCredentials: auth, viewport: PHONE, isMobile: true,
    javaScriptEnabled: false });
  const pp = await phone.newPage();
  await step('phone width: nothing wider than the screen, tables become labelled cards', async () => {
    await pp.goto(E.KOOGATE_STATUS_URL);
    const o = await overflowing(pp);
    expect(o.scroll <= PHONE.width && o.out.length === 0, `scroll width ${o.scroll} of ${o.w}: ${o.out.join('; ')}`);
    expect(await pp.locator('#calls thead').evaluate((el) => getComputedStyle(el).display) === 'none',
      'table heads still shown');
    const label = await pp.locator('#calls td[data-label="Program"]').first()
      .evaluate((el) => getComputedStyle(el, '::before').content);
    expect(label === '"Program"', `cell label ${label}`);
    const h = await pp.locator('#health').boundingBox();
    expect(h.x >= 0 && h.x + h.width <= PHONE.width && h.y < 300, `health line at ${JSON.stringify(h)}`);
  });
  await step('phone screenshot: the screen width, taller than wide', async () => {
    const file = path.join(shots, 'status-phone.png');
    await pp.screenshot({ path: file, fullPage: true });
    const png = pngSize(file);
    expect(png.width === PHONE.width, `screenshot ${png.width} px wide`);
    expect(png.height > png.width, `screenshot ${png.width}x${png.height}`);
  });
  await step('phone width: the instance view fits too', async () => {
    const link = pp.locator('#calls td[data-label="Instance"] a').first();
    await Promise.all([pp.waitForNavigation(), link.click()]);
    const o = await overflowing(pp);
    expect(o.scroll <= PHONE.width && o.out.length === 0, `scroll width ${o.scroll}: ${o.out.join('; ')}`);
    await pp.screenshot({ path: path.join(shots, 'status-instance-phone.png'), fullPage: true });
  });
  await phone.close();

  // Buyer-facing pages: no credentials, the stack's login is not configured (app_id unset) at this point.
  const buyer = await browser.newContext({ viewport: PHONE, isMobile: true });
  const bp = await buyer.newPage();
  let statusStyle = '';
  await step('the session page without a session links to the login', async () => {
    const r = await bp.goto(`${BASE}/session?view=page`);
    expect(r.status() === 401, `HTTP ${r.status()}`);
    expect((await bp.locator('h1').textContent()) === 'Not logged in', 'heading');
    const link = bp.locator('#kg-link');
    expect((await link.textContent()) === 'Log in', 'no login link');
    const [resp] = await Promise.all([bp.waitForNavigation(), link.click()]);
    expect(new URL(bp.url()).pathname === '/koogate/login', `the link went to ${bp.url()}`);
    expect(resp.status() === 500, `login answered ${resp.status()} (app_id is not configured here)`);
  });
  await step('the login error page gives a reference id, not the cause', async () => {
    const ref = await bp.locator('#kg-ref').textContent();
    expect(/^[A-Z0-9]{10}$/.test(ref), `reference ${JSON.stringify(ref)}`);
    const text = await bp.locator('body').textContent();
    expect(!text.includes('app_id') && !text.includes('configured'), 'the cause is on the page');
    await bp.screenshot({ path: path.join(shots, 'login-error-phone.png'), fullPage: true });
    const box = await bp.locator('main').boundingBox();
    expect(box.x >= 0 && box.x + box.width <= PHONE.width, `the message box at ${JSON.stringify(box)}`);
  });
  await step('buyer pages and the status page share one stylesheet', async () => {
    const loginStyle = await bp.locator('style').textContent();
    const sctx = await browser.newContext({ httpCredentials: auth });
    const sp = await sctx.newPage();
    await sp.goto(E.KOOGATE_STATUS_URL);
    statusStyle = await sp.locator('style').textContent();
    await sctx.close();
    expect(loginStyle.length > 200 && loginStyle === statusStyle, 'different styles');
  });
  await buyer.close();
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
