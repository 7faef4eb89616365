// The status page's script, served at /ui/app.js; index.html loads it after lib.js. Plain DOM code, no
// framework. It reads this server's public API only (/v1/services and
// /v1/services/{service}/{function} as blocking queries, /metrics every few seconds), so it works
// unchanged with --token-file and never sees a token; the page's CSP lets it talk to nothing else.
// No inline style: the page's CSP refuses style attributes, so rows are sized through the CSSOM
// (element.style), which it allows.
//
// After editing, regenerate StatusPage+Files.generated.swift (see the README, "Status page").
'use strict';
(() => {
const WAIT_SECONDS = 30;        // how long a blocking query parks on the server
const MIN_GAP_MS = 1000;        // a busy table: at most one update a second per watch
const METRICS_MS = 5000;        // /metrics is a plain GET, taken this often
const TICK_MS = 200;            // lease countdowns: local display only, no request
const RESYNC_GAP_MS = 1000;     // at most one lease re-check a second
const {
  $, number, plural, timed, el, HTTPError, get, pause, wakeAll, backoff, virtualRows, parseMetrics,
} = BeaconLib;   // lib.js

// MARK: The DNS side, as the server filled it in

const root = document.documentElement;
const domain = (root.dataset.domain || 'local.').replace(/(.)\.$/, '$1');
const dns = (() => {
  // "127.0.0.1:8053" or "[::1]:8053". A wildcard listener is reached at this page's host.
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(root.dataset.dns || '');
  if (!match) return null;
  let host = match[1];
  if (host === '0.0.0.0' || host === '::') host = location.hostname.replace(/^\[|\]$/g, '');
  return { host, port: match[2] };
})();

$('server').textContent = `DNS ${root.dataset.dns || 'address unknown'} · zone ${root.dataset.domain || '?'}`;

function digLine(service, fn) {
  const server = dns ? `@${dns.host} ${dns.port === '53' ? '' : `-p ${dns.port} `}` : '';
  return `dig ${server}${fn}.${service}.${domain} SRV`;
}

// MARK: The connection state

// One connection state for every request loop: any success means reachable.
const link = {
  down: null, retryAt: 0,
  up() {
    if (this.down === false) return;
    this.down = false;
    $('link').className = 'link up';
    $('link-text').textContent = 'Live';
    $('offline').hidden = true;
    $('main').classList.remove('stale');
    document.title = 'Beacon status';
  },
  fail(error, delay) {
    this.retryAt = Date.now() + delay;
    $('offline-reason').textContent =
      error instanceof HTTPError ? `It answered ${error.status}: ${error.message}.` : `${error.message}.`;
    showRetry();
    if (this.down === true) return;
    this.down = true;
    $('link').className = 'link down';
    $('link-text').textContent = 'Offline';
    $('offline').hidden = false;
    $('main').classList.add('stale');
    document.title = 'Offline · Beacon status';
  },
};
function showRetry() {
  const seconds = Math.max(0, Math.ceil((link.retryAt - Date.now()) / 1000));
  $('offline-retry').textContent = seconds > 0 ? `Retrying in ${seconds} s.` : 'Retrying…';
}
$('retry').addEventListener('click', wakeAll);

/**
 * Follows `path` with blocking queries: the first request answers at once, each next one
 * (`?index=N&wait=30s`) when the index passes N or the wait ends. After a failure it starts
 * over without an index, since a restarted server may count from lower.
 * `apply(data)` gets every answer; an HTTP 4xx goes to `refused(error)` and ends the watch.
 */
async function watch(path, signal, apply, refused) {
  let index = null;
  let failures = 0;
  while (!signal.aborted) {
    const started = Date.now();
    const query = index === null ? '' : `?index=${index}&wait=${WAIT_SECONDS}s`;
    try {
      const data = await get(path + query, (WAIT_SECONDS + 10) * 1000, signal);
      failures = 0;
      link.up();
      index = data.index;
      apply(data);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof HTTPError && error.status < 500 && refused) { refused(error); return; }
      index = null;
      failures += 1;
      const delay = backoff(failures);
      link.fail(error, delay);
      await pause(delay);
      continue;
    }
    const spent = Date.now() - started;
    if (query && spent < MIN_GAP_MS) await pause(MIN_GAP_MS - spent);
  }
}

// MARK: Services and functions

let catalog = [];        // every function: { service, fn, instances, key, text }
let shown = [];          // those matching the filter
let activeKey = null;    // the row that holds the list's one tab stop
let chosen = null;       // the function whose instances are shown

const functionList = virtualRows($('functions-scroll'), $('functions'), drawFunction, placeTabStop);

function drawFunction(item, i, items) {
  const row = el('tr');
  row.dataset.key = item.key;
  row.dataset.index = String(i);
  if (chosen?.key === item.key) row.className = 'selected';
  const service = el('td', i > 0 && items[i - 1].service === item.service ? 'repeat' : '', item.service);
  const name = el('td');
  const anchor = el('a', '', item.fn);
  anchor.href = `#${item.key}`;
  anchor.tabIndex = -1;
  if (chosen?.key === item.key) anchor.setAttribute('aria-current', 'true');
  name.append(anchor);
  row.append(service, name, el('td', item.instances ? 'num' : 'num zero', number.format(item.instances)));
  return row;
}

/**
 * Gives the list one tab stop, the active row if drawn, else the first drawn, and puts the
 * focus back on it when a redraw took it away (or a key moved it).
 */
function placeTabStop(hadFocus) {
  const tbody = $('functions-body');
  const stop = tbody.querySelector(`tr[data-key="${activeKey}"] a`) || tbody.querySelector('a');
  if (stop) stop.tabIndex = 0;
  if (stop && (hadFocus || focusPending)) stop.focus({ preventScroll: true });
  focusPending = false;
}
let focusPending = false;

function focusRow(i) {
  if (!shown.length) return;
  i = Math.max(0, Math.min(shown.length - 1, i));
  activeKey = shown[i].key;
  focusPending = true;
  functionList.reveal(i);
}

function showCatalog(data) {
  timed('beacon:catalog', () => listCatalog(data));
  figuresSoon();
}

function listCatalog(data) {
  const all = [];
  let instances = 0;
  for (const service of data.services) {
    for (const f of service.functions) {
      const key = `${service.service}/${f.function}`;
      const text = `${key} ${f.function}.${service.service}`;   // what the filter matches
      all.push({ service: service.service, fn: f.function, instances: f.instances, key, text });
      instances += f.instances;
    }
  }
  const order = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  all.sort((a, b) => order(a.service, b.service) || order(a.fn, b.fn));
  catalog = all;
  $('totals').textContent = [
    plural(data.services.length, 'service'), plural(all.length, 'function'), plural(instances, 'instance'),
  ].join(' · ');
  applyFilter();
}

function applyFilter() {
  const terms = $('filter').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  shown = terms.length ? catalog.filter((item) => terms.every((term) => item.text.includes(term))) : catalog;
  functionList.set(shown);
  $('matches').textContent =
    terms.length ? `${number.format(shown.length)} of ${plural(catalog.length, 'function')} match.` : '';
  const empty = $('functions-empty');
  empty.hidden = shown.length > 0;
  empty.textContent = catalog.length ? 'No function matches the filter.' : 'Nothing is registered yet.';
}

let filterFrame = 0;
$('filter').addEventListener('input', () => {
  // One filter pass per frame, however fast the typing.
  cancelAnimationFrame(filterFrame);
  filterFrame = requestAnimationFrame(() => timed('beacon:filter', applyFilter));
});
$('filter').addEventListener('keydown', (event) => {
  if (event.key === 'ArrowDown') { event.preventDefault(); focusRow(0); }
  if (event.key === 'Enter' && shown.length) location.hash = shown[0].key;
});

// Arrow keys, Page Up/Down, Home and End move between rows; Enter follows the link.
$('functions-scroll').addEventListener('keydown', (event) => {
  const row = event.target.closest?.('tr[data-index]');
  if (!row) return;
  const i = Number(row.dataset.index);
  const page = functionList.pageSize;
  const moves = {
    ArrowDown: i + 1, ArrowUp: i - 1, PageDown: i + page, PageUp: i - page, Home: 0, End: shown.length - 1,
  };
  if (!(event.key in moves)) return;
  event.preventDefault();
  if (event.key === 'ArrowUp' && i === 0) { $('filter').focus(); return; }
  focusRow(moves[event.key]);
});
$('functions-body').addEventListener('focusin', (event) => {
  const row = event.target.closest('tr[data-key]');
  if (row) activeKey = row.dataset.key;
});

// MARK: The chosen function

const instanceList = virtualRows($('instances-scroll'), $('instances'), drawInstance);

function drawInstance(instance) {
  const row = el('tr');
  row.dataset.id = instance.id;
  const id = el('td');
  id.append(el('code', '', instance.id));
  const meta = el('td', 'meta');
  const pairs = Object.entries(instance.meta || {}).map(([key, value]) => `${key}=${value}`);
  for (const pair of pairs) meta.append(el('span', '', pair), ' ');
  meta.title = pairs.join('\n');   // the cell may be cut short; the whole list on hover
  const lease = el('td', 'lease');
  lease.dataset.deadline = String(instance.deadline);
  showLease(lease, performance.now());
  const address = el('td', '', instance.address);
  address.title = instance.address;
  row.append(id, address, el('td', 'num', String(instance.port)),
    el('td', 'num', String(instance.priority)), el('td', 'num', String(instance.weight)), meta, lease);
  return row;
}

function showLease(cell, now) {
  const left = (Number(cell.dataset.deadline) - now) / 1000;
  const text = left <= 0 ? '0.0 s' : left < 60 ? `${left.toFixed(1)} s`
    : left < 3600 ? `${Math.floor(left / 60)} m ${String(Math.floor(left % 60)).padStart(2, '0')} s`
    : `${Math.floor(left / 3600)} h ${String(Math.floor((left % 3600) / 60)).padStart(2, '0')} m`;
  if (cell.textContent !== text) cell.textContent = text;
  cell.classList.toggle('soon', left > 0 && left < 5);
  cell.classList.toggle('ended', left <= 0);
}

function choose(service, fn) {
  const key = `${service}/${fn}`;
  if (chosen?.key === key) return;
  chosen?.controller.abort();
  chosen = { service, fn, key, path: `/v1/services/${service}/${fn}`, controller: new AbortController(),
    index: null, instances: [], nextEnd: Infinity, lastResync: 0 };
  activeKey = key;
  functionList.draw();
  $('details-heading').replaceChildren(el('code', '', `${fn}.${service}`));
  $('details-hint').hidden = true;
  $('details-body').hidden = false;
  $('details-error').hidden = true;
  $('details-summary').textContent = 'Loading…';
  $('instances-caption').textContent = `Live instances of function ${fn} of service ${service}`;
  $('dig').textContent = digLine(service, fn);
  $('copy-status').textContent = '';
  const names = [
    [`${fn}.${service}.${domain}`, 'A, AAAA, SRV'],
    [`_${fn}._tcp.${service}.${domain}`, 'SRV (RFC 2782 form)'],
    [`ID.${fn}.${service}.${domain}`, 'A, AAAA, TXT of one instance'],
  ];
  $('names').replaceChildren(...names.map(([name, types]) => {
    const item = el('li');
    item.append(el('code', '', name), el('span', '', ` ${types}`));
    return item;
  }));
  instanceList.set([]);
  $('instances-empty').hidden = true;
  const current = chosen;
  watch(current.path, current.controller.signal, (data) => showInstances(current, data), (error) => {
    $('details-error').textContent = `The server refused this function: ${error.message}`;
    $('details-error').hidden = false;
    $('details-summary').textContent = '';
  });
}

function showInstances(current, data) {
  if (current !== chosen) return;
  const now = performance.now();
  current.index = data.index;
  current.instances = data.instances
    .map((instance) => ({ ...instance, deadline: now + instance.expires_in * 1000 }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  current.nextEnd = current.instances.reduce((min, instance) => Math.min(min, instance.deadline), Infinity);
  $('details-summary').textContent = plural(current.instances.length, 'instance');
  $('instances-empty').hidden = current.instances.length > 0;
  instanceList.set(current.instances);
}

/**
 * A heartbeat renews a lease without raising the index, so no blocking query reports it.
 * When a lease shown here runs out, ask (at most once a second) whether it was renewed.
 */
async function resync(current) {
  current.lastResync = Date.now();
  try {
    const data = await get(current.path, 10000, current.controller.signal);
    if (current.index === null || data.index >= current.index) showInstances(current, data);
  } catch {
    // The watch loop reports failures.
  }
}

function route() {
  const match = /^#([a-z0-9-]{1,63})\/([a-z0-9-]{1,63})$/i.exec(location.hash);
  if (match) choose(match[1].toLowerCase(), match[2].toLowerCase());
}
addEventListener('hashchange', route);

// MARK: Copying the dig line

let copyTimer = 0;
$('copy').addEventListener('click', async () => {
  const text = $('dig').textContent;
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    // No Clipboard API (a plain-http page on another host is not a secure context): the old way.
    const area = el('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'sr-only';
    document.body.append(area);
    area.select();
    try { copied = document.execCommand('copy'); } catch { copied = false; }
    area.remove();
    $('copy').focus();
  }
  if (!copied) getSelection().selectAllChildren($('dig'));
  $('copy-status').textContent = copied ? 'Copied.' : 'Selected: press Ctrl+C to copy.';
  clearTimeout(copyTimer);
  copyTimer = setTimeout(() => { $('copy-status').textContent = ''; }, 4000);
});

// MARK: Server figures

function showFigures(sample, previous) {
  const seconds = previous ? (sample.time - previous.time) / 1000 : 0;
  const rate = (name) => {
    if (!previous || seconds <= 0) return '–';
    const delta = (sample.values.get(name) || 0) - (previous.values.get(name) || 0);
    if (delta < 0) return '–';   // the counters restarted with the server
    const perSecond = delta / seconds;
    return perSecond < 10 ? perSecond.toFixed(1) : number.format(Math.round(perSecond));
  };
  const total = (name) => (sample.values.has(name) ? number.format(sample.values.get(name)) : '–');
  $('m-qps').textContent = rate('beacon_dns_transport_queries_total');
  $('m-heartbeats').textContent = rate('beacon_heartbeats_total');
  $('m-instances').textContent = total('beacon_instances');
  $('m-registrations').textContent = total('beacon_registrations_total');
  $('m-expirations').textContent = total('beacon_expirations_total');
}

// The figures loop sleeps METRICS_MS between samples; a change in the table wakes it
// sooner (but never within a second of the last sample, so rates stay meaningful).
let lastFigures = 0;
let wakeFigures = null;
function figuresSoon() {
  const wake = wakeFigures;   // this sleep's: waking an older one, long over, does nothing
  if (wake) setTimeout(wake, Math.max(0, lastFigures + 1000 - performance.now()));
}

async function followFigures() {
  let previous = null;
  let failures = 0;
  for (;;) {
    try {
      const text = await get('/metrics', 10000, null, 'text');
      const sample = { time: performance.now(), values: parseMetrics(text) };
      failures = 0;
      link.up();
      showFigures(sample, previous);
      lastFigures = sample.time;
      // The first rate needs a second sample: take it after one second, not five.
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, previous ? METRICS_MS : 1000);
        wakeFigures = () => { clearTimeout(timer); resolve(); };
      });
      wakeFigures = null;
      previous = sample;
    } catch (error) {
      failures += 1;
      previous = null;
      const delay = backoff(failures);
      link.fail(error, delay);
      await pause(delay);
    }
  }
}

// MARK: The clock: countdowns, retry time, lease re-checks

setInterval(() => {
  const now = performance.now();
  for (const cell of $('instances-body').querySelectorAll('td.lease')) showLease(cell, now);
  if (link.down) showRetry();
  const leaseEnded = chosen && chosen.nextEnd < now;
  if (leaseEnded && Date.now() - chosen.lastResync > RESYNC_GAP_MS && !link.down) resync(chosen);
}, TICK_MS);

watch('/v1/services', new AbortController().signal, showCatalog);
followFigures();
route();
})();
