// Browser check of the self-hosted GraphiQL page: loads $ANNALS_URL/ in Debian's /usr/bin/chromium, runs the default query, expects $EXPECT_TEXT.
// Usage: ANNALS_URL=http://127.0.0.1:8080 [EXPECT_TEXT=De-Stalinization] [SCREENSHOT=target/graphiql.png] node tests/e2e/graphiql.mjs
// Any request to another host is aborted and fails the check; prints one line and exits 0 (ok) or 1 (failure), 60 s at most.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const OVERALL_TIMEOUT_MS = 60_000;
const CHROMIUM = '/usr/bin/chromium';

const here = path.dirname(fileURLToPath(import.meta.url));
const screenshot = process.env.SCREENSHOT
  ? path.resolve(process.env.SCREENSHOT)
  : path.resolve(here, '../../target/graphiql.png');
const expectText = process.env.EXPECT_TEXT || 'De-Stalinization';
mkdirSync(path.dirname(screenshot), { recursive: true });

let browser;

async function fail(message) {
  console.error(`graphiql: FAIL: ${message}`);
  await browser?.close().catch(() => {});
  process.exit(1);
}

const watchdog = setTimeout(
  () => fail(`timed out after ${OVERALL_TIMEOUT_MS / 1000} s`),
  OVERALL_TIMEOUT_MS,
);

let base;
try {
  base = new URL(process.env.ANNALS_URL || '');
} catch {
  await fail('ANNALS_URL is not set to a URL (e.g. http://127.0.0.1:8080)');
}

const blocked = [];
const pageErrors = [];
const isOwnHost = (url) => {
  try {
    return new URL(url).host === base.host;
  } catch {
    return false;
  }
};
const context = (extra) => {
  const notes = [];
  if (blocked.length) notes.push(`blocked external requests: ${blocked.join(' ')}`);
  if (pageErrors.length) notes.push(`page errors: ${pageErrors.join(' | ')}`);
  return notes.length ? `${extra} (${notes.join('; ')})` : extra;
};

try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Only the server under test may be contacted; everything else is aborted and recorded.
  await ctx.route('**/*', (route) => {
    const url = route.request().url();
    if (isOwnHost(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await ctx.newPage();
  page.on('websocket', (ws) => {
    if (!isOwnHost(ws.url())) blocked.push(ws.url());
  });
  page.on('pageerror', (err) => pageErrors.push(err.message.split('\n')[0]));

  const response = await page.goto(new URL('/', base).href, { waitUntil: 'load' });
  if (!response?.ok()) await fail(`GET / answered ${response?.status()}`);

  // The query editor holds the default query once GraphiQL has rendered.
  await page
    .locator('.graphiql-query-editor .CodeMirror-code')
    .filter({ hasText: 'article' })
    .waitFor({ timeout: 30_000 })
    .catch(() => fail(context('the GraphiQL query editor with the default query did not appear')));

  await page.locator('.graphiql-execute-button').click({ timeout: 10_000 });

  await page
    .locator('.graphiql-response')
    .filter({ hasText: expectText })
    .waitFor({ timeout: 20_000 })
    .catch(async () => {
      const shown = await page
        .locator('.graphiql-response')
        .innerText({ timeout: 1_000 })
        .catch(() => '');
      await page.screenshot({ path: screenshot }).catch(() => {});
      await fail(
        context(`response pane lacks "${expectText}"; it shows: ${shown.replace(/\s+/g, ' ').slice(0, 300)}`),
      );
    });

  await page.screenshot({ path: screenshot });

  if (blocked.length) await fail(context('the page tried to reach another host'));
  clearTimeout(watchdog);
  await browser.close();
  console.log(`graphiql: ok: the response shows "${expectText}" (screenshot: ${screenshot})`);
  process.exit(0);
} catch (err) {
  await fail(context(err?.message?.split('\n')[0] ?? String(err)));
}
