// The real transports of web/client.js against a fake fetch: the URLs and headers they send,
// how they read answers and event streams, and what they make of refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveFeed, eventStream, fakeEnvironment, fakeFetch, fakeTimers, flush, item } from './fakes.mjs';

function feedWith(options) {
  const timers = fakeTimers();
  const feed = new LiveFeed({ url: 'http://feed.test', timers, random: () => 1, environment: fakeEnvironment(), ...options });
  const seen = { events: [], errors: [] };
  feed.on('item', (it) => seen.events.push(['item', it.id]));
  feed.on('truncated', (n) => seen.events.push(['truncated', n.cursor]));
  feed.on('status', (s) => seen.events.push(['status', s]));
  feed.on('error', (e) => seen.errors.push(e));
  return { feed, timers, seen };
}

// ---- long-poll ----

test('long-poll asks /real_time_feed with channels, cursor and the quick timeout', async (t) => {
  const calls = fakeFetch(t, [{ body: { items: [item(6), item(7)], cursor: 7 } }]);
  const { feed, seen } = feedWith({ url: 'http://feed.test/', channels: 'news, sport', since: 5, transport: 'longpoll' });
  feed.start();
  await flush();
  assert.equal(calls[0].url, 'http://feed.test/real_time_feed?channel=news,sport&since=5&timeout=1');
  assert.deepEqual(seen.events.filter((e) => e[0] === 'item'), [['item', 6], ['item', 7]]);
  assert.equal(calls[1].url, 'http://feed.test/real_time_feed?channel=news,sport&since=7');
  assert.equal(calls[1].init.headers.Authorization, undefined, 'no token, no Authorization header');
  feed.close();
  assert.equal(calls[1].init.signal.aborted, true, 'close() aborts the held poll');
});

test('long-poll sends the token as a bearer header', async (t) => {
  const calls = fakeFetch(t, [{ body: { items: [], cursor: 3 } }]);
  const { feed } = feedWith({ transport: 'longpoll', since: 3, getToken: () => 's3cret' });
  feed.start();
  await flush();
  assert.equal(calls[0].init.headers.Authorization, 'Bearer s3cret');
  assert.doesNotMatch(calls[0].url, /token/);
  feed.close();
});

test('long-poll reports a 400 answer as an error that ends the feed', async (t) => {
  fakeFetch(t, [{ status: 400, body: { error: 'too many channels' } }]);
  const { feed, timers, seen } = feedWith({ channels: ['x'], transport: 'longpoll' });
  feed.start();
  await flush();
  assert.equal(feed.status, 'error');
  assert.deepEqual(seen.errors.map((e) => e.message), ['HTTP 400: too many channels']);
  assert.equal(timers.count, 0);
});

test('long-poll retries after a 503 or a network failure, waiting at least Retry-After', async (t) => {
  fakeFetch(t, [
    { status: 503, body: { error: 'too many connections' }, headers: { 'Retry-After': '7' } },
    new TypeError('fetch failed'),
  ]);
  const { feed, timers, seen } = feedWith({ transport: 'longpoll' });
  feed.start();
  await flush();
  assert.equal(feed.status, 'reconnecting');
  assert.equal(seen.errors[0].retryAfter, 7000);
  assert.equal(timers.only().ms, 7000, 'Retry-After 7 s is above the 1 s backoff');
  timers.fire();
  await flush();
  assert.equal(feed.status, 'reconnecting');
  assert.equal(timers.only().ms, 2000, 'a plain failure backs off as usual');
});

test('Retry-After as an HTTP date is honoured too', async (t) => {
  const when = new Date(Date.now() + 60000).toUTCString();
  fakeFetch(t, [{ status: 503, body: { error: 'busy' }, headers: { 'Retry-After': when } }]);
  const { feed, timers } = feedWith({ transport: 'longpoll' });
  feed.start();
  await flush();
  const { ms } = timers.only();
  assert.ok(ms > 50000 && ms <= 60000, `waits until the date (${ms} ms)`);
});

test('long-poll passes truncated on to the page before the items', async (t) => {
  fakeFetch(t, [{ body: { items: [item(30)], cursor: 30, truncated: true } }]);
  const { feed, seen } = feedWith({ since: 3, transport: 'longpoll' });
  feed.start();
  await flush();
  assert.deepEqual(seen.events.slice(1), [
    ['status', 'live'],
    ['truncated', 30],
    ['item', 30],
  ]);
  feed.close();
});

test('a long-poll answer that is not the protocol is retried', async (t) => {
  fakeFetch(t, [{ body: '<html>proxy error page</html>' }]);
  const { feed, seen } = feedWith({ transport: 'longpoll' });
  feed.start();
  await flush();
  assert.equal(feed.status, 'reconnecting');
  assert.match(seen.errors[0].message, /unexpected answer/);
});

// ---- Server-Sent Events ----

test('sse streams /real_time_feed/stream untyped and delivers items split across chunks', async (t) => {
  const stream = eventStream();
  const calls = fakeFetch(t, [{ stream }]);
  const { feed, timers, seen } = feedWith({ channels: ['a', 'b'], since: 9, transport: 'sse' });
  feed.start();
  await flush();
  assert.equal(calls[0].url, 'http://feed.test/real_time_feed/stream?channel=a,b&since=9&typed=0');
  assert.equal(calls[0].init.headers.Accept, 'text/event-stream');
  assert.equal(feed.status, 'live');
  assert.equal(timers.count, 0, 'an open stream has no deadline');

  const first = JSON.stringify(item(13, { type: 'score' }));
  stream.push(': livefeed stream\r\n\r\nid: 13\r\ndata: ' + first.slice(0, 10));
  stream.push(first.slice(10) + '\r');
  stream.push('\n\r\n: ping\n\n');
  stream.push('id: 13\ndata: ' + JSON.stringify(item(13)) + '\n\n'); // a repeat is dropped
  stream.push('data: ' + JSON.stringify(item(14)) + '\r\r');
  await flush();
  assert.deepEqual(seen.events.filter((e) => e[0] === 'item'), [['item', 13], ['item', 14]]);
  assert.equal(feed.cursor, 14);
  feed.close();
  assert.equal(calls[0].init.signal.aborted, true);
});

test('sse sends the token as ?token= and reconnects from the cursor when the stream ends', async (t) => {
  const stream = eventStream();
  const calls = fakeFetch(t, [{ stream }]);
  let asked = 0;
  const { feed, timers } = feedWith({ since: 1, transport: 'sse', getToken: async () => `tok ${++asked}` });
  feed.start();
  await flush();
  assert.equal(calls[0].url, 'http://feed.test/real_time_feed/stream?since=1&typed=0&token=tok%201');
  stream.push('data: ' + JSON.stringify(item(2)) + '\n\n');
  stream.end();
  await flush();
  assert.equal(feed.status, 'reconnecting');
  timers.fire();
  await flush();
  assert.equal(calls[1].url, 'http://feed.test/real_time_feed/stream?since=2&typed=0&token=tok%202', 'a new token for the new connection');
  feed.close();
});

test('sse: the stream\'s retry: is the lower bound of the backoff', async (t) => {
  const stream = eventStream();
  fakeFetch(t, [{ stream }]);
  const { feed, timers } = feedWith({ transport: 'sse' });
  feed.start();
  await flush();
  stream.push('retry: 5000\n\n');
  stream.end();
  await flush();
  assert.equal(timers.only().ms, 5000, 'not the 1000 ms of the first backoff step');
});

test('sse: a truncated event with an id moves the cursor to it; one without is only reported', async (t) => {
  const stream = eventStream();
  fakeFetch(t, [{ stream }]);
  const { feed, seen } = feedWith({ since: 9, transport: 'sse' });
  feed.start();
  await flush();
  stream.push('event: truncated\ndata: {"cursor":9}\n\n'); // the old form: no id
  await flush();
  assert.equal(feed.cursor, 9);
  stream.push('id: 40\nevent: truncated\ndata: {"cursor":40}\n\n'); // resumes after the gap at 40
  stream.push('data: ' + JSON.stringify(item(41)) + '\n\n');
  await flush();
  assert.deepEqual(seen.events.filter((e) => e[0] !== 'status'), [
    ['truncated', 9],
    ['truncated', 40],
    ['item', 41],
  ]);
  assert.equal(feed.cursor, 41);
  feed.close();
});

test('sse: a truncated event with an id below our cursor moves nothing back', async (t) => {
  const stream = eventStream();
  fakeFetch(t, [{ stream }]);
  const { feed, seen } = feedWith({ since: 50, transport: 'sse' });
  feed.start();
  await flush();
  stream.push('id: 40\nevent: truncated\ndata: {"cursor":40}\n\n');
  await flush();
  assert.equal(feed.cursor, 50);
  assert.deepEqual(seen.events.filter((e) => e[0] === 'truncated'), [], 'we are past that gap');
  feed.close();
});

test('sse: an unauthorized event asks for a new token and resumes from the cursor at once', async (t) => {
  const first = eventStream();
  const second = eventStream();
  const calls = fakeFetch(t, [{ stream: first }, { stream: second }]);
  const tokens = ['old', 'new'];
  const { feed, timers, seen } = feedWith({ since: 0, transport: 'sse', getToken: () => tokens.shift() });
  feed.start();
  await flush();
  first.push('id: 5\ndata: ' + JSON.stringify(item(5)) + '\n\n');
  first.push('event: unauthorized\ndata: {"error": "token expired"}\n\n');
  await flush();
  assert.equal(calls.length, 2, 'no backoff delay');
  assert.equal(calls[1].url, '/real_time_feed/stream?since=5&typed=0&token=new'.replace(/^/, 'http://feed.test'));
  assert.match(seen.errors[0].message, /token expired/);
  assert.equal(feed.status, 'live');
  assert.equal(timers.count, 0);
  feed.close();
});

test('sse: a refused stream is fatal when forced, and auto falls back to long-polling', async (t) => {
  fakeFetch(t, [{ status: 400, body: { error: 'invalid channel name' } }]);
  const forced = feedWith({ transport: 'sse' });
  forced.feed.start();
  await flush();
  assert.equal(forced.feed.status, 'error');

  const calls = fakeFetch(t, [{ status: 502, body: 'Bad Gateway' }, { body: { items: [], cursor: 0 } }]);
  const auto = feedWith({ transport: 'auto' });
  auto.feed.start();
  await flush();
  assert.equal(auto.feed.transport, 'longpoll');
  assert.match(calls[1].url, /\/real_time_feed\?timeout=1$/);
  auto.feed.close();
});

test('sse: an overloaded server is retried after Retry-After, not taken for a broken stream', async (t) => {
  fakeFetch(t, [{ status: 503, body: { error: 'too many connections' }, headers: { 'Retry-After': '3' } }]);
  const { feed, timers } = feedWith({ transport: 'auto' });
  feed.start();
  await flush();
  assert.equal(feed.transport, 'sse');
  assert.equal(feed.status, 'reconnecting');
  assert.equal(timers.only().ms, 3000);
});

test('sse: a response that is not an event stream counts as a failed attempt', async (t) => {
  fakeFetch(t, [{ body: '<html>login page</html>', headers: { 'Content-Type': 'text/html' } }]);
  const { feed, seen } = feedWith({ transport: 'sse' });
  feed.start();
  await flush();
  assert.equal(feed.status, 'reconnecting');
  assert.match(seen.errors[0].message, /not an event stream/);
});

test('sse ignores an event that is not an item, and says so', async (t) => {
  const stream = eventStream();
  const calls = fakeFetch(t, [{ stream }]);
  const feed = new LiveFeed({ transport: 'sse', timers: fakeTimers(), environment: fakeEnvironment() });
  const errors = [];
  const items = [];
  feed.on('error', (e) => errors.push(e.message));
  feed.on('item', (it) => items.push(it.id));
  feed.start();
  await flush();
  assert.equal(calls[0].url, '/real_time_feed/stream?typed=0');
  stream.push('data: not json\n\ndata: ' + JSON.stringify(item(2)) + '\n\n');
  await flush();
  assert.deepEqual(items, [2]);
  assert.equal(errors.length, 1);
  assert.equal(feed.status, 'live');
  feed.close();
});
