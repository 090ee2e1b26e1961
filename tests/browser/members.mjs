// members.mjs URL MEMBER_ID READY_FILE — opens the page, waits until member MEMBER_ID is shown up, writes
// READY_FILE (the test then kills that node) and waits until the page shows it as down — in words and in
// colour — without a reload. Exit 0 when it does, 1 if not within 20 s, 77 when skipped.
import fs from 'node:fs';

const [url, id, ready] = process.argv.slice(2);
if (!url || !id || !ready) { console.error('usage: members.mjs URL MEMBER_ID READY_FILE'); process.exit(2); }
let chromium;
try { ({ chromium } = await import('playwright-core')); } catch (e) { console.error('SKIP: playwright-core'); process.exit(77); }
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
let code = 1;
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(url, { waitUntil: 'load' });
  const row = `#members li[data-id="${id}"]`;
  await page.waitForSelector(`${row}[data-up="yes"]`, { timeout: 20000 });
  fs.writeFileSync(ready, 'ready\n');
  const t0 = Date.now();
  await page.waitForSelector(`${row}[data-up="no"]`, { timeout: 20000 });
  const role = (await page.textContent(`${row} .role`)).trim();
  const dotAlive = await page.$eval(`${row} .dot`, (d) => d.classList.contains('alive'));
  const badge = (await page.textContent('#cluster-badge')).trim();
  console.log(`members.mjs: ${id} shown ${role} after ${Date.now() - t0} ms; badge "${badge}"`);
  if (role !== 'down') console.error(`FAIL: role reads "${role}", not "down"`);
  else if (dotAlive) console.error('FAIL: the dot is still green');
  else if (!/2\/3 up/.test(badge)) console.error(`FAIL: the badge does not count 2/3 up: "${badge}"`);
  else code = 0;
} catch (e) {
  console.error('FAIL: ' + e.message);
}
await browser.close();
process.exit(code);
