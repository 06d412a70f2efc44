// What the client.js unit tests drive it with: a fake clock, a fake transport that the test
// answers by hand, fake tabs (BroadcastChannel and Web Locks) and a fake fetch. Not a test
// file itself (node --test runs *.test.mjs only).
import assert from 'node:assert/strict';
import { LiveFeed } from '../../web/client.js';

export { LiveFeed };

export function fakeTimers() {
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
    // The feed keeps at most one timer; more would be a bug the tests should see.
    only() {
      assert.equal(pending.size, 1, 'exactly one timer pending');
      const [[id, t]] = pending;
      return { id, ms: t.ms };
    },
    // Fires the only timer, or the one of `ms` when several are pending (tabs electing
    // over a BroadcastChannel keep one of their own).
    fire(ms) {
      const entry = [...pending].find(([, t]) => ms === undefined || t.ms === ms);
      if (ms === undefined) this.only();
      assert.ok(entry, `a timer of ${ms} ms is pending`);
      pending.delete(entry[0]);
      entry[1].fn();
    },
    delays() {
      return [...pending.values()].map((t) => t.ms);
    },
    get count() {
      return pending.size;
    },
  };
}

// Records each open(); the test plays the server by calling the recorded callbacks.
export function fakeTransport() {
  const opens = [];
  return {
    opens,
    open(cursor, cb, request) {
      const conn = { cursor, cb, request, aborted: false };
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
    // Connections neither aborted nor answered: what the server sees waiting.
    get held() {
      return opens.filter((c) => !c.aborted && !c.done);
    },
  };
}

export function item(id, extra) {
  return { id, timestamp: 1700000000000 + id, channel: 'default', data: { n: id }, ...extra };
}

// One successful long-poll answer, as the server would give it.
export function answer(conn, items, cursor, truncated) {
  conn.done = true;
  conn.cb.onOpen();
  if (truncated) conn.cb.onTruncated({ cursor, end: cursor, exact: false });
  conn.cb.onItems(items, cursor);
  conn.cb.onEnd();
}

export function httpError(status, extra) {
  const err = new Error(`HTTP ${status}`);
  return Object.assign(err, { status, unauthorized: status === 401, fatal: status >= 400 && status < 500 && status !== 401 }, extra);
}

// An environment with no tabs: window and document events come from the test.
export function fakeEnvironment(extra) {
  const document = new EventTarget();
  document.visibilityState = 'visible';
  return { window: new EventTarget(), document, locks: null, BroadcastChannel: null, ...extra };
}

export function makeFeed(options = {}) {
  const timers = fakeTimers();
  const longpoll = fakeTransport();
  const sse = fakeTransport();
  const env = options.environment || fakeEnvironment();
  const feed = new LiveFeed({
    transport: 'longpoll',
    timers,
    random: () => 1, // jitter at its top: delays equal the ceiling
    transports: { longpoll, sse },
    ...options,
    environment: env,
  });
  const seen = { items: [], statuses: [], truncated: [], errors: [] };
  feed.on('item', (it) => seen.items.push(it.id));
  feed.on('status', (s) => seen.statuses.push(s));
  feed.on('truncated', (t) => seen.truncated.push(t));
  feed.on('error', (e) => seen.errors.push(e));
  return { feed, timers, longpoll, sse, seen, env };
}

// ---- tabs -----------------------------------------------------------------------------------

// BroadcastChannels of one origin: a message reaches every other channel of the same name,
// later (in a task of its own) and as a structured clone, as in a browser.
export function fakeBroadcastChannels() {
  const open = new Set();
  return class FakeBroadcastChannel {
    constructor(name) {
      this.name = name;
      this.onmessage = null;
      this.closed = false;
      open.add(this);
    }
    postMessage(data) {
      if (this.closed) throw new Error('InvalidStateError: the channel is closed');
      const copy = structuredClone(data);
      for (const other of open) {
        if (other === this || other.name !== this.name) continue;
        setImmediate(() => {
          if (!other.closed && other.onmessage) other.onmessage({ data: copy });
        });
      }
    }
    close() {
      this.closed = true;
      open.delete(this);
    }
  };
}

// navigator.locks for exclusive locks: granted in request order, held until the promise the
// callback returned settles, withdrawn by an aborted signal.
export function fakeLocks() {
  const queues = new Map();
  function grantNext(name) {
    const queue = queues.get(name);
    if (!queue.length || queue[0].granted) return;
    const req = queue[0];
    req.granted = true;
    Promise.resolve()
      .then(() => req.callback({ name, mode: 'exclusive' }))
      .catch(() => {})
      .then(() => {
        queue.shift();
        req.resolve();
        grantNext(name);
      });
  }
  return {
    request(name, options, callback) {
      return new Promise((resolve, reject) => {
        if (!queues.has(name)) queues.set(name, []);
        const queue = queues.get(name);
        const req = { callback, resolve, granted: false };
        queue.push(req);
        options.signal.addEventListener('abort', () => {
          if (req.granted) return;
          queue.splice(queue.indexOf(req), 1);
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        });
        grantNext(name);
      });
    },
  };
}

// Browser tabs of one origin: each makeTab() is a page with its own feed, clock and
// transports, sharing the origin's BroadcastChannels and (unless locks: false) its locks.
export function fakeBrowser({ locks = true } = {}) {
  const BroadcastChannel = fakeBroadcastChannels();
  const lockManager = locks ? fakeLocks() : null;
  const tabs = [];
  return {
    tabs,
    makeTab(options = {}) {
      const channels = [];
      class TabChannel extends BroadcastChannel {
        constructor(name) {
          super(name);
          channels.push(this);
        }
      }
      const tab = makeFeed({
        shared: true,
        ...options,
        environment: fakeEnvironment({ locks: lockManager, BroadcastChannel: TabChannel }),
      });
      // The tab's process dies: its channels go quiet without a word (its locks would be
      // released; only the election without locks is crashed here).
      tab.crash = () => channels.forEach((c) => c.close());
      tabs.push(tab);
      return tab;
    },
    // The tabs' held connections: with shared, one for the whole browser.
    held() {
      return tabs.flatMap((t) => [...t.longpoll.held, ...t.sse.held]);
    },
    leader() {
      const leaders = tabs.filter((t) => t.feed.status !== 'closed' && (t.longpoll.held.length || t.sse.held.length));
      assert.equal(leaders.length, 1, 'exactly one tab holds a connection');
      return leaders[0];
    },
  };
}

// Lets every pending message, lock grant and promise run.
export async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

// ---- fetch ----------------------------------------------------------------------------------

// Replaces fetch for one test. Each reply: {status, body, headers} (body a string or JSON),
// an Error to reject with, or a stream() to answer an event stream bit by bit. With no
// reply left the request is held, like a long-poll with nothing to say.
export function fakeFetch(t, replies) {
  const calls = [];
  t.mock.method(globalThis, 'fetch', async (url, init) => {
    calls.push({ url, init });
    const reply = replies.shift();
    if (!reply) return new Promise(() => {});
    if (reply instanceof Error) throw reply;
    if (reply.stream) {
      return new Response(reply.stream.body, {
        status: 200,
        headers: { 'Content-Type': 'text/event-stream', ...reply.headers },
      });
    }
    return new Response(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body), {
      status: reply.status || 200,
      headers: reply.headers || {},
    });
  });
  return calls;
}

// A response body the test writes into: push(text) sends a chunk, end() finishes it.
export function eventStream() {
  let controller;
  const body = new ReadableStream({
    start(c) {
      controller = c;
    },
  });
  const encoder = new TextEncoder();
  return {
    body,
    push: (text) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
  };
}

export function flush() {
  return settle();
}
