// Unit tests of web/client.js's state machine, run with `node --test tests/web/`.
// The network and the clock are fakes driven step by step, so every case is deterministic:
// a fake transport stands for the server, fake timers for time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveFeed } from '../../web/client.js';

function fakeTimers() {
  let next = 1;
  const pending = new Map();
  return {
    setTimeout(fn, ms) {
      const id = next++;
      pending.set(id, { fn, ms });
      return id;
    },
    clearTimeout(id) {
      pending.delete(id);
    },
    // The client keeps at most one timer; more would be a bug the tests should see.
    only() {
      assert.equal(pending.size, 1, 'exactly one timer pending');
      const [[id, t]] = pending;
      return { id, ms: t.ms };
    },
    fire() {
      const { id } = this.only();
      const { fn } = pending.get(id);
      pending.delete(id);
      fn();
    },
    get count() {
      return pending.size;
    },
  };
}

// Records each open(); the test plays the server by calling the recorded callbacks.
function fakeTransport() {
  const opens = [];
  return {
    opens,
    open(cursor, cb, hints) {
      const conn = { cursor, cb, hints, aborted: false };
      opens.push(conn);
      return {
        abort() {
          conn.aborted = true;
        },
      };
    },
    get last() {
      return opens[opens.length - 1];
    },
  };
}

function item(id, extra) {
  return { id, timestamp: 1700000000000 + id, channel: 'default', data: { n: id }, ...extra };
}

function makeFeed(options = {}) {
  const timers = fakeTimers();
  const longpoll = fakeTransport();
  const sse = fakeTransport();
  const feed = new LiveFeed({
    transport: 'longpoll',
    timers,
    random: () => 1, // jitter at its top: delays equal the ceiling
    transports: { longpoll, sse },
    ...options,
  });
  const seen = { items: [], statuses: [], truncated: [], errors: [] };
  feed.on('item', (it) => seen.items.push(it.id));
  feed.on('status', (s) => seen.statuses.push(s));
  feed.on('truncated', (t) => seen.truncated.push(t));
  feed.on('error', (e) => seen.errors.push(e));
  return { feed, timers, longpoll, sse, seen };
}

// One successful long-poll answer, as the server would give it.
function answer(conn, items, cursor, truncated) {
  conn.cb.onOpen();
  if (truncated) conn.cb.onTruncated(cursor);
  conn.cb.onItems(items, cursor);
  conn.cb.onEnd();
}

test('backoff doubles per failed attempt, stops at maxBackoff, and restarts after a success', () => {
  const { feed, timers, longpoll } = makeFeed();
  feed.start();
  const delays = [];
  for (let i = 0; i < 8; i++) {
    longpoll.last.cb.onError(new Error('connection refused'), false);
    delays.push(timers.only().ms);
    timers.fire();
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);

  answer(longpoll.last, [], 0);
  longpoll.last.cb.onError(new Error('connection reset'), false);
  assert.equal(timers.only().ms, 1000);
});

test('backoff jitter stays within half to all of the current ceiling', () => {
  for (const [random, expected] of [
    [0, 500],
    [0.5, 750],
    [0.999999, 1000],
  ]) {
    const { feed, timers, longpoll } = makeFeed({ random: () => random });
    feed.start();
    longpoll.last.cb.onError(new Error('down'), false);
    assert.equal(timers.only().ms, expected, `random=${random}`);
  }
});

test('status goes connecting, live, reconnecting, live, closed', () => {
  const { feed, timers, longpoll, seen } = makeFeed();
  feed.start();
  answer(longpoll.last, [], 0);
  longpoll.last.cb.onError(new Error('down'), false);
  timers.fire();
  answer(longpoll.last, [], 0);
  feed.close();
  assert.deepEqual(seen.statuses, ['connecting', 'live', 'reconnecting', 'live', 'closed']);
  assert.equal(feed.status, 'closed');
  assert.equal(longpoll.last.aborted, true, 'close() aborts the pending poll');
  assert.equal(timers.count, 0, 'nothing left scheduled after close()');
});

test('the first poll of each connection asks for a quick answer, the following ones do not', () => {
  const { feed, timers, longpoll } = makeFeed();
  feed.start();
  assert.equal(longpoll.last.hints.quick, true);
  answer(longpoll.last, [], 0);
  assert.equal(longpoll.last.hints.quick, false);
  longpoll.last.cb.onError(new Error('down'), false);
  timers.fire();
  assert.equal(longpoll.last.hints.quick, true, 'after a failure we want to know quickly we are back');
});

test('each answer is followed at once by a poll from the returned cursor', () => {
  const { feed, timers, longpoll } = makeFeed({ since: 0 });
  feed.start();
  assert.equal(longpoll.last.cursor, 0);
  answer(longpoll.last, [item(10), item(11)], 11);
  assert.equal(longpoll.opens.length, 2);
  assert.equal(longpoll.last.cursor, 11);
  answer(longpoll.last, [], 11);
  assert.equal(longpoll.last.cursor, 11);
  assert.equal(timers.only().ms, 90000, 'only the watchdog of the new poll is pending');
});

test('an id at or below the cursor is never delivered twice', () => {
  const { feed, longpoll, seen } = makeFeed({ since: 0 });
  feed.start();
  answer(longpoll.last, [item(1), item(2), item(3)], 3);
  answer(longpoll.last, [item(2), item(3), item(4)], 4);
  answer(longpoll.last, [item(4)], 4);
  assert.deepEqual(seen.items, [1, 2, 3, 4]);
});

test('items of one answer are delivered in id order, none skipped', () => {
  const { feed, longpoll, seen } = makeFeed({ since: 0 });
  feed.start();
  answer(longpoll.last, [item(7), item(5), item(6)], 7);
  assert.deepEqual(seen.items, [5, 6, 7]);
});

test('a reconnect resumes from the last delivered id', () => {
  const { feed, timers, longpoll, seen } = makeFeed({ since: 0 });
  feed.start();
  answer(longpoll.last, [item(1), item(2)], 2);
  longpoll.last.cb.onError(new Error('server went away'), false);
  timers.fire();
  assert.equal(longpoll.last.cursor, 2);
  answer(longpoll.last, [item(3)], 3);
  assert.deepEqual(seen.items, [1, 2, 3]);
});

test('without a starting cursor the first poll asks for new items only', () => {
  const { feed, longpoll } = makeFeed();
  feed.start();
  assert.equal(longpoll.last.cursor, null);
  // A server that answers a timed-out cursorless poll with cursor 0 must not make us replay
  // its whole backlog on the next poll.
  answer(longpoll.last, [], 0);
  assert.equal(longpoll.last.cursor, null);
  answer(longpoll.last, [], 42);
  assert.equal(longpoll.last.cursor, 42);
});

test('truncated answers are surfaced and their items still delivered', () => {
  const { feed, longpoll, seen } = makeFeed({ since: 5 });
  feed.start();
  answer(longpoll.last, [item(20), item(21)], 21, true);
  assert.deepEqual(seen.truncated, [{ cursor: 21, transport: 'longpoll' }]);
  assert.deepEqual(seen.items, [20, 21]);
});

test('a throwing item listener neither stops delivery nor the other listeners', () => {
  const { feed, longpoll, seen } = makeFeed({ since: 0 });
  const alsoSeen = [];
  feed.on('item', (it) => {
    if (it.id === 2) throw new Error('page bug');
  });
  feed.on('item', (it) => alsoSeen.push(it.id));
  feed.start();
  answer(longpoll.last, [item(1), item(2), item(3)], 3);
  answer(longpoll.last, [item(4)], 4);
  assert.deepEqual(seen.items, [1, 2, 3, 4]);
  assert.deepEqual(alsoSeen, [1, 2, 3, 4]);
  assert.equal(seen.errors.length, 1);
  assert.equal(seen.errors[0].message, 'page bug');
  assert.equal(feed.status, 'live');
});

test('a throwing listener with no error listener goes to console.error', (t) => {
  const logged = [];
  t.mock.method(console, 'error', (...args) => logged.push(args));
  const timers = fakeTimers();
  const longpoll = fakeTransport();
  const feed = new LiveFeed({ transport: 'longpoll', since: 0, timers, transports: { longpoll } });
  const delivered = [];
  feed.on('status', () => {
    throw new Error('status painter bug');
  });
  feed.on('item', (it) => delivered.push(it.id));
  feed.start();
  answer(longpoll.last, [item(1)], 1);
  assert.deepEqual(delivered, [1]);
  assert.ok(logged.length >= 2, 'connecting and live listeners both threw and were logged');
  assert.match(String(logged[0][0]), /"status" listener threw/);
});

test('a listener that closes the feed gets no further items', () => {
  const { feed, longpoll, seen } = makeFeed({ since: 0 });
  feed.on('item', (it) => {
    if (it.id === 2) feed.close();
  });
  feed.start();
  answer(longpoll.last, [item(1), item(2), item(3)], 3);
  assert.deepEqual(seen.items, [1, 2]);
  assert.equal(longpoll.opens.length, 1, 'no poll after close()');
});

test('callbacks from an abandoned attempt are ignored', () => {
  const { feed, timers, longpoll, seen } = makeFeed({ since: 0 });
  feed.start();
  const first = longpoll.last;
  timers.fire(); // the watchdog gives up on the first poll
  assert.equal(first.aborted, true);
  answer(first, [item(1)], 1); // ...which answers anyway, late
  assert.deepEqual(seen.items, []);
  assert.equal(feed.status, 'reconnecting');
});

test('an unanswered long-poll is abandoned after the watchdog and retried from the same cursor', () => {
  const { feed, timers, longpoll } = makeFeed({ since: 0, pollTimeout: 20 });
  feed.start();
  answer(longpoll.last, [item(3)], 3);
  assert.equal(timers.only().ms, 30000, 'pollTimeout + 10 s');
  timers.fire();
  assert.equal(longpoll.opens[1].aborted, true);
  assert.equal(feed.status, 'reconnecting');
  timers.fire();
  assert.equal(longpoll.last.cursor, 3);
});

test('a request the server rejects as wrong ends in the error status without retrying', () => {
  const { feed, timers, longpoll, seen } = makeFeed();
  feed.start();
  longpoll.last.cb.onError(new Error('HTTP 400: bad channel name'), true);
  assert.equal(feed.status, 'error');
  assert.deepEqual(seen.statuses, ['connecting', 'error']);
  assert.equal(timers.count, 0);
  assert.equal(longpoll.opens.length, 1);
});

test('the cursor is kept in storage and a new feed resumes from it', () => {
  const store = new Map();
  const storage = { getItem: (k) => (store.has(k) ? store.get(k) : null), setItem: (k, v) => store.set(k, v) };
  const first = makeFeed({ since: 0, storageKey: 'feed:news', storage });
  first.feed.start();
  answer(first.longpoll.last, [item(8), item(9)], 9);
  assert.equal(store.get('feed:news'), '9');

  const reloaded = makeFeed({ since: 0, storageKey: 'feed:news', storage });
  reloaded.feed.start();
  assert.equal(reloaded.longpoll.last.cursor, 9, 'the stored cursor wins over since');
  answer(reloaded.longpoll.last, [item(9), item(10)], 10);
  assert.deepEqual(reloaded.seen.items, [10]);
});

test('unusable storage is ignored', () => {
  const storage = {
    getItem() {
      throw new Error('SecurityError');
    },
    setItem() {
      throw new Error('QuotaExceededError');
    },
  };
  const { feed, longpoll, seen } = makeFeed({ since: 0, storageKey: 'k', storage });
  feed.start();
  answer(longpoll.last, [item(1)], 1);
  assert.deepEqual(seen.items, [1]);
});

test('auto falls back to long-polling at once when the stream fails before opening', () => {
  const { feed, timers, sse, longpoll, seen } = makeFeed({ transport: 'auto', since: 4 });
  feed.start();
  assert.equal(feed.transport, 'sse');
  sse.last.cb.onError(new Error('stream failed'), false);
  assert.equal(sse.last.aborted, true);
  assert.equal(feed.transport, 'longpoll');
  assert.equal(longpoll.opens.length, 1, 'no backoff delay before the fallback');
  assert.equal(longpoll.last.cursor, 4);
  answer(longpoll.last, [item(5)], 5);
  assert.deepEqual(seen.items, [5]);
  assert.deepEqual(seen.statuses, ['connecting', 'live']);
  // Fallen back for good: a later failure retries long-polling, not the stream.
  longpoll.last.cb.onError(new Error('down'), false);
  timers.fire();
  assert.equal(sse.opens.length, 1);
  assert.equal(longpoll.opens.length, 3);
});

test('auto falls back to long-polling when the stream does not open in time', () => {
  const { feed, timers, sse, longpoll } = makeFeed({ transport: 'auto', openTimeout: 3000 });
  feed.start();
  assert.equal(timers.only().ms, 3000);
  timers.fire();
  assert.equal(sse.last.aborted, true);
  assert.equal(feed.transport, 'longpoll');
  assert.equal(longpoll.opens.length, 1);
});

test('auto keeps the stream once it has worked, retrying it with backoff', () => {
  const { feed, timers, sse, longpoll, seen } = makeFeed({ transport: 'auto', since: 0 });
  feed.start();
  sse.last.cb.onOpen();
  sse.last.cb.onItems([item(1)], 1);
  assert.equal(timers.count, 0, 'an open stream has no deadline');
  sse.last.cb.onError(new Error('stream ended'), false);
  assert.equal(feed.status, 'reconnecting');
  timers.fire();
  assert.equal(sse.opens.length, 2);
  assert.equal(sse.last.cursor, 1);
  // The new stream fails before opening (server still down): still not a reason to fall back.
  sse.last.cb.onError(new Error('connection refused'), false);
  timers.fire();
  assert.equal(sse.opens.length, 3);
  assert.equal(longpoll.opens.length, 0);
  sse.last.cb.onOpen();
  sse.last.cb.onItems([item(1)], 1);
  sse.last.cb.onItems([item(2)], 2);
  assert.deepEqual(seen.items, [1, 2]);
});

test('forced sse retries a stream that never opens instead of falling back', () => {
  const { feed, timers, sse, longpoll } = makeFeed({ transport: 'sse' });
  feed.start();
  sse.last.cb.onError(new Error('stream failed'), false);
  assert.equal(feed.status, 'reconnecting');
  timers.fire();
  assert.equal(sse.opens.length, 2);
  assert.equal(longpoll.opens.length, 0);
});

test('auto uses long-polling where there is no EventSource', () => {
  const timers = fakeTimers();
  const longpoll = fakeTransport();
  const feed = new LiveFeed({ transport: 'auto', timers, transports: { longpoll } });
  assert.equal(typeof EventSource, 'undefined', 'node has no EventSource');
  feed.start();
  assert.equal(feed.transport, 'longpoll');
  assert.equal(longpoll.opens.length, 1);
});

test('an unknown transport name is refused', () => {
  assert.throws(() => new LiveFeed({ transport: 'websocket' }), /transport must be/);
});

// ---- the real transports, against a fake fetch and a fake EventSource ----------------------

function flush() {
  return new Promise((resolve) => setImmediate(resolve));
}

function fakeFetch(t, replies) {
  const calls = [];
  t.mock.method(globalThis, 'fetch', async (url, init) => {
    calls.push({ url, init });
    const reply = replies.shift();
    if (!reply) return new Promise(() => {}); // held, like a long-poll with nothing to say
    if (reply instanceof Error) throw reply;
    return new Response(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body), {
      status: reply.status || 200,
    });
  });
  return calls;
}

test('long-poll asks /real_time_feed with channels, cursor and the quick timeout', async (t) => {
  const calls = fakeFetch(t, [{ body: { items: [item(6), item(7)], cursor: 7 } }]);
  const feed = new LiveFeed({
    url: 'http://feed.test/',
    channels: 'news, sport',
    since: 5,
    transport: 'longpoll',
    timers: fakeTimers(),
  });
  const got = [];
  feed.on('item', (it) => got.push(it.id));
  feed.start();
  await flush();
  assert.equal(calls[0].url, 'http://feed.test/real_time_feed?channel=news,sport&since=5&timeout=1');
  assert.deepEqual(got, [6, 7]);
  assert.equal(calls[1].url, 'http://feed.test/real_time_feed?channel=news,sport&since=7');
  feed.close();
  assert.equal(calls[1].init.signal.aborted, true, 'close() aborts the held poll');
});

test('long-poll reports a 400 answer as an error that ends the feed', async (t) => {
  fakeFetch(t, [{ status: 400, body: { error: 'bad channel name' } }]);
  const timers = fakeTimers();
  const feed = new LiveFeed({ url: 'http://feed.test', channels: ['no spaces'], transport: 'longpoll', timers });
  const errors = [];
  feed.on('error', (e) => errors.push(e.message));
  feed.start();
  await flush();
  assert.equal(feed.status, 'error');
  assert.deepEqual(errors, ['HTTP 400: bad channel name']);
  assert.equal(timers.count, 0);
});

test('long-poll retries after a 503 or a network failure', async (t) => {
  fakeFetch(t, [{ status: 503, body: 'Service Unavailable' }, new TypeError('fetch failed')]);
  const timers = fakeTimers();
  const feed = new LiveFeed({ url: 'http://feed.test', transport: 'longpoll', timers, random: () => 1 });
  feed.start();
  await flush();
  assert.equal(feed.status, 'reconnecting');
  timers.fire();
  await flush();
  assert.equal(feed.status, 'reconnecting');
  assert.equal(timers.only().ms, 2000);
});

test('long-poll passes truncated on to the page', async (t) => {
  fakeFetch(t, [{ body: { items: [item(30)], cursor: 30, truncated: true } }]);
  const feed = new LiveFeed({ url: 'http://feed.test', since: 3, transport: 'longpoll', timers: fakeTimers() });
  const events = [];
  feed.on('truncated', (n) => events.push(['truncated', n.cursor]));
  feed.on('item', (it) => events.push(['item', it.id]));
  feed.start();
  await flush();
  assert.deepEqual(events, [
    ['truncated', 30],
    ['item', 30],
  ]);
  feed.close();
});

class FakeEventSource {
  static all = [];
  constructor(url) {
    this.url = url;
    this.closed = false;
    this.listeners = {};
    FakeEventSource.all.push(this);
  }
  addEventListener(name, fn) {
    (this.listeners[name] = this.listeners[name] || []).push(fn);
  }
  close() {
    this.closed = true;
  }
  emit(name, data) {
    for (const fn of this.listeners[name] || []) fn({ type: name, data });
  }
}

test('sse opens /real_time_feed/stream untyped, delivers items and truncated notices', (t) => {
  FakeEventSource.all = [];
  globalThis.EventSource = FakeEventSource;
  t.after(() => delete globalThis.EventSource);
  const timers = fakeTimers();
  const feed = new LiveFeed({ url: 'http://feed.test', channels: ['a', 'b'], since: 9, transport: 'sse', timers });
  const events = [];
  feed.on('item', (it) => events.push(['item', it.id, it.type]));
  feed.on('truncated', (n) => events.push(['truncated', n.cursor]));
  feed.on('status', (s) => events.push(['status', s]));
  feed.start();
  const es = FakeEventSource.all[0];
  assert.equal(es.url, 'http://feed.test/real_time_feed/stream?channel=a,b&since=9&typed=0');
  es.emit('open');
  es.emit('truncated', '{"cursor":12}');
  es.emit('message', JSON.stringify(item(13, { type: 'score' })));
  es.emit('message', JSON.stringify(item(13))); // a repeat is dropped
  es.emit('message', JSON.stringify(item(14)));
  assert.deepEqual(events, [
    ['status', 'connecting'],
    ['status', 'live'],
    ['truncated', 12],
    ['item', 13, 'score'],
    ['item', 14, undefined],
  ]);

  // On error we close the EventSource ourselves and reopen from our cursor after backoff.
  es.emit('error');
  assert.equal(es.closed, true);
  assert.equal(feed.status, 'reconnecting');
  timers.fire();
  assert.equal(FakeEventSource.all[1].url, 'http://feed.test/real_time_feed/stream?channel=a,b&since=14&typed=0');
  feed.close();
  assert.equal(FakeEventSource.all[1].closed, true);
});

test('sse ignores an event that is not an item, and says so', (t) => {
  FakeEventSource.all = [];
  globalThis.EventSource = FakeEventSource;
  t.after(() => delete globalThis.EventSource);
  const feed = new LiveFeed({ transport: 'sse', timers: fakeTimers() });
  const errors = [];
  const items = [];
  feed.on('error', (e) => errors.push(e.message));
  feed.on('item', (it) => items.push(it.id));
  feed.start();
  const es = FakeEventSource.all[0];
  assert.equal(es.url, '/real_time_feed/stream?typed=0');
  es.emit('open');
  es.emit('message', 'not json');
  es.emit('message', JSON.stringify(item(2)));
  assert.deepEqual(items, [2]);
  assert.equal(errors.length, 1);
  assert.equal(feed.status, 'live');
});
