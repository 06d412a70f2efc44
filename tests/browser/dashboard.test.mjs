// The admin page's dashboard in a headless browser: what it draws from /metrics, the admin
// token it sends, and what it says when it cannot have the numbers. Screenshots are kept
// in the test output.
// Run: node --test tests/browser/   (after scripts/setup-browser and a build of build/livefeed)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { DEADLINE_MS, fill, openPage, publish, screenshot, serverAndContext, textOf, useBrowser } from './support.mjs';

const TEST_TIMEOUT = 120000;
// The exposition the C++ registry writes (tests/metrics/write_exposition.cpp); ctest names it.
const WRITER = process.env.LIVEFEED_WRITE_EXPOSITION;

const browser = useBrowser();

const setup = (t) => serverAndContext(t, browser());

function tileValue(page, id) {
  return page.$eval(`#${id}`, (el) => el.dataset.value);
}

test('the dashboard shows non-zero publishes/s while items are published', { timeout: TEST_TIMEOUT }, async (t) => {
  const { server, context } = await setup(t);
  // Until the server serves /metrics (issue 13's HTTP part), there is nothing to draw from.
  // Remove this guard when it does.
  if ((await fetch(`${server.url}/metrics`)).status === 404) {
    t.skip('this server has no /metrics yet');
    return;
  }
  const admin = await openPage(context, `${server.url}/admin.html`);
  await admin.waitForSelector('#dashboard-status[data-state=live]', { timeout: DEADLINE_MS });
  let publishing = true;
  const publisher = (async () => {
    for (let n = 0; publishing; n++) {
      await publish(server, { channel: 'dashboard', data: { n } });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    await admin.waitForFunction(() => Number(document.getElementById('dash-publishes').dataset.value) > 0, {
      timeout: DEADLINE_MS,
    });
  } finally {
    publishing = false;
    await publisher;
  }
  assert.ok(Number(await tileValue(admin, 'dash-connections')) >= 1, 'the page\'s own connection is counted');
  await screenshot(admin, 'admin-dashboard');
  assert.deepEqual(admin.uncaughtErrors.map(String), []);
});

test('the dashboard sends the admin token and explains a refusal', { timeout: TEST_TIMEOUT, skip: !WRITER && 'LIVEFEED_WRITE_EXPOSITION is not set (ctest sets it)' }, async (t) => {
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
