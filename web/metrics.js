/*
 * The arithmetic of the admin page's dashboard, without the DOM: parsing the Prometheus
 * text format that GET /metrics serves, and turning successive scrapes into the numbers
 * shown (rates of counters, a quantile from histogram buckets), the way Prometheus's own
 * rate() and histogram_quantile() do. Unit-tested under node (tests/web/metrics.test.mjs).
 *
 * Loading
 *   <script src="metrics.js"></script>              the global LiveMetrics
 *   import LiveMetrics from './metrics.js';          in node (CommonJS interop)
 *
 * Use
 *   const history = new LiveMetrics.History({ points: 60, windowSeconds: 10 });
 *   const point = history.add(LiveMetrics.summarize(LiveMetrics.parseExposition(text), seconds));
 *   // point: {time, connections, waiting, publishesPerSecond, deliveriesPerSecond, p99Seconds}
 *   // A value is null when it cannot be known yet (first scrape, family not exported, no
 *   // deliveries in the window).
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module && module.exports) module.exports = api;
  else root.LiveMetrics = api;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  // name{label="value",...} value [timestamp]; label values may hold escaped \\ \" \n.
  const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/;
  const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;

  function parseValue(text) {
    if (text === '+Inf' || text === 'Inf') return Infinity;
    if (text === '-Inf') return -Infinity;
    if (text === 'NaN') return NaN;
    const value = Number(text);
    return text.trim() === '' ? NaN : value;
  }

  function parseLabels(text) {
    const labels = {};
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < text.length) {
      const start = LABEL.lastIndex;
      const match = LABEL.exec(text);
      if (!match || LABEL.lastIndex === start) return null;
      labels[match[1]] = match[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    return labels;
  }

  // Every sample of an exposition as {name, labels, value}. Comments and lines that do not
  // parse are skipped: the dashboard shows what it can rather than nothing.
  function parseExposition(text) {
    const samples = [];
    for (const raw of String(text).split('\n')) {
      const line = raw.trim();
      if (line === '' || line[0] === '#') continue;
      const match = SAMPLE.exec(line);
      if (!match) continue;
      const labels = match[2] === undefined ? {} : parseLabels(match[2]);
      const value = parseValue(match[3]);
      if (!labels || (Number.isNaN(value) && match[3] !== 'NaN')) continue;
      samples.push({ name: match[1], labels, value });
    }
    return samples;
  }

  // The sum of every series of `name` (over all its labels), or null when there is none.
  function sum(samples, name) {
    let total = null;
    for (const s of samples) if (s.name === name) total = (total || 0) + s.value;
    return total;
  }

  // A histogram's cumulative buckets summed over its other labels: [[le, count], ...] in
  // increasing le, ending with +Inf; null when the family is absent.
  function buckets(samples, name) {
    const byLe = new Map();
    for (const s of samples) {
      if (s.name !== name + '_bucket' || s.labels.le === undefined) continue;
      const le = parseValue(s.labels.le);
      byLe.set(le, (byLe.get(le) || 0) + s.value);
    }
    if (byLe.size === 0) return null;
    return [...byLe.entries()].sort((a, b) => a[0] - b[0]);
  }

  // What the dashboard reads from one scrape taken at `time` (seconds, any origin).
  function summarize(samples, time) {
    return {
      time,
      connections: sum(samples, 'livefeed_connections_open'),
      waiting: sum(samples, 'livefeed_subscribers_waiting'),
      published: sum(samples, 'livefeed_items_published_total'),
      delivered: sum(samples, 'livefeed_items_delivered_total'),
      latency: buckets(samples, 'livefeed_delivery_latency_seconds'),
    };
  }

  // Per-second increase of a counter between two readings. A counter that went down was
  // reset (the server restarted): its current value is all the increase there is.
  function rate(before, after, seconds) {
    if (before === null || after === null || !(seconds > 0)) return null;
    return (after >= before ? after - before : after) / seconds;
  }

  // The buckets' increase between two scrapes; a reset as in rate().
  function bucketIncrease(before, after) {
    if (!after) return null;
    if (!before || before.length !== after.length) return after;
    const reset = after.some(([le, count], i) => le !== before[i][0] || count < before[i][1]);
    return reset ? after : after.map(([le, count], i) => [le, count - before[i][1]]);
  }

  // The q-quantile of cumulative buckets, as Prometheus's histogram_quantile: linear
  // interpolation inside the bucket where the rank falls (from 0 for the first); a rank in
  // +Inf gives the largest finite bound. null when the buckets hold no observation.
  function quantile(q, cumulative) {
    if (!cumulative || cumulative.length === 0) return null;
    const total = cumulative[cumulative.length - 1][1];
    if (!(total > 0)) return null;
    const rank = q * total;
    let i = cumulative.findIndex(([, count]) => count >= rank);
    if (i < 0) i = cumulative.length - 1;
    const [upper, count] = cumulative[i];
    if (upper === Infinity) return cumulative.length > 1 ? cumulative[cumulative.length - 2][0] : null;
    const [lower, below] = i === 0 ? [0, 0] : cumulative[i - 1];
    if (i === 0 && upper <= 0) return upper;
    return lower + ((upper - lower) * (rank - below)) / (count - below);
  }

  // Successive scrapes in, the dashboard's points out: rates over the last interval, the
  // p99 delivery latency over the last `windowSeconds`, and the last `points` points for
  // the charts.
  class History {
    constructor({ points = 60, windowSeconds = 10 } = {}) {
      this.capacity = points;
      this.windowSeconds = windowSeconds;
      this.points = [];
      this._scrapes = [];
    }

    add(scrape) {
      const previous = this._scrapes[this._scrapes.length - 1];
      this._scrapes.push(scrape);
      // Keep the newest scrape that is at least the window old, as the window's start.
      while (this._scrapes.length > 2 && scrape.time - this._scrapes[1].time >= this.windowSeconds) {
        this._scrapes.shift();
      }
      const start = this._scrapes[0];
      const seconds = previous ? scrape.time - previous.time : 0;
      const point = {
        time: scrape.time,
        connections: scrape.connections,
        waiting: scrape.waiting,
        publishesPerSecond: previous ? rate(previous.published, scrape.published, seconds) : null,
        deliveriesPerSecond: previous ? rate(previous.delivered, scrape.delivered, seconds) : null,
        p99Seconds: start === scrape ? null : quantile(0.99, bucketIncrease(start.latency, scrape.latency)),
      };
      this.points.push(point);
      if (this.points.length > this.capacity) this.points.shift();
      return point;
    }
  }

  return { parseExposition, sum, buckets, summarize, rate, bucketIncrease, quantile, History };
});
