// The live feed and admin pages in a headless browser against the real server binary.
// Run: LIVEFEED_BROWSER=chromium|firefox node --test tests/browser/   (after scripts/setup-browser
// and a build of build/livefeed)
//
// Every test starts its own server on a free port. The tests of this file run one after the
// other: the restart test frees its port for a moment, and a server started meanwhile by a
// concurrent test could take it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEADLINE_MS,
  ENGINE,
  attributeOf,
  clickAt,
  countOf,
  drain,
  fill,
  isHidden,
  noScriptPage,
  openPage,
  publish,
  screenshot,
  serverAndContext,
  shownItems,
  startServer,
  textOf,
  useBrowser,
  waitForItemText,
  waitForStatus,
} from './support.mjs';

// How soon a published item must be on screen. Overridable for a slow machine.
const LATENCY_MS = Number(process.env.LIVEFEED_LATENCY_MS) || 1000;
const TEST_TIMEOUT = 120000;

const browser = useBrowser();

const setup = (t, serverArgs) => serverAndContext(t, browser(), serverArgs);

function assertNoPageErrors(...pages) {
  for (const page of pages) assert.deepEqual(page.uncaughtErrors.map(String), [], `uncaught errors on ${page.url()}`);
}

// Submits the admin form and waits for its answer; returns its state and the item's id.
async function submitAdmin(admin) {
  // A form answered earlier shows its result until the new one replaces it.
  await admin.$eval('#result', (el) => delete el.dataset.state);
  await admin.click('#send');
  await admin.waitForSelector('#result[data-state=ok], #result[data-state=error]', { timeout: DEADLINE_MS });
  return { state: await attributeOf(admin, '#result', 'data-state'), id: await attributeOf(admin, '#result', 'data-id') };
}

// The same, where the answer must be a success.
async function publishFromAdmin(admin) {
  const { state, id } = await submitAdmin(admin);
  assert.equal(state, 'ok', await textOf(admin, '#result'));
  return id;
}

describe(`live page and admin page (${ENGINE})`, () => {
  for (const transport of ['auto', 'longpoll', 'sse']) {
    test(`an item posted from the admin page appears on the live page at once (transport=${transport})`, { timeout: TEST_TIMEOUT }, async (t) => {
      const { server, context } = await setup(t);
      const live = await openPage(context, `${server.url}/?channel=lobby&transport=${transport}`);
      await waitForStatus(live, 'live');
      if (transport === 'sse') assert.match(await textOf(live, '#transport'), /Server-Sent Events/);
      if (transport === 'longpoll') assert.match(await textOf(live, '#transport'), /long-polling/);

      const admin = await openPage(context, `${server.url}/admin.html`);
      const text = `hello from the admin page (${transport})`;
      await fill(admin, 'input[name=type]', 'greeting');
      await fill(admin, 'input[name=channel]', 'lobby');
      await fill(admin, 'textarea[name=text]', text);
      const clicked = Date.now();
      const id = await publishFromAdmin(admin);
      assert.match(await textOf(admin, '#result'), new RegExp(`Published item ${id} on channel lobby`));

      await waitForItemText(live, text);
      const latency = Date.now() - clicked;
      assert.ok(latency <= LATENCY_MS, `item on screen ${latency} ms after the click (limit ${LATENCY_MS} ms)`);
      const [shown] = await shownItems(live);
      assert.deepEqual(shown, { id, text, type: 'greeting', channel: '#lobby' });
      assert.notEqual(await textOf(live, '#items .item time'), '', 'the item shows its time');
      assert.equal(await isHidden(live, '#empty'), true);

      await screenshot(live, `live-${transport}`);
      await screenshot(admin, `admin-${transport}`);
      assertNoPageErrors(live, admin);
    });
  }

  test('auto falls back to long-polling when the event stream is refused', { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t);
    // What a proxy that does not pass event streams would answer.
    const live = await openPage(context, `${server.url}/?channel=fallback`, {
      respond: (url) => (url.includes('/real_time_feed/stream') ? { status: 502, body: 'Bad Gateway' } : null),
    });
    await waitForStatus(live, 'live');
    assert.match(await textOf(live, '#transport'), /long-polling/);
    await publish(server, { channel: 'fallback', data: { text: 'via the fallback' } });
    await waitForItemText(live, 'via the fallback');
    await screenshot(live, 'live-auto-fallback');
    assertNoPageErrors(live);
  });

  test('published markup is shown as text and never runs', { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t);
    const live = await openPage(context, `${server.url}/?channel=xss`);
    await waitForStatus(live, 'live');
    const admin = await openPage(context, `${server.url}/admin.html`);

    const payload = `<img src="x" onerror="window.__pwned='img'"><script>window.__pwned='script'</script><b>bold?</b>`;
    await fill(admin, 'input[name=type]', 'markup');
    await fill(admin, 'input[name=channel]', 'xss');
    await fill(admin, 'textarea[name=text]', payload);
    await publishFromAdmin(admin);
    await waitForItemText(live, payload);

    // The same through the raw JSON field, with markup outside `text` too.
    const second = { text: 'second <svg onload="window.__pwned=\'svg\'"></svg>', note: '<img src=y onerror="window.__pwned=\'note\'">' };
    await fill(admin, 'textarea[name=text]', '');
    await fill(admin, '#json', JSON.stringify(second));
    await publishFromAdmin(admin);
    await waitForItemText(live, second.text);

    const shown = await shownItems(live);
    assert.equal(shown.length, 2);
    assert.equal(shown[1].text, payload, 'the markup is visible as characters');
    assert.match(await textOf(live, '#items .item-data'), /onerror/, 'other data fields show as JSON text');
    // Had any of it been parsed as HTML, these elements would exist (and the handlers run).
    for (const page of [live, admin]) {
      assert.equal(await countOf(page, '#items img, #items script, #items svg, #items b, #history img, #history svg'), 0);
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
    }
    await screenshot(live, 'live-markup-as-text');
    await screenshot(admin, 'admin-markup-as-text');

    // On a phone: long unbroken markup wraps instead of widening the page.
    for (const [page, name] of [
      [live, 'live-phone'],
      [admin, 'admin-phone'],
    ]) {
      await page.setViewport({ width: 390, height: 844 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name}: page is ${overflow}px wider than the screen`);
      await screenshot(page, name);
    }
    assertNoPageErrors(live, admin);
  });

  test('the admin page shows the error the server answers', { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t);
    const admin = await openPage(context, `${server.url}/admin.html`);
    // Larger than the server's default --max-body of 64 KiB.
    await fill(admin, 'textarea[name=text]', 'x'.repeat(70000));
    const { state, id } = await submitAdmin(admin);
    assert.equal(state, 'error');
    assert.match(await textOf(admin, '#result'), /^Error 413: \S/);
    assert.equal(id, null);

    await fill(admin, 'textarea[name=text]', '');
    await fill(admin, '#json', '{"unfinished": ');
    await admin.click('#send');
    await admin.waitForFunction(() => /not valid JSON/.test(document.getElementById('result').textContent), { timeout: DEADLINE_MS, polling: 'mutation' });
    // Names the server would refuse are caught before sending.
    await fill(admin, 'input[name=type]', 'no spaces allowed');
    assert.equal(await admin.$eval('input[name=type]', (e) => e.validity.patternMismatch), true);
    await screenshot(admin, 'admin-error');
    assertNoPageErrors(admin);
  });

  test('the admin page sends the publisher token as a bearer token', { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t, ['--publish-token', 's3cret-token']);
    const admin = await openPage(context, `${server.url}/admin.html`);
    await fill(admin, 'textarea[name=text]', 'without the token');
    assert.equal((await submitAdmin(admin)).state, 'error');
    assert.match(await textOf(admin, '#result'), /^Error 401/);
    await fill(admin, '#token', 'wrong-token');
    assert.equal((await submitAdmin(admin)).state, 'error');
    assert.match(await textOf(admin, '#result'), /^Error 403/);

    await fill(admin, '#token', 's3cret-token');
    await fill(admin, 'textarea[name=text]', 'with a token');
    const id = await publishFromAdmin(admin);
    // The server accepted the token; what it stored is the JSON the page sent.
    const { items } = await (await fetch(`${server.url}/real_time_feed?since=0`)).json();
    assert.deepEqual(
      items.map(({ id, channel, data }) => ({ id: String(id), channel, data })),
      [{ id, channel: 'default', data: { text: 'with a token' } }]
    );
  });

  test('the admin page publishes pasted lines as one batch, all or nothing', { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t);
    const live = await openPage(context, `${server.url}/?channel=batch`);
    await waitForStatus(live, 'live');
    const admin = await openPage(context, `${server.url}/admin.html`);
    await fill(admin, 'input[name=channel]', 'batch');
    await fill(admin, '#batch', '{"data": {"text": "one"}}\n\n{"type": "t", "data": {"text": "two"}}\n{"channel": "other", "data": 3}');
    const id = await publishFromAdmin(admin);
    assert.match(await textOf(admin, '#result'), /^Published 3 items, \d+ to \d+\.$/);
    const { items } = await (await fetch(`${server.url}/real_time_feed?since=0&channel=batch,other`)).json();
    assert.deepEqual(
      items.map(({ channel, type, data }) => ({ channel, type, data })),
      [
        { channel: 'batch', type: undefined, data: { text: 'one' } },
        { channel: 'batch', type: 't', data: { text: 'two' } },
        { channel: 'other', type: undefined, data: 3 },
      ]
    );
    assert.equal(String(items[2].id), id, 'the result names the last id');
    assert.deepEqual(items.map((i) => i.id - items[0].id), [0, 1, 2], 'consecutive ids');
    await waitForItemText(live, 'two');
    assert.equal(await countOf(admin, '#history .item'), 3);

    // A line that is not JSON is caught before sending; one the server refuses keeps nothing.
    await fill(admin, '#batch', '{"data": 1}\nnot json');
    assert.equal((await submitAdmin(admin)).state, 'error');
    assert.match(await textOf(admin, '#result'), /^Line 2 is not valid JSON/);
    await fill(admin, '#batch', '{"data": {"text": "kept?"}}\n{"channel": "no spaces", "data": 1}');
    assert.equal((await submitAdmin(admin)).state, 'error');
    assert.match(await textOf(admin, '#result'), /^Error 400: \S/);
    const after = await (await fetch(`${server.url}/real_time_feed?since=0&channel=batch,other`)).json();
    assert.equal(after.items.length, 3, 'nothing of the refused batch was kept');
    await screenshot(admin, 'admin-batch');
    assertNoPageErrors(admin, live);
  });

  test('the admin form works as a plain form post without JavaScript', { timeout: TEST_TIMEOUT }, async (t) => {
    const server = await startServer();
    const { page: admin, close } = await noScriptPage(browser(), `${server.url}/admin.html`);
    t.after(async () => {
      await close();
      await server.stop();
    });
    assert.equal(await isHidden(admin, '#json'), true, 'script-only fields are hidden without script');
    await fill(admin, 'input[name=type]', 'plain');
    await fill(admin, 'input[name=channel]', 'forms');
    await fill(admin, 'textarea[name=text]', 'sent without script & with "quotes"');
    await screenshot(admin, 'admin-no-script');
    await Promise.all([admin.waitForNavigation({ timeout: DEADLINE_MS }), clickAt(admin, '#send')]);
    assert.match(admin.url(), /\/send_feed_item$/);
    const answer = JSON.parse(await textOf(admin, 'body'));
    assert.equal(answer.channel, 'forms');
    assert.ok(Number.isSafeInteger(answer.id));

    const res = await fetch(`${server.url}/real_time_feed?since=0&channel=forms`);
    const { items } = await res.json();
    assert.deepEqual(
      items.map(({ id, type, channel, data }) => ({ id, type, channel, data })),
      [{ id: answer.id, type: 'plain', channel: 'forms', data: { text: 'sent without script & with "quotes"' } }]
    );
  });

  for (const transport of ['longpoll', 'sse']) {
    test(`after a server restart on the same port the page reconnects and misses nothing new (transport=${transport})`, { timeout: TEST_TIMEOUT }, async (t) => {
      const first = await startServer();
      const context = await browser().createBrowserContext();
      let second = null;
      t.after(async () => {
        await context.close();
        await first.stop();
        if (second) await second.stop();
      });
      const live = await openPage(context, `${first.url}/?channel=restart&transport=${transport}`);
      await waitForStatus(live, 'live');
      await publish(first, { channel: 'restart', data: { text: 'before the restart' } });
      await waitForItemText(live, 'before the restart');

      assert.equal(await first.stop(), true, 'the server exits on SIGTERM within the deadline');
      await waitForStatus(live, 'reconnecting');
      await screenshot(live, `restart-${transport}-reconnecting`);

      second = await startServer({ port: first.port });
      await waitForStatus(live, 'live', 60000);
      // The new process cannot vouch for the page's cursor: the page must say so.
      await live.waitForSelector('#notice:not([hidden])', { timeout: DEADLINE_MS });
      await publish(second, { channel: 'restart', data: { text: 'after the restart 1' } });
      await publish(second, { channel: 'restart', data: { text: 'after the restart 2' } });
      await waitForItemText(live, 'after the restart 2');

      const items = await drain(live, second, 'restart');
      assert.deepEqual(
        items.map((i) => i.text),
        ['after the restart 2', 'after the restart 1', 'before the restart']
      );
      assert.equal(new Set(items.map((i) => i.id)).size, items.length, 'no id shown twice');
      await screenshot(live, `restart-${transport}-live`);
      assertNoPageErrors(live);
    });
  }

  for (const transport of ['longpoll', 'sse']) {
    test(`a burst of 200 items appears completely, each once, in order (transport=${transport})`, { timeout: TEST_TIMEOUT }, async (t) => {
      const { server, context } = await setup(t);
      const live = await openPage(context, `${server.url}/?channel=burst&transport=${transport}`);
      await waitForStatus(live, 'live');

      const published = [];
      for (let n = 0; n < 200; n++) {
        const text = `burst ${String(n).padStart(3, '0')}`;
        const { id } = await publish(server, { channel: 'burst', type: 'tick', data: { text } });
        published.push({ id: String(id), text });
      }
      await waitForItemText(live, 'burst 199', 30000);

      const items = await drain(live, server, 'burst');
      assert.deepEqual(
        items.map(({ id, text }) => ({ id, text })),
        published.reverse(),
        'newest first, every item exactly once'
      );
      await screenshot(live, `burst-${transport}`);
      assertNoPageErrors(live);
    });
  }

  // A page opened over a full backlog catches up on one connection: a catch-up larger than
  // any per-stream buffer used to close the stream before its first event, for ever.
  for (const transport of ['auto', 'longpoll']) {
    test(`over a backlog of 1,000 items of 1 KB the page becomes live and shows them all (transport=${transport})`, { timeout: TEST_TIMEOUT }, async (t) => {
      const { server, context } = await setup(t);
      const filler = 'x'.repeat(1000);
      for (let first = 0; first < 1000; first += 50) {
        const batch = [];
        for (let n = first; n < first + 50; n++) {
          batch.push({ channel: 'full', data: { text: `full ${String(n).padStart(4, '0')}`, filler } });
        }
        await publish(server, batch);
      }
      const live = await openPage(context, `${server.url}/?channel=full&transport=${transport}&max=2000`);
      await waitForStatus(live, 'live');
      await waitForItemText(live, 'full 0999', 30000);
      const items = await shownItems(live);
      assert.equal(items.length, 1000, 'every item of the backlog is shown');
      assert.deepEqual(
        items.map((i) => i.text),
        Array.from({ length: 1000 }, (_, n) => `full ${String(999 - n).padStart(4, '0')}`),
        'newest first, each once'
      );
      assertNoPageErrors(live);
    });
  }

  test('with resume=1 a reload continues after the last item shown', { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t);
    const live = await openPage(context, `${server.url}/?channel=resume&resume=1`);
    await waitForStatus(live, 'live');
    await publish(server, { channel: 'resume', data: { text: 'seen before the reload' } });
    await waitForItemText(live, 'seen before the reload');

    await live.reload();
    await waitForStatus(live, 'live');
    const items = await drain(live, server, 'resume');
    assert.deepEqual(items, [], 'the item seen before the reload is not shown again');
    assertNoPageErrors(live);
  });

  test('client.js also loads as an ES module through client.mjs', { timeout: TEST_TIMEOUT }, async (t) => {
    const { server, context } = await setup(t);
    const page = await openPage(context, `${server.url}/admin.html`);
    const kind = await page.evaluate(async () => {
      const mod = await import('/client.mjs');
      const feed = new mod.LiveFeed({ transport: 'longpoll' });
      return [typeof mod.LiveFeed, feed.status];
    });
    assert.deepEqual(kind, ['function', 'idle']);
  });
});
