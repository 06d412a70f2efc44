// What the browser tests share: the real server binary started per test, a headless
// Chromium, and waits on the pages' DOM. Not a test file itself (node --test only runs
// *.test.mjs here).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const SERVER_BIN = process.env.LIVEFEED_BIN || path.join(REPO, 'build', 'livefeed');
export const OUTPUT_DIR = process.env.LIVEFEED_TEST_OUTPUT || path.join(REPO, 'build', 'test-output', 'browser');
const CHROMIUM = process.env.LIVEFEED_CHROMIUM || '/usr/bin/chromium';

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

// One Chromium for a whole test file: launched before its first test, closed after its
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

// A server and a context of `browser` that are torn down when test `t` ends, pages first.
export async function serverAndContext(t, browser) {
  const server = await startServer();
  const context = await browser.newContext();
  t.after(async () => {
    await context.close();
    await server.stop();
  });
  return { server, context };
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/setup-browser`);
  return chromium.launch({
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
}

// A page that fails the test on any uncaught exception in its scripts.
export async function openPage(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err));
  page.uncaughtErrors = errors;
  await page.goto(url);
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT_DIR, `${name}.png`), fullPage: true });
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

export function waitForStatus(page, status, timeout = DEADLINE_MS) {
  return page.waitForSelector(`#status[data-status="${status}"]`, { timeout });
}

export function waitForItemText(page, text, timeout = DEADLINE_MS) {
  return page.waitForFunction(
    (t) => [...document.querySelectorAll('#items .item-text')].some((e) => e.textContent === t),
    text,
    { timeout }
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
