/* SPDX-License-Identifier: ISC */
// The on-call status page in a real headless Chromium: HTTP authentication is
// required, the sections an on-call person looks for are there, a failed call
// is highlighted, and a value from a request is escaped, not interpreted.
// Inputs (from stack.env): KOOGATE_STATUS_URL, KOOGATE_STATUS_USER,
// KOOGATE_STATUS_PASSWORD, SCREENSHOT_DIR. Prints ok/FAIL lines and
// "N passed, N failed".
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const E = process.env;
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
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

const shots = E.SCREENSHOT_DIR || 'tests/browser/screenshots';
fs.mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({ executablePath: E.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ARGS, timeout: 60000 });
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
    const ctx = await browser.newContext({ httpCredentials: { username: E.KOOGATE_STATUS_USER, password: 'wrong' } });
    const page = await ctx.newPage();
    const r = await page.goto(E.KOOGATE_STATUS_URL);
    expect(r.status() === 401, `HTTP ${r.status()}`);
    await ctx.close();
  });
  const ctx = await browser.newContext({ httpCredentials: { username: E.KOOGATE_STATUS_USER,
    password: E.KOOGATE_STATUS_PASSWORD }, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  let status = 0;
  await step('shown with the right credentials', async () => {
    const r = await page.goto(E.KOOGATE_STATUS_URL);
    status = r.status();
    expect(status === 200, `HTTP ${status}`);
    await page.screenshot({ path: path.join(shots, 'status.png'), fullPage: true });
  });
  for (const [id, title] of [['instances', 'Instances by state'], ['calls', 'Last inbound calls'],
    ['events', 'Failing events'], ['usage', 'Usage backlog'], ['tenants', 'Tenants']]) {
    await step(`section "${title}"`, async () => {
      const h = await page.locator(`#${id} h2`).textContent();
      expect(h === title, `heading ${JSON.stringify(h)}`);
    });
  }
  await step('the last calls list has rows and a failed call is highlighted', async () => {
    const rows = await page.locator('#calls tbody tr').count();
    const bad = await page.locator('#calls tbody tr.bad').count();
    expect(rows > 0, 'no rows');
    expect(bad > 0, 'no highlighted failure');
  });
  await step('values are escaped (no element injected from a request)', async () => {
    expect(await page.locator('#calls script, #calls img, #tenants script').count() === 0, 'markup injected');
  });
  await step('not embeddable and no secrets shown', async () => {
    const r = await page.goto(E.KOOGATE_STATUS_URL);
    const h = r.headers();
    expect((h['content-security-policy'] || '').includes("frame-ancestors 'none'"), 'CSP frame-ancestors missing');
    const text = await page.content();
    for (const k of [E.KOOGATE_BASIC_KEY, E.KOOGATE_KIT_KEY].filter(Boolean))
      expect(!text.includes(k), 'an access key is on the page');
  });
  await ctx.close();
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
