// Unit tests of web/metrics.js, the dashboard's arithmetic, run with `node --test tests/web/`.
// Quantiles are checked against the numbers a real Prometheus's histogram_quantile gives
// for the same buckets (tests/metrics/prometheus_test.cpp asserts those).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import LiveMetrics from '../../web/metrics.js';

const { parseExposition, sum, buckets, summarize, rate, bucketIncrease, quantile, History } = LiveMetrics;

const EXPOSITION = `# HELP livefeed_connections_open Client connections open.
# TYPE livefeed_connections_open gauge
livefeed_connections_open 12

# TYPE livefeed_subscribers_waiting gauge
livefeed_subscribers_waiting{transport="longpoll"} 3
livefeed_subscribers_waiting{transport="sse"} 7
livefeed_items_published_total 1e+03 1712345678000
weird_label{path="a\\"b\\\\c\\nd",x="}"} -2.5
livefeed_delivery_latency_seconds_bucket{transport="sse",le="0.005"} 4
livefeed_delivery_latency_seconds_bucket{transport="sse",le="+Inf"} 5
livefeed_delivery_latency_seconds_bucket{transport="longpoll",le="0.005"} 1
livefeed_delivery_latency_seconds_bucket{transport="longpoll",le="+Inf"} 1
not a sample line
half{label="unterminated} 3
nan_value NaN
inf_value +Inf
`;

test('samples are parsed with their labels, values and escapes; other lines are skipped', () => {
  const samples = parseExposition(EXPOSITION);
  const byName = (name) => samples.filter((s) => s.name === name);
  assert.deepEqual(byName('livefeed_connections_open'), [{ name: 'livefeed_connections_open', labels: {}, value: 12 }]);
  assert.deepEqual(byName('livefeed_subscribers_waiting')[1].labels, { transport: 'sse' });
  assert.equal(byName('livefeed_items_published_total')[0].value, 1000, 'exponent read, timestamp ignored');
  assert.deepEqual(byName('weird_label')[0], { name: 'weird_label', labels: { path: 'a"b\\c\nd', x: '}' }, value: -2.5 });
  assert.ok(Number.isNaN(byName('nan_value')[0].value));
  assert.equal(byName('inf_value')[0].value, Infinity);
  assert.equal(byName('not').length, 0);
  assert.equal(byName('half').length, 0);
  assert.equal(samples.length, 11);
});

test('families are summed over their labels; an absent family is null', () => {
  const samples = parseExposition(EXPOSITION);
  assert.equal(sum(samples, 'livefeed_subscribers_waiting'), 10);
  assert.equal(sum(samples, 'livefeed_no_such_thing'), null);
  assert.deepEqual(buckets(samples, 'livefeed_delivery_latency_seconds'), [
    [0.005, 5],
    [Infinity, 6],
  ]);
  assert.equal(buckets(samples, 'livefeed_no_such_histogram'), null);
  const scrape = summarize(samples, 42);
  assert.equal(scrape.time, 42);
  assert.equal(scrape.connections, 12);
  assert.equal(scrape.waiting, 10);
  assert.equal(scrape.published, 1000);
  assert.equal(scrape.delivered, null);
});

test('a rate is the increase per second; a counter that went down was reset', () => {
  assert.equal(rate(100, 150, 2), 25);
  assert.equal(rate(100, 100, 1), 0);
  assert.equal(rate(500, 30, 1), 30);
  assert.equal(rate(null, 5, 1), null);
  assert.equal(rate(1, 5, 0), null);
});

test('bucket increases subtract the earlier scrape, unless the histogram was reset', () => {
  const before = [[0.1, 2], [1, 5], [Infinity, 6]];
  const after = [[0.1, 3], [1, 9], [Infinity, 12]];
  assert.deepEqual(bucketIncrease(before, after), [[0.1, 1], [1, 4], [Infinity, 6]]);
  assert.deepEqual(bucketIncrease(after, before), before);
  assert.deepEqual(bucketIncrease(null, after), after);
  assert.equal(bucketIncrease(before, null), null);
});

// 90 observations of 3 ms and 10 of 200 ms in livefeed's latency buckets.
const LATENCY = [
  [0.0005, 0], [0.001, 0], [0.0025, 0], [0.005, 90], [0.01, 90], [0.025, 90], [0.05, 90],
  [0.1, 90], [0.25, 100], [0.5, 100], [1, 100], [2.5, 100], [5, 100], [10, 100], [Infinity, 100],
];

test('quantiles interpolate inside the bucket the rank falls in, as histogram_quantile does', () => {
  assert.ok(Math.abs(quantile(0.5, LATENCY) - (0.0025 + (0.0025 * 50) / 90)) < 1e-12);
  assert.ok(Math.abs(quantile(0.99, LATENCY) - 0.235) < 1e-12);
  assert.ok(Math.abs(quantile(0.9, LATENCY) - 0.005) < 1e-12);
  // The first bucket interpolates from 0.
  assert.equal(quantile(0.5, [[1, 10], [Infinity, 10]]), 0.5);
  // A rank in +Inf answers the largest finite bound.
  assert.equal(quantile(0.99, [[1, 1], [2, 2], [Infinity, 10]]), 2);
  assert.equal(quantile(0.99, [[1, 0], [Infinity, 0]]), null);
  assert.equal(quantile(0.99, null), null);
});

function scrapeAt(time, published, delivered, latency) {
  return { time, connections: 1, waiting: 2, published, delivered, latency };
}

test('the history turns scrapes into per-second rates, from the second scrape on', () => {
  const history = new History({ points: 60, windowSeconds: 10 });
  const first = history.add(scrapeAt(0, 100, 1000, null));
  assert.equal(first.publishesPerSecond, null);
  assert.equal(first.deliveriesPerSecond, null);
  assert.equal(first.connections, 1);
  assert.equal(first.waiting, 2);
  const second = history.add(scrapeAt(0.5, 110, 1400, null));
  assert.equal(second.publishesPerSecond, 20);
  assert.equal(second.deliveriesPerSecond, 800);
  assert.equal(second.p99Seconds, null, 'no latency histogram: no p99');
});

test('p99 covers the deliveries of the last window only', () => {
  const history = new History({ points: 60, windowSeconds: 10 });
  const slow = [[0.1, 0], [1, 10], [Infinity, 10]];
  history.add(scrapeAt(0, 0, 0, [[0.1, 0], [1, 0], [Infinity, 0]]));
  assert.equal(history.add(scrapeAt(1, 0, 10, slow)).p99Seconds, 0.1 + 0.9 * 0.99);
  // Ten seconds later only fast deliveries happened since the window's start.
  const fast = (n) => [[0.1, n], [1, 10 + n], [Infinity, 10 + n]];
  let point;
  for (let t = 2; t <= 11; t++) point = history.add(scrapeAt(t, 0, 10 + t, fast(t)));
  assert.ok(point.p99Seconds <= 0.1, `p99 ${point.p99Seconds} still counts the slow ones`);
  // Nothing delivered in the window: no p99 rather than a stale one.
  for (let t = 12; t <= 30; t++) point = history.add(scrapeAt(t, 0, 21, fast(11)));
  assert.equal(point.p99Seconds, null);
});

test('the history keeps the last `points` points for the charts', () => {
  const history = new History({ points: 5, windowSeconds: 10 });
  for (let t = 0; t < 12; t++) history.add(scrapeAt(t, t * 3, 0, null));
  assert.equal(history.points.length, 5);
  assert.deepEqual(history.points.map((p) => p.time), [7, 8, 9, 10, 11]);
  assert.ok(history.points.every((p) => p.publishesPerSecond === 3));
});

// The exposition the C++ registry writes (tests/metrics/write_exposition.cpp), when the
// build provides the program: the parser reads what the server will serve.
test('the registry\'s own exposition is read as written', { skip: !process.env.LIVEFEED_WRITE_EXPOSITION }, () => {
  const text = execFileSync(process.env.LIVEFEED_WRITE_EXPOSITION, { encoding: 'utf8' });
  const scrape = summarize(parseExposition(text), 0);
  assert.equal(scrape.connections, 12);
  assert.equal(scrape.waiting, 10);
  assert.equal(scrape.published, 100);
  assert.equal(scrape.delivered, 1000);
  assert.equal(scrape.latency[scrape.latency.length - 1][1], 5);
  assert.equal(quantile(0.5, scrape.latency), 0.0025 + (0.0025 * 1.5) / 2);
});
