// Channels changed at run time: subscribe(channel[, cursor]) and unsubscribe(channel). The
// kept channels lose and repeat nothing; an added channel starts from the present or from
// the caller's cursor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answer, item, makeFeed } from './fakes.mjs';

const on = (channel, id) => item(id, { channel });

// A live feed on channel a at cursor 10.
function liveOnA(options) {
  const tab = makeFeed({ channels: ['a'], since: 0, ...options });
  tab.feed.start();
  answer(tab.longpoll.last, [on('a', 10)], 10);
  return tab;
}

test('subscribe with a cursor reopens from the older cursor; the kept channel repeats nothing', async () => {
  const { feed, longpoll, seen } = liveOnA();
  const held = longpoll.last;
  await feed.subscribe('b', 4);
  assert.equal(held.aborted, true);
  assert.deepEqual(longpoll.last.request.channels, ['a', 'b']);
  assert.equal(longpoll.last.cursor, 4);
  assert.deepEqual(feed.channels, ['a', 'b']);
  answer(longpoll.last, [on('b', 5), on('a', 6), on('b', 8), on('a', 10), on('a', 11), on('b', 12)], 12);
  assert.deepEqual(seen.items, [10, 5, 8, 11, 12]);
  assert.equal(feed.cursor, 12);
  answer(longpoll.last, [on('a', 11), on('b', 13)], 13);
  assert.deepEqual(seen.items, [10, 5, 8, 11, 12, 13]);
});

test('subscribe without a cursor asks the server where the present is, then follows from there', async () => {
  const { feed, longpoll, seen } = liveOnA();
  const held = longpoll.last;
  const subscribed = feed.subscribe('b');
  const probe = longpoll.last;
  assert.notEqual(probe, held);
  assert.deepEqual(probe.request, { channels: ['b'], token: null, quick: true });
  assert.equal(probe.cursor, null, 'no cursor: the server registers at its newest id');
  assert.equal(held.aborted, false, 'channel a keeps its connection meanwhile');
  answer(held, [on('a', 11)], 11);
  answer(probe, [], 20); // nothing new on b within the second; the newest id was 20
  await subscribed;
  assert.deepEqual(feed.channels, ['a', 'b']);
  assert.equal(longpoll.last.cursor, 11, 'reopened from our cursor');
  answer(longpoll.last, [on('b', 15), on('a', 16), on('b', 20), on('b', 21)], 21);
  assert.deepEqual(seen.items, [10, 11, 16, 21], 'b items up to the present are past');
});

test('items published on the new channel while asking for the present are delivered', async () => {
  const { feed, longpoll, seen } = liveOnA();
  const subscribed = feed.subscribe('b');
  answer(longpoll.last, [on('b', 30), on('b', 31)], 31);
  await subscribed;
  answer(longpoll.last, [on('b', 25), on('b', 30), on('b', 31)], 31);
  assert.deepEqual(seen.items, [10, 30, 31]);
});

test('when the present cannot be learned the channel starts from our cursor', async () => {
  const { feed, longpoll, seen } = liveOnA();
  const subscribed = feed.subscribe('b');
  longpoll.last.cb.onError(new Error('network'));
  await subscribed;
  assert.equal(seen.errors.length, 1);
  assert.equal(longpoll.last.cursor, 10);
  answer(longpoll.last, [on('b', 11)], 11);
  assert.deepEqual(seen.items, [10, 11]);
});

test('unsubscribe reopens without the channel from the cursor', () => {
  const { feed, longpoll, seen } = makeFeed({ channels: ['a', 'b'], since: 0 });
  feed.start();
  answer(longpoll.last, [on('a', 1), on('b', 2)], 2);
  const held = longpoll.last;
  feed.unsubscribe('b');
  assert.equal(held.aborted, true);
  assert.deepEqual(longpoll.last.request.channels, ['a']);
  assert.equal(longpoll.last.cursor, 2);
  held.cb.onItems([on('b', 3)], 3); // late, from the old connection: ignored
  answer(longpoll.last, [on('a', 4)], 4);
  assert.deepEqual(seen.items, [1, 2, 4]);
  const opened = longpoll.opens.length;
  feed.unsubscribe('never-followed');
  assert.equal(longpoll.opens.length, opened);
});

test('unsubscribing the last channel pauses the feed until a channel is added', async () => {
  const { feed, timers, longpoll } = makeFeed({ channels: ['a'], since: 0 });
  feed.start();
  answer(longpoll.last, [on('a', 1)], 1);
  feed.unsubscribe('a');
  assert.equal(feed.status, 'paused');
  assert.equal(longpoll.last.aborted, true);
  assert.equal(timers.count, 0);
  await feed.subscribe('c', 1);
  assert.equal(feed.status, 'connecting');
  assert.deepEqual(longpoll.last.request.channels, ['c']);
  assert.equal(longpoll.last.cursor, 1);
});

test('a feed on the default channel that subscribes keeps the default channel', async () => {
  const { feed, longpoll } = makeFeed({ since: 0 });
  feed.start();
  assert.deepEqual(longpoll.last.request.channels, []);
  answer(longpoll.last, [item(1)], 1);
  await feed.subscribe('news', 1);
  assert.deepEqual(longpoll.last.request.channels, ['default', 'news']);
});

test('before start() channels change without a connection', async () => {
  const { feed, longpoll } = makeFeed({ channels: ['a'] });
  await feed.subscribe('b');
  feed.unsubscribe('a');
  assert.equal(longpoll.opens.length, 0);
  feed.start();
  assert.deepEqual(longpoll.last.request.channels, ['b']);
});

test('subscribing twice, or to a channel followed, changes nothing; a bad name throws', async () => {
  const { feed, longpoll } = liveOnA();
  const first = feed.subscribe('b');
  const again = feed.subscribe('b');
  assert.equal(first, again, 'the same pending subscription');
  await feed.subscribe('a');
  assert.equal(longpoll.opens.length, 3, 'the held poll and one probe');
  assert.throws(() => feed.subscribe('no spaces'), /channel name/);
});

test('unsubscribe while the present is being asked for cancels the subscription', async () => {
  const { feed, longpoll } = liveOnA();
  const subscribed = feed.subscribe('b');
  const probe = longpoll.last;
  feed.unsubscribe('b');
  await subscribed;
  assert.equal(probe.aborted, true);
  assert.deepEqual(feed.channels, ['a']);
  assert.equal(longpoll.opens.length, 3, 'the held poll and the probe, nothing reopened');
});

test('unsubscribing the channel that was behind moves the cursor up to the others', async () => {
  const { feed, longpoll, seen } = liveOnA();
  await feed.subscribe('b', 4);
  assert.equal(longpoll.last.cursor, 4);
  feed.unsubscribe('b');
  assert.equal(longpoll.last.cursor, 10, 'a was at 10: nothing before it is asked for again');
  answer(longpoll.last, [on('a', 11)], 11);
  assert.deepEqual(seen.items, [10, 11]);
});

test('close() settles a subscription still asking for the present', async () => {
  const { feed, longpoll } = liveOnA();
  const subscribed = feed.subscribe('b');
  const probe = longpoll.last;
  feed.close();
  await subscribed;
  assert.equal(probe.aborted, true);
});
