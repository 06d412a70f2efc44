// What the page and the network tell the client: online/offline, hidden pages, frozen pages,
// tokens (getToken) and the server's hints about when to come back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answer, httpError, item, makeFeed, settle } from './fakes.mjs';

test('online reconnects at once instead of waiting out the backoff, from the cursor', () => {
  const { feed, timers, longpoll, env } = makeFeed({ since: 0, minBackoff: 20000, maxBackoff: 60000 });
  feed.start();
  answer(longpoll.last, [item(1), item(2)], 2);
  longpoll.last.cb.onError(new Error('network changed'));
  longpoll.last.cb.onError(new Error('stale')); // ignored: that attempt is over
  timers.fire();
  longpoll.last.cb.onError(new Error('still down'));
  assert.equal(timers.only().ms, 40000);
  const before = longpoll.opens.length;

  env.window.dispatchEvent(new Event('online'));
  assert.equal(longpoll.opens.length, before + 1, 'connected on the event');
  assert.equal(longpoll.last.cursor, 2);
  assert.equal(longpoll.last.request.quick, true);
  answer(longpoll.last, [item(3)], 3);
  assert.equal(feed.status, 'live');
  longpoll.last.cb.onError(new Error('down again'));
  assert.equal(timers.only().ms, 20000, 'the backoff starts over');
});

test('offline drops the connection and waits for online, with the backoff timer as a fallback', () => {
  const { feed, timers, longpoll, env, seen } = makeFeed({ since: 0 });
  feed.start();
  answer(longpoll.last, [item(1)], 1);
  const held = longpoll.last;
  env.window.dispatchEvent(new Event('offline'));
  assert.equal(held.aborted, true);
  assert.equal(feed.status, 'reconnecting');
  assert.equal(timers.only().ms, 1000);
  env.window.dispatchEvent(new Event('online'));
  assert.equal(longpoll.last.cursor, 1);
  assert.deepEqual(seen.statuses, ['connecting', 'live', 'reconnecting']);
  answer(longpoll.last, [item(2)], 2);
  assert.deepEqual(seen.items, [1, 2]);
});

test('online while paused or closed opens nothing', () => {
  const { feed, longpoll, env } = makeFeed({ since: 0 });
  feed.start();
  feed.close();
  env.window.dispatchEvent(new Event('online'));
  assert.equal(longpoll.opens.length, 1);
});

test('pauseWhenHidden closes while hidden and resumes from the cursor when shown', () => {
  const { feed, timers, longpoll, env, seen } = makeFeed({ since: 0, pauseWhenHidden: true });
  feed.start();
  answer(longpoll.last, [item(4)], 4);
  env.document.visibilityState = 'hidden';
  env.document.dispatchEvent(new Event('visibilitychange'));
  assert.equal(longpoll.last.aborted, true);
  assert.equal(feed.status, 'paused');
  assert.equal(timers.count, 0, 'nothing scheduled while paused');

  env.document.visibilityState = 'visible';
  env.document.dispatchEvent(new Event('visibilitychange'));
  assert.equal(longpoll.last.cursor, 4);
  answer(longpoll.last, [item(4), item(5)], 5);
  assert.deepEqual(seen.items, [4, 5]);
  assert.deepEqual(seen.statuses, ['connecting', 'live', 'paused', 'connecting', 'live']);
});

test('pauseWhenHidden on a page that starts hidden connects only once shown', () => {
  const { feed, longpoll, env } = makeFeed({ pauseWhenHidden: true });
  env.document.visibilityState = 'hidden';
  feed.start();
  assert.equal(feed.status, 'paused');
  assert.equal(longpoll.opens.length, 0);
  env.document.visibilityState = 'visible';
  env.document.dispatchEvent(new Event('visibilitychange'));
  assert.equal(longpoll.opens.length, 1);
});

test('without pauseWhenHidden a hidden page keeps its connection', () => {
  const { feed, longpoll, env } = makeFeed();
  feed.start();
  env.document.visibilityState = 'hidden';
  env.document.dispatchEvent(new Event('visibilitychange'));
  assert.equal(longpoll.last.aborted, false);
  assert.equal(feed.status, 'connecting');
});

test('a frozen page lets go of its connection and resumes from the cursor', () => {
  const { feed, longpoll, env } = makeFeed({ since: 0 });
  feed.start();
  answer(longpoll.last, [item(7)], 7);
  env.document.dispatchEvent(new Event('freeze'));
  assert.equal(longpoll.last.aborted, true);
  assert.equal(feed.status, 'paused');
  env.document.dispatchEvent(new Event('resume'));
  assert.equal(longpoll.last.cursor, 7);
  assert.equal(longpoll.last.aborted, false);
});

// ---- tokens ----

test('getToken is asked before each connection; a long-poll chain keeps its token', async () => {
  let asked = 0;
  const { feed, timers, longpoll } = makeFeed({ since: 0, getToken: () => Promise.resolve(`t${++asked}`) });
  feed.start();
  assert.equal(longpoll.opens.length, 0, 'nothing is sent before the token is there');
  await settle();
  assert.equal(longpoll.last.request.token, 't1');
  answer(longpoll.last, [item(1)], 1);
  assert.equal(longpoll.last.request.token, 't1', 'the next poll of the chain, at once');
  longpoll.last.cb.onError(new Error('down'));
  timers.fire();
  await settle();
  assert.equal(longpoll.last.request.token, 't2');
  assert.equal(asked, 2);
});

test('a 401 asks for a new token and retries at once; a second 401 in a row backs off', () => {
  const tokens = ['expired', 'fresh', 'also refused', 'good'];
  const { feed, timers, longpoll, seen } = makeFeed({ since: 3, getToken: () => tokens.shift() });
  feed.start();
  assert.equal(longpoll.last.request.token, 'expired');
  longpoll.last.cb.onError(httpError(401));
  assert.equal(longpoll.opens.length, 2);
  assert.equal(longpoll.last.request.token, 'fresh');
  assert.equal(longpoll.last.cursor, 3);
  longpoll.last.cb.onError(httpError(401));
  assert.equal(feed.status, 'reconnecting');
  assert.equal(timers.only().ms, 1000);
  timers.fire();
  assert.equal(longpoll.last.request.token, 'also refused');
  answer(longpoll.last, [item(4)], 4);
  assert.deepEqual(seen.items, [4]);
});

test('a 401 without getToken ends the feed: nothing would change on a retry', () => {
  const { feed, timers, longpoll } = makeFeed();
  feed.start();
  longpoll.last.cb.onError(httpError(401));
  assert.equal(feed.status, 'error');
  assert.equal(timers.count, 0);
});

test('a getToken that throws or rejects is a failed attempt, retried with backoff', async () => {
  let calls = 0;
  const { feed, timers, longpoll, seen } = makeFeed({
    getToken: () => {
      calls++;
      if (calls === 1) throw new Error('no session');
      if (calls === 2) return Promise.reject(new Error('auth server down'));
      return 'ok';
    },
  });
  feed.start();
  assert.equal(feed.status, 'reconnecting');
  assert.match(seen.errors[0].message, /getToken failed: no session/);
  timers.fire();
  await settle();
  assert.match(seen.errors[1].message, /auth server down/);
  assert.equal(timers.only().ms, 2000);
  timers.fire();
  assert.equal(longpoll.last.request.token, 'ok');
});

test('a getToken that never answers is abandoned by the watchdog', () => {
  const { feed, timers, longpoll } = makeFeed({ getToken: () => new Promise(() => {}) });
  feed.start();
  assert.equal(timers.only().ms, 11000);
  timers.fire();
  assert.equal(feed.status, 'reconnecting');
  assert.equal(longpoll.opens.length, 0);
});

// ---- the server's hints ----

test('Retry-After raises the backoff and the stream\'s retry: is its lower bound', () => {
  const { feed, timers, sse } = makeFeed({ transport: 'sse', since: 0 });
  feed.start();
  sse.last.cb.onError(httpError(503, { retryAfter: 9000 }));
  assert.equal(timers.only().ms, 9000);
  timers.fire();
  sse.last.cb.onOpen();
  sse.last.cb.onRetry(2500);
  sse.last.cb.onError(new Error('stream ended'));
  assert.equal(timers.only().ms, 2500, 'retry: 2500 over the 1000 ms first step');
  timers.fire();
  sse.last.cb.onError(new Error('refused'));
  assert.equal(timers.only().ms, 2500);
  timers.fire();
  sse.last.cb.onError(new Error('refused'));
  assert.equal(timers.only().ms, 4000, 'the backoff grows past it');
});
