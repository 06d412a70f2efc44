// The admin page's dashboard in a headless browser: what it draws from /metrics, the admin
// token it sends, and what it says when it cannot have the numbers. Screenshots are kept
// in the test output.
// Run: node --test tests/browser/   (after scripts/setup-browser and a build of build/livefeed)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  DEADLINE_MS,
  fill,
  openPage,
  publish,
  screenshot,
  serverAndContext,
  textOf,
  useBrowser,
  waitForHealth,
  waitForStatus,
} from './support.mjs';

const TEST_TIMEOUT = 120000;
// The exposition the C++ registry writes (tests/metrics/write_exposition.cpp); ctest names it.
const WRITER = process.env.LIVEFEED_WRITE_EXPOSITION;

const browser = useBrowser();

const setup = (t, serverArgs) => serverAndContext(t, browser(), serverArgs);

function tileValue(page, id) {
  return page.$eval(`#${id}`, (el) => el.dataset.value);
}

// Publishes to `channel` every 50 ms until the returned function is called (and awaited).
function keepPublishing(server, channel) {
  let publishing = true;
  const publisher = (async () => {
    for (let n = 0; publishing; n++) {
      await publish(server, { channel, data: { n } });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return async () => {
    publishing = false;
    await publisher;
  };
}

test('the dashboard shows the server\'s live numbers while items are published and delivered', { timeout: TEST_TIMEOUT }, async (t) => {
  const { server, context } = await setup(t);
  // A reader of the channel on the live page, so that there are deliveries to show.
  const reader = await openPage(context, `${server.url}/index.html?channel=dashboard`);
  await waitForStatus(reader, 'live');
  await waitForHealth(server, (health) => health.waiting >= 1);
  const admin = await openPage(context, `${server.url}/admin.html`);
  await admin.waitForSelector('#dashboard-status[data-state=live]', { timeout: DEADLINE_MS });
  const stop = keepPublishing(server, 'dashboard');
  try {
    await admin.waitForFunction(
      () => ['dash-publishes', 'dash-deliveries', 'dash-p99'].every((id) => Number(document.getElementById(id).dataset.value) > 0),
      { timeout: DEADLINE_MS }
    );
  } finally {
    await stop();
  }
  assert.ok(Number(await tileValue(admin, 'dash-connections')) >= 2, 'the pages\' own connections are counted');
  assert.ok(Number(await tileValue(admin, 'dash-waiting')) >= 1, 'the live page waits for items');
  await screenshot(admin, 'admin-dashboard');
  assert.deepEqual(admin.uncaughtErrors.map(String), []);
  assert.deepEqual(reader.uncaughtErrors.map(String), []);
});

test('with --admin-token the dashboard asks for the token, then shows the numbers', { timeout: TEST_TIMEOUT }, async (t) => {
  const { server, context } = await setup(t, ['--admin-token', 's3cret']);
  const admin = await openPage(context, `${server.url}/admin.html`);
  await admin.waitForSelector('#dashboard-status[data-state=error]', { timeout: DEADLINE_MS });
  assert.match(await textOf(admin, '#dashboard-status'), /admin token \(401\)/);
  await fill(admin, '#admin-token', 'not-it');
  await admin.waitForFunction(() => /admin token \(403\)/.test(document.getElementById('dashboard-status').textContent), {
    timeout: DEADLINE_MS,
  });
  await fill(admin, '#admin-token', 's3cret');
  await admin.waitForSelector('#dashboard-status[data-state=live]', { timeout: DEADLINE_MS });
  const stop = keepPublishing(server, 'dashboard');
  try {
    await admin.waitForFunction(() => Number(document.getElementById('dash-publishes').dataset.value) > 0, {
      timeout: DEADLINE_MS,
    });
  } finally {
    await stop();
  }
  await screenshot(admin, 'admin-dashboard-real-token');
  assert.deepEqual(admin.uncaughtErrors.map(String), []);
});

test('the dashboard sends the admin token and reads the registry\'s exposition as written', { timeout: TEST_TIMEOUT, skip: !WRITER && 'LIVEFEED_WRITE_EXPOSITION is not set (ctest sets it)' }, async (t) => {
  const { server, context } = await setup(t);
  // /metrics as a server with --admin-token s3cret answers it, with the registry's own text.
  const exposition = execFileSync(WRITER, { encoding: 'utf8' });
  const seen = [];
  const admin = await openPage(context, `${server.url}/admin.html`, {
    respond: (url, request) => {
      if (new URL(url).pathname !== '/metrics') return undefined;
      const authorization = request.headers().authorization;
      seen.push(authorization);
      if (authorization !== 'Bearer s3cret') {
        return { status: 401, contentType: 'application/json', body: '{"error": "token required"}' };
      }
      return { status: 200, contentType: 'text/plain; version=0.0.4', body: exposition };
    },
  });
  await admin.waitForSelector('#dashboard-status[data-state=error]', { timeout: DEADLINE_MS });
  assert.match(await textOf(admin, '#dashboard-status'), /admin token \(401\)/);
  assert.equal(await textOf(admin, '#dash-connections'), '—');

  await fill(admin, '#admin-token', 's3cret');
  await admin.waitForSelector('#dashboard-status[data-state=live]', { timeout: DEADLINE_MS });
  assert.equal(seen.at(-1), 'Bearer s3cret');
  assert.equal(await tileValue(admin, 'dash-connections'), '12');
  assert.equal(await tileValue(admin, 'dash-waiting'), '10');
  await screenshot(admin, 'admin-dashboard-token');
  assert.deepEqual(admin.uncaughtErrors.map(String), []);
});

test('without /metrics the dashboard says so, and publishing still works', { timeout: TEST_TIMEOUT }, async (t) => {
  const { server, context } = await setup(t);
  // What a server without metrics (or a proxy that does not pass them) answers.
  const admin = await openPage(context, `${server.url}/admin.html`, {
    respond: (url) => (new URL(url).pathname === '/metrics' ? { status: 404, body: '{"error": "not found"}' } : undefined),
  });
  await admin.waitForSelector('#dashboard-status[data-state=error]', { timeout: DEADLINE_MS });
  assert.match(await textOf(admin, '#dashboard-status'), /does not serve \/metrics/);

  await fill(admin, 'textarea[name=text]', 'published next to a dashboard without numbers');
  await admin.click('#send');
  await admin.waitForSelector('#result[data-state=ok]', { timeout: DEADLINE_MS });
  assert.match(await textOf(admin, '#result'), /^Published item \d+ on channel default\.$/);
  await screenshot(admin, 'admin-dashboard-no-metrics');
  assert.deepEqual(admin.uncaughtErrors.map(String), []);
});
