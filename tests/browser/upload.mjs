#!/usr/bin/env node
// upload.mjs URL FILE EXPECTED_WORDS [SCREENSHOT.png] [--top WORD] [--mobile MOBILE.png] [--live LIVE.png]
//            [--timeout MS]
//
// Opens the raftwc page in Debian's /usr/bin/chromium (playwright-core, no browser download), uploads
// FILE through the page's file input, waits for the result, checks the word count shown (and the
// characters and longest line against the API) and the first top word (against --top, and against what /api/jobs/{id} says), takes a desktop screenshot and, with
// --mobile, one in a phone viewport. With --live it also requires the live shard progress (polled from
// /api/jobs/{id} while the upload is in flight) to appear, and screenshots it. Exits 0 on success, 1 on any mismatch or error, 77 if chromium or
// playwright-core is missing (ctest SKIP_RETURN_CODE).
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opts = { top: null, mobile: null, live: null, timeout: 60000 };
const pos = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') opts.top = args[++i];
  else if (args[i] === '--mobile') opts.mobile = args[++i];
  else if (args[i] === '--live') opts.live = args[++i];
  else if (args[i] === '--timeout') opts.timeout = Number(args[++i]);
  else pos.push(args[i]);
}
const [url, file, expectedWordsArg, screenshot] = pos;
if (!url || !file || expectedWordsArg === undefined) {
  console.error('usage: upload.mjs URL FILE EXPECTED_WORDS [SCREENSHOT.png] [--top WORD] [--mobile MOBILE.png] [--timeout MS]');
  process.exit(2);
}
const expectedWords = Number(expectedWordsArg);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) {
  console.error(`SKIP: ${executablePath} not found (apt-get install -y --no-install-recommends chromium)`);
  process.exit(77);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.error('SKIP: playwright-core not installed (cd tests/browser && npm ci)');
  process.exit(77);
}
if (!fs.existsSync(file)) {
  console.error(`upload.mjs: no such file: ${file}`);
  process.exit(2);
}

const toNumber = (s) => Number(String(s).replace(/[^0-9]/g, ''));
let browser;
let failed = false;
const fail = (msg) => { console.error('FAIL: ' + msg); failed = true; };

try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: opts.timeout,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(opts.timeout);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    console.error('console: ' + m.text());
    // The page must work under its Content-Security-Policy: a blocked script, style or image is a failure.
    if (/Content Security Policy/i.test(m.text())) pageErrors.push('CSP: ' + m.text());
  });

  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#cluster-badge.badge-ok, #cluster-badge.badge-warn, #cluster-badge.badge-bad');

  // Choose the file through the real file input, then start (the page counts once asked).
  const jobIdPromise = page.waitForRequest((r) => r.url().includes('/api/count') && r.method() === 'POST')
    .then((r) => r.headers()['x-job-id']);
  await page.setInputFiles('#file', file);
  await page.click('#count-btn');
  const jobId = await jobIdPromise;
  if (opts.live) {
    await page.waitForSelector('#live-card:not([hidden]) #live-table tbody tr td .bar');
    fs.mkdirSync(path.dirname(path.resolve(opts.live)), { recursive: true });
    await page.screenshot({ path: opts.live });
    console.log('screenshot: ' + opts.live);
  }
  await page.waitForSelector('#result[data-state="done"], #result[data-state="error"]');
  const state = await page.getAttribute('#result', 'data-state');
  if (state !== 'done') {
    fail('page shows an error: ' + (await page.textContent('#error')).trim());
  } else {
    const words = toNumber(await page.textContent('#res-words'));
    const firstTop = (await page.textContent('#top-table tbody tr:first-child td.word')).trim();
    console.log(`page: words=${words} top=${firstTop} job=${jobId}`);
    if (words !== expectedWords) fail(`words shown ${words}, expected ${expectedWords}`);
    if (opts.top !== null && firstTop !== opts.top) fail(`first top word shown "${firstTop}", expected "${opts.top}"`);
    const api = await page.evaluate(async (id) => (await fetch('api/jobs/' + encodeURIComponent(id))).json(), jobId);
    if (!api || !Array.isArray(api.top) || !api.top.length) fail('api/jobs/{id} has no top words');
    else if (api.top[0].word !== firstTop) fail(`page top word "${firstTop}" differs from the API's "${api.top[0].word}"`);
    if (api && api.words !== expectedWords) fail(`API says ${api.words} words, expected ${expectedWords}`);
    // Characters and the longest line (wc -m / -L) are shown as the API gives them.
    for (const [sel, key] of [['#res-chars', 'chars'], ['#res-longest', 'maxLineWidth']]) {
      const shown = toNumber(await page.textContent(sel));
      if (typeof api[key] !== 'number' || shown !== api[key]) fail(`${sel} shows ${shown}, API ${key} ${api[key]}`);
    }
    const shardRows = await page.locator('#shard-table tbody tr').count();
    if (Array.isArray(api.shards) && shardRows !== api.shards.length) fail(`shard table has ${shardRows} rows, API ${api.shards.length}`);
    await page.waitForSelector('#history li button');
  }
  if (pageErrors.length) fail('JavaScript errors: ' + pageErrors.join('; '));
  if (screenshot) {
    fs.mkdirSync(path.dirname(path.resolve(screenshot)), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log('screenshot: ' + screenshot);
  }
  if (opts.mobile) {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const p2 = await phone.newPage();
    p2.setDefaultTimeout(opts.timeout);
    await p2.goto(url, { waitUntil: 'load' });
    await p2.waitForSelector('#history li button');
    await p2.click('#history li button');
    await p2.waitForSelector('#result[data-state="done"]');
    const overflow = await p2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 2) fail(`phone layout scrolls sideways by ${overflow}px`);
    fs.mkdirSync(path.dirname(path.resolve(opts.mobile)), { recursive: true });
    await p2.screenshot({ path: opts.mobile, fullPage: true });
    console.log('screenshot: ' + opts.mobile);
  }
} catch (e) {
  fail(e && e.stack ? e.stack : String(e));
} finally {
  if (browser) await browser.close().catch(() => {});
}
if (!failed) console.log('PASS');
process.exit(failed ? 1 : 0);
