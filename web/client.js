/*
 * livefeed browser client: follows channels of a livefeed server and hands each item to
 * the page exactly once, in id order, across reconnects and server restarts.
 * No dependencies. Protocol: docs/protocol.md.
 *
 * Loading
 *   <script src="/client.js"></script>              the global LiveFeed
 *   import { LiveFeed } from '/client.mjs';          ES module in a browser
 *   import { LiveFeed } from './client.js';          ES module in node (CommonJS interop)
 *
 * Use
 *   const feed = new LiveFeed({ channels: ['news', 'sport'], transport: 'auto' });
 *   feed.on('item', (item) => show(item));          // {id, timestamp, channel, type?, data}
 *   feed.on('status', (status, detail) => paint(status));
 *   feed.on('truncated', () => warn('some items may have been missed'));
 *   feed.start();
 *   ...
 *   feed.close();
 *
 * Options (all optional)
 *   url              server base URL; '' (default) = same origin. 'https://host', '/prefix'.
 *   channels         array or 'a,b' string; none = the server's default channel.
 *   since            starting cursor: 0 = every item the server still holds;
 *                    absent = only items published from now on.
 *   transport        'auto' (default): Server-Sent Events where EventSource exists, long-polling
 *                    when the stream cannot be established (never opens, or fails before
 *                    its first open: a buffering proxy, an old server). 'sse' | 'longpoll'
 *                    force one.
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
 *   Testing hooks: transports ({longpoll, sse} objects with open()), timers
 *   ({setTimeout, clearTimeout}), random (() => [0,1)), storage (a Storage-like object).
 *
 * Events  feed.on(name, fn) / feed.off(name, fn)
 *   item       (item)              each item once, ids strictly increasing.
 *   status     (status, detail)    'connecting' first connection attempt
 *                                  'live'         connected, items arrive as published
 *                                  'reconnecting' lost or never got a connection; retrying
 *                                                 (detail.retryIn = ms until next attempt)
 *                                  'error'        the server rejected the request (e.g. a bad
 *                                                 channel name); no more attempts
 *                                  'closed'       close() was called
 *                                  detail.transport names the transport in use.
 *   truncated  ({cursor, transport}) the server cannot vouch that nothing was missed since
 *                                  our cursor (evicted items, or the server restarted).
 *   error      (err)               a failed attempt (it is retried) or a throwing listener.
 *                                  Informational: the feed keeps going.
 *
 * Methods and properties
 *   start()      begins following (listeners registered before it see every event).
 *   close()      stops for good; idempotent.
 *   status       the current status (above), or 'idle' before start().
 *   cursor       id of the last item delivered (or the server's cursor), null if none yet.
 *   transport    'sse' or 'longpoll': the transport in use.
 *
 * How it works
 *   1. One state machine: idle -> connecting -> live <-> reconnecting -> closed | error.
 *   2. A transport has one shape, open(cursor, callbacks, hints) -> {abort}. Long-poll opens
 *      one request per answer and is re-opened at once with the returned cursor; SSE keeps
 *      one EventSource. Callbacks from an aborted attempt are ignored.
 *   3. One timer: while an attempt is pending it is the watchdog (stream open timeout,
 *      unanswered poll); while reconnecting it is the backoff delay.
 *   4. Items with an id <= the cursor are dropped, so overlaps between a lost connection
 *      and its replacement are never delivered twice. Reconnects always resume from the
 *      cursor, so nothing in between is skipped.
 */
(function (root, factory) {
  const LiveFeed = factory();
  if (typeof module === 'object' && module && module.exports) module.exports.LiveFeed = LiveFeed;
  else root.LiveFeed = LiveFeed;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  const STATUSES = ['idle', 'connecting', 'live', 'reconnecting', 'error', 'closed'];

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

  // ---- transports ---------------------------------------------------------------------------
  // callbacks: onOpen(), onTruncated(cursor), onItems(items, cursor), onEnd(),
  //            onError(err, fatal), onWarning(err).

  function longPollTransport(config) {
    return {
      name: 'longpoll',
      open(cursor, cb, hints) {
        const controller = typeof AbortController !== 'undefined' ? new AbortController() : null;
        const extra = {};
        // A quick first poll tells us the server is reachable without waiting for an item.
        if (hints && hints.quick) extra.timeout = 1;
        else if (config.pollTimeout) extra.timeout = config.pollTimeout;
        const url = config.url + '/real_time_feed' + query(config.channels, cursor, extra);
        let aborted = false;
        fetch(url, {
          cache: 'no-store',
          headers: { Accept: 'application/json' },
          signal: controller ? controller.signal : undefined,
        })
          .then((res) =>
            res.text().then((text) => {
              if (aborted) return;
              let body = null;
              try {
                body = JSON.parse(text);
              } catch (e) {
                // Not JSON: a proxy's error page, or not a livefeed server.
              }
              if (!res.ok) {
                const what = body && typeof body.error === 'string' ? body.error : text.slice(0, 200);
                const err = new Error('HTTP ' + res.status + ': ' + what);
                err.status = res.status;
                // A 4xx says our request is wrong: asking again cannot help (408/429 are
                // "try later").
                const fatal = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
                cb.onError(err, fatal);
                return;
              }
              if (!body || !Array.isArray(body.items) || !Number.isSafeInteger(body.cursor)) {
                cb.onError(new Error('unexpected answer from ' + url), false);
                return;
              }
              cb.onOpen();
              if (body.truncated) cb.onTruncated(body.cursor);
              cb.onItems(body.items, body.cursor);
              cb.onEnd();
            })
          )
          .catch((err) => {
            if (!aborted) cb.onError(err, false);
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

  function sseTransport(config) {
    return {
      name: 'sse',
      open(cursor, cb) {
        // typed=0: the server sends every item as an unnamed "message" event (the type is in
        // the JSON). EventSource only dispatches named events to listeners of that exact
        // name, so typed events of types we don't know would be silently lost.
        const url = config.url + '/real_time_feed/stream' + query(config.channels, cursor, { typed: 0 });
        const es = new EventSource(url);
        let closed = false;
        const close = () => {
          closed = true;
          es.close();
        };
        es.addEventListener('open', () => {
          if (!closed) cb.onOpen();
        });
        es.addEventListener('message', (event) => {
          if (closed) return;
          let item = null;
          try {
            item = JSON.parse(event.data);
          } catch (e) {
            // reported below
          }
          if (isItem(item)) cb.onItems([item], item.id);
          else cb.onWarning(new Error('ignored a stream event that is not an item: ' + String(event.data).slice(0, 200)));
        });
        es.addEventListener('truncated', (event) => {
          if (closed) return;
          let notice = null;
          try {
            notice = JSON.parse(event.data);
          } catch (e) {
            // a truncated notice without a readable cursor is still a truncated notice
          }
          cb.onTruncated(notice && Number.isSafeInteger(notice.cursor) ? notice.cursor : null);
        });
        // We close the EventSource on any error instead of letting it reconnect by itself:
        // its own retry has no backoff, and gives up for good on an HTTP error. Reopening
        // with since=<our cursor> resumes exactly where Last-Event-ID would have.
        es.addEventListener('error', () => {
          if (closed) return;
          close();
          cb.onError(new Error('event stream failed or ended: ' + url), false);
        });
        return { abort: close };
      },
    };
  }

  // ---- the feed -------------------------------------------------------------------------------

  class LiveFeed {
    constructor(options) {
      const o = options || {};
      this._url = String(o.url || '').replace(/\/+$/, '');
      this._channels = channelList(o.channels);
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
      const config = { url: this._url, channels: this._channels, pollTimeout: this._pollTimeout };
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
      this._transport = this._mode === 'auto' ? (this._hasEventSource(given) ? 'sse' : 'longpoll') : this._mode;
      this._streamEverOpened = false;
      this._failures = 0; // consecutive failed attempts; drives the backoff
      this._attempt = 0; // identifies the current attempt; callbacks of older ones are stale
      this._conn = null;
      this._timer = null;
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
      this._setState('connecting', {});
      this._connect();
      return this;
    }

    close() {
      if (this._state === 'closed') return;
      this._stopAttempt();
      this._setState('closed', {});
    }

    // ---- state machine ----

    _connect() {
      const attempt = ++this._attempt;
      const current = () => attempt === this._attempt && this._state !== 'closed' && this._state !== 'error';
      const name = this._transport;
      let opened = false;
      const cb = {
        onOpen: () => {
          if (!current()) return;
          opened = true;
          this._clearTimer();
          this._failures = 0;
          if (name === 'sse') this._streamEverOpened = true;
          this._setState('live', {});
        },
        onTruncated: (cursor) => {
          if (current()) this._emit('truncated', [{ cursor: cursor, transport: name }]);
        },
        onItems: (items, cursor) => {
          if (current()) this._deliver(items, cursor, current);
        },
        onEnd: () => {
          if (current()) this._connect();
        },
        onError: (err, fatal) => {
          if (current()) this._attemptFailed(err, fatal, opened);
        },
        onWarning: (err) => {
          if (current()) this._emit('error', [err]);
        },
      };
      this._clearTimer();
      const quick = this._state !== 'live';
      const watchdog = name === 'sse' ? this._openTimeout : quick ? 1000 + 10000 : this._pollWatchdog;
      this._timer = this._timers.setTimeout(() => {
        this._timer = null;
        // onOpen clears this timer: an open stream has no deadline, it may rightly stay
        // silent for hours.
        if (!current()) return;
        this._attemptFailed(new Error(name === 'sse' ? 'event stream did not open in time' : 'long-poll unanswered'), false, false);
      }, watchdog);
      try {
        this._conn = this._transports[name].open(this._cursor, cb, { quick: quick });
      } catch (err) {
        // e.g. EventSource refusing the URL: the same as a failed attempt.
        this._conn = null;
        this._attemptFailed(err, false, false);
      }
    }

    _attemptFailed(err, fatal, opened) {
      this._stopAttempt();
      this._emit('error', [err]);
      if (fatal) {
        this._setState('error', { error: err });
        return;
      }
      if (this._mode === 'auto' && this._transport === 'sse' && !opened && !this._streamEverOpened) {
        // The stream never worked here: long-poll from now on, straight away.
        this._transport = 'longpoll';
        this._connect();
        return;
      }
      const delay = this._nextDelay();
      this._setState('reconnecting', { retryIn: delay, error: err });
      this._timer = this._timers.setTimeout(() => {
        this._timer = null;
        if (this._state === 'reconnecting') this._connect();
      }, delay);
    }

    _nextDelay() {
      const ceiling = Math.min(this._maxBackoff, this._minBackoff * Math.pow(2, this._failures));
      this._failures = Math.min(this._failures + 1, 30);
      // Jitter keeps a crowd of pages that lost the same server from returning in step.
      return Math.round(ceiling / 2 + (this._random() * ceiling) / 2);
    }

    _deliver(items, cursor, current) {
      const sorted = items.filter(isItem).sort((a, b) => a.id - b.id);
      for (const item of sorted) {
        if (!current()) return; // a listener closed the feed
        if (this._cursor !== null && item.id <= this._cursor) continue; // already delivered
        this._cursor = item.id;
        this._emit('item', [item]);
      }
      // With no cursor yet, a 0 from an empty answer would mean "replay everything" next time.
      if (Number.isSafeInteger(cursor) && (this._cursor === null ? cursor > 0 : cursor > this._cursor)) {
        this._cursor = cursor;
      }
      this._saveCursor();
    }

    _stopAttempt() {
      this._attempt++;
      this._clearTimer();
      if (this._conn) {
        const conn = this._conn;
        this._conn = null;
        try {
          conn.abort();
        } catch (e) {
          reportToConsole('aborting a transport threw', e);
        }
      }
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
      // "reconnecting" repeats, so the page can show each new retry delay.
      if (changed || state === 'reconnecting') {
        detail.transport = this._transport;
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

    _hasEventSource(given) {
      return Boolean(given.sse) || typeof EventSource !== 'undefined';
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

  return LiveFeed;
});
