// page.mjs URL OUTDIR — the web page's flows in real Chromium, keyboard only where a person would use the
// keyboard, against tests/http/fake_api_server (run by run-page.sh):
//  1. two files chosen and counted with the keyboard alone: per-file results and the total;
//  2. the full table paged in the page, and the CSV and JSON downloads equal to the API's table;
//  3. the permalink of a job opens it in a new page;
//  4. a failed upload (503) shows the server's message and what to do;
//  5. cancelling a running upload;
//  6. axe-core finds no serious or critical accessibility violation (light and dark, desktop and 320 px);
//  7. screenshots: desktop, narrow, dark.
// Exit 0 = all passed; 1 = a failure (printed); 77 = skipped (no chromium / playwright-core / axe-core).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [url, out] = process.argv.slice(2);
if (!url || !out) { console.error('usage: page.mjs URL OUTDIR'); process.exit(2); }
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) { console.error('SKIP: no chromium'); process.exit(77); }
let chromium; let axeSource;
try {
  ({ chromium } = await import('playwright-core'));
  axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
} catch (e) { console.error('SKIP: npm packages missing (bin/setup): ' + e.message); process.exit(77); }
fs.mkdirSync(out, { recursive: true });

let failures = 0;
const fail = (m) => { console.error('FAIL: ' + m); failures++; };
const check = (cond, m) => { if (!cond) fail(m); else console.log('ok: ' + m); };
const toNumber = (s) => Number(String(s).replace(/[^0-9]/g, ''));

// Test files: word counts by the page's fake backend rule (whitespace split; normalized = letters only).
function writeText(name, lines, line) {
  const p = path.join(out, name);
  fs.writeFileSync(p, Array.from({ length: lines }, (_, i) => line.replace('#', String(i % 7))).join('\n') + '\n');
  return p;
}
const fileA = writeText('alpha.txt', 300, 'alpha beta gamma # delta');        // 5 words per line
const fileB = writeText('beta "quoted", name.txt', 200, 'one, two "three" #');  // 4 words per line
const fileBig = writeText('big.txt', 60000, 'the slow upload of a large file #');
const fileFail = writeText('fail-503.txt', 3, 'x y z');
const wordsA = 1500; const wordsB = 800;

const browser = await chromium.launch({ executablePath, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
const errors = [];
async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#cluster-badge.badge-ok, #cluster-badge.badge-warn');
  return page;
}
async function axe(page, label) {
  await page.evaluate(axeSource + ';0');  // CDP evaluation: not an inline script, the page's CSP stays on
  const res = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) console.error(`  axe ${label}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  check(bad.length === 0, `axe: no serious or critical violations (${label}; ${res.violations.length} minor)`);
}
// Presses Tab until `selector` has the focus (at most 40 times): the control is reachable by keyboard.
async function tabTo(page, selector) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
  }
  return false;
}
async function focusRing(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    const target = e.matches('input[type=file]') ? e.closest('label') : e;
    const s = getComputedStyle(target);
    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  });
}

try {
  // ---- 1. two files, keyboard only ------------------------------------------------------------------
  const page = await newPage();
  await axe(page, 'empty page');
  check(await tabTo(page, '#file'), 'Tab reaches the file input');
  check(await focusRing(page), 'the focused file chooser shows a focus ring');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
  check(chooser.isMultiple(), 'the file chooser takes several files');
  await chooser.setFiles([fileA, fileB]);
  await page.waitForSelector('#queue tbody tr:nth-child(2)');
  check((await page.textContent('#status')).includes('2 files ready'), 'the page says the files wait for the mode and Count');
  check(await tabTo(page, '#mode'), 'Tab reaches the mode');
  await page.keyboard.press('ArrowDown');  // raw
  await page.keyboard.press('ArrowUp');    // back to normalized
  check(await tabTo(page, '#count-btn'), 'Tab reaches Count words');
  check(await focusRing(page), 'the focused button shows a focus ring');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('#queue tbody tr[data-status="done"]').length === 2, null, { timeout: 60000 });
  const rowWords = await page.$$eval('#queue tbody tr', (rows) => rows.map((r) => r.cells[3].textContent));
  check(toNumber(rowWords[0]) === wordsA && toNumber(rowWords[1]) === wordsB, `per-file words ${rowWords.join(', ')}`);
  check(toNumber(await page.textContent('#total-words')) === wordsA + wordsB, 'the total row sums both files');
  await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Done: 2 files'));
  check(!(await page.isVisible('#live-card')), 'nothing stale: the live card is gone when done');
  check((await page.textContent('#progress-text')) === 'Done', 'the progress line reads Done');
  check(toNumber(await page.textContent('#res-words')) === wordsB, 'the last file\'s result is shown');
  await axe(page, 'results');
  await page.screenshot({ path: path.join(out, 'page-desktop.png'), fullPage: true });

  // ---- 2. the full table and the downloads ----------------------------------------------------------
  const shownId = (await page.getAttribute('#res-permalink', 'href')).replace('#/jobs/', '');
  const api = await page.evaluate(async (id) => {
    const words = [];
    for (let off = 0; ; off += 2) {  // small pages: the API's paging itself is checked too
      const p = await (await fetch(`api/jobs/${id}/words?limit=2&offset=${off}`)).json();
      words.push(...p.words);
      if (p.words.length < 2) return { words, total: p.total };
    }
  }, shownId);
  const tableRows = await page.$$eval('#words-table tbody tr', (rows) => rows.map((r) => [r.cells[1].textContent, r.cells[2].textContent]));
  check(tableRows.length === Math.min(50, api.total), `the page's table holds the first page (${tableRows.length} of ${api.total})`);
  check(tableRows.every(([w, c], i) => w === api.words[i].word && toNumber(c) === api.words[i].count), 'the page\'s table equals the API\'s');
  const csvText = async () => {
    await page.focus('#dl-csv');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    return fs.readFileSync(await dl.path(), 'utf8');
  };
  const csv = await csvText();
  const expectedCsv = ['word,count', ...api.words.map((w) => (/[",\r\n]/.test(w.word) ? `"${w.word.replace(/"/g, '""')}"` : w.word) + ',' + w.count)].join('\r\n') + '\r\n';
  check(csv === expectedCsv, `CSV download equals the API's table (${api.words.length} words)`);
  fs.writeFileSync(path.join(out, 'download.csv'), csv);
  await page.focus('#dl-json');
  const [jdl] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  const json = JSON.parse(fs.readFileSync(await jdl.path(), 'utf8'));
  check(JSON.stringify(json.words) === JSON.stringify(api.words) && json.id === shownId, 'JSON download equals the API\'s table');

  // ---- 3. permalink ----------------------------------------------------------------------------------
  const permalinkPage = await newPage();
  await permalinkPage.goto(url + '#/jobs/' + shownId);
  await permalinkPage.reload({ waitUntil: 'load' });
  await permalinkPage.waitForSelector('#result[data-state="done"]');
  check(toNumber(await permalinkPage.textContent('#res-words')) === wordsB, 'the permalink opens the job');

  // ---- 4. a failed upload -----------------------------------------------------------------------------
  await page.setInputFiles('#file', fileFail);
  await page.click('#count-btn');
  await page.waitForSelector('#queue tbody tr[data-status="failed"]');
  const err = await page.textContent('#error');
  check(/Cluster not ready \(503\)/.test(err) && /no leader is known/.test(err) && /Retry in 2 s/.test(err),
    `the failure shows the server's message and what to do: "${err.trim()}"`);
  check(await page.getAttribute('#error', 'role') === 'alert', 'the error is announced (role=alert)');

  // ---- 5. cancel ---------------------------------------------------------------------------------------
  await page.setInputFiles('#file', fileBig);
  await page.click('#count-btn');
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'cancel-btn');
  await page.waitForSelector('#queue tbody tr[data-status="uploading"], #queue tbody tr[data-status="counting"]');
  await page.keyboard.press('Enter');  // the focus moved to Cancel when the run started
  await page.waitForSelector('#queue tbody tr[data-status="cancelled"]');
  check((await page.textContent('#status')).startsWith('Cancelled'), 'cancel stops the run and says so');
  check(await page.isVisible('#count-btn') && !(await page.isVisible('#cancel-btn')), 'after cancel, Count is back');

  // ---- 6/7. narrow and dark ------------------------------------------------------------------------
  const narrow = await newPage({ viewport: { width: 320, height: 800 } });
  await narrow.setInputFiles('#file', fileA);
  await narrow.click('#count-btn');
  await narrow.waitForSelector('#result[data-state="done"]');
  const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `no horizontal scrolling at 320 px (${overflow} px)`);
  await axe(narrow, '320 px');
  await narrow.screenshot({ path: path.join(out, 'page-narrow.png'), fullPage: true });
  const dark = await newPage({ colorScheme: 'dark' });
  await dark.setInputFiles('#file', fileA);
  await dark.click('#count-btn');
  await dark.waitForSelector('#result[data-state="done"]');
  const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg !== 'rgb(243, 245, 249)', `dark mode follows prefers-color-scheme (${bg})`);
  await axe(dark, 'dark');
  await dark.screenshot({ path: path.join(out, 'page-dark.png'), fullPage: true });
} catch (e) {
  fail(String(e && e.stack ? e.stack : e));
}
if (errors.length) fail('page errors: ' + errors.join('; '));
await browser.close();
console.log(failures ? `page.mjs: ${failures} failure(s)` : 'page.mjs: all passed');
process.exit(failures ? 1 : 0);
