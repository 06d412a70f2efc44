// What the browser tests share: the real server binary started per test, a headless browser
// driven by puppeteer-core (Debian's Chromium over CDP, or Debian's Firefox ESR over WebDriver
// BiDi: LIVEFEED_BROWSER=chromium|firefox), and waits on the pages' DOM. Not a test file
// itself (node --test only runs *.test.mjs here).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const SERVER_BIN = process.env.LIVEFEED_BIN || path.join(REPO, 'build', 'livefeed');
export const OUTPUT_DIR = process.env.LIVEFEED_TEST_OUTPUT || path.join(REPO, 'build', 'test-output', 'browser');
export const ENGINE = process.env.LIVEFEED_BROWSER || 'chromium';
const EXECUTABLES = {
  chromium: process.env.LIVEFEED_CHROMIUM || '/usr/bin/chromium',
  firefox: process.env.LIVEFEED_FIREFOX || '/usr/bin/firefox-esr',
};
if (!EXECUTABLES[ENGINE]) throw new Error(`LIVEFEED_BROWSER must be chromium or firefox, not ${ENGINE}`);

// Deadlines are generous on purpose: they bound a broken run, they do not pace a good one.
export const DEADLINE_MS = 15000;

// Starts build/livefeed and resolves once it has printed the port it bound. `args` are
// further command-line options (e.g. ['--sse-retry', '500']).
export async function startServer({ port = 0, args = [] } = {}) {
  if (!existsSync(SERVER_BIN)) {
    throw new Error(`no server binary at ${SERVER_BIN}: build it (cmake -S . -B build && cmake --build build) or set LIVEFEED_BIN`);
  }
  const proc = spawn(SERVER_BIN, ['--port', String(port), '--web-root', path.join(REPO, 'web'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Drained all along (a full pipe would block the server) and kept for failure messages.
  const log = [];
  const keep = (chunk) => {
    log.push(String(chunk));
    if (log.length > 200) log.shift();
  };
  proc.stderr.on('data', keep);
  let stdout = '';
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

  const bound = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('server printed no "listening on" line')), DEADLINE_MS);
    function fail(err) {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${err.message}\n--- server output ---\n${stdout}${log.join('')}`));
    }
    proc.stdout.on('data', (chunk) => {
      keep(chunk);
      stdout += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('error', fail);
    exited.then(({ code, signal }) => fail(new Error(`server exited (code ${code}, signal ${signal}) before listening`)));
  });

  let stopped = null;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    output: () => log.join(''),
    // SIGTERM, then the exit within the deadline. Resolves true when it exited on its own.
    stop() {
      if (stopped) return stopped;
      stopped = (async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return true;
        proc.kill('SIGTERM');
        let timer;
        const graceful = await Promise.race([
          exited.then(() => true),
          new Promise((resolve) => (timer = setTimeout(() => resolve(false), DEADLINE_MS))),
        ]);
        clearTimeout(timer);
        if (!graceful) {
          proc.kill('SIGKILL');
          await exited;
        }
        return graceful;
      })();
      return stopped;
    },
  };
}

// One browser for a whole test file: launched before its first test, closed after its
// last. Returns a getter, as the browser exists only once the hook has run.
export function useBrowser() {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
  });
  return () => browser;
}

// `javaScript: false` only matters for Firefox, where it is a preference of the whole browser
// (Chromium turns it off per page: see noScriptPage).
export async function launchBrowser({ javaScript = true } = {}) {
  const executablePath = EXECUTABLES[ENGINE];
  if (!existsSync(executablePath)) throw new Error(`no ${ENGINE} at ${executablePath}: run scripts/setup-browser`);
  if (ENGINE === 'firefox') {
    return puppeteer.launch({
      browser: 'firefox',
      executablePath,
      protocol: 'webDriverBiDi',
      headless: true,
      extraPrefsFirefox: javaScript ? {} : { 'javascript.enabled': false },
    });
  }
  return puppeteer.launch({
    browser: 'chrome',
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// A page that fails the test on any uncaught exception in its scripts. `respond(url, request)`
// may answer requests instead of the server: {status, body} or nothing to let one through.
// `beforeScripts` runs in the page before any of its own scripts.
export async function openPage(context, url, { respond, beforeScripts } = {}) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err));
  page.uncaughtErrors = errors;
  if (beforeScripts) await page.evaluateOnNewDocument(beforeScripts);
  if (respond) {
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const answer = respond(request.url(), request);
      if (answer) request.respond({ contentType: 'text/plain', ...answer });
      else request.continue();
    });
  }
  await page.goto(url);
  return page;
}

// A page of its own browser context with scripts turned off, and what closes it.
export async function noScriptPage(browser, url) {
  if (ENGINE === 'firefox') {
    const own = await launchBrowser({ javaScript: false });
    const page = await own.newPage();
    await page.goto(url);
    return { page, close: () => own.close() };
  }
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setJavaScriptEnabled(false);
  await page.goto(url);
  return { page, close: () => context.close() };
}

// A server and a browser context that are torn down when test `t` ends, pages first.
export async function serverAndContext(t, browser, serverArgs) {
  const server = await startServer({ args: serverArgs });
  const context = await browser.createBrowserContext();
  t.after(async () => {
    await context.close();
    await server.stop();
  });
  return { server, context };
}

export async function screenshot(page, name) {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  // A background tab paints no frames: Chromium would wait for one for ever.
  await page.bringToFront();
  await page.screenshot({ path: path.join(OUTPUT_DIR, `${ENGINE}-${name}.png`), fullPage: true });
}

export async function publish(server, body) {
  const res = await fetch(`${server.url}/send_feed_item`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  if (!res.ok) throw new Error(`publish failed: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

// Polls the server's /healthz until `predicate(health)` holds; returns that health.
export async function waitForHealth(server, predicate, timeout = DEADLINE_MS) {
  const deadline = Date.now() + timeout;
  let health;
  for (;;) {
    health = await (await fetch(`${server.url}/healthz`)).json();
    if (predicate(health)) return health;
    if (Date.now() > deadline) throw new Error(`/healthz never matched; last: ${JSON.stringify(health)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---- the DOM, the same way in both engines ----

// Sets a field's value as typing would, in one step (typing 70,000 characters would not).
export function fill(page, selector, value) {
  return page.$eval(
    selector,
    (el, v) => {
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    },
    value
  );
}

export const textOf = (page, selector) => page.$eval(selector, (el) => el.textContent);
export const attributeOf = (page, selector, name) => page.$eval(selector, (el, n) => el.getAttribute(n), name);
export const countOf = (page, selector) => page.$$eval(selector, (els) => els.length);
export const isHidden = (page, selector) =>
  page.$eval(selector, (el) => el.hidden || getComputedStyle(el).display === 'none' || !el.getClientRects().length);

// A real click at the middle of the element: also for buttons whose click leaves the page.
export async function clickAt(page, selector) {
  const box = await (await page.$(selector)).boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}

export function waitForStatus(page, status, timeout = DEADLINE_MS) {
  return page.waitForSelector(`#status[data-status="${status}"]`, { timeout });
}

// Polls on DOM changes: puppeteer's default, animation frames, never come in a background tab.
export function waitForItemText(page, text, timeout = DEADLINE_MS) {
  return page.waitForFunction(
    (t) => [...document.querySelectorAll('#items .item-text')].some((e) => e.textContent === t),
    { timeout, polling: 'mutation' },
    text
  );
}

// What the reader sees, top (newest) to bottom.
export function shownItems(page) {
  return page.$$eval('#items .item', (lis) =>
    lis.map((li) => ({
      id: li.dataset.id,
      text: li.querySelector('.item-text') ? li.querySelector('.item-text').textContent : null,
      type: li.querySelector('.item-type') ? li.querySelector('.item-type').textContent : null,
      channel: li.querySelector('.item-channel').textContent,
    }))
  );
}

// Publishes one last item and waits for it: the feed delivers in id order, so anything
// that was still on its way (a duplicate, say) has arrived by then. Returns the items shown
// before it.
export async function drain(page, server, channel) {
  const text = `sentinel ${Date.now()} ${Math.random()}`;
  await publish(server, { channel, data: { text } });
  await waitForItemText(page, text);
  const items = await shownItems(page);
  if (items[0].text !== text) throw new Error(`the sentinel is not the newest item: ${JSON.stringify(items[0])}`);
  return items.slice(1);
}
