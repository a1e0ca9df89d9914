// Opens a `v2a report` site from file:// in Debian's chromium (headless, offline) and checks that it
// works as a reader would use it: every page loads with no console error, failed request or page
// error; every video and audio element reaches readyState >= 2 (a decodable frame / sample) once
// asked to load; every image decodes after it is scrolled into view (lazy loading). Screenshots of
// the summary and the first clip page go to --out. Prints one line "E2E <json>" for the C++ test.
//   node check_report.mjs --index SITE/index.html --chromium /usr/bin/chromium --playwright DIR --out DIR
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
// playwright-core is installed once, in the serve tests' pinned package (tests/serve/e2e).
const { chromium } = createRequire(path.join(path.resolve(args.playwright), 'package.json'))('playwright-core');
fs.mkdirSync(args.out, { recursive: true });

const flags = ['--disable-background-networking', '--disable-component-update', '--disable-sync',
               '--disable-default-apps', '--no-first-run', '--disable-dev-shm-usage', '--mute-audio',
               '--allow-file-access-from-files'];
if (process.getuid && process.getuid() === 0) flags.push('--no-sandbox');
const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: flags });
const result = { pages: [], errors: [], media: 0, media_ready: 0, images: 0, images_decoded: 0, not_ready: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => result.errors.push('pageerror: ' + String(e)));
  page.on('console', (m) => { if (m.type() === 'error') result.errors.push('console: ' + m.text()); });
  // A media download cancelled by leaving the page (net::ERR_ABORTED) is not a broken link.
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (why !== 'net::ERR_ABORTED') result.errors.push('requestfailed: ' + r.url() + ' ' + why);
  });

  const visit = async (url, shot) => {
    await page.goto(url, { waitUntil: 'load' });
    const check = await page.evaluate(async () => {
      const media = [...document.querySelectorAll('video, audio')];
      for (const m of media) { m.preload = 'auto'; m.load(); }
      const deadline = Date.now() + 20000;
      while (Date.now() < deadline && media.some((m) => m.readyState < 2 && !m.error)) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const imgs = [...document.querySelectorAll('img')];
      for (const img of imgs) { img.scrollIntoView(); await img.decode().catch(() => {}); }
      window.scrollTo(0, 0);
      return {
        media: media.length,
        ready: media.filter((m) => m.readyState >= 2).length,
        not_ready: media.filter((m) => m.readyState < 2).map((m) => m.currentSrc + ' ' + (m.error ? m.error.message : '')),
        images: imgs.length,
        decoded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
        links: [...document.querySelectorAll('nav a')].map((a) => a.getAttribute('href')),
      };
    });
    result.pages.push(url);
    result.media += check.media;
    result.media_ready += check.ready;
    result.images += check.images;
    result.images_decoded += check.decoded;
    result.not_ready.push(...check.not_ready);
    if (shot) await page.screenshot({ path: path.join(args.out, shot), fullPage: false });
    return check.links;
  };

  const index = pathToFileURL(path.resolve(args.index)).href;
  const links = await visit(index, 'report_summary.png');
  let first = true;
  for (const link of links.filter((l) => l.startsWith('clips_'))) {
    await visit(new URL(link, index).href, first ? 'report_clips.png' : null);
    first = false;
  }
} finally {
  await browser.close();
}
console.log('E2E ' + JSON.stringify(result));
