// web/client.js's features in a real browser against the real server: tabs sharing one
// connection (shared=1 on the live page), a leading tab closing, channels changed at run
// time, and the network going offline and back.
// Run: LIVEFEED_BROWSER=chromium|firefox node --test tests/browser/
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEADLINE_MS,
  ENGINE,
  drain,
  openPage,
  publish,
  screenshot,
  shownItems,
  startServer,
  useBrowser,
  waitForHealth,
  waitForItemText,
  waitForStatus,
} from './support.mjs';

const TEST_TIMEOUT = 180000;
const TABS = 8;

const browser = useBrowser();

async function setup(t) {
  const server = await startServer();
  const context = await browser().createBrowserContext();
  t.after(async () => {
    await context.close();
    await server.stop();
  });
  return { server, context };
}

// Publishes `count` items on `channel` with texts `${prefix} 00`, ...; returns the texts.
async function publishMany(server, channel, prefix, count) {
  const texts = [];
  for (let n = 0; n < count; n++) {
    const text = `${prefix} ${String(n).padStart(2, '0')}`;
    await publish(server, { channel, data: { text } });
    texts.push(text);
  }
  return texts;
}

// The item texts a tab shows, oldest first, after a last item has come through.
async function shownTexts(page, server, channel) {
  return (await drain(page, server, channel)).map((i) => i.text).reverse();
}

const leaderOf = async (pages) => {
  const roles = await Promise.all(pages.map((p) => p.$eval('#status', (el) => el.dataset.role || '')));
  const leaders = pages.filter((_, i) => roles[i] === 'leader');
  assert.equal(leaders.length, 1, `one leading tab (roles: ${roles.join(' ')})`);
  return leaders[0];
};

describe(`client.js features (${ENGINE})`, () => {
  test(`${TABS} tabs with shared=1 hold one connection; a closed leader is replaced with no loss or repeat`, { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t);
    const pages = [];
    for (let i = 0; i < TABS; i++) {
      pages.push(await openPage(context, `${server.url}/?channel=tabs&shared=1`));
    }
    for (const page of pages) await waitForStatus(page, 'live');
    // Each tab on its own would be one waiting stream: the server sees one.
    await waitForHealth(server, (h) => h.waiting === 1);

    const before = await publishMany(server, 'tabs', 'before', 10);
    for (const page of pages) await waitForItemText(page, before.at(-1));
    await waitForHealth(server, (h) => h.waiting === 1);

    // The leading tab goes; items published while nobody holds the connection are not lost.
    const leader = await leaderOf(pages);
    await leader.close();
    const rest = pages.filter((p) => p !== leader);
    const during = await publishMany(server, 'tabs', 'during', 5);
    const after = await publishMany(server, 'tabs', 'after', 5);
    for (const page of rest) await waitForItemText(page, after.at(-1), 30000);
    await waitForHealth(server, (h) => h.waiting === 1);
    await leaderOf(rest);

    // One last item for all: anything still on its way (a repeat, say) has arrived after it.
    await publish(server, { channel: 'tabs', data: { text: 'last' } });
    for (const page of rest) {
      await waitForItemText(page, 'last');
      const texts = (await shownItems(page)).map((i) => i.text).reverse();
      assert.deepEqual(texts, [...before, ...during, ...after, 'last'], 'every item once, in order');
    }
    await screenshot(rest[0], 'shared-tabs');
    for (const page of rest) assert.deepEqual(page.uncaughtErrors.map(String), []);
  });

  test('without Web Locks the tabs elect a leader over a BroadcastChannel', { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t);
    const withoutLocks = () => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });
    const pages = [];
    for (let i = 0; i < 3; i++) {
      pages.push(await openPage(context, `${server.url}/?channel=nolocks&shared=1`, { beforeScripts: withoutLocks }));
    }
    assert.equal(await pages[0].evaluate(() => navigator.locks), undefined);
    for (const page of pages) await waitForStatus(page, 'live');
    await waitForHealth(server, (h) => h.waiting === 1);
    const before = await publishMany(server, 'nolocks', 'before', 5);
    for (const page of pages) await waitForItemText(page, before.at(-1));

    const leader = await leaderOf(pages);
    await leader.close(); // resigns on pagehide
    const rest = pages.filter((p) => p !== leader);
    const after = await publishMany(server, 'nolocks', 'after', 5);
    for (const page of rest) await waitForItemText(page, after.at(-1), 30000);
    await waitForHealth(server, (h) => h.waiting === 1);
    await publish(server, { channel: 'nolocks', data: { text: 'last' } });
    for (const page of rest) {
      await waitForItemText(page, 'last');
      const texts = (await shownItems(page)).map((i) => i.text).reverse();
      assert.deepEqual(texts, [...before, ...after, 'last'], 'every item once, in order');
      assert.deepEqual(page.uncaughtErrors.map(String), []);
    }
  });

  // Chromium can freeze a page on request (Page.setWebLifecycleState); Firefox cannot.
  test('a frozen leading tab hands over, and catches up once resumed', { timeout: TEST_TIMEOUT, skip: ENGINE !== 'chromium' && 'Chromium only' }, async (t) => {
    const { server, context } = await setup(t);
    const pages = [];
    for (let i = 0; i < 3; i++) pages.push(await openPage(context, `${server.url}/?channel=freeze&shared=1`));
    for (const page of pages) await waitForStatus(page, 'live');
    const before = await publishMany(server, 'freeze', 'before', 3);
    for (const page of pages) await waitForItemText(page, before.at(-1));

    const frozen = await leaderOf(pages);
    const cdp = await frozen.createCDPSession();
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    const rest = pages.filter((p) => p !== frozen);
    const during = await publishMany(server, 'freeze', 'while frozen', 3);
    for (const page of rest) await waitForItemText(page, during.at(-1), 30000);
    await leaderOf(rest);

    await cdp.send('Page.setWebLifecycleState', { state: 'active' });
    await publish(server, { channel: 'freeze', data: { text: 'last' } });
    for (const page of pages) {
      await waitForItemText(page, 'last', 30000);
      const texts = (await shownItems(page)).map((i) => i.text).reverse();
      assert.deepEqual(texts, [...before, ...during, 'last'], 'every item once, in order');
    }
    await waitForHealth(server, (h) => h.waiting === 1);
  });

  test('subscribe and unsubscribe at run time', { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t);
    // Held by the server before the page subscribes: only a cursor brings it back.
    const { id: archived } = await publish(server, { channel: 'archive', data: { text: 'archived' } });
    await publish(server, { channel: 'weather', data: { text: 'weather before subscribing' } });
    const page = await openPage(context, `${server.url}/?channel=news`);
    await waitForStatus(page, 'live');
    await publish(server, { channel: 'news', data: { text: 'news 1' } });
    await waitForItemText(page, 'news 1');

    await page.evaluate(() => window.liveFeed.subscribe('weather'));
    await publish(server, { channel: 'weather', data: { text: 'weather 1' } });
    await publish(server, { channel: 'news', data: { text: 'news 2' } });
    await waitForItemText(page, 'news 2');
    await page.evaluate((cursor) => window.liveFeed.subscribe('archive', cursor), archived - 1);
    await waitForItemText(page, 'archived');
    assert.deepEqual(await page.evaluate(() => window.liveFeed.channels), ['news', 'weather', 'archive']);

    await page.evaluate(() => window.liveFeed.unsubscribe('news'));
    await publish(server, { channel: 'news', data: { text: 'news 3: not followed' } });
    await publish(server, { channel: 'weather', data: { text: 'weather 2' } });
    const shown = await shownTexts(page, server, 'weather');
    assert.deepEqual(shown, ['news 1', 'weather 1', 'news 2', 'archived', 'weather 2']);
    await screenshot(page, 'channels-at-run-time');
    assert.deepEqual(page.uncaughtErrors.map(String), []);
  });

  for (const transport of ['sse', 'longpoll']) {
    test(`offline then online: reconnects at once and resumes exactly (transport=${transport})`, { timeout: TEST_TIMEOUT }, async (t) => {
      const { server, context } = await setup(t);
      const page = await openPage(context, `${server.url}/admin.html`);
      // A backoff of at least 30 s: coming back sooner can only be the online event's doing.
      await page.evaluate(async (transport) => {
        const { LiveFeed } = await import('/client.mjs');
        const log = { items: [], statuses: [] };
        window.__log = log;
        const feed = new LiveFeed({ channels: ['net'], since: 0, transport, minBackoff: 60000, maxBackoff: 60000 });
        feed.on('item', (item) => log.items.push(item.data.text));
        feed.on('status', (status) => log.statuses.push(status));
        feed.start();
      }, transport);
      // What the page logs is no DOM: polled every 100 ms.
      const waitForLog = (fn, arg, timeout = DEADLINE_MS) => page.waitForFunction(fn, { timeout, polling: 100 }, arg);
      await waitForLog(() => window.__log.statuses.at(-1) === 'live');
      const before = await publishMany(server, 'net', 'before', 3);
      await waitForLog((n) => window.__log.items.length === n, before.length);

      await page.setOfflineMode(true);
      await waitForLog(() => window.__log.statuses.at(-1) === 'reconnecting');
      const offline = await publishMany(server, 'net', 'while offline', 5);
      await page.setOfflineMode(false);
      // Well below the 30 s the backoff would have waited.
      await waitForLog(() => window.__log.statuses.at(-1) === 'live', undefined, 20000);
      const after = await publishMany(server, 'net', 'after', 3);
      const all = [...before, ...offline, ...after];
      await waitForLog((n) => window.__log.items.length >= n, all.length);
      // One more: anything still on its way (a repeat, say) has arrived once it has.
      await publish(server, { channel: 'net', data: { text: 'sentinel' } });
      await waitForLog(() => window.__log.items.at(-1) === 'sentinel');
      const log = await page.evaluate(() => window.__log);
      assert.deepEqual(log.items, [...all, 'sentinel'], 'every item once, in order');
      assert.deepEqual(log.statuses, ['connecting', 'live', 'reconnecting', 'live']);
      assert.deepEqual(page.uncaughtErrors.map(String), []);
    });
  }
});
