/*
 * livefeed browser client: follows channels of a livefeed server and hands each item to
 * the page exactly once, in id order, across reconnects, server restarts and tabs.
 * No dependencies. Protocol: docs/protocol.md.
 *
 * Loading
 *   <script src="/client.js"></script>              the global LiveFeed
 *   import { LiveFeed } from '/client.mjs';          ES module in a browser
 *   import { LiveFeed } from 'livefeed-client';      from a bundler or node (web/package.json)
 *
 * Use
 *   const feed = new LiveFeed({ channels: ['news', 'sport'], shared: true });
 *   feed.on('item', (item) => show(item));          // {id, timestamp, channel, type?, data}
 *   feed.on('status', (status, detail) => paint(status));
 *   feed.on('truncated', () => warn('some items may have been missed'));
 *   feed.start();
 *   await feed.subscribe('weather');                 // from now on; or subscribe('weather', 0)
 *   feed.unsubscribe('sport');
 *   feed.close();
 *
 * Options (all optional)
 *   url              server base URL; '' (default) = same origin. 'https://host', '/prefix'.
 *   channels         array or 'a,b' string; none = the server's default channel ('default').
 *   since            starting cursor: 0 = every item the server still holds;
 *                    absent = only items published from now on.
 *   transport        'auto' (default): Server-Sent Events (read with fetch) where the browser can
 *                    stream a response, long-polling when the stream cannot be established
 *                    (never opens, or fails before its first open: a buffering proxy, an old
 *                    server). 'sse' | 'longpoll' force one.
 *   shared           true: the tabs of this origin that follow the same url and channels share
 *                    one connection. One tab leads (elected with navigator.locks, or over a
 *                    BroadcastChannel where there are no locks) and hands the items to the
 *                    others over a BroadcastChannel; when it closes or is frozen another takes
 *                    over from its cursor. A tab whose cursor is behind the leader's fetches
 *                    the difference itself with short polls. The leader's token is used.
 *   getToken         () => token or a promise of one. Called before each connection and again
 *                    after a 401 or an `unauthorized` stream event. Sent as ?token= on streams
 *                    and as Authorization: Bearer on polls.
 *   pauseWhenHidden  true: no connection while the page is hidden; resumes from the cursor
 *                    when it is shown again (status 'paused' meanwhile).
 *   storageKey       sessionStorage key under which the cursor is kept, so that a reload
 *                    resumes where the page was (the stored cursor wins over `since`).
 *   pollTimeout      seconds the server may hold a long-poll (sent as `timeout`); default:
 *                    the server's own default. Must not exceed the server's --poll-timeout.
 *   openTimeout      ms to wait for a stream to open before counting it failed (5000).
 *   pollWatchdog     ms after which an unanswered long-poll is abandoned and re-sent
 *                    (default pollTimeout + 10 s, or 90 s when pollTimeout is not set).
 *   minBackoff, maxBackoff
 *                    retry delay bounds in ms (1000, 30000). The delay doubles per failed
 *                    attempt, is jittered to 50..100 %, and returns to minBackoff on success.
 *                    A 503's Retry-After and the stream's `retry:` raise it, never lower it.
 *   Testing hooks: transports ({longpoll, sse} objects with open()), timers
 *   ({setTimeout, clearTimeout}), random (() => [0,1)), storage (a Storage-like object),
 *   environment ({window, document, locks, BroadcastChannel}: where events and tabs come from).
 *
 * Events  feed.on(name, fn) / feed.off(name, fn)
 *   item       (item)              each item once; ids strictly increasing on each channel.
 *   status     (status, detail)    'connecting' first connection attempt
 *                                  'live'         connected, items arrive as published
 *                                  'reconnecting' lost or never got a connection; retrying
 *                                                 (detail.retryIn = ms until next attempt)
 *                                  'paused'       hidden page (pauseWhenHidden), frozen page, or
 *                                                 no channel left; resumes by itself
 *                                  'error'        the server rejected the request (e.g. a bad
 *                                                 channel name); no more attempts
 *                                  'closed'       close() was called
 *                                  detail.transport names the transport in use; with shared,
 *                                  detail.role is 'leader' or 'follower' (whose status mirrors
 *                                  the leader's).
 *   truncated  ({cursor, transport}) the server cannot vouch that nothing was missed before
 *                                  `cursor` (evicted items, or the server restarted).
 *   error      (err)               a failed attempt (it is retried) or a throwing listener.
 *                                  Informational: the feed keeps going.
 *
 * Methods and properties
 *   start()      begins following (listeners registered before it see every event).
 *   subscribe(channel[, cursor])   adds a channel at run time: from the present, or after
 *                `cursor`. Resolves once the channel is followed. The others lose nothing.
 *   unsubscribe(channel)           drops a channel; the others lose and repeat nothing.
 *   close()      stops for good; idempotent.
 *   status       the current status (above), or 'idle' before start().
 *   cursor       where the next connection resumes: the last id seen on every channel.
 *   channels     the channels followed (a copy).
 *   transport    'sse' or 'longpoll': the transport in use.
 *
 * How it works
 *   1. One state machine: idle -> connecting -> live <-> reconnecting -> closed | error, with
 *      paused beside it. In a shared tab that follows, the leader's status is mirrored.
 *   2. A transport has one shape, open(cursor, callbacks, request) -> {abort}. Long-poll opens
 *      one request per answer and is re-opened at once with the returned cursor; SSE keeps
 *      one streamed response. Callbacks from an aborted attempt are ignored.
 *   3. One timer: while an attempt is pending it is the watchdog (stream open timeout,
 *      unanswered poll); while reconnecting it is the backoff delay.
 *   4. What a connection brings is a batch {since, items, cursor, truncated}. A feed applies
 *      batches whose `since` it has reached; a shared leader also posts them to the other
 *      tabs. Items with an id at or below the channel's position are dropped, so overlaps
 *      are never delivered twice; reconnects resume from the cursor, so nothing is skipped.
 */
(function (root, factory) {
  const LiveFeed = factory();
  if (typeof module === 'object' && module && module.exports) module.exports.LiveFeed = LiveFeed;
  else root.LiveFeed = LiveFeed;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  const STATUSES = ['idle', 'connecting', 'live', 'reconnecting', 'paused', 'error', 'closed'];
  const CHANNEL_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
  const DEFAULT_CHANNEL = 'default';
  // The fallback election: a leader says so this often; silence for three beats is a vacancy.
  const BEAT_MS = 1000;

  function reportToConsole(message, err) {
    if (typeof console !== 'undefined' && console.error) console.error('LiveFeed: ' + message, err);
  }

  function channelList(channels) {
    if (channels == null) return [];
    const list = Array.isArray(channels) ? channels : String(channels).split(',');
    return list.map((c) => String(c).trim()).filter((c) => c.length > 0);
  }

  // Query string by hand: URLSearchParams would turn the comma between channels into %2C.
  function query(channels, cursor, extra) {
    const parts = [];
    if (channels.length) parts.push('channel=' + channels.map(encodeURIComponent).join(','));
    if (cursor != null) parts.push('since=' + cursor);
    for (const key of Object.keys(extra)) parts.push(key + '=' + encodeURIComponent(extra[key]));
    return parts.length ? '?' + parts.join('&') : '';
  }

  function isItem(value) {
    return value !== null && typeof value === 'object' && Number.isSafeInteger(value.id);
  }

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null; // not JSON: a proxy's error page, or not a livefeed server
    }
  }

  // Retry-After is seconds or an HTTP date; null when absent or unreadable.
  function retryAfterMs(value, now) {
    if (!value) return null;
    if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
    const when = Date.parse(value);
    return Number.isNaN(when) ? null : Math.max(0, when - now);
  }

  // An HTTP refusal as an Error that says what to do about it.
  function httpError(res, text) {
    const body = parseJson(text);
    const what = body && typeof body.error === 'string' ? body.error : String(text).slice(0, 200);
    const err = new Error('HTTP ' + res.status + ': ' + what);
    err.status = res.status;
    err.retryAfter = retryAfterMs(res.headers && res.headers.get('Retry-After'), Date.now());
    err.unauthorized = res.status === 401;
    // A 4xx says our request is wrong: asking again cannot help (408/429 are "try later",
    // 401 "ask for a new token").
    err.fatal = res.status >= 400 && res.status < 500 && [401, 408, 429].indexOf(res.status) < 0;
    return err;
  }

  // ---- transports ---------------------------------------------------------------------------
  // open(cursor, cb, request): request = {channels, token, quick}.
  // cb: onOpen(), onTruncated({cursor, end, exact}), onItems(items, cursor), onEnd(),
  //     onError(err), onWarning(err), onRetry(ms).
  // A truncated notice says items before `cursor` may be missing; `end` is where the gap ends
  // (null: unknown), `exact` that the stream resumes from `cursor`, so a feed may move there.

  function longPollTransport(config) {
    return {
      name: 'longpoll',
      open(cursor, cb, request) {
        const controller = typeof AbortController !== 'undefined' ? new AbortController() : null;
        const extra = {};
        // A quick first poll tells us the server is reachable without waiting for an item.
        if (request.quick) extra.timeout = 1;
        else if (config.pollTimeout) extra.timeout = config.pollTimeout;
        const url = config.url + '/real_time_feed' + query(request.channels, cursor, extra);
        const headers = { Accept: 'application/json' };
        if (request.token) headers.Authorization = 'Bearer ' + request.token;
        let aborted = false;
        fetch(url, { cache: 'no-store', headers, signal: controller ? controller.signal : undefined })
          .then((res) =>
            res.text().then((text) => {
              if (aborted) return;
              if (!res.ok) return cb.onError(httpError(res, text));
              const body = parseJson(text);
              if (!body || !Array.isArray(body.items) || !Number.isSafeInteger(body.cursor)) {
                return cb.onError(new Error('unexpected answer from ' + url));
              }
              cb.onOpen();
              if (body.truncated) cb.onTruncated({ cursor: body.cursor, end: body.cursor, exact: false });
              cb.onItems(body.items, body.cursor);
              cb.onEnd();
            })
          )
          .catch((err) => {
            if (!aborted) cb.onError(err);
          });
        return {
          abort() {
            aborted = true;
            if (controller) controller.abort();
          },
        };
      },
    };
  }

  // Server-Sent Events framing (the HTML standard's parser): text in, events out. Lines end
  // in \r\n, \n or \r; after a chunk that ends in \r, a \n starting the next is that line's.
  function sseParser(onEvent, onRetry) {
    let pending = '';
    let data = null;
    let type = '';
    let id = null;
    function line(text) {
      if (text === '') {
        if (data !== null) onEvent({ type: type || 'message', data: data, id: id });
        data = null;
        type = '';
        id = null;
        return;
      }
      if (text[0] === ':') return; // a comment: the server's ping
      const colon = text.indexOf(':');
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? '' : text.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') data = data === null ? value : data + '\n' + value;
      else if (field === 'event') type = value;
      else if (field === 'id' && value.indexOf('\0') < 0) id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) onRetry(Number(value));
    }
    let skipNewline = false;
    return function push(chunk) {
      if (skipNewline && chunk[0] === '\n') chunk = chunk.slice(1);
      skipNewline = chunk.endsWith('\r');
      const lines = (pending + chunk).split(/\r\n|\r|\n/);
      pending = lines.pop();
      for (const text of lines) line(text);
    };
  }

  function sseTransport(config) {
    return {
      name: 'sse',
      open(cursor, cb, request) {
        // typed=0: every item comes as a "message" event (its type is in the JSON), so events
        // of types we do not know cannot be mistaken for anything else.
        const extra = { typed: 0 };
        if (request.token) extra.token = request.token;
        const url = config.url + '/real_time_feed/stream' + query(request.channels, cursor, extra);
        const controller = new AbortController();
        let closed = false;
        const close = () => {
          closed = true;
          controller.abort();
        };
        const fail = (err) => {
          if (closed) return;
          close();
          cb.onError(err);
        };
        const dispatch = (event) => {
          if (closed) return;
          if (event.type === 'message') {
            const item = parseJson(event.data);
            if (isItem(item)) cb.onItems([item], item.id);
            else cb.onWarning(new Error('ignored a stream event that is not an item: ' + event.data.slice(0, 200)));
          } else if (event.type === 'truncated') {
            cb.onTruncated(truncatedNotice(event));
          } else if (event.type === 'unauthorized') {
            const notice = parseJson(event.data);
            const err = new Error('stream closed: ' + (notice && notice.error ? notice.error : 'unauthorized'));
            err.status = 401;
            err.unauthorized = true;
            fail(err);
          }
        };
        const push = sseParser(dispatch, (ms) => !closed && cb.onRetry(ms));
        fetch(url, { cache: 'no-store', headers: { Accept: 'text/event-stream' }, signal: controller.signal })
          .then((res) => {
            if (closed) return null;
            if (!res.ok) return res.text().then((text) => fail(httpError(res, text)));
            if (!/^text\/event-stream/i.test(res.headers.get('Content-Type') || '') || !res.body) {
              return fail(new Error('not an event stream: ' + url)); // e.g. a proxy's page
            }
            cb.onOpen();
            const reader = res.body.getReader();
            const decoder = new TextDecoder();
            // Each read is its own promise: a chain of returned promises would grow for as
            // long as the stream lives.
            const pump = () => {
              reader
                .read()
                .then((chunk) => {
                  if (closed) return reader.cancel().catch(() => {});
                  if (chunk.done) return fail(new Error('event stream ended: ' + url));
                  push(decoder.decode(chunk.value, { stream: true }));
                  pump();
                })
                .catch(fail);
            };
            pump();
            return null;
          })
          .catch(fail);
        return { abort: close };
      },
    };
  }

  // A truncated event with an id tells where the stream resumes: the feed moves there. One
  // without (older servers) carries the old cursor only, and where the gap ends is unknown.
  function truncatedNotice(event) {
    const data = parseJson(event.data);
    const resume = event.id !== null && /^\d+$/.test(event.id) ? Number(event.id) : null;
    if (resume !== null && Number.isSafeInteger(resume)) return { cursor: resume, end: resume, exact: true };
    const old = data && Number.isSafeInteger(data.cursor) ? data.cursor : null;
    return { cursor: old, end: null, exact: false };
  }

  function canStream() {
    return typeof fetch !== 'undefined' && typeof ReadableStream !== 'undefined' && typeof TextDecoder !== 'undefined';
  }

  // ---- electing the leading tab ---------------------------------------------------------------
  // elect(...) -> {stop()}. onLead() when this tab is to lead, onFollow() when it must stop.

  // Web Locks: the tab that holds the lock leads; the browser hands it on when that tab
  // closes, crashes or stops() (a released lock goes to the next tab that asked).
  function lockElection(locks, name, onLead) {
    const controller = new AbortController();
    let release = null;
    let stopped = false;
    locks
      .request(name, { signal: controller.signal }, () => {
        if (stopped) return null;
        onLead();
        return new Promise((resolve) => (release = resolve));
      })
      .catch(() => {}); // aborted: we left before our turn
    return {
      stop() {
        stopped = true;
        if (release) release();
        else controller.abort();
      },
    };
  }

  // Without locks: 1. a tab that joins claims and waits half a beat; a leader answers any
  // claim with a beat, a lower id's claim wins; 2. unopposed, the claimant leads and beats;
  // 3. a follower that hears nothing for three beats, or a resignation, claims again.
  // Two leaders for a moment cost a connection, not an item: every tab drops what it has.
  function broadcastElection(Channel, name, timers, onLead, onFollow) {
    const id = Math.random().toString(36).slice(2) + Date.now().toString(36);
    const channel = new Channel(name);
    let role = 'claiming';
    let timer = null;
    const post = (type) => channel.postMessage({ type: type, id: id });
    const later = (ms, fn) => {
      if (timer !== null) timers.clearTimeout(timer);
      timer = timers.setTimeout(() => {
        timer = null;
        fn();
      }, ms);
    };
    const claim = () => {
      role = 'claiming';
      post('claim');
      later(BEAT_MS / 2, lead);
    };
    const beat = () => {
      post('beat');
      later(BEAT_MS, beat);
    };
    const lead = () => {
      role = 'leader';
      beat();
      onLead();
    };
    const follow = () => {
      const wasLeader = role === 'leader';
      role = 'follower';
      later(3 * BEAT_MS, claim);
      if (wasLeader) onFollow();
    };
    channel.onmessage = (event) => {
      const msg = event.data || {};
      if (msg.id === id) return;
      if (msg.type === 'resign' && role === 'follower') claim();
      else if (msg.type === 'claim' && role === 'leader') post('beat');
      else if (msg.type === 'claim' && role === 'claiming' && msg.id < id) follow();
      else if (msg.type === 'beat' && (role !== 'leader' || msg.id < id)) follow();
    };
    claim();
    return {
      stop() {
        if (timer !== null) timers.clearTimeout(timer);
        timer = null;
        if (role === 'leader') post('resign');
        role = 'stopped';
        channel.close();
      },
    };
  }

  // ---- the feed -------------------------------------------------------------------------------

  class LiveFeed {
    constructor(options) {
      const o = options || {};
      this._url = String(o.url || '').replace(/\/+$/, '');
      this._channels = channelList(o.channels);
      for (const name of this._channels) checkChannel(name);
      this._implicitChannel = this._channels.length === 0; // the server's default channel
      this._mode = o.transport || 'auto';
      if (['auto', 'sse', 'longpoll'].indexOf(this._mode) < 0) {
        throw new Error('LiveFeed: transport must be auto, sse or longpoll, not ' + this._mode);
      }
      this._minBackoff = o.minBackoff > 0 ? o.minBackoff : 1000;
      this._maxBackoff = o.maxBackoff > 0 ? o.maxBackoff : 30000;
      this._openTimeout = o.openTimeout > 0 ? o.openTimeout : 5000;
      this._pollTimeout = o.pollTimeout > 0 ? o.pollTimeout : 0;
      this._pollWatchdog =
        o.pollWatchdog > 0 ? o.pollWatchdog : this._pollTimeout ? this._pollTimeout * 1000 + 10000 : 90000;
      this._timers = o.timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
      this._random = o.random || Math.random;
      this._getToken = typeof o.getToken === 'function' ? o.getToken : null;
      this._pauseWhenHidden = Boolean(o.pauseWhenHidden);
      this._env = environment(o.environment);
      // Sharing needs a BroadcastChannel; without one every tab has its own connection.
      this._shared = Boolean(o.shared) && Boolean(this._env.BroadcastChannel);
      this._storageKey = o.storageKey || null;
      this._storage = o.storage || null;
      if (this._storageKey && !this._storage) {
        try {
          this._storage = typeof sessionStorage !== 'undefined' ? sessionStorage : null;
        } catch (e) {
          // Storage can be disabled (privacy settings, sandboxed frames): run without it.
          this._storage = null;
        }
      }
      const config = { url: this._url, pollTimeout: this._pollTimeout };
      const given = o.transports || {};
      this._transports = {
        longpoll: given.longpoll || longPollTransport(config),
        sse: given.sse || sseTransport(config),
      };

      this._listeners = {};
      this._state = 'idle';
      this._cursor = Number.isSafeInteger(o.since) && o.since >= 0 ? o.since : null;
      const stored = this._loadCursor();
      if (stored !== null) this._cursor = stored;
      // Channels whose position is past the cursor (added "from the present", or kept while
      // a channel added with an older cursor catches up): channel -> id.
      this._ahead = new Map();
      this._transport = this._mode === 'auto' ? (given.sse || canStream() ? 'sse' : 'longpoll') : this._mode;
      this._streamEverOpened = false;
      this._failures = 0; // consecutive failed attempts; drives the backoff
      this._retryFloor = 0; // the stream's retry: in ms, a lower bound for the backoff
      this._attempt = 0; // identifies the current attempt; callbacks of older ones are stale
      this._conn = null;
      this._timer = null;
      this._token = null; // the token of the current long-poll chain
      this._authRetried = false; // a 401 is retried at once with a new token, once
      this._pauses = new Set(); // why we hold no connection: 'hidden', 'frozen', 'channels'
      this._group = null; // with shared: {channel, election, role, queue, catchingUp}
      this._probes = new Map(); // subscribe() asking where the present is: channel -> conn
      this._detach = null; // removes the environment listeners
    }

    get status() {
      return this._state;
    }
    get cursor() {
      return this._cursor;
    }
    get transport() {
      return this._transport;
    }
    get channels() {
      return this._implicitChannel ? [] : this._channels.slice();
    }

    on(name, fn) {
      (this._listeners[name] = this._listeners[name] || []).push(fn);
      return this;
    }

    off(name, fn) {
      const list = this._listeners[name];
      if (list) this._listeners[name] = list.filter((f) => f !== fn);
      return this;
    }

    start() {
      if (this._state !== 'idle') return this;
      this._listen();
      if (this._pauseWhenHidden && this._env.document && this._env.document.visibilityState === 'hidden') {
        this._pauses.add('hidden');
      }
      this._setState('connecting', {});
      this._resume();
      return this;
    }

    close() {
      if (this._state === 'closed') return;
      this._stopAttempt();
      this._leaveGroup();
      for (const probe of this._probes.values()) {
        abortQuietly(probe.conn);
        probe.resolve();
      }
      this._probes.clear();
      if (this._detach) this._detach();
      this._detach = null;
      this._setState('closed', {});
    }

    // ---- channels at run time ----

    subscribe(channel, cursor) {
      const name = checkChannel(String(channel));
      if (this._probes.has(name)) return this._probes.get(name).promise;
      if (this._followed().indexOf(name) >= 0) return Promise.resolve();
      if (Number.isSafeInteger(cursor) && cursor >= 0) {
        this._startChannelAt(name, cursor);
        this._setChannels(this._followed().concat(name));
        return Promise.resolve();
      }
      if (this._cursor === null || this._state === 'idle') {
        // Not started, or nothing seen yet: the channel starts where the others do.
        this._setChannels(this._followed().concat(name));
        return Promise.resolve();
      }
      return this._probePresent(name);
    }

    unsubscribe(channel) {
      const name = String(channel);
      const probe = this._probes.get(name);
      if (probe) {
        this._probes.delete(name);
        abortQuietly(probe.conn);
        probe.resolve();
      }
      const followed = this._followed();
      if (followed.indexOf(name) < 0) return;
      this._ahead.delete(name);
      const left = followed.filter((c) => c !== name);
      // With the channel that was behind gone, the cursor moves up to the next one behind.
      const positions = left.map((c) => this._ahead.get(c));
      if (left.length && positions.every((at) => at !== undefined)) this._advance(Math.min.apply(null, positions));
      this._setChannels(left);
    }

    // ---- state machine ----

    // Holds a connection (or a place among the tabs) unless something pauses the feed.
    _resume() {
      if (this._pauses.size) return this._setState('paused', {});
      if (this._shared) return this._joinGroup();
      this._connect();
    }

    _pause(reason) {
      this._pauses.add(reason);
      if (!this._active() && this._state !== 'paused') return;
      this._stopAttempt();
      this._leaveGroup();
      this._setState('paused', {});
    }

    _unpause(reason) {
      if (!this._pauses.delete(reason) || this._pauses.size || this._state !== 'paused') return;
      this._setState('connecting', {});
      this._resume();
    }

    _active() {
      return this._state === 'connecting' || this._state === 'live' || this._state === 'reconnecting';
    }

    // This tab holds the connection: always, unless it follows another tab.
    _leads() {
      return !this._group || this._group.role === 'leader';
    }

    _connect(sameChain) {
      const attempt = ++this._attempt;
      const current = () => attempt === this._attempt && this._active() && this._leads();
      const name = this._transport;
      let opened = false;
      const cb = {
        onOpen: () => {
          if (!current()) return;
          opened = true;
          this._clearTimer();
          this._failures = 0;
          this._authRetried = false;
          if (name === 'sse') this._streamEverOpened = true;
          this._setState('live', {});
        },
        onTruncated: (notice) => {
          if (current()) this._batch({ since: this._cursor, items: [], cursor: null, truncated: notice }, current);
        },
        onItems: (items, cursor) => {
          if (current()) this._batch({ since: this._cursor, items: items, cursor: cursor, truncated: null }, current);
        },
        onEnd: () => {
          if (current()) this._connect(true);
        },
        onError: (err) => {
          if (current()) this._attemptFailed(err, opened);
        },
        onWarning: (err) => {
          if (current()) this._emit('error', [err]);
        },
        onRetry: (ms) => {
          if (current()) this._retryFloor = ms;
        },
      };
      this._clearTimer();
      const quick = this._state !== 'live';
      const watchdog = name === 'sse' ? this._openTimeout : quick ? 1000 + 10000 : this._pollWatchdog;
      this._timer = this._timers.setTimeout(() => {
        this._timer = null;
        // onOpen clears this timer: an open stream has no deadline, it may rightly stay
        // silent for hours.
        if (current()) cb.onError(new Error(name === 'sse' ? 'event stream did not open in time' : 'long-poll unanswered'));
      }, watchdog);
      this._open(name, cb, quick, current, sameChain);
    }

    // Opens a transport once there is a token. A long-poll chain keeps its token; any other
    // connection asks getToken() first.
    _open(name, cb, quick, current, sameChain) {
      const open = (token) => {
        if (!current()) return;
        try {
          this._conn = this._transports[name].open(this._cursor, cb, { channels: this._channels, token: token, quick: quick });
        } catch (err) {
          // e.g. fetch refusing the URL: the same as a failed attempt.
          this._conn = null;
          cb.onError(err);
        }
      };
      if (!this._getToken) return open(null);
      if (sameChain && this._token !== null) return open(this._token);
      const failed = (err) => {
        if (current()) cb.onError(new Error('getToken failed: ' + (err && err.message ? err.message : err)));
      };
      let result;
      try {
        result = this._getToken();
      } catch (err) {
        return failed(err);
      }
      const use = (token) => {
        this._token = token == null || token === '' ? null : String(token);
        open(this._token);
      };
      if (result && typeof result.then === 'function') result.then((t) => current() && use(t), failed);
      else use(result);
    }

    _attemptFailed(err, opened) {
      this._stopAttempt();
      this._token = null; // the next connection asks for a token again
      this._emit('error', [err]);
      if (!this._active() || !this._leads()) return; // a listener closed or paused us
      if (err.unauthorized && this._getToken && !this._authRetried) {
        // An expired token: ask for a new one and come back at once (a second 401 in a
        // row backs off like any failure).
        this._authRetried = true;
        return this._connect();
      }
      // A 503 or a 401 is the server itself answering: no reason to give up on streams.
      const serverRefused = err.status === 503 || err.unauthorized;
      if (this._mode === 'auto' && this._transport === 'sse' && !opened && !this._streamEverOpened && !serverRefused) {
        // The stream never worked here: long-poll from now on, straight away.
        this._transport = 'longpoll';
        return this._connect();
      }
      if (err.fatal || (err.unauthorized && !this._getToken)) {
        this._setState('error', { error: err });
        this._leaveGroup();
        return;
      }
      this._retryLater(err);
    }

    _retryLater(err) {
      const delay = this._nextDelay(err);
      this._setState('reconnecting', { retryIn: delay, error: err });
      this._timer = this._timers.setTimeout(() => {
        this._timer = null;
        if (this._state === 'reconnecting' && this._leads()) this._connect();
      }, delay);
    }

    _nextDelay(err) {
      const ceiling = Math.min(this._maxBackoff, this._minBackoff * Math.pow(2, this._failures));
      this._failures = Math.min(this._failures + 1, 30);
      // Jitter keeps a crowd of pages that lost the same server from returning in step.
      const delay = Math.round(ceiling / 2 + (this._random() * ceiling) / 2);
      // The server knows better when it will have room again.
      return Math.max(delay, this._retryFloor, (err && err.retryAfter) || 0);
    }

    // The network is back: no reason to wait out the backoff.
    _reconnectNow() {
      if (!this._active()) return;
      if (!this._leads()) return this._group.catchingUp && this._catchUp();
      this._stopAttempt();
      this._failures = 0;
      this._connect();
    }

    _wentOffline() {
      if (!this._active() || !this._leads()) return;
      // The connection cannot work now; the backoff timer stays as a fallback should the
      // browser never say it is online again.
      this._stopAttempt();
      this._retryLater(new Error('the browser is offline'));
    }

    // ---- batches: what a connection brings ----

    // The leader hands each batch to the other tabs before it delivers it itself.
    _batch(batch, current) {
      if (this._group) this._post({ type: 'batch', batch: batch });
      this._apply(batch, current);
    }

    _apply(batch, alive) {
      if (batch.truncated) this._truncated(batch.truncated);
      if (alive()) this._deliver(batch.items, batch.cursor, alive);
    }

    // A batch continues from where this feed is when its `since` is not past our cursor.
    _inStep(since) {
      return this._cursor === null || (since !== null && since <= this._cursor);
    }

    _truncated(notice) {
      const at = this._cursor;
      if (notice.end !== null && at !== null && at >= notice.end) return; // we are past the gap
      this._emit('truncated', [{ cursor: notice.cursor, transport: this._transport }]);
      if (notice.exact && (at === null || notice.cursor > at)) this._advance(notice.cursor);
    }

    _deliver(items, cursor, alive) {
      const sorted = items.filter(isItem).sort((a, b) => a.id - b.id);
      for (const item of sorted) {
        if (!alive()) return; // a listener closed the feed
        const floor = this._ahead.has(item.channel) ? this._ahead.get(item.channel) : this._cursor;
        const fresh = floor === null || item.id > floor;
        this._advance(item.id);
        if (fresh) this._emit('item', [item]);
      }
      // With no cursor yet, a 0 from an empty answer would mean "replay everything" next time.
      if (Number.isSafeInteger(cursor) && (this._cursor === null ? cursor > 0 : cursor > this._cursor)) {
        this._advance(cursor);
      }
      this._saveCursor();
    }

    // Everything up to `id` has been seen on every channel of the connection.
    _advance(id) {
      if (this._cursor !== null && id <= this._cursor) return;
      this._cursor = id;
      for (const [channel, at] of this._ahead) if (at <= id) this._ahead.delete(channel);
    }

    // ---- channels ----

    _followed() {
      return this._implicitChannel ? [DEFAULT_CHANNEL] : this._channels.slice();
    }

    // The new set is followed from the cursor: a reconnect for a solo tab or a leader, a new
    // group of tabs with shared.
    _setChannels(channels) {
      this._implicitChannel = false;
      this._channels = channels;
      if (!channels.length) return this._pause('channels');
      if (this._pauses.has('channels')) return this._unpause('channels');
      if (!this._active()) return;
      if (this._shared) {
        this._leaveGroup();
        return this._joinGroup();
      }
      this._stopAttempt();
      this._connect();
    }

    // A channel that starts after `cursor` while the others stay where they are.
    _startChannelAt(name, cursor) {
      if (this._cursor === null) {
        this._cursor = cursor; // nothing seen yet on any channel
      } else if (cursor < this._cursor) {
        for (const c of this._followed()) if (!this._ahead.has(c)) this._ahead.set(c, this._cursor);
        this._cursor = cursor;
      } else if (cursor > this._cursor) {
        this._ahead.set(name, cursor);
      }
    }

    // Where is the present on a channel? A poll without a cursor registers at the server's
    // newest id and answers after a second: with the items published meanwhile (the present
    // is just before the first), or with that id as its cursor.
    _probePresent(name) {
      const probe = { conn: null, resolve: null, promise: null };
      probe.promise = new Promise((resolve) => {
        probe.resolve = resolve;
        const current = () => this._probes.get(name) === probe && this._state !== 'closed';
        const done = (present) => {
          if (!current()) return;
          this._probes.delete(name);
          if (present !== null && (this._cursor === null || present > this._cursor)) this._ahead.set(name, present);
          this._setChannels(this._followed().concat(name));
          resolve();
        };
        const cb = {
          onOpen() {},
          onTruncated() {},
          onItems: (items, cursor) => {
            const ids = items.filter(isItem).map((it) => it.id);
            done(ids.length ? Math.min.apply(null, ids) - 1 : cursor);
          },
          onEnd() {},
          onError: (err) => {
            // Without an answer the channel starts from our cursor: nothing is lost.
            this._emit('error', [err]);
            done(null);
          },
          onWarning() {},
          onRetry() {},
        };
        this._probes.set(name, probe);
        const ask = (token) => {
          if (!current()) return;
          try {
            probe.conn = this._transports.longpoll.open(null, cb, { channels: [name], token: token, quick: true });
          } catch (err) {
            cb.onError(err);
          }
        };
        if (this._token !== null || !this._getToken) return ask(this._token);
        Promise.resolve()
          .then(() => this._getToken())
          .then(ask, (err) => cb.onError(err));
      });
      return probe.promise;
    }

    // ---- tabs (shared) ----

    _joinGroup() {
      const key = 'livefeed:' + JSON.stringify([this._url, this._followed().sort()]);
      const env = this._env;
      const group = { channel: new env.BroadcastChannel(key), role: 'follower', queue: [], catchingUp: false };
      this._group = group;
      group.channel.onmessage = (event) => {
        if (this._group === group) this._onTabMessage(event.data || {});
      };
      const lead = () => this._group === group && this._lead();
      const follow = () => this._group === group && this._follow();
      group.election = env.locks
        ? lockElection(env.locks, key, lead)
        : broadcastElection(env.BroadcastChannel, key + ':election', this._timers, lead, follow);
      this._post({ type: 'hello' });
    }

    _leaveGroup() {
      const group = this._group;
      if (!group) return;
      this._group = null;
      if (group.role === 'follower') this._stopAttempt(); // a catch-up poll
      group.election.stop();
      group.channel.close();
    }

    _post(msg) {
      try {
        this._group.channel.postMessage(msg);
      } catch (err) {
        reportToConsole('posting to the other tabs failed', err);
      }
    }

    // Takes over from our own cursor: what the last leader sent after it is fetched again.
    _lead() {
      this._stopAttempt();
      this._group.role = 'leader';
      this._group.queue = [];
      this._group.catchingUp = false;
      this._failures = 0;
      this._setState('connecting', {});
      this._connect();
    }

    _follow() {
      this._stopAttempt();
      this._group.role = 'follower';
      this._post({ type: 'hello' });
    }

    _onTabMessage(msg) {
      const group = this._group;
      if (group.role === 'leader') {
        if (msg.type === 'hello') this._postState();
        return;
      }
      if (msg.type === 'state') {
        this._transport = msg.transport;
        if (msg.transport === 'sse') this._streamEverOpened = true;
        // A leader that stops on an error leaves the group: the next one finds out itself.
        if (msg.status !== 'connecting' && msg.status !== 'live' && msg.status !== 'reconnecting') return;
        this._setState(msg.status, msg.retryIn ? { retryIn: msg.retryIn } : {});
        if (msg.cursor !== undefined) this._receive({ since: msg.cursor, items: [], cursor: msg.cursor, truncated: null });
      } else if (msg.type === 'batch') {
        this._receive(msg.batch);
      }
    }

    _postState(detail) {
      const msg = { type: 'state', status: this._state, transport: this._transport, cursor: this._cursor };
      if (detail && detail.retryIn) msg.retryIn = detail.retryIn;
      this._post(msg);
    }

    // A follower applies the leader's batches in order; one that starts past our cursor means
    // we joined late or fell behind: we fetch the gap ourselves, holding batches meanwhile.
    _receive(batch) {
      const group = this._group;
      if (group.catchingUp || !this._inStep(batch.since)) {
        group.queue.push(batch);
        if (!group.catchingUp) this._catchUp();
        return;
      }
      this._apply(batch, () => this._group === group);
    }

    _catchUp() {
      const group = this._group;
      group.catchingUp = true;
      this._stopAttempt();
      const attempt = this._attempt;
      const current = () => attempt === this._attempt && this._group === group && group.role === 'follower';
      let empty = true;
      const cb = {
        onOpen() {},
        onTruncated: (notice) => {
          empty = false;
          if (current()) this._apply({ since: this._cursor, items: [], cursor: null, truncated: notice }, current);
        },
        onItems: (items, cursor) => {
          if (items.length) empty = false;
          if (current()) this._apply({ since: this._cursor, items: items, cursor: cursor, truncated: null }, current);
        },
        onEnd: () => {
          if (!current()) return;
          this._clearTimer();
          this._conn = null;
          this._drain(group, empty);
        },
        onError: (err) => {
          if (!current()) return;
          this._stopAttempt();
          this._emit('error', [err]);
          this._timer = this._timers.setTimeout(() => {
            this._timer = null;
            if (this._group === group) this._catchUp();
          }, this._nextDelay(err));
        },
        onWarning: (err) => current() && this._emit('error', [err]),
        onRetry() {},
      };
      this._timer = this._timers.setTimeout(() => {
        this._timer = null;
        if (current()) cb.onError(new Error('catch-up poll unanswered'));
      }, 1000 + 10000);
      this._open('longpoll', cb, true, current, false);
    }

    // After a catch-up answer: the held batches that now continue from our cursor are applied.
    // An empty answer means nothing was published after our cursor before the batches we
    // hold: they all apply. One still out of step after items: fetch on.
    _drain(group, empty) {
      while (group.queue.length && this._group === group) {
        if (!empty && !this._inStep(group.queue[0].since)) return this._catchUp();
        this._apply(group.queue.shift(), () => this._group === group);
      }
      group.catchingUp = false;
      this._failures = 0;
    }

    // ---- plumbing ----

    _listen() {
      const env = this._env;
      const off = [];
      const on = (target, name, fn) => {
        if (!target || !target.addEventListener) return;
        target.addEventListener(name, fn);
        off.push(() => target.removeEventListener(name, fn));
      };
      on(env.window, 'online', () => this._reconnectNow());
      on(env.window, 'offline', () => this._wentOffline());
      // A frozen or cached page cannot hold a connection, nor lead other tabs.
      on(env.window, 'pagehide', () => this._pause('frozen'));
      on(env.window, 'pageshow', () => this._unpause('frozen'));
      on(env.document, 'freeze', () => this._pause('frozen'));
      on(env.document, 'resume', () => this._unpause('frozen'));
      if (this._pauseWhenHidden) {
        on(env.document, 'visibilitychange', () => {
          if (env.document.visibilityState === 'hidden') this._pause('hidden');
          else this._unpause('hidden');
        });
      }
      this._detach = () => off.forEach((f) => f());
    }

    _stopAttempt() {
      this._attempt++;
      this._clearTimer();
      const conn = this._conn;
      this._conn = null;
      abortQuietly(conn);
    }

    _clearTimer() {
      if (this._timer !== null) {
        this._timers.clearTimeout(this._timer);
        this._timer = null;
      }
    }

    _setState(state, detail) {
      if (STATUSES.indexOf(state) < 0) throw new Error('LiveFeed: unknown state ' + state);
      const changed = state !== this._state;
      this._state = state;
      if (this._group && this._group.role === 'leader') this._postState(detail);
      // "reconnecting" repeats, so the page can show each new retry delay.
      if (changed || state === 'reconnecting') {
        detail.transport = this._transport;
        if (this._group) detail.role = this._group.role;
        this._emit('status', [state, detail]);
      }
    }

    _emit(name, args) {
      const list = this._listeners[name];
      if (!list) return;
      for (const fn of list.slice()) {
        try {
          fn.apply(this, args);
        } catch (err) {
          // A page bug must not stop the feed: report it and carry on.
          if (name !== 'error' && this._listeners.error && this._listeners.error.length) {
            this._emit('error', [err]);
          } else {
            reportToConsole('a "' + name + '" listener threw', err);
          }
        }
      }
    }

    _loadCursor() {
      if (!this._storageKey || !this._storage) return null;
      try {
        const value = this._storage.getItem(this._storageKey);
        if (value === null) return null;
        const n = Number(value);
        return Number.isSafeInteger(n) && n >= 0 ? n : null;
      } catch (e) {
        return null;
      }
    }

    _saveCursor() {
      if (!this._storageKey || !this._storage || this._cursor === null) return;
      try {
        this._storage.setItem(this._storageKey, String(this._cursor));
      } catch (e) {
        // Quota or privacy mode: resuming after a reload is a nicety, not a requirement.
      }
    }
  }

  function checkChannel(name) {
    if (!CHANNEL_NAME.test(name)) {
      throw new TypeError('LiveFeed: a channel name is 1-64 characters from A-Z a-z 0-9 _ - . : (got ' + JSON.stringify(name) + ')');
    }
    return name;
  }

  function abortQuietly(conn) {
    if (!conn) return;
    try {
      conn.abort();
    } catch (e) {
      reportToConsole('aborting a transport threw', e);
    }
  }

  function environment(given) {
    const g = given || {};
    const pick = (name, fallback) => (name in g ? g[name] : fallback);
    const hasNavigator = typeof navigator !== 'undefined';
    return {
      window: pick('window', typeof window !== 'undefined' ? window : null),
      document: pick('document', typeof document !== 'undefined' ? document : null),
      locks: pick('locks', hasNavigator && navigator.locks ? navigator.locks : null),
      BroadcastChannel: pick('BroadcastChannel', typeof BroadcastChannel !== 'undefined' ? BroadcastChannel : null),
    };
  }

  return LiveFeed;
});
