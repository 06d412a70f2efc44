// The browser's own EventSource (not web/client.js) against the real server binary: a burst
// arrives complete and in order, and after a server restart on the same port the EventSource
// reconnects by itself, sends Last-Event-ID, is told of the gap and misses nothing new.
// Run: node --test tests/browser/   (after scripts/setup-browser and a build of build/livefeed)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEADLINE_MS, ENGINE, useBrowser, openPage, publish, startServer } from './support.mjs';

const TEST_TIMEOUT = 120000;
// A short reconnect delay, sent to the EventSource in the stream's `retry:` line.
const SERVER_ARGS = ['--sse-retry', '500'];
const BURST = 100;

const browser = useBrowser();

// Opens a native EventSource in the page. Everything it reports goes to window.__es:
// `messages` (lastEventId and the item's id and data), `truncated` notices, and `events`,
// the order of open / error / truncated relative to the messages.
function openEventSource(page, url) {
  return page.evaluate((url) => {
    const log = { messages: [], truncated: [], events: [] };
    window.__es = log;
    const es = new EventSource(url);
    window.__eventSource = es;
    es.addEventListener('open', () => log.events.push({ type: 'open', after: log.messages.length }));
    es.addEventListener('error', () =>
      log.events.push({ type: 'error', readyState: es.readyState, after: log.messages.length })
    );
    es.addEventListener('message', (e) => {
      const item = JSON.parse(e.data);
      log.messages.push({ lastEventId: e.lastEventId, id: item.id, data: item.data });
    });
    es.addEventListener('truncated', (e) => {
      log.truncated.push({ lastEventId: e.lastEventId, data: JSON.parse(e.data), after: log.messages.length });
      log.events.push({ type: 'truncated', after: log.messages.length });
    });
  }, url);
}

const eventLog = (page) => page.evaluate(() => window.__es);
const countOf = (page, type) => page.evaluate((type) => window.__es.events.filter((e) => e.type === type).length, type);

function waitForEvents(page, type, count, timeout = DEADLINE_MS) {
  return page.waitForFunction(
    (type, count) => window.__es.events.filter((e) => e.type === type).length >= count,
    { timeout, polling: 100 },
    type,
    count
  );
}

function waitForItem(page, id, timeout = 30000) {
  return page.waitForFunction((id) => window.__es.messages.some((m) => m.id === id), { timeout, polling: 100 }, id);
}

// Publishes items with data first, first+1, ... one right after the other; returns them as
// the EventSource should report them.
async function publishBurst(server, first) {
  const published = [];
  for (let i = first; i < first + BURST; i++) {
    const { id } = await publish(server, { data: i });
    published.push({ lastEventId: String(id), id, data: i });
  }
  return published;
}

function assertInOrder(messages) {
  for (let n = 1; n < messages.length; n++) {
    assert.ok(messages[n].id > messages[n - 1].id, `item ${n} (id ${messages[n].id}) after id ${messages[n - 1].id}`);
  }
}

test(`native EventSource (${ENGINE}): a burst arrives once each in order, and it reconnects by itself after a restart`, { timeout: TEST_TIMEOUT }, async (t) => {
  const first = await startServer({ args: SERVER_ARGS });
  const context = await browser().createBrowserContext();
  let second = null;
  t.after(async () => {
    await context.close();
    await first.stop();
    if (second) await second.stop();
  });
  // Same origin as the stream; admin.html runs no feed of its own (index.html would start
  // client.js's connection next to ours).
  const page = await openPage(context, `${first.url}/admin.html`);
  await openEventSource(page, '/real_time_feed/stream?since=0&typed=0');
  await waitForEvents(page, 'open', 1);

  // 1. A burst of 100.
  const before = await publishBurst(first, 0);
  await waitForItem(page, before.at(-1).id);
  let log = await eventLog(page);
  assert.deepEqual(log.messages, before, 'every item exactly once, in order, lastEventId = item id');
  assert.deepEqual(log.truncated, []);
  assert.deepEqual(log.events, [{ type: 'open', after: 0 }], 'no error before the restart');

  // 2. Restart on the same port. The stream ends cleanly; the EventSource retries on its own.
  assert.equal(await first.stop(), true, 'the server exits on SIGTERM within the deadline');
  await waitForEvents(page, 'error', 1);
  second = await startServer({ port: first.port, args: SERVER_ARGS });
  await waitForEvents(page, 'open', 2, 60000);
  // The new process cannot vouch for the cursor it was sent, and says so before anything else.
  await waitForEvents(page, 'truncated', 1);

  // 3. 100 more, from the new process.
  const afterRestart = await publishBurst(second, BURST);
  await waitForItem(page, afterRestart.at(-1).id);
  // One last item: the stream delivers in id order, so anything still on its way (a
  // duplicate, say) has arrived once this one has.
  const { id: sentinel } = await publish(second, { data: 'sentinel' });
  await waitForItem(page, sentinel);

  log = await eventLog(page);
  const messages = log.messages.slice(0, -1);
  assert.deepEqual(log.messages.at(-1), { lastEventId: String(sentinel), id: sentinel, data: 'sentinel' });
  assert.equal(messages.length, 2 * BURST);
  assert.deepEqual(messages, [...before, ...afterRestart], 'all 200 items exactly once, in order, lastEventId = item id');
  assertInOrder(log.messages);

  // The truncated notice: once, right after the reconnect and before the new items. The
  // stream was opened with since=0, which is never truncated, so this shows the reconnect
  // sent the last id seen as Last-Event-ID. The notice names where the stream resumes (the
  // new process's start, before its first item) as its cursor and as its id.
  assert.equal(log.truncated.length, 1, 'one truncated notice');
  const [notice] = log.truncated;
  assert.ok(notice.data.cursor > before.at(-1).id, 'resumes after the old items');
  assert.ok(notice.data.cursor < afterRestart[0].id, 'resumes before the new items');
  assert.equal(notice.lastEventId, String(notice.data.cursor));
  assert.equal(notice.after, BURST, 'the notice came before any item of the new process');
  const types = log.events.map((e) => e.type);
  const secondOpen = types.lastIndexOf('open');
  assert.equal(types.indexOf('truncated'), secondOpen + 1, `the notice follows the second open: ${types.join(' ')}`);
  // Between the two opens only errors (the stream ending, refused retries while the server was
  // down), and the EventSource never gave up: every error left it CONNECTING, not CLOSED.
  assert.equal(await countOf(page, 'open'), 2, `opened twice: ${types.join(' ')}`);
  assert.deepEqual(types.slice(1, secondOpen), Array(secondOpen - 1).fill('error'));
  for (const e of log.events.filter((e) => e.type === 'error')) {
    assert.equal(e.readyState, 0, 'readyState CONNECTING after an error');
    assert.equal(e.after, BURST, 'errors only between the bursts');
  }
  assert.equal(await page.evaluate(() => window.__eventSource.readyState), 1, 'OPEN at the end');
  assert.deepEqual(page.uncaughtErrors.map(String), []);
});
