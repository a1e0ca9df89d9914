// End-to-end browser test of `v2a serve`: Debian's chromium (headless, offline flags) driven by
// playwright-core. Signs in, rates three clips (a click, a key, a key + undo + key), judges one A/B
// pair by key, opens Agreement, and runs the Demo on an uploaded video when the server has a model.
// Saves a screenshot of every page into --out. Prints one line "E2E <json>" for the C++ test.
//   node rate.mjs --url http://127.0.0.1:PORT --chromium /usr/bin/chromium --out DIR [--upload FILE]
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const url = args.url;
const out = args.out;
fs.mkdirSync(out, { recursive: true });

const flags = ['--disable-background-networking', '--disable-component-update', '--disable-sync',
               '--disable-default-apps', '--no-first-run', '--disable-dev-shm-usage', '--mute-audio',
               '--autoplay-policy=no-user-gesture-required', '--disable-features=Translate,MediaRouter'];
if (process.getuid && process.getuid() === 0) flags.push('--no-sandbox');
const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: flags });
const result = { clips: [], errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 860 } });
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => result.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') console.log('[console]', m.text()); });

  // Show a real frame before a screenshot; a browser without H.264 still rates (skips the wait).
  const videoReady = (sel) => page.waitForFunction((s) => {
    const v = document.querySelector(s);
    return v && v.readyState >= 2;
  }, sel, { timeout: 8000 }).catch(() => console.log('[note] video ' + sel + ' did not load'));
  const clipShown = () => page.getAttribute('#rate-card', 'data-clip-id');
  const nextClip = (prev) => page.waitForFunction((p) => {
    const card = document.querySelector('#rate-card');
    return (!card.hidden && card.dataset.clipId && card.dataset.clipId !== p) || !document.querySelector('#rate-done').hidden;
  }, prev);

  await page.goto(url + '/#rate');
  await page.fill('#login-name', 'e2e-browser');
  await page.click('#login-submit');
  await page.waitForSelector('#rate-card:not([hidden])');

  // 1: by clicking Good.
  const first = await clipShown();
  await videoReady('#rate-video');
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(out, 'serve_rate.png') });
  await page.click('#btn-good');
  await nextClip(first);
  // 2: by the key 2 (Medium).
  const second = await clipShown();
  await page.keyboard.press('2');
  await nextClip(second);
  // 3: key 1, undo with U (the clip comes back), then key 3 (Bad).
  const third = await clipShown();
  await page.keyboard.press('1');
  await nextClip(third);
  await page.keyboard.press('u');
  await page.waitForFunction((c) => document.querySelector('#rate-card').dataset.clipId === c, third);
  await page.keyboard.press('3');
  await nextClip(third);
  result.clips = [first, second, third];
  result.rate_status = await page.textContent('#rate-status');

  // Compare: one pair by the key A.
  await page.click('a[data-tab="compare"]');
  await page.waitForSelector('#compare-card:not([hidden])');
  await videoReady('#compare-left');
  await videoReady('#compare-right');
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(out, 'serve_compare.png') });
  result.compare_left = await page.getAttribute('#compare-card', 'data-left');
  await page.keyboard.press('a');
  await page.waitForFunction(() => document.querySelector('#compare-status').textContent.startsWith('Saved'));

  // Agreement: the table lists every clip.
  await page.click('a[data-tab="agreement"]');
  await page.waitForSelector('#agreement-clips tbody tr');
  result.agreement_rows = await page.locator('#agreement-clips tbody tr').count();
  await page.screenshot({ path: path.join(out, 'serve_agreement.png'), fullPage: true });

  // Demo: upload, generate, play.
  await page.click('a[data-tab="demo"]');
  if (args.upload) {
    await page.waitForSelector('#demo-form:not([hidden])');
    await page.setInputFiles('#demo-video', args.upload);
    await page.fill('#demo-prompt', 'a bright tone');
    await page.fill('#demo-steps', '2');
    await page.click('#demo-submit');
    await page.waitForSelector('#demo-result:not([hidden])', { timeout: 120000 });
    await videoReady('#demo-output');
    result.demo_download = await page.getAttribute('#demo-download', 'href');
  }
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(out, 'serve_demo.png') });
} finally {
  await browser.close();
}
console.log('E2E ' + JSON.stringify(result));
process.exit(result.errors.length ? 1 : 0);
