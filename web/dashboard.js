// The admin page's dashboard: every second it reads GET /metrics (with the admin token when
// one is typed in), and shows open connections, waiting subscribers, publishes/s,
// deliveries/s and the p99 delivery latency as numbers and as charts of the last minute.
// The arithmetic is in metrics.js; this file only scrapes and draws, on plain canvases.
(function () {
  'use strict';

  const INTERVAL_MS = 1000;
  const section = document.getElementById('dashboard');
  if (!section || typeof LiveMetrics === 'undefined') return;
  section.hidden = false;
  const statusEl = document.getElementById('dashboard-status');
  const tokenEl = document.getElementById('admin-token');
  const history = new LiveMetrics.History({ points: 60, windowSeconds: 10 });

  const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const formats = {
    count: (v) => number.format(v),
    rate: (v) => (v < 10 ? decimal : number).format(v),
    latency: (v) => (v < 0.01 ? decimal.format(v * 1000) : number.format(v * 1000)) + ' ms',
  };
  const tiles = [...section.querySelectorAll('[data-metric]')].map((el) => ({
    key: el.dataset.metric,
    format: formats[el.dataset.format],
    valueEl: el.querySelector('.tile-value'),
    peakEl: el.querySelector('.tile-peak'),
    canvas: el.querySelector('canvas'),
  }));

  function show(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function explain(status) {
    if (status === 401 || status === 403) return `The metrics need the admin token (${status}).`;
    if (status === 404) return 'This server does not serve /metrics.';
    return `Error ${status} from /metrics.`;
  }

  // A line per run of known values, newest at the right edge, scaled to the window's peak.
  function draw(canvas, values, peak) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
    if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const step = width / (history.capacity - 1);
    const x = (i) => width - (values.length - 1 - i) * step;
    const y = (v) => height - 1 - (peak > 0 ? (v / peak) * (height - 4) : 0);
    ctx.strokeStyle = getComputedStyle(canvas).color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let drawing = false;
    values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        drawing = false;
      } else if (drawing) {
        ctx.lineTo(x(i), y(v));
      } else {
        ctx.moveTo(x(i), y(v));
        drawing = true;
      }
    });
    ctx.stroke();
  }

  function render() {
    const latest = history.points[history.points.length - 1];
    for (const tile of tiles) {
      const values = history.points.map((p) => p[tile.key]);
      const value = latest[tile.key];
      const known = values.filter((v) => v !== null && Number.isFinite(v));
      const peak = known.length ? Math.max(...known) : 0;
      tile.valueEl.textContent = value === null ? '—' : tile.format(value);
      tile.valueEl.dataset.value = value === null ? '' : String(value);
      tile.peakEl.textContent = known.length ? 'peak ' + tile.format(peak) : '';
      draw(tile.canvas, values, peak);
    }
  }

  async function scrape() {
    const headers = { Accept: 'text/plain' };
    const token = tokenEl.value.trim();
    if (token) headers.Authorization = 'Bearer ' + token;
    let text;
    try {
      const res = await fetch('/metrics', { headers, cache: 'no-store' });
      if (!res.ok) return show('error', explain(res.status));
      text = await res.text();
    } catch (err) {
      return show('error', 'Cannot reach the server: ' + err.message);
    }
    const scrapeTime = performance.now() / 1000;
    history.add(LiveMetrics.summarize(LiveMetrics.parseExposition(text), scrapeTime));
    render();
    show('live', 'Live, every second · ' + new Date().toLocaleTimeString());
  }

  // One scrape at a time: the next is scheduled when this one is done. A hidden tab skips
  // its scrapes; the rates after it are averages over the gap.
  async function tick() {
    try {
      if (!document.hidden) await scrape();
    } catch (err) {
      show('error', 'The dashboard failed: ' + err.message);
    }
    setTimeout(tick, INTERVAL_MS);
  }
  tick();
})();
