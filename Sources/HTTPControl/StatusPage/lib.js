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
