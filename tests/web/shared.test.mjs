// shared: true — the tabs of a browser share one connection. Tabs here are feeds with their
// own clocks and transports that share fake BroadcastChannels and Web Locks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answer, fakeBrowser, httpError, item, settle } from './fakes.mjs';

async function openTabs(browser, count, options) {
  for (let i = 0; i < count; i++) browser.makeTab({ since: 0, ...options }).feed.start();
  await settle();
}

test('eight tabs hold one connection and each gets every item once, in order', async () => {
  const browser = fakeBrowser();
  await openTabs(browser, 8);
  assert.equal(browser.held().length, 1, 'one poll for the whole browser');
  const leader = browser.leader();
  assert.equal(leader, browser.tabs[0], 'the first tab leads');
  answer(leader.longpoll.last, [item(1), item(2)], 2);
  await settle();
  answer(leader.longpoll.last, [item(2), item(3)], 3);
  await settle();
  for (const tab of browser.tabs) {
    assert.deepEqual(tab.seen.items, [1, 2, 3]);
    assert.equal(tab.feed.status, 'live');
    assert.equal(tab.feed.cursor, 3);
  }
  assert.equal(browser.held().length, 1);
  assert.deepEqual(browser.tabs[5].seen.statuses, ['connecting', 'live'], 'followers mirror the leader');
});

test('when the leading tab closes another takes over from its cursor: no loss, no repeat', async () => {
  const browser = fakeBrowser();
  await openTabs(browser, 3);
  const first = browser.leader();
  answer(first.longpoll.last, [item(1), item(2)], 2);
  await settle();
  first.feed.close();
  await settle();
  const next = browser.leader();
  assert.notEqual(next, first);
  assert.equal(next.longpoll.last.cursor, 2, 'resumes from the last cursor');
  // Published while nobody held a connection, and an overlap: each once.
  answer(next.longpoll.last, [item(2), item(3), item(4)], 4);
  await settle();
  for (const tab of browser.tabs.slice(1)) assert.deepEqual(tab.seen.items, [1, 2, 3, 4]);
  assert.deepEqual(first.seen.items, [1, 2]);
});

test('a frozen leader hands over and comes back as a follower', async () => {
  const browser = fakeBrowser();
  await openTabs(browser, 2);
  const [a, b] = browser.tabs;
  answer(a.longpoll.last, [item(1)], 1);
  await settle();
  a.env.document.dispatchEvent(new Event('freeze'));
  await settle();
  assert.equal(browser.leader(), b);
  assert.equal(b.longpoll.last.cursor, 1);
  a.env.document.dispatchEvent(new Event('resume'));
  await settle();
  assert.equal(browser.leader(), b, 'the tab that took over keeps leading');
  answer(b.longpoll.last, [item(2)], 2);
  await settle();
  assert.deepEqual(a.seen.items, [1, 2]);
  assert.deepEqual(b.seen.items, [1, 2]);
  assert.equal(a.feed.status, 'live');
});

test('a tab that joins behind the leader fetches the gap itself, then follows', async () => {
  const browser = fakeBrowser();
  await openTabs(browser, 1);
  const leader = browser.tabs[0];
  answer(leader.longpoll.last, [item(1), item(2), item(3)], 3);
  await settle();

  const late = browser.makeTab({ since: 0 });
  late.feed.start();
  await settle();
  const catchUp = late.longpoll.last;
  assert.equal(catchUp.cursor, 0);
  assert.equal(catchUp.request.quick, true, 'a short poll, not a held one');
  // The leader goes on meanwhile: held until the gap is filled.
  answer(leader.longpoll.last, [item(4)], 4);
  await settle();
  assert.deepEqual(late.seen.items, []);
  answer(catchUp, [item(1), item(2), item(3)], 3);
  await settle();
  assert.deepEqual(late.seen.items, [1, 2, 3, 4]);
  assert.equal(late.longpoll.held.length, 0, 'back to one connection');
  answer(leader.longpoll.last, [item(5)], 5);
  await settle();
  assert.deepEqual(late.seen.items, [1, 2, 3, 4, 5]);
});

test('a catch-up that finds nothing newer applies the held batches', async () => {
  const browser = fakeBrowser();
  await openTabs(browser, 1, { since: 50 });
  const leader = browser.tabs[0];
  const late = browser.makeTab({ since: 40 });
  late.feed.start();
  await settle();
  answer(late.longpoll.last, [], 40); // nothing after 40: the leader's 50 is just a cursor
  await settle();
  answer(leader.longpoll.last, [item(51)], 51);
  await settle();
  assert.deepEqual(late.seen.items, [51]);
  assert.equal(late.feed.cursor, 51);
});

test('a tab with no cursor takes the leader\'s, so that its takeover misses nothing', async () => {
  const browser = fakeBrowser();
  await openTabs(browser, 1, { since: 0 });
  const [leader] = browser.tabs;
  answer(leader.longpoll.last, [item(8)], 8);
  await settle();
  const fresh = browser.makeTab({}); // "from now on"
  fresh.feed.start();
  await settle();
  assert.equal(fresh.feed.cursor, 8);
  assert.equal(fresh.longpoll.opens.length, 0, 'no catch-up needed');
  leader.feed.close();
  await settle();
  assert.equal(fresh.longpoll.last.cursor, 8);
});

test('a leader refused for good leaves; the next tab asks the server itself', async () => {
  const browser = fakeBrowser();
  await openTabs(browser, 2);
  const [leader, follower] = browser.tabs;
  leader.longpoll.last.cb.onError(httpError(400));
  await settle();
  assert.equal(leader.feed.status, 'error');
  assert.equal(browser.leader(), follower);
  follower.longpoll.last.cb.onError(httpError(400));
  await settle();
  assert.equal(follower.feed.status, 'error');
  assert.equal(browser.held().length, 0);
});

test('followers show the leader\'s reconnect delay', async () => {
  const browser = fakeBrowser();
  await openTabs(browser, 2);
  const [leader, follower] = browser.tabs;
  const delays = [];
  follower.feed.on('status', (s, d) => s === 'reconnecting' && delays.push(d.retryIn));
  leader.longpoll.last.cb.onError(new Error('down'));
  await settle();
  assert.deepEqual(delays, [1000]);
  assert.equal(follower.feed.status, 'reconnecting');
  assert.equal(follower.timers.count, 0, 'a follower schedules nothing itself');
});

test('a tab that changes its channels joins the tabs that follow the new set', async () => {
  const browser = fakeBrowser();
  await openTabs(browser, 2, { channels: ['a'] });
  const [leader, mover] = browser.tabs;
  answer(leader.longpoll.last, [item(3, { channel: 'a' })], 3);
  await settle();
  await mover.feed.subscribe('b', 3);
  await settle();
  assert.equal(browser.held().length, 2, 'one connection per set of channels');
  assert.deepEqual(mover.longpoll.last.request.channels, ['a', 'b']);
  assert.equal(mover.longpoll.last.cursor, 3);
});

test('without Web Locks the tabs elect a leader over a BroadcastChannel', async () => {
  const browser = fakeBrowser({ locks: false });
  const a = browser.makeTab({ since: 0 });
  a.feed.start();
  await settle();
  assert.equal(a.longpoll.opens.length, 0, 'claims first, waits half a beat for objections');
  a.timers.fire(500);
  await settle();
  assert.equal(browser.leader(), a);

  const b = browser.makeTab({ since: 0 });
  b.feed.start();
  await settle(); // b claims; a answers with a beat; b follows
  assert.deepEqual(b.timers.delays(), [3000], 'b waits for the leader\'s beats');
  a.timers.fire(1000); // a beats
  await settle();
  answer(a.longpoll.last, [item(1)], 1);
  await settle();
  assert.deepEqual(b.seen.items, [1]);

  a.feed.close(); // resigns
  await settle();
  b.timers.fire(500);
  await settle();
  assert.equal(browser.leader(), b);
  assert.equal(b.longpoll.last.cursor, 1);
});

test('without Web Locks a leader that falls silent is replaced after three beats', async () => {
  const browser = fakeBrowser({ locks: false });
  const a = browser.makeTab({ since: 0 });
  a.feed.start();
  await settle();
  a.timers.fire(500);
  const b = browser.makeTab({ since: 0 });
  b.feed.start();
  await settle();
  a.crash(); // no resignation, no more beats
  b.timers.fire(3000);
  await settle();
  b.timers.fire(500);
  await settle();
  assert.equal(b.longpoll.held.length, 1, 'b leads');
});
