// Unit tests of web/client.js's state machine, run with `node --test tests/web/`.
// The network and the clock are fakes driven step by step, so every case is deterministic:
// a fake transport stands for the server, fake timers for time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveFeed, answer, fakeEnvironment, fakeTimers, fakeTransport, item, makeFeed } from './fakes.mjs';

test('backoff doubles per failed attempt, stops at maxBackoff, and restarts after a success', () => {
  const { feed, timers, longpoll } = makeFeed();
  feed.start();
  const delays = [];
  for (let i = 0; i < 8; i++) {
    longpoll.last.cb.onError(new Error('connection refused'));
    delays.push(timers.only().ms);
    timers.fire();
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);

  answer(longpoll.last, [], 0);
  longpoll.last.cb.onError(new Error('connection reset'));
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
    longpoll.last.cb.onError(new Error('down'));
    assert.equal(timers.only().ms, expected, `random=${random}`);
  }
});

test('status goes connecting, live, reconnecting, live, closed', () => {
  const { feed, timers, longpoll, seen } = makeFeed();
  feed.start();
  answer(longpoll.last, [], 0);
  longpoll.last.cb.onError(new Error('down'));
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
  assert.equal(longpoll.last.request.quick, true);
  answer(longpoll.last, [], 0);
  assert.equal(longpoll.last.request.quick, false);
  longpoll.last.cb.onError(new Error('down'));
  timers.fire();
  assert.equal(longpoll.last.request.quick, true, 'after a failure we want to know quickly we are back');
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
  longpoll.last.cb.onError(new Error('server went away'));
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
  const feed = new LiveFeed({ transport: 'longpoll', since: 0, timers, transports: { longpoll }, environment: fakeEnvironment() });
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
  longpoll.last.cb.onError(Object.assign(new Error('HTTP 400: bad channel name'), { status: 400, fatal: true }));
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
  sse.last.cb.onError(new Error('stream failed'));
  assert.equal(sse.last.aborted, true);
  assert.equal(feed.transport, 'longpoll');
  assert.equal(longpoll.opens.length, 1, 'no backoff delay before the fallback');
  assert.equal(longpoll.last.cursor, 4);
  answer(longpoll.last, [item(5)], 5);
  assert.deepEqual(seen.items, [5]);
  assert.deepEqual(seen.statuses, ['connecting', 'live']);
  // Fallen back for good: a later failure retries long-polling, not the stream.
  longpoll.last.cb.onError(new Error('down'));
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
  sse.last.cb.onError(new Error('stream ended'));
  assert.equal(feed.status, 'reconnecting');
  timers.fire();
  assert.equal(sse.opens.length, 2);
  assert.equal(sse.last.cursor, 1);
  // The new stream fails before opening (server still down): still not a reason to fall back.
  sse.last.cb.onError(new Error('connection refused'));
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
  sse.last.cb.onError(new Error('stream failed'));
  assert.equal(feed.status, 'reconnecting');
  timers.fire();
  assert.equal(sse.opens.length, 2);
  assert.equal(longpoll.opens.length, 0);
});

test('auto uses long-polling where a response cannot be read as a stream', (t) => {
  const timers = fakeTimers();
  const longpoll = fakeTransport();
  const { ReadableStream } = globalThis;
  delete globalThis.ReadableStream;
  t.after(() => (globalThis.ReadableStream = ReadableStream));
  const feed = new LiveFeed({ transport: 'auto', timers, transports: { longpoll }, environment: fakeEnvironment() });
  feed.start();
  assert.equal(feed.transport, 'longpoll');
  assert.equal(longpoll.opens.length, 1);
});

test('an unknown transport name is refused', () => {
  assert.throws(() => new LiveFeed({ transport: 'websocket' }), /transport must be/);
});

test('a channel name the server would refuse is refused at once', () => {
  assert.throws(() => new LiveFeed({ channels: ['no spaces'] }), /channel name is 1-64 characters/);
  assert.throws(() => new LiveFeed({ channels: 'x'.repeat(65) }), /channel name/);
});
