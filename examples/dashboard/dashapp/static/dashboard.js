// The dashboard page: the figures of the last MetricsUpdated, two live
// charts of the last five minutes (uPlot, vendored in /vendor) and the
// latest OrderPlaced events.
import { Velocity } from '/broadcasting/client.js';

const WINDOW_SECONDS = 300; // what the charts show
const uPlot = window.uPlot; // classic script in index.html

const $ = (id) => document.getElementById(id);
const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const int = new Intl.NumberFormat('en-US');
const clock = (d) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

// Column-oriented series, as uPlot wants them: the business figures
// (history included) and the broadcaster's figures (null before the
// server started), on the same time axis.
const series = { t: [], users: [], perMin: [], totals: [] };
const live = { t: [], events: [], deliveries: [] };
const charts = {};

/** Orders per minute at the newest sample, over up to the last minute. */
function ordersPerMinute() {
  const n = series.t.length - 1;
  let j = n;
  while (j > 0 && series.t[n] - series.t[j - 1] <= 60) j--;
  const span = series.t[n] - series.t[j];
  return span >= 5 ? ((series.totals[n] - series.totals[j]) * 60) / span : null;
}

/** Appends one MetricsUpdated sample and forgets what left the window. */
function addSample(m) {
  const t = Date.parse(m.updated_at) / 1000;
  if (series.t.length && t <= series.t[series.t.length - 1]) return; // already have it
  series.t.push(t);
  series.users.push(m.active_users);
  series.totals.push(m.total_orders);
  series.perMin.push(null);
  series.perMin[series.perMin.length - 1] = ordersPerMinute();
  // Every sample has its place on the throughput chart, so it spans the
  // same window (and ticks) as the business chart from the first paint; a
  // backfilled sample, from before the server started, has no figures: a
  // gap.
  live.t.push(t);
  live.events.push(m.broadcaster ? m.broadcaster.events_per_sec : null);
  live.deliveries.push(m.broadcaster ? m.broadcaster.deliveries_per_sec : null);
  for (const cols of [series, live]) {
    while (cols.t.length && cols.t[0] < t - WINDOW_SECONDS) {
      for (const k of Object.keys(cols)) cols[k].shift();
    }
  }
}

/** Value of a series about a minute before the newest sample. */
function minuteAgo(values) {
  const n = series.t.length - 1;
  let j = n;
  while (j > 0 && series.t[n] - series.t[j - 1] <= 60) j--;
  return j < n ? values[j] : null;
}

function setDelta(id, now, before, format) {
  const node = $(id);
  if (before == null) {
    node.textContent = 'vs. a minute ago: —';
    node.dataset.trend = 'flat';
    return;
  }
  const diff = now - before;
  node.textContent = `${diff > 0 ? '▲' : diff < 0 ? '▼' : '■'} ${format(Math.abs(diff))} vs. a minute ago`;
  node.dataset.trend = diff > 0 ? 'up' : diff < 0 ? 'down' : 'flat';
}

function renderFigures(m) {
  $('active-users').textContent = int.format(m.active_users);
  $('total-orders').textContent = int.format(m.total_orders);
  $('revenue').textContent = money.format(m.revenue);
  const perMin = series.perMin[series.perMin.length - 1];
  $('orders-per-min').textContent = perMin == null ? '—' : perMin.toFixed(1);
  $('updated-at').textContent = clock(new Date(m.updated_at));
  setDelta('active-users-delta', m.active_users, minuteAgo(series.users), (v) => int.format(v));
  setDelta('total-orders-delta', m.total_orders, minuteAgo(series.totals), (v) => int.format(v));

  const b = m.broadcaster;
  if (!b) return; // a backfilled sample: no live figures yet
  $('fig-connections').textContent = int.format(b.connections ?? 0);
  $('fig-channels').textContent = int.format(b.channels ?? 0);
  $('fig-events').textContent = (b.events_per_sec ?? 0).toFixed(1);
  $('fig-deliveries').textContent = (b.deliveries_per_sec ?? 0).toFixed(1);
  $('fig-dropped').textContent = int.format(b.dropped ?? 0);
  $('fig-slow').textContent = int.format(b.slow_clients ?? 0);
  $('fig-conflated').textContent = int.format(b.conflated ?? 0);
  $('fig-goroutines').textContent = int.format(b.goroutines ?? 0);
  $('fig-memory').textContent = `${((b.memory_bytes ?? 0) / 1048576).toFixed(1)} MB`;
  const p = b.prometheus;
  if (!p) return;
  $('prom-connections').textContent = int.format(p.connections ?? 0);
  $('prom-deliveries').textContent = (p.deliveries_per_sec ?? 0).toFixed(1);
  $('prom-p99').textContent = `${(p.publish_enqueue_p99_ms ?? 0).toFixed(3)} ms`;
}

// ---- Charts ------------------------------------------------------------------

const axisStyle = { stroke: '#6b7287', grid: { stroke: '#eef0f5', width: 1 }, ticks: { stroke: '#e3e6ee', width: 1 } };

function makeChart(el, seriesDefs, scales, axes, data) {
  const opts = {
    width: el.clientWidth,
    height: 220,
    cursor: { drag: { x: false, y: false } },
    legend: { show: true, live: false },
    scales: { x: { time: true }, ...scales },
    series: [{}, ...seriesDefs],
    axes: [axisStyle, ...axes],
  };
  const chart = new uPlot(opts, data(), el);
  new ResizeObserver(() => chart.setSize({ width: el.clientWidth, height: 220 })).observe(el);
  return chart;
}

function createCharts() {
  charts.business = makeChart(
    $('business-chart'),
    [
      { label: 'Active users', stroke: '#4f46e5', width: 2, fill: 'rgba(79, 70, 229, 0.08)', scale: 'users', points: { show: false } },
      { label: 'Orders / min', stroke: '#0891b2', width: 2, scale: 'orders', points: { show: false } },
    ],
    { users: {}, orders: { range: (u, min, max) => [0, Math.max(5, max * 1.2)] } },
    [
      { ...axisStyle, scale: 'users' },
      { ...axisStyle, scale: 'orders', side: 1, grid: { show: false } },
    ],
    () => [series.t, series.users, series.perMin],
  );
  charts.throughput = makeChart(
    $('throughput-chart'),
    [
      { label: 'Events / s', stroke: '#f59e0b', width: 2, points: { show: false } },
      { label: 'Deliveries / s', stroke: '#16a34a', width: 2, fill: 'rgba(22, 163, 74, 0.08)', points: { show: false } },
    ],
    { y: { range: (u, min, max) => [0, Math.max(5, max * 1.2)] } },
    [axisStyle],
    () => [live.t, live.events, live.deliveries],
  );
}

function redraw() {
  charts.business?.setData([series.t, series.users, series.perMin]);
  charts.throughput?.setData([live.t, live.events, live.deliveries]);
}

// ---- Orders feed -----------------------------------------------------------------

function addOrder(o) {
  const li = document.createElement('li');
  const what = document.createElement('span');
  what.className = 'order-what';
  what.textContent = `#${o.id} · ${o.product}`;
  const amount = document.createElement('span');
  amount.className = 'order-amount';
  amount.textContent = money.format(o.amount);
  const when = document.createElement('time');
  when.textContent = clock(new Date(o.placed_at));
  li.append(what, when, amount);
  const list = $('orders');
  list.prepend(li);
  while (list.children.length > 8) list.lastElementChild.remove();
}

// ---- Connection --------------------------------------------------------------------

function renderStatus({ current, delay }) {
  const labels = {
    connecting: 'Connecting…',
    connected: 'Live',
    disconnected: 'Connection lost',
    reconnecting: `Reconnecting${delay ? ` in ${Math.ceil(delay / 1000)}s` : ''}…`,
    failed: 'Offline',
  };
  $('status').dataset.state = current;
  $('status-text').textContent = labels[current] || current;
}

async function main() {
  const velocity = new Velocity(); // public channels: no token needed
  velocity.onStateChange(renderStatus);
  window.dashboard = { velocity, charts, series, live };

  try {
    const history = await (await fetch('/api/metrics/history')).json();
    for (const m of history.samples || []) addSample(m);
    if (history.samples?.length) renderFigures(history.samples[history.samples.length - 1]);
  } catch (err) {
    console.warn('no history', err);
  }
  createCharts();

  velocity.channel('admin.dashboard').listen('MetricsUpdated', (m) => {
    addSample(m);
    renderFigures(m);
    redraw();
  });
  velocity.channel('orders').listen('OrderPlaced', addOrder);
}

main();
