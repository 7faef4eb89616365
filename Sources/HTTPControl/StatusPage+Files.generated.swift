// GENERATED FILE: DO NOT EDIT. Made by Tests/ServerTests/StatusPageFilesTests.swift from
// Sources/HTTPControl/StatusPage/index.html, style.css, lib.js and app.js: edit those, then run
//
//     BEACON_REGENERATE=1 swift test --filter StatusPageFiles
//
// and commit this file with them. `swift test` fails while this file is stale.
//
// Each constant is one file exactly, in a raw string literal whose delimiter the file
// does not contain (at column 0, so nothing is stripped).

extension StatusPage {
    /// `StatusPage/index.html`. The page at `/` and `/ui`; `StatusPage.html` fills in its `{{...}}`.
    package static let indexHTML = #"""
<!doctype html>
<html lang="en" data-domain="{{domain}}" data-dns="{{dns}}">
<head>
<!-- Served at / and /ui. The server fills in the names in double braces once (StatusPage.swift);
     after editing, regenerate StatusPage+Files.generated.swift (see the README, "Status page"). -->
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; connect-src 'self';
  script-src 'self'; style-src 'self'; base-uri 'none'; form-action 'none'">
<meta name="color-scheme" content="light dark">
<title>Beacon status</title>
<link rel="stylesheet" href="/ui/style.css">
<script src="/ui/lib.js" defer></script>
<script src="/ui/app.js" defer></script>
</head>
<body>
<a class="skip" href="#details">Skip to instances</a>
<header class="top">
  <h1>Beacon</h1>
  <p class="server muted" id="server"></p>
  <p class="muted" id="version">{{version}}</p>
  <p class="link" id="link" role="status">
    <span class="dot" aria-hidden="true"></span> <span id="link-text">Connecting…</span>
  </p>
</header>
<section class="metrics" aria-labelledby="metrics-heading">
  <h2 id="metrics-heading" class="sr-only">Server figures</h2>
  <dl>
    <div><dt>DNS queries/s</dt><dd id="m-qps">–</dd></div>
    <div><dt>Instances</dt><dd id="m-instances">–</dd></div>
    <div><dt>Heartbeats/s</dt><dd id="m-heartbeats">–</dd></div>
    <div><dt>Registrations</dt><dd id="m-registrations">–</dd></div>
    <div><dt>Expirations</dt><dd id="m-expirations">–</dd></div>
  </dl>
</section>
<div class="banner" id="offline" hidden>
  <p role="alert"><strong>The Beacon server is unreachable.</strong> <span id="offline-reason"></span></p>
  <p><span id="offline-retry"></span> <button type="button" id="retry">Retry now</button></p>
</div>
<main id="main">
  <section class="panel catalog" aria-labelledby="catalog-heading">
    <div class="panel-head">
      <h2 id="catalog-heading">Services</h2>
      <p class="muted" id="totals"></p>
    </div>
    <label class="filter"><span>Filter</span>
      <input id="filter" type="search" placeholder="service or function" autocomplete="off" spellcheck="false"
        aria-describedby="matches" aria-controls="functions">
    </label>
    <p class="muted" id="matches" aria-live="polite"></p>
    <div class="scroll" id="functions-scroll">
      <table id="functions" class="rows">
        <colgroup><col class="c-service"><col class="c-function"><col class="c-count"></colgroup>
        <thead>
          <tr aria-rowindex="1">
            <th scope="col">Service</th><th scope="col">Function</th><th scope="col" class="num">Instances</th>
          </tr>
        </thead>
        <tbody id="functions-body"></tbody>
      </table>
      <p class="empty" id="functions-empty" hidden></p>
    </div>
  </section>
  <section class="panel details" id="details" aria-labelledby="details-heading" tabindex="-1">
    <div class="panel-head">
      <h2 id="details-heading">Instances</h2>
      <p class="muted" id="details-summary" aria-live="polite"></p>
    </div>
    <p class="empty" id="details-hint">Choose a function to see its instances and the DNS names to query.</p>
    <div id="details-body" hidden>
      <div class="query">
        <code id="dig"></code>
        <button type="button" id="copy" aria-describedby="dig">Copy</button>
        <span id="copy-status" class="muted" role="status"></span>
      </div>
      <ul class="names" id="names" aria-label="DNS names"></ul>
      <p class="error" id="details-error" role="alert" hidden></p>
      <div class="scroll" id="instances-scroll">
        <table id="instances" class="rows">
          <caption class="sr-only" id="instances-caption">Live instances</caption>
          <colgroup>
            <col class="c-id"><col class="c-address"><col class="c-num"><col class="c-num"><col class="c-num">
            <col class="c-meta"><col class="c-lease">
          </colgroup>
          <thead>
            <tr aria-rowindex="1">
              <th scope="col">ID</th><th scope="col">Address</th><th scope="col" class="num">Port</th>
              <th scope="col" class="num">Priority</th><th scope="col" class="num">Weight</th>
              <th scope="col">Meta</th><th scope="col" class="num">Expires in</th>
            </tr>
          </thead>
          <tbody id="instances-body"></tbody>
        </table>
        <p class="empty" id="instances-empty" hidden>
          No live instance. This list updates as soon as one registers.
        </p>
      </div>
    </div>
  </section>
</main>
<footer class="muted">
  Live from <a href="/v1/services">/v1/services</a> and <a href="/metrics">/metrics</a>
  (blocking queries; figures every 5 s).
</footer>
<noscript>
  <p class="banner">This page needs JavaScript. The same data is at <a href="/v1/services">/v1/services</a>.</p>
</noscript>
</body>
</html>

"""#

    /// `StatusPage/style.css`. Served at `/ui/style.css`.
    package static let styleCSS = #"""
/* The status page's stylesheet, served at /ui/style.css; index.html loads it. System fonts only,
   light and dark schemes, fixed row heights for the virtualized tables (the script measures one
   row and positions the rest).
   After editing, regenerate StatusPage+Files.generated.swift (see the README, "Status page"). */
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #fff; --text: #1c2128; --muted: #57606a; --line: #d6dbe1;
  --accent: #0a58b0; --accent-bg: #e3eefb; --ok: #1a7f37; --warn: #8a5a00; --bad: #c0252f; --bad-bg: #fdecec;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1217; --panel: #161b22; --text: #e6edf3; --muted: #9aa4af; --line: #2f3640;
    --accent: #6cb2ff; --accent-bg: #1b2c42; --ok: #46c25a; --warn: #d9a32b; --bad: #ff6b6b; --bad-bg: #3a1a1d;
  }
}
* { box-sizing: border-box; }
html, body { height: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); display: flex; flex-direction: column; }
h1, h2 { margin: 0; line-height: 1.2; }
h1 { font-size: 1.35rem; letter-spacing: .01em; }
h2 { font-size: 1.05rem; }
code { font-family: var(--mono); font-size: .92em; }
a { color: var(--accent); }
button {
  font: inherit; font-size: .9rem; padding: .25rem .8rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--line); background: var(--panel); color: var(--text);
}
button:hover { border-color: var(--accent); }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.sr-only {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap;
}
.muted { color: var(--muted); }
.skip { position: absolute; left: -999px; top: .5rem; }
.skip:focus { left: .5rem; z-index: 2; background: var(--panel); padding: .3rem .6rem; }

.top { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.25rem .4rem; }
.top .server { margin: 0; font-size: .88rem; }
.top .link { margin-left: auto; }
.link { margin: 0; display: flex; align-items: center; gap: .4rem; font-size: .9rem; color: var(--muted); }
.dot { width: .65rem; height: .65rem; border-radius: 50%; background: var(--muted); }
.link.up .dot { background: var(--ok); }
.link.down .dot { background: var(--bad); }
.link.down { color: var(--bad); font-weight: 600; }

.metrics dl {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .6rem;
  margin: 0; padding: .3rem 1.25rem .7rem;
}
.metrics div {
  background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .45rem .8rem;
}
.metrics dt { font-size: .8rem; color: var(--muted); }
.metrics dd { margin: 0; font-size: 1.3rem; font-variant-numeric: tabular-nums; font-weight: 600; }

.banner {
  margin: 0 1.25rem .7rem; padding: .6rem .9rem; border-radius: 8px;
  border: 1px solid var(--bad); background: var(--bad-bg);
}
.banner p { margin: .1rem 0; }

main {
  flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(20rem, 2fr) 3fr; gap: .9rem;
  padding: 0 1.25rem;
}
main.stale .panel { opacity: .55; }
.panel {
  background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .8rem .9rem;
  display: flex; flex-direction: column; min-height: 0; min-width: 0;
}
.panel-head {
  display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 1rem;
}
.panel-head p { margin: 0; font-size: .88rem; }
.filter { display: flex; align-items: center; gap: .6rem; margin-top: .6rem; }
.filter input {
  flex: 1; font: inherit; padding: .35rem .55rem; border-radius: 6px;
  border: 1px solid var(--line); background: var(--bg); color: var(--text);
}
#matches { margin: .3rem 0 0; font-size: .85rem; min-height: 1.2em; }
.scroll { flex: 1; min-height: 8rem; overflow: auto; margin-top: .5rem; border-top: 1px solid var(--line); }
.empty { color: var(--muted); margin: .8rem .2rem; }

table.rows { width: 100%; border-collapse: collapse; table-layout: fixed; font-variant-numeric: tabular-nums; }
.rows th {
  position: sticky; top: 0; z-index: 1; background: var(--panel); text-align: left;
  font-size: .8rem; font-weight: 600; color: var(--muted);
  padding: .4rem .5rem; border-bottom: 1px solid var(--line);
}
.rows tbody tr { height: 2.2rem; }
.rows td {
  padding: 0 .5rem; border-bottom: 1px solid var(--line);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.rows tr.spacer, .rows tr.spacer td { height: 0; padding: 0; border: 0; }
.num { text-align: right; }
th.num { text-align: right; }
.c-count { width: 6.5rem; }
.c-service { width: 42%; }
#functions td.repeat { color: color-mix(in srgb, var(--muted) 50%, transparent); }
#functions td a {
  display: block; padding: .3rem 0; overflow: hidden; text-overflow: ellipsis;
  text-decoration: none; font-weight: 500;
}
#functions td a:hover { text-decoration: underline; }
#functions td a:focus-visible { outline-offset: -2px; }   /* the cell clips anything outside */
#functions tr.selected td { background: var(--accent-bg); }
#functions td.zero { color: var(--muted); }

.details h2 code { font-size: 1em; }
.query { display: flex; align-items: center; gap: .6rem; flex-wrap: wrap; margin-top: .7rem; }
.query code {
  background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .6rem;
  user-select: all;
}
.names { list-style: none; margin: .6rem 0 0; padding: 0; font-size: .88rem; display: grid; gap: .15rem; }
.names code { color: var(--text); }
.names span { color: var(--muted); }
.error { color: var(--bad); font-weight: 600; }
#instances { min-width: 44rem; }   /* narrow screens scroll it sideways rather than squeeze it */
.c-id { width: 14%; } .c-address { width: 18%; } .c-num { width: 3.9rem; } .c-lease { width: 6.5rem; }
#instances td.meta span {
  display: inline-block; margin-right: .2rem; padding: 0 .3rem; border-radius: 4px;
  background: var(--bg); border: 1px solid var(--line); font-family: var(--mono); font-size: .8rem;
}
#instances td.lease { text-align: right; font-family: var(--mono); }
#instances td.soon { color: var(--warn); font-weight: 600; }
#instances td.ended { color: var(--muted); font-style: italic; }

footer { padding: .6rem 1.25rem .8rem; font-size: .82rem; }

@media (max-width: 60rem) {
  html, body { height: auto; }
  main { grid-template-columns: 1fr; }
  .scroll { max-height: 60vh; }
}

"""#

    /// `StatusPage/lib.js`. Served at `/ui/lib.js`: what `app.js` builds on.
    package static let libJS = #"""
// The status page's building blocks, served at /ui/lib.js; index.html loads it before app.js,
// which takes what it needs from `BeaconLib`. Nothing here knows the page's elements: DOM helpers,
// requests with a timeout, sleeps that can be cut short, backoff, a virtual table, and a reader of
// the Prometheus text format.
//
// After editing, regenerate StatusPage+Files.generated.swift (see the README, "Status page").
'use strict';
const BeaconLib = (() => {
const OVERSCAN = 10;            // rows drawn above and below the visible ones

const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat('en');
const plural = (n, word) => `${number.format(n)} ${word}${n === 1 ? '' : 's'}`;

/** Runs `work` and records it as a User Timing measure (DevTools shows it), keeping the last 20. */
function timed(name, work) {
  const start = performance.now();
  work();
  if (performance.getEntriesByName(name, 'measure').length >= 20) performance.clearMeasures(name);
  performance.measure(name, { start });
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// MARK: Requests, failures and backoff

class HTTPError extends Error {
  constructor(status, message) { super(message || `HTTP ${status}`); this.status = status; }
}

/**
 * Fetches a relative path of this server and reads its body as JSON (or text): rejects on a
 * network error, on no complete answer within `timeoutMs`, or on a non-2xx status.
 */
async function get(path, timeoutMs, signal, as = 'json') {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const cancel = () => controller.abort();
  signal?.addEventListener('abort', cancel);
  try {
    const response = await fetch(path, { signal: controller.signal, cache: 'no-store' });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new HTTPError(response.status, body?.error);
    }
    return await (as === 'text' ? response.text() : response.json());
  } catch (error) {
    if (error.name === 'AbortError' && !signal?.aborted) {
      throw new Error(`No answer within ${timeoutMs / 1000} s`);
    }
    if (error instanceof TypeError) throw new Error('No connection to the server');   // fetch's network error
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', cancel);
  }
}

// Sleeps that "Retry now" can cut short.
const sleepers = new Set();
function pause(ms) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); sleepers.delete(done); resolve(); };
    const timer = setTimeout(done, ms);
    sleepers.add(done);
  });
}

/** 1 s, 2 s, 4 s ... up to 30 s, with jitter so that many pages do not retry in step. */
const backoff = (failures) => Math.min(30000, 1000 * 2 ** (failures - 1)) * (0.8 + Math.random() * 0.4);

/** Wakes every `pause` now ("Retry now"). */
function wakeAll() { for (const wake of [...sleepers]) wake(); }

// MARK: A table that draws only the rows in view

/**
 * Keeps `items` in `tbody` as rows of one fixed height, drawing only those near the
 * visible part of `scroller` between two spacer rows: 10,000 rows cost what 50 do.
 */
function virtualRows(scroller, table, drawRow, afterDraw) {
  const tbody = table.tBodies[0];
  const columns = table.tHead.rows[0].cells.length;
  const spacer = () => {
    const row = el('tr', 'spacer');
    row.setAttribute('aria-hidden', 'true');
    const cell = el('td');
    cell.colSpan = columns;
    row.append(cell);
    return row;
  };
  const above = spacer();
  const below = spacer();
  let items = [];
  let rowHeight = 35;
  let pending = 0;

  function draw(remeasured) {
    cancelAnimationFrame(pending);
    pending = 0;
    const hadFocus = tbody.contains(document.activeElement);
    const top = scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / rowHeight) - OVERSCAN);
    const last = Math.min(items.length, Math.ceil((top + scroller.clientHeight) / rowHeight) + OVERSCAN);
    const rows = [above];
    for (let i = first; i < last; i++) {
      const row = drawRow(items[i], i, items);
      row.setAttribute('aria-rowindex', String(i + 2));
      rows.push(row);
    }
    rows.push(below);
    above.firstChild.style.height = `${first * rowHeight}px`;
    below.firstChild.style.height = `${(items.length - last) * rowHeight}px`;
    tbody.replaceChildren(...rows);
    table.setAttribute('aria-rowcount', String(items.length + 1));
    // The real height is known once a row is on screen (it follows the font size).
    const measured = rows.length > 2 ? rows[1].getBoundingClientRect().height : 0;
    if (measured > 0 && Math.abs(measured - rowHeight) > 0.5 && !remeasured) {
      rowHeight = measured;
      draw(true);
      return;
    }
    afterDraw?.(hadFocus);
  }
  const later = () => { if (!pending) pending = requestAnimationFrame(() => draw()); };
  scroller.addEventListener('scroll', later, { passive: true });
  addEventListener('resize', later);

  return {
    set(newItems) { items = newItems; draw(); },
    draw: () => draw(),
    /** Scrolls just enough for row `i` to be fully visible below the sticky header. */
    reveal(i) {
      const header = table.tHead.offsetHeight;
      const rowTop = header + i * rowHeight;
      if (rowTop - header < scroller.scrollTop) scroller.scrollTop = rowTop - header;
      else if (rowTop + rowHeight > scroller.scrollTop + scroller.clientHeight) {
        scroller.scrollTop = rowTop + rowHeight - scroller.clientHeight;
      }
      draw();
    },
    get pageSize() {
      return Math.max(1, Math.floor((scroller.clientHeight - table.tHead.offsetHeight) / rowHeight));
    },
  };
}

// MARK: Server figures

/** Sums each metric over its label sets: `name{labels} value` lines of the Prometheus text format. */
function parseMetrics(text) {
  const sums = new Map();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match) sums.set(match[1], (sums.get(match[1]) || 0) + Number(match[2]));
  }
  return sums;
}

return Object.freeze({ $, number, plural, timed, el, HTTPError, get, pause, wakeAll, backoff, virtualRows, parseMetrics });
})();

"""#

    /// `StatusPage/app.js`. Served at `/ui/app.js`.
    package static let appJS = #"""
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

"""#
}
