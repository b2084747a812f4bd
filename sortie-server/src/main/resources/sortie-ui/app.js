// The Sortie web UI: one page, views chosen by the URL's #fragment, every piece of data put into the page as
// text (textContent, never innerHTML): names, params, logs and errors are data, not markup.
// The token lives in sessionStorage (gone when the tab closes) and goes out only as "Authorization: Bearer" on
// this server's API: the browser never adds it by itself, so another site's page cannot use it.
import uPlot from '/webjars/uplot/1.6.30/dist/uPlot.esm.js';

const API = '/api/v1';
const TOKEN_KEY = 'sortie.token';
const main = document.getElementById('main');
const errorBox = document.getElementById('error');
// what the current view left running (polls, long polls, charts): stopped when the view changes
let cleanups = [];

// ---- small helpers -------------------------------------------------------------------------------------------

/** An element with attributes/properties and children; strings become text nodes (never markup). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') { for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f); }
    else if (k === 'class') e.className = v;
    else if (k in e && k !== 'list') e[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function text(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(6));
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

class ApiFailure extends Error {
  constructor(status, message, field) { super(message); this.status = status; this.field = field; }
}

/** A call to the API with the token; JSON answers parsed, errors thrown as ApiFailure with the server's message. */
async function api(path, { method = 'GET', body, raw = false, signal } = {}) {
  const headers = { 'Authorization': 'Bearer ' + token() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal,
    credentials: 'omit', cache: 'no-store' });
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = '#/signin';
    throw new ApiFailure(401, 'the token was refused: sign in again', 'Authorization');
  }
  if (!r.ok) {
    let message = r.status + ' ' + r.statusText, field = null;
    try { const j = await r.json(); message = j.error || message; field = j.field; } catch (e) { /* not JSON */ }
    throw new ApiFailure(r.status, message, field);
  }
  return raw ? r : r.json();
}

/** Runs f every ms milliseconds until the view changes (and once now). */
function every(ms, f) {
  let stopped = false, timer = null;
  const tick = async () => {
    if (stopped) return;
    try { await f(); } catch (e) { if (!stopped) showError(e.message); }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  cleanups.push(() => { stopped = true; clearTimeout(timer); });
}

function statusCell(s) { return el('span', { class: 'status-' + s, 'data-status': s }, s); }

function expLink(e) { return el('a', { href: '#/experiment/' + encodeURIComponent(e.id) }, e.name || e.id); }

/** Nested params as dotted keys: {"train": {"bs": 64}} is {"train.bs": 64}. */
function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v, prefix + k + '.', out);
    else out[prefix + k] = v;
  }
  return out;
}

function nest(flat) {
  const out = {};
  for (const [k, v] of Object.entries(flat)) {
    const parts = k.split('.');
    let at = out;
    parts.slice(0, -1).forEach(p => { at = at[p] = at[p] || {}; });
    at[parts[parts.length - 1]] = v;
  }
  return out;
}

// ---- views ---------------------------------------------------------------------------------------------------

function signIn() {
  const input = el('input', { id: 'token', type: 'password', autocomplete: 'off', size: 60, placeholder: 'sortie_…' });
  const form = el('form', { id: 'signin', on: { submit: async ev => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    try {
      await api('/queue');
      showError('');
      location.hash = '#/experiments';
    } catch (e) {
      showError(e.status === 401 ? 'That token is not valid (unknown or revoked). Make one on the server with: sortie server token create --name NAME' : e.message);
    }
  } } },
  el('h1', {}, 'Sign in'),
  el('p', {}, 'Paste a token made on the server with ', el('code', {}, 'sortie server token create --name NAME'),
    '. It is kept in this tab only (sessionStorage) and sent as an Authorization header; there are no cookies.'),
  el('label', {}, 'Token ', input), ' ', el('button', { type: 'submit', id: 'sign-in' }, 'Sign in'));
  main.replaceChildren(form);
  input.focus();
}

const BASE_COLUMNS = ['name', 'status', 'executor', 'created', 'duration'];
// the list sorts by "duration" but a row's field is "duration_s": the values are asked for by the field's name
const VALUE_OF = { duration: 'duration_s' };
const valueColumn = c => VALUE_OF[c] || c;
const tableState = { offset: 0, limit: 25, sort: 'created', order: 'desc', filters: '', extra: '' };

function experiments() {
  const filter = el('input', { id: 'filter', type: 'text', value: tableState.filters, placeholder: 'status = failed; lr >= 0.1; name ~ mnist' });
  const columns = el('input', { id: 'columns', type: 'text', value: tableState.extra, placeholder: 'params.lr, metrics.loss' });
  const pageSize = el('input', { id: 'page-size', type: 'number', min: 1, max: 1000, value: tableState.limit, size: 4 });
  const table = el('table', { id: 'experiments' });
  const pager = el('span', { id: 'pager' });
  const selected = new Set();
  const compare = el('button', { id: 'compare', type: 'button', disabled: true, on: { click: () => {
    location.hash = '#/compare/' + [...selected].map(encodeURIComponent).join(',');
  } } }, 'Compare selected');
  const apply = () => {
    tableState.filters = filter.value;
    tableState.extra = columns.value;
    const n = Number(pageSize.value);
    tableState.limit = Number.isInteger(n) && n >= 1 && n <= 1000 ? n : 25;
    pageSize.value = tableState.limit;
    tableState.offset = 0;
    load();
  };
  const onEnter = ev => { if (ev.key === 'Enter') apply(); };
  filter.addEventListener('keydown', onEnter);
  columns.addEventListener('keydown', onEnter);
  pageSize.addEventListener('keydown', onEnter);

  const extraColumns = () => tableState.extra.split(',').map(s => s.trim()).filter(Boolean);

  let shown = null;
  // each load's number: an answer to a load that a later one superseded (a poll in flight when a header was clicked)
  // is dropped, or it would draw the old order under the new header after the new one was drawn
  let asked = 0;
  async function load() {
    const mine = ++asked;
    const cols = [...BASE_COLUMNS, ...extraColumns()];
    const q = new URLSearchParams({ limit: tableState.limit, offset: tableState.offset, sort: tableState.sort,
      order: tableState.order, columns: cols.map(valueColumn).join(',') });
    tableState.filters.split(';').map(s => s.trim()).filter(Boolean).forEach(f => q.append('filter', f));
    let page;
    try {
      page = await api('/experiments?' + q);
    } catch (e) {
      if (mine === asked) showError((e.field ? e.field + ': ' : '') + e.message);
      return;
    }
    if (mine !== asked) return;
    showError('');
    const key = JSON.stringify([cols, tableState.sort, tableState.order, page]);
    if (key === shown) return;
    shown = key;
    const head = el('tr', {}, el('th', {}, ''), cols.map(c => el('th', {
      class: 'sortable' + (tableState.sort === c ? ' sorted-' + tableState.order : ''), 'data-column': c,
      on: { click: () => {
        tableState.order = tableState.sort === c && tableState.order === 'asc' ? 'desc' : 'asc';
        tableState.sort = c;
        load();
      } } }, c)));
    const rows = page.experiments.map(e => el('tr', { 'data-id': e.id },
      el('td', {}, el('input', { type: 'checkbox', class: 'select', checked: selected.has(e.id), on: { change: ev => {
        if (ev.target.checked) selected.add(e.id); else selected.delete(e.id);
        compare.disabled = selected.size < 2;
      } } })),
      cols.map(c => {
        const v = e.values[valueColumn(c)];
        if (c === 'name') return el('td', {}, expLink({ id: e.id, name: v }));
        if (c === 'status') return el('td', {}, statusCell(v));
        if (c === 'duration' && typeof v === 'number') return el('td', { 'data-column': c }, v.toFixed(1) + ' s');
        return el('td', { 'data-column': c }, text(v));
      })));
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
    const end = page.offset + page.experiments.length;
    pager.replaceChildren(
      el('button', { type: 'button', id: 'prev', disabled: page.offset === 0, on: { click: () => {
        tableState.offset = Math.max(0, page.offset - tableState.limit); load(); } } }, '‹ Prev'),
      ` ${page.total === 0 ? 0 : page.offset + 1}–${end} of ${page.total} `,
      el('button', { type: 'button', id: 'next', disabled: page.next_offset === null, on: { click: () => {
        tableState.offset = page.next_offset; load(); } } }, 'Next ›'));
    table.dataset.total = page.total;
    table.dataset.loaded = String(Date.now());
  }

  main.replaceChildren(
    el('h1', {}, 'Experiments'),
    el('div', { class: 'toolbar' },
      el('label', {}, 'Filter ', filter),
      el('label', {}, 'Columns ', columns),
      el('label', {}, 'Rows ', pageSize),
      el('button', { type: 'button', id: 'apply', on: { click: apply } }, 'Apply'),
      compare, pager),
    el('p', { class: 'hint' }, 'Filters are `FIELD OP VALUE` (OP one of = != < <= > >= ~), several separated by ";". '
      + 'Extra columns: params.KEY or metrics.KEY, comma-separated. Click a column to sort.'),
    table);
  // the table follows what happens (new runs, statuses) without a reload
  every(3000, load);
}

async function compareView(ids) {
  const exps = await Promise.all(ids.map(id => api('/experiments/' + encodeURIComponent(id))));
  const rows = [];
  const section = (title, pick) => {
    const keys = [...new Set(exps.flatMap(e => Object.keys(pick(e))))].sort();
    rows.push(el('tr', {}, el('th', { colSpan: exps.length + 1 }, title)));
    for (const k of keys) {
      const values = exps.map(e => text(pick(e)[k]));
      const differs = new Set(values).size > 1;
      rows.push(el('tr', { class: differs ? 'differs' : '', 'data-key': k }, el('td', {}, k), values.map(v => el('td', {}, v))));
    }
  };
  section('params', e => flatten(e.params));
  section('metrics', e => e.metrics || {});
  section('run', e => ({ status: e.status, executor: e.executor, host: e.host, duration_s: e.duration_s, exit_code: e.exit_code,
    attempt: e.attempt, command: e.command }));
  const charts = el('div', { id: 'compare-charts', class: 'charts' });
  const dvcPlots = el('div', { class: 'charts', id: 'dvc-plots' });
  const dvcSection = el('section', { hidden: true }, el('h2', {}, 'DVC plots'), dvcPlots);
  main.replaceChildren(el('h1', {}, 'Compare'),
    el('p', {}, 'Rows whose values differ are highlighted.'),
    el('table', { id: 'compare-table' },
      el('thead', {}, el('tr', {}, el('th', {}, ''), exps.map(e => el('th', {}, expLink(e))))),
      el('tbody', {}, rows)),
    el('h2', {}, 'Metrics'), charts, dvcSection);
  // one chart per metric, every experiment a line in it: one request per metric, the series cut by the server onto
  // one grid of steps keeping each bucket's lowest and highest point (GET /series), drawn as they come
  const keys = [...new Set(exps.flatMap(e => Object.keys(e.metrics || {})))].filter(k => !k.startsWith('sys/')).sort();
  const idList = exps.map(e => e.id).join(',');
  await Promise.all(keys.map(async key => {
    const box = el('div', { class: 'chart', 'data-metric': key }, el('strong', {}, key));
    charts.append(box);
    const m = await api('/series?key=' + encodeURIComponent(key) + '&experiments=' + encodeURIComponent(idList) + '&buckets=300');
    const plot = new uPlot({ width: 420, height: 220, scales: { x: { time: false } }, legend: { show: m.series.length <= 10 },
      series: [{ label: 'step' }, ...m.series.map((s, i) => ({ label: s.name, stroke: `hsl(${(i * 137) % 360} 65% 45%)`, width: 1,
        spanGaps: true }))] }, [m.steps, ...m.series.map(s => s.values)], box);
    cleanups.push(() => plot.destroy());
    box.dataset.series = String(m.series.length);
    box.dataset.points = String(m.series.reduce((n, s) => n + s.total_points, 0));
    box.dataset.drawn = String(Date.now());
  }));
  charts.dataset.drawn = String(Date.now());
  // the experiments' DVC curves overlaid, one line each; their matrices and images side by side
  const plots = await Promise.all(exps.map(async e => ({ name: e.name, plots: await dvcPlotsOf(e.id) })));
  dvcSection.hidden = (await drawDvcPlots(dvcPlots, plots)) === 0;
}

/** A live chart of one metric: uPlot, its data replaced on each poll. */
function metricChart(id, key) {
  const latest = el('div', { class: 'latest' }, '');
  const box = el('div', { class: 'chart', 'data-metric': key }, el('strong', {}, key), latest);
  let plot = null;
  async function update() {
    const m = await api('/experiments/' + encodeURIComponent(id) + '/metrics/' + encodeURIComponent(key) + '?points=1000');
    // machine metrics (sys/...) are stepped by epoch milliseconds: drawn against time (uPlot takes seconds)
    const byTime = m.points.length > 0 && m.points[0].step > 1e11;
    const xs = m.points.map(p => byTime ? p.step / 1000 : p.step), ys = m.points.map(p => (typeof p.value === 'number' ? p.value : null)); // "NaN", "Infinity": a gap, said below
    if (!plot) {
      plot = new uPlot({ width: 420, height: 220, scales: { x: { time: byTime } },
        series: [{ label: 'step' }, { label: key, stroke: '#1f6feb', width: 2, points: { show: true } }] }, [xs, ys], box);
    } else {
      plot.setData([xs, ys]);
    }
    const last = m.points[m.points.length - 1];
    box.dataset.points = String(m.total_points);
    box.dataset.lastStep = last ? String(last.step) : '';
    latest.textContent = last ? `${m.total_points} points; step ${last.step}: ${text(last.value)}` + (m.downsampled ? ' (downsampled)' : '') : 'no points yet';
  }
  cleanups.push(() => plot && plot.destroy());
  return { box, update };
}

/** Follows an attempt's log with the API's long poll until it is finished, the view changes or stop() is called. */
function followLog(id, attempt, pre) {
  const ctrl = new AbortController();
  cleanups.push(() => ctrl.abort());
  (async () => {
    let offset = 0;
    const decoder = new TextDecoder();
    for (;;) {
      let r;
      try {
        r = await api(`/experiments/${encodeURIComponent(id)}/logs?follow=true&wait=20&attempt=${attempt}&offset=${offset}`,
          { raw: true, signal: ctrl.signal });
      } catch (e) {
        if (ctrl.signal.aborted) return;
        await new Promise(ok => setTimeout(ok, 1000));
        continue;
      }
      const bytes = new Uint8Array(await r.arrayBuffer());
      if (bytes.length) {
        const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(decoder.decode(bytes, { stream: true }));
        if (atBottom) pre.scrollTop = pre.scrollHeight;
      }
      offset = Number(r.headers.get('X-Sortie-Next-Offset') || offset);
      if (r.headers.get('X-Sortie-Finished') === 'true') { pre.dataset.finished = 'true'; return; }
      if (ctrl.signal.aborted) return;
    }
  })();
  return { stop: () => ctrl.abort() };
}

async function downloadArtifact(id, a) {
  const r = await api(`/experiments/${encodeURIComponent(id)}/artifacts/${encodeURIComponent(a.hash)}`, { raw: true });
  const url = URL.createObjectURL(await r.blob());
  const link = el('a', { href: url, download: a.path.split('/').pop() });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const FINISHED = new Set(['succeeded', 'failed', 'stopped', 'interrupted']);

// ---- DVC's plots -----------------------------------------------------------------------------------------------
// A run of a DVC project keeps the plot files it wrote (dvc.yaml's plots:, dvclive's ROC, precision-recall,
// confusion matrix, images) as artifacts, with a manifest that says how to draw each (template, x, y).

const DVC_MANIFEST = '.sortie/dvc-plots.json';
const IMAGE_TYPES = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };
const LINE_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

async function artifactBlob(id, a) {
  const r = await api(`/experiments/${encodeURIComponent(id)}/artifacts/${encodeURIComponent(a.hash)}`, { raw: true });
  return r.blob();
}

/** The kind of a plot: an image by its file's suffix, a confusion matrix by its template, else a curve. */
function plotKind(p) {
  const ext = p.path.split('.').pop().toLowerCase();
  if (IMAGE_TYPES[ext]) return 'image';
  return (p.template || '').startsWith('confusion') ? 'confusion' : 'curve';
}

/** Rows of a plot file: JSON (a list, or an object holding one, as dvclive writes) or CSV/TSV with a header. */
function plotRows(path, textValue) {
  const ext = path.split('.').pop().toLowerCase();
  if (ext === 'csv' || ext === 'tsv') {
    const lines = textValue.split(/\r?\n/).filter(l => l.trim() !== '');
    const sep = ext === 'tsv' ? '\t' : ',';
    const unquote = c => c.trim().replace(/^"(.*)"$/, '$1');
    const head = (lines.shift() || '').split(sep).map(unquote);
    return lines.map(l => { const cells = l.split(sep).map(unquote); return Object.fromEntries(head.map((h, i) => [h, cells[i]])); });
  }
  // Python's json writes Infinity and NaN (sklearn's first ROC threshold) as bare words JSON.parse refuses
  const j = JSON.parse(textValue.replace(/(?<=[:\[,]\s*)-?(Infinity|NaN)(?=\s*[,\]}])/g, 'null'));
  if (Array.isArray(j)) return j;
  for (const v of Object.values(j || {})) if (Array.isArray(v)) return v;
  return [];
}

/** A curve's lines: one per y field (or the last field that is not x); x the row's index where none is named. */
function curveLines(p, rows) {
  let ys = p.y && p.y.length ? p.y : [];
  if (!ys.length && rows.length) ys = Object.keys(rows[0]).filter(k => k !== p.x && k !== 'step').slice(-1);
  const byIndex = !p.x || (p.x === 'step' && rows.length && !('step' in rows[0]));
  return ys.map(field => {
    const num = v => (v === null || v === undefined || v === '' ? NaN : Number(v));
    const ok = rows.map((r, i) => [byIndex ? i : num(r[p.x]), num(r[field])])
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    return { field, xs: ok.map(q => q[0]), ys: ok.map(q => q[1]) };
  });
}

/** The DVC plots an experiment recorded: [{plot, blob}], empty when it has none. */
async function dvcPlotsOf(id) {
  const list = await api(`/experiments/${encodeURIComponent(id)}/artifacts`);
  const latest = new Map();
  for (const a of list.artifacts) {
    if (a.kind !== 'artifact') continue;
    const had = latest.get(a.path);
    if (!had || String(a.saved) >= String(had.saved)) latest.set(a.path, a);
  }
  const m = latest.get(DVC_MANIFEST);
  if (!m) return [];
  const manifest = JSON.parse(await (await artifactBlob(id, m)).text());
  const plots = (manifest.plots || []).filter(p => latest.has(p.path));
  return Promise.all(plots.map(async p => ({ plot: p, blob: await artifactBlob(id, latest.get(p.path)) })));
}

/** The chart title of a curve's line: a named plot's title; a file's own plot names the field it draws. */
function curveTitle(p, field, several) { return p.title === p.path || several ? `${p.title} · ${field}` : p.title; }

/**
 * Curves of several experiments overlaid in one uPlot: every point of every line on one x axis (sorted, points at the
 * same x kept apart), each line's values where it has points and gaps spanned elsewhere.
 */
function overlaidCurve(title, xLabel, lines) {
  const rows = [];
  lines.forEach((l, k) => l.xs.forEach((x, i) => rows.push([x, k, l.ys[i]])));
  rows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const data = [rows.map(r => r[0]), ...lines.map((l, k) => rows.map(r => (r[1] === k ? r[2] : null)))];
  const box = el('div', { class: 'chart dvc-curve', 'data-plot': title, 'data-lines': String(lines.length),
    'data-points': String(rows.length) }, el('strong', {}, title));
  const plot = new uPlot({ width: 420, height: 260, scales: { x: { time: false } },
    axes: [{ label: xLabel }, {}],
    series: [{ label: xLabel }, ...lines.map(l => ({ label: l.name, stroke: LINE_COLORS[l.color % LINE_COLORS.length], width: 2,
      spanGaps: true, points: { show: l.xs.length <= 60 } }))] }, data, box);
  cleanups.push(() => plot.destroy());
  return box;
}

function confusionTable(title, experiment, p, rows) {
  const actual = p.x || 'actual', predicted = (p.y && p.y[0]) || 'predicted';
  const num = v => (v !== '' && v !== null && !isNaN(Number(v)) ? Number(v) : null);
  const labels = [...new Set(rows.flatMap(r => [r[actual], r[predicted]]).filter(v => v !== undefined && v !== null).map(String))]
    .sort((a, b) => (num(a) !== null && num(b) !== null ? num(a) - num(b) : a.localeCompare(b)));
  const counts = labels.map(() => labels.map(() => 0));
  rows.forEach(r => {
    const a = labels.indexOf(String(r[actual])), q = labels.indexOf(String(r[predicted]));
    if (a >= 0 && q >= 0) counts[a][q]++;
  });
  const max = Math.max(1, ...counts.flat());
  return el('div', { class: 'chart dvc-confusion', 'data-plot': title, 'data-experiment': experiment },
    el('strong', {}, `${title} · ${experiment}`),
    el('table', { class: 'confusion' },
      el('thead', {}, el('tr', {}, el('th', {}, `${actual} \\ ${predicted}`), labels.map(l => el('th', {}, l)))),
      el('tbody', {}, labels.map((l, a) => el('tr', {}, el('th', {}, l), counts[a].map(c => {
        const td = el('td', { class: 'num' + (c / max > 0.6 ? ' dark' : ''), 'data-count': String(c) }, String(c));
        // the share of the largest cell, as DVC's confusion template shades it (a style property, allowed by the CSP)
        td.style.backgroundColor = `rgba(31, 111, 235, ${(0.08 + 0.8 * c / max).toFixed(3)})`;
        return td;
    }))))));
}

/** An image plot: its bytes fetched with the token, shown through an object URL (the CSP allows blob: images). */
function imageBox(title, experiment, path, blob) {
  const ext = path.split('.').pop().toLowerCase();
  const url = URL.createObjectURL(new Blob([blob], { type: IMAGE_TYPES[ext] || 'application/octet-stream' }));
  cleanups.push(() => URL.revokeObjectURL(url));
  return el('div', { class: 'chart dvc-image', 'data-plot': title, 'data-experiment': experiment },
    el('strong', {}, `${title} · ${experiment}`), el('img', { src: url, alt: path }));
}

/**
 * Draws the DVC plots of experiments [{name, plots}] into box: the curves overlaid (one line per experiment), a
 * confusion matrix and the images per experiment. Returns how many were drawn.
 */
async function drawDvcPlots(box, experiments) {
  const curves = new Map(), others = [];
  for (const [k, e] of experiments.entries()) {
    for (const { plot: p, blob } of e.plots) {
      const kind = plotKind(p);
      try {
        if (kind === 'image') { others.push(imageBox(p.title, e.name, p.path, blob)); continue; }
        const rows = plotRows(p.path, await blob.text());
        if (kind === 'confusion') { others.push(confusionTable(p.title, e.name, p, rows)); continue; }
        const lines = curveLines(p, rows);
        for (const l of lines) {
          const title = curveTitle(p, l.field, lines.length > 1);
          if (!curves.has(title)) curves.set(title, { x: p.x || 'step', lines: [] });
          const c = curves.get(title);
          const name = c.lines.some(o => o.name === e.name) ? `${e.name} · ${p.path}` : e.name;
          c.lines.push({ name, color: k, xs: l.xs, ys: l.ys });
        }
      } catch (err) {
        others.push(el('p', { class: 'hint' }, `${e.name}: ${p.path} could not be drawn: ${err.message}`));
      }
    }
  }
  box.replaceChildren(...[...curves.entries()].map(([title, c]) => overlaidCurve(title, c.x, c.lines)), ...others);
  box.dataset.plots = String(curves.size + others.length);
  return curves.size + others.length;
}

async function experimentView(id) {
  let e = await api('/experiments/' + encodeURIComponent(id));
  id = e.id;
  const status = el('span', { id: 'status' });
  const facts = el('dl', { class: 'facts', id: 'facts' });
  const attempts = el('tbody');
  const charts = el('div', { class: 'charts', id: 'charts' });
  const chartsByKey = new Map();
  const log = el('pre', { class: 'log', id: 'log' });
  const artifacts = el('ul', { id: 'artifacts' });
  const dvcPlots = el('div', { class: 'charts', id: 'dvc-plots' });
  const dvcSection = el('section', { hidden: true }, el('h2', {}, 'DVC plots'), dvcPlots);
  const stop = el('button', { type: 'button', id: 'stop', on: { click: async () => {
    try { await api(`/experiments/${encodeURIComponent(id)}/stop`, { method: 'POST', body: {} }); showError(''); }
    catch (err) { showError(err.message); }
  } } }, 'Stop');
  const retry = el('button', { type: 'button', id: 'retry', on: { click: async () => {
    try { await api(`/experiments/${encodeURIComponent(id)}/retry`, { method: 'POST', body: {} }); showError(''); }
    catch (err) { showError(err.message); }
  } } }, 'Retry');
  const rerun = el('button', { type: 'button', id: 'rerun', on: { click: () => { location.hash = '#/rerun/' + encodeURIComponent(id); } } },
    'Run again with changes…');
  const flatParams = Object.entries(flatten(e.params));
  const params = flatParams.length === 0 ? el('p', { id: 'params' }, 'none') : el('table', { id: 'params' }, el('tbody', {},
    flatParams.map(([k, v]) => el('tr', { 'data-key': k }, el('th', {}, k), el('td', {}, text(v))))));

  main.replaceChildren(
    el('h1', {}, el('span', { id: 'exp-name' }, e.name), ' ', status),
    el('div', { class: 'toolbar' }, stop, retry, rerun),
    el('section', {}, facts),
    el('section', {}, el('h2', {}, 'Params'), params),
    el('section', {}, el('h2', {}, 'Metrics'), charts),
    dvcSection,
    el('section', {}, el('h2', {}, 'Log'), log),
    el('section', {}, el('h2', {}, 'Attempts'), el('table', { id: 'attempts' },
      el('thead', {}, el('tr', {}, ['attempt', 'status', 'host', 'started', 'ended', 'exit code', 'error'].map(h => el('th', {}, h)))), attempts)),
    el('section', {}, el('h2', {}, 'Artifacts'), artifacts));
  // the log shown is the current attempt's: a retry (here or elsewhere) starts following the new one
  let following = { attempt: e.attempt, follow: followLog(id, e.attempt, log) };

  let artifactsShown = null;
  every(1000, async () => {
    e = await api('/experiments/' + encodeURIComponent(id));
    status.replaceChildren(statusCell(e.status));
    if (e.attempt !== following.attempt) {
      following.follow.stop();
      log.replaceChildren();
      delete log.dataset.finished;
      following = { attempt: e.attempt, follow: followLog(id, e.attempt, log) };
    }
    stop.disabled = FINISHED.has(e.status);
    retry.disabled = !FINISHED.has(e.status);
    const where = e.where || {};
    const code = e.code || {};
    facts.replaceChildren(...[
      ['id', e.id], ['command', e.command], ['executor', where.executor ?? e.executor], ['host', where.host ?? e.host],
      ['pid', where.pid], ['created', e.created], ['started', e.started], ['ended', e.ended],
      ['duration', e.duration_s == null ? '' : e.duration_s.toFixed(1) + ' s'], ['exit code', e.exit_code], ['error', e.error],
      ['attempt', e.attempt], ['cost', e.cost_usd == null ? '' : '$' + e.cost_usd.toFixed(4)],
      ['code', code.base_commit ? `${code.base_commit}${code.dirty ? ' (dirty, snapshot ' + code.snapshot_commit + ')' : ''}` : ''],
    ].flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-fact': k }, text(v))]));
    attempts.replaceChildren(...(e.attempts || []).map(a => el('tr', {}, [a.attempt, a.status, a.host, a.started, a.ended, a.exit_code, a.error]
      .map(v => el('td', {}, text(v))))));
    for (const key of Object.keys(e.metrics || {}).sort()) {
      if (!chartsByKey.has(key)) {
        const c = metricChart(id, key);
        chartsByKey.set(key, c);
        charts.append(c.box);
      }
    }
    await Promise.all([...chartsByKey.values()].map(c => c.update()));
    // artifacts change rarely: read them again only while the run goes and once it ended
    if (artifactsShown !== 'final') {
      const list = await api(`/experiments/${encodeURIComponent(id)}/artifacts`);
      artifacts.replaceChildren(...list.artifacts.map(a => el('li', {},
        el('a', { href: '#', 'data-hash': a.hash, on: { click: ev => { ev.preventDefault(); downloadArtifact(id, a).catch(err => showError(err.message)); } } },
          a.path), ` (${a.kind}, ${a.size} bytes)`)));
      if (list.artifacts.length === 0) artifacts.append(el('li', {}, 'none'));
      artifactsShown = FINISHED.has(e.status) ? 'final' : 'running';
      // DVC's plots are saved at the run's end: drawn once it ended
      if (artifactsShown === 'final' && list.artifacts.some(a => a.path === DVC_MANIFEST)) {
        dvcSection.hidden = (await drawDvcPlots(dvcPlots, [{ name: e.name, plots: await dvcPlotsOf(id) }])) === 0;
      }
    }
    main.dataset.status = e.status;
  });
}

async function rerunView(id) {
  const [e, ex] = await Promise.all([api('/experiments/' + encodeURIComponent(id)), api('/executors')]);
  const flat = flatten(e.params);
  const inputs = Object.entries(flat).map(([k, v]) => [k, v, el('input', { type: 'text', name: 'param', 'data-key': k, value: text(v) })]);
  const executor = el('select', { id: 'executor' }, el('option', { value: '' }, '(any: wherever the queue is drained)'),
    ex.executors.map(x => el('option', { value: x.name, selected: x.name === e.executor }, x.name + ' (' + x.type + ')')));
  const name = el('input', { type: 'text', id: 'new-name', placeholder: '(default: the task name and a number)' });
  const form = el('form', { class: 'rerun', id: 'rerun-form', on: { submit: async ev => {
    ev.preventDefault();
    const params = {};
    for (const [k, old, input] of inputs) {
      const s = input.value;
      // keep each param's type: a number stays a number, a boolean a boolean
      if (typeof old === 'number' && s.trim() !== '' && !isNaN(Number(s))) params[k] = Number(s);
      else if (typeof old === 'boolean' && (s === 'true' || s === 'false')) params[k] = s === 'true';
      else params[k] = s;
    }
    const body = { from: e.id, params: nest(params), executor: executor.value };
    if (name.value.trim()) body.name = name.value.trim();
    try {
      const queued = await api('/experiments', { method: 'POST', body });
      showError('');
      location.hash = '#/experiment/' + encodeURIComponent(queued.id);
    } catch (err) {
      showError((err.field ? err.field + ': ' : '') + err.message);
    }
  } } },
  el('h1', {}, 'Run again: ', e.name),
  el('p', {}, 'The same code and command as ', expLink(e), ', with the params below; queued for the server to run.'),
  inputs.map(([k, , input]) => el('label', {}, el('span', {}, k), input)),
  el('label', {}, el('span', {}, 'executor'), executor),
  el('label', {}, el('span', {}, 'name'), name),
  el('button', { type: 'submit', id: 'queue-it' }, 'Queue it'));
  main.replaceChildren(form);
}

function executorsView() {
  const executors = el('table', { id: 'executors' });
  const queue = el('table', { id: 'queue' });
  const summary = el('p', { id: 'queue-summary' });
  main.replaceChildren(el('h1', {}, 'Executors'), executors, el('h1', {}, 'Queue'), summary, queue);
  every(2000, async () => {
    const [ex, q] = await Promise.all([api('/executors'), api('/queue')]);
    executors.replaceChildren(
      el('thead', {}, el('tr', {}, ['name', 'type', 'running', 'hosts', 'instances', 'error'].map(h => el('th', {}, h)))),
      el('tbody', {}, ex.executors.map(x => el('tr', { 'data-executor': x.name },
        el('td', {}, x.name), el('td', {}, x.type), el('td', {}, text(x.running)), el('td', {}, (x.hosts || []).join(', ')),
        el('td', {}, (x.instances || []).length === 0 ? '' : el('table', {}, el('tbody', {}, x.instances.map(i => el('tr', {},
          [i.id, i.state, i.type, i.spot ? 'spot' : 'on-demand', i.ready ? 'ready' : 'not ready', i.address,
            i.price_per_hour_usd == null ? '' : '$' + i.price_per_hour_usd + '/h', i.cost_usd == null ? '' : '$' + text(i.cost_usd)]
            .map(v => el('td', {}, text(v)))))))),
        el('td', {}, text(x.error))))));
    summary.textContent = `${q.queued} queued, ${q.running} running`;
    queue.replaceChildren(
      el('thead', {}, el('tr', {}, ['position', 'name', 'status', 'executor', 'created'].map(h => el('th', {}, h)))),
      el('tbody', {}, q.experiments.map(x => el('tr', {}, el('td', {}, text(x.position)), el('td', {}, expLink(x)),
        el('td', {}, statusCell(x.status)), el('td', {}, x.executor || '(any)'), el('td', {}, text(x.created))))));
  });
}

// ---- routing -------------------------------------------------------------------------------------------------

async function route() {
  cleanups.forEach(f => f());
  cleanups = [];
  showError('');
  const signedIn = !!token();
  document.getElementById('sign-out').hidden = !signedIn;
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  if (!signedIn && parts[0] !== 'signin') { location.hash = '#/signin'; return; }
  const arg = parts.slice(1).join('/');
  try {
    switch (parts[0]) {
      case 'signin': signIn(); break;
      case 'experiment': await experimentView(decodeURIComponent(arg)); break;
      case 'rerun': await rerunView(decodeURIComponent(arg)); break;
      case 'compare': await compareView(arg.split(',').map(decodeURIComponent)); break;
      case 'executors': executorsView(); break;
      default: experiments();
    }
  } catch (e) {
    showError(e.message);
  }
}

document.getElementById('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.hash = '#/signin';
});
window.addEventListener('hashchange', route);
route();
