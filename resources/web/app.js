// raftwc web page: choose files, count them one job each, follow the shards live, show and download the
// results, the cluster and the history. Plain JavaScript, no external assets. All server data is inserted
// with textContent (never as HTML). Live data comes from GET /api/events (Server-Sent Events).
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  queue: [],          // {key, file, jobId, status, progress, result, error}
  running: false,
  current: null,      // the queue item being uploaded or counted
  xhr: null,
  maxUpload: null,
  events: null,
  shown: null,        // the result on screen
  wordsOffset: 0,
  history: [],
  historyShown: 20,
  pollTimer: null,
};
const WORDS_PAGE = 50;
let nextKey = 1;

const fmt = (n) => (typeof n === 'number' && isFinite(n)) ? n.toLocaleString('en-US') : '–';
function fmtBytes(n) {
  if (typeof n !== 'number' || !isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0; let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + units[i];
}
const shortId = (id) => (typeof id === 'string' && id.length > 10) ? id.slice(0, 8) + '…' : (id || '–');

function el(tag, props, children) {
  const e = document.createElement(tag);
  if (props) for (const [k, v] of Object.entries(props)) {
    if (k === 'text') e.textContent = v; else if (k === 'cls') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children || []) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}
function td(text, cls) { return el('td', { text: String(text), cls: cls || '' }); }
// A progress bar screen readers announce: role=progressbar with its value.
function progressBar(fraction, done, label) {
  const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  const fill = el('div', { cls: 'bar-fill' + (done ? ' done' : '') });
  fill.style.width = pct + '%';
  return el('div', { cls: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-valuenow': String(pct), 'aria-label': label || 'progress' }, [fill]);
}
function newJobId() {
  const b = new Uint8Array(12);
  window.crypto.getRandomValues(b);
  return 'web-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---- errors and status --------------------------------------------------------------------------
function showError(title, detail) {
  const box = $('error');
  box.replaceChildren(el('strong', { text: title }), document.createTextNode(detail || ''));
  box.hidden = false;
}
function clearError() { $('error').hidden = true; }
function say(text) { $('status').textContent = text; }

function explain(status, body, retryAfter, file) {
  const msg = body && typeof body.message === 'string' ? body.message : '';
  switch (status) {
    case 0: return ['Connection lost', 'The server closed the connection before answering. ' +
      (state.maxUpload && file && file.size > state.maxUpload ? 'The file is larger than the upload limit.' : 'Is the node running? Try again.')];
    case 400: return ['The request was rejected (400)', msg || 'The server could not read this upload.'];
    case 404: return ['Not found (404)', msg];
    case 413: return ['File too large (413)', msg || 'The file exceeds the server\'s upload limit.'];
    case 429: return ['Too many requests (429)', msg + (retryAfter ? ` Try again in ${retryAfter} s.` : '')];
    case 503: return ['Cluster not ready (503)', (msg || 'No leader is available right now.') +
      (retryAfter ? ` Retry in ${retryAfter} s.` : ' Retry in a moment.')];
    case 504: return ['Timed out (504)', msg || 'The cluster did not finish in time.'];
    case 507: return ['Disk full (507)', msg || 'The cluster has no room for this file.'];
    default: return [`Error ${status}`, msg || 'Unexpected answer from the server.'];
  }
}

// ---- choosing files -----------------------------------------------------------------------------
function addFiles(files) {
  clearError();
  for (const file of files) {
    const item = { key: nextKey++, file, jobId: null, status: 'queued', progress: 0, result: null, error: null };
    if (state.maxUpload && file.size > state.maxUpload) {
      item.status = 'failed';
      item.error = `larger than the upload limit (${fmtBytes(state.maxUpload)})`;
    }
    state.queue.push(item);
  }
  renderQueue();
  const waiting = state.queue.filter((q) => q.status === 'queued').length;
  say(waiting ? `${waiting} file${waiting > 1 ? 's' : ''} ready: choose the mode and press Count words.` : '');
}

function setupChooser() {
  const drop = $('drop');
  $('file').addEventListener('change', (e) => { addFiles(Array.from(e.target.files)); e.target.value = ''; });
  ['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); }));
  ['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove('over'); }));
  drop.addEventListener('drop', (e) => { if (e.dataTransfer.files.length) addFiles(Array.from(e.dataTransfer.files)); });
  $('count-btn').addEventListener('click', start);
  $('cancel-btn').addEventListener('click', cancel);
  $('clear-btn').addEventListener('click', () => {
    state.queue = state.queue.filter((q) => q === state.current);
    renderQueue();
    say('');
  });
}

const STATUS_TEXT = { queued: 'waiting', uploading: 'uploading', counting: 'stored · counting', done: 'done',
  failed: 'failed', cancelled: 'cancelled' };

function renderQueue() {
  const q = state.queue;
  $('queue-wrap').hidden = q.length === 0;
  $('queue').tBodies[0].replaceChildren(...q.map((item) => {
    const stateCell = el('td', { cls: 'q-state ' + item.status }, [el('span', { text: STATUS_TEXT[item.status] })]);
    if (item.status === 'uploading') stateCell.appendChild(progressBar(item.progress, false, 'upload of ' + item.file.name));
    if (item.error) stateCell.appendChild(el('span', { cls: 'q-error', text: item.error }));
    const actions = el('td', { cls: 'q-actions' });
    if (item.result) {
      const b = el('button', { type: 'button', cls: 'link', text: 'show', 'aria-label': 'show the result of ' + item.file.name });
      b.addEventListener('click', () => showResult(item.result, true));
      actions.appendChild(b);
    } else if (!state.running && item.status !== 'uploading') {
      const b = el('button', { type: 'button', cls: 'link', text: 'remove', 'aria-label': 'remove ' + item.file.name + ' from the list' });
      b.addEventListener('click', () => { state.queue = state.queue.filter((x) => x !== item); renderQueue(); });
      actions.appendChild(b);
    }
    return el('tr', { 'data-status': item.status }, [td(item.file.name, 'q-name'), td(fmtBytes(item.file.size), 'num'),
      stateCell, td(item.result ? fmt(item.result.words) : '–', 'num'), actions]);
  }));
  const done = q.filter((x) => x.result);
  const foot = $('queue').tFoot;
  if (done.length >= 2) {
    const sum = (k) => done.reduce((s, x) => s + (typeof x.result[k] === 'number' ? x.result[k] : 0), 0);
    foot.replaceChildren(el('tr', { cls: 'total' }, [td(`Total of ${done.length} files`), td(fmtBytes(sum('bytes')), 'num'),
      td(`${fmt(sum('lines'))} lines`), el('td', { cls: 'num', id: 'total-words', text: fmt(sum('words')) }), td('')]));
  } else {
    foot.replaceChildren();
  }
  const waiting = q.some((x) => x.status === 'queued');
  $('count-btn').disabled = state.running || !waiting;
  $('clear-btn').disabled = state.running || q.length === 0;
  $('cancel-btn').hidden = !state.running;
}

// ---- uploading ----------------------------------------------------------------------------------
function setProgress(text, fraction) {
  $('progress').hidden = false;
  $('progress-text').textContent = text;
  $('progress-pct').textContent = fraction == null ? '' : Math.round(fraction * 100) + '%';
  const bar = $('progress-bar');
  bar.style.width = (fraction == null ? 100 : Math.round(fraction * 100)) + '%';
  bar.classList.toggle('done', fraction === 1);
  bar.classList.toggle('busy', fraction == null);
  const wrap = $('progress-bar-wrap');
  if (fraction == null) wrap.removeAttribute('aria-valuenow'); else wrap.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
}

function start() {
  if (state.running || !state.queue.some((q) => q.status === 'queued')) return;
  state.running = true;
  state.runTotal = state.queue.filter((q) => q.status === 'queued').length;
  state.runIndex = 0;
  clearError();
  renderQueue();
  $('cancel-btn').focus();
  next();
}

function next() {
  const item = state.queue.find((q) => q.status === 'queued');
  if (!item) { finishRun(); return; }
  state.runIndex += 1;
  uploadOne(item, state.runIndex, state.runTotal);
}

function finishRun(cancelled) {
  state.running = false;
  state.current = null;
  state.xhr = null;
  clearTimeout(state.pollTimer);
  $('live-card').hidden = true;
  const done = state.queue.filter((q) => q.status === 'done');
  const failed = state.queue.filter((q) => q.status === 'failed');
  if (cancelled) {
    $('progress').hidden = true;
    say('Cancelled. Files not yet counted stay in the list; press Count words to go on.');
  } else {
    if (done.length) setProgress('Done', 1); else $('progress').hidden = true;
    const words = done.reduce((s, q) => s + (q.result.words || 0), 0);
    say(`Done: ${done.length} file${done.length === 1 ? '' : 's'} counted (${fmt(words)} words)` +
      (failed.length ? `, ${failed.length} failed.` : '.'));
  }
  renderQueue();
  $('count-btn').focus();
}

function cancel() {
  if (!state.running) return;
  const item = state.current;
  if (state.xhr) state.xhr.abort();  // the node abandons the upload or drops the answer
  if (item && (item.status === 'uploading' || item.status === 'counting')) {
    item.status = 'cancelled';
    item.error = item.progress >= 1 ? 'the file was stored; its count may still finish in the history' : null;
  }
  finishRun(true);
}

function uploadOne(item, pos, total) {
  const file = item.file;
  state.current = item;
  item.jobId = newJobId();
  item.status = 'uploading';
  item.progress = 0;
  item.error = null;
  renderQueue();
  const label = total > 1 ? ` (${pos} of ${total})` : '';
  setProgress(`Uploading ${file.name}${label}`, 0);
  say(`Uploading ${file.name}${label}…`);
  const xhr = new XMLHttpRequest();
  state.xhr = xhr;
  xhr.open('POST', 'api/count?mode=' + encodeURIComponent($('mode').value));
  xhr.setRequestHeader('X-Filename', encodeURIComponent(file.name));
  xhr.setRequestHeader('X-Job-Id', item.jobId);
  xhr.setRequestHeader('Content-Type', 'application/octet-stream');
  let lastDraw = 0;
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable || state.xhr !== xhr) return;
    item.progress = e.total ? e.loaded / e.total : 1;
    setProgress(`Uploading ${file.name}${label}`, item.progress);
    if (Date.now() - lastDraw > 250) { lastDraw = Date.now(); renderQueue(); }
  };
  xhr.upload.onload = () => {
    if (state.xhr !== xhr) return;
    item.progress = 1;
    item.status = 'counting';
    setProgress(`Stored ${file.name} · counting on the cluster…`, null);
    say(`Stored ${file.name}; counting on the cluster…`);
    renderQueue();
  };
  xhr.onload = () => {
    if (state.xhr !== xhr) return;
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
    $('live-card').hidden = true;
    if (xhr.status === 200 && body) {
      item.status = 'done';
      item.result = body;
      showResult(body, false);
      scheduleHistory();
    } else {
      item.status = 'failed';
      const [t, d] = explain(xhr.status, body, xhr.getResponseHeader('Retry-After'), file);
      item.error = `${t}: ${d}`;
      showError(`${file.name}: ${t}`, d);
    }
    next();
  };
  xhr.onerror = () => {
    if (state.xhr !== xhr) return;
    item.status = 'failed';
    const [t, d] = explain(0, null, null, file);
    item.error = `${t}: ${d}`;
    showError(`${file.name}: ${t}`, d);
    next();
  };
  xhr.send(file);
  pollJob(item);
}

// Without EventSource: follow the running job by polling.
function pollJob(item) {
  if (state.events) return;
  const tick = async () => {
    if (state.current !== item || item.status === 'done' || item.status === 'failed') return;
    try {
      const r = await fetch('api/jobs/' + encodeURIComponent(item.jobId), { cache: 'no-store' });
      if (r.ok && state.current === item) renderLive(await r.json());
    } catch (e) { /* transient: keep polling */ }
    state.pollTimer = setTimeout(tick, 300);
  };
  state.pollTimer = setTimeout(tick, 300);
}

function renderLive(job) {
  const item = state.current;
  if (!item || job.id !== item.jobId || job.state === 'done' || job.state === 'failed') return;
  const shards = Array.isArray(job.shards) ? job.shards : [];
  $('live-card').hidden = false;
  $('live-name').textContent = job.name || '';
  $('live-state').textContent = job.state || '';
  const tbody = $('live-table').tBodies[0];
  tbody.replaceChildren(...shards.map((s) => {
    const p = typeof s.progress === 'number' ? s.progress : (s.state === 'done' ? 1 : 0);
    const bar = el('td', {}, [progressBar(p, s.state === 'done', 'shard at ' + s.offset + ' on ' + shortId(s.node))]);
    return el('tr', {}, [td(shortId(s.node), 'node'), td(fmt(s.offset), 'num'), td(fmtBytes(s.length), 'num'),
      td(fmt(s.words), 'num'), bar]);
  }));
  if (job.state === 'storing' && !shards.length) {
    tbody.replaceChildren(el('tr', {}, [el('td', { colspan: '5', cls: 'muted', text: 'replicating the file to the cluster…' })]));
  }
}

// ---- result -------------------------------------------------------------------------------------
function showResult(r, focus) {
  state.shown = r;
  const card = $('result');
  card.hidden = false;
  $('res-name').textContent = r.name || '';
  $('res-words').textContent = fmt(r.words);
  $('res-lines').textContent = fmt(r.lines);
  $('res-bytes').textContent = fmt(r.bytes);
  $('res-chars').textContent = fmt(r.chars);
  $('res-longest').textContent = fmt(r.maxLineWidth);
  $('res-unique').textContent = fmt(r.uniqueWords);
  const link = '#/jobs/' + encodeURIComponent(r.id);
  $('res-permalink').setAttribute('href', link);
  if (location.hash !== link) history.replaceState(null, '', link);

  const top = Array.isArray(r.top) ? r.top : [];
  const max = top.reduce((m, w) => Math.max(m, w.count || 0), 0) || 1;
  $('chart').replaceChildren(...top.slice(0, 10).map((w) => {
    const bar = el('div', { cls: 'chart-bar', title: `${w.word}: ${w.count}` });
    bar.style.width = (100 * (w.count || 0) / max).toFixed(1) + '%';
    return el('div', { cls: 'chart-row' }, [el('span', { cls: 'chart-word', text: w.word }),
      el('div', {}, [bar]), el('span', { cls: 'chart-count', text: fmt(w.count) })]);
  }));
  if (!top.length) $('chart').replaceChildren(el('div', { cls: 'muted', text: 'no words' }));
  $('top-table').tBodies[0].replaceChildren(...top.map((w, i) =>
    el('tr', {}, [td(i + 1, 'num'), td(w.word, 'word'), td(fmt(w.count), 'num')])));

  const shards = Array.isArray(r.shards) ? r.shards : [];
  $('shard-table').tBodies[0].replaceChildren(...shards.map((s) =>
    el('tr', {}, [td(shortId(s.node), 'node'), td(fmt(s.offset), 'num'), td(fmtBytes(s.length), 'num'),
      td(fmt(s.words), 'num'), td(typeof s.ms === 'number' ? s.ms + ' ms' : '–', 'num')])));

  const meta = [['job', r.id], ['mode', r.mode], ['coordinator', r.coordinator], ['term', r.term],
    ['log index', r.logIndex], ['elapsed', typeof r.elapsedMs === 'number' ? r.elapsedMs + ' ms' : null],
    ['created', r.createdAt], ['sha256', r.sha256]];
  $('res-meta').replaceChildren(...meta.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: String(v) })]));
  $('dl-status').textContent = '';
  card.dataset.state = 'done';
  state.wordsOffset = 0;
  loadWords();
  if (focus) card.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

// The full table, paged from /api/jobs/{id}/words.
async function fetchWords(id, limit, offset) {
  const r = await fetch(`api/jobs/${encodeURIComponent(id)}/words?limit=${limit}&offset=${offset}`, { cache: 'no-store' });
  const body = await r.json().catch(() => null);
  if (!r.ok || !body) throw new Error(body && body.message ? body.message : 'HTTP ' + r.status);
  return body;
}

async function loadWords() {
  const r = state.shown;
  if (!r) return;
  const offset = state.wordsOffset;
  try {
    const page = await fetchWords(r.id, WORDS_PAGE, offset);
    if (state.shown !== r) return;
    const words = page.words || [];
    $('words-table').tBodies[0].replaceChildren(...words.map((w, i) =>
      el('tr', {}, [td(offset + i + 1, 'num'), td(w.word, 'word'), td(fmt(w.count), 'num')])));
    const stored = typeof page.stored === 'number' ? page.stored : page.total;
    $('words-range').textContent = stored ? `${fmt(offset + 1)}–${fmt(offset + words.length)} of ${fmt(stored)}` : 'no words';
    $('table-note').textContent = page.complete === false
      ? `The stored table holds the ${fmt(stored)} most frequent of ${fmt(page.total)} distinct words (a bounded table per job).`
      : `${fmt(page.total)} distinct words, sorted by count.`;
    $('words-prev').disabled = offset === 0;
    $('words-next').disabled = offset + words.length >= stored;
  } catch (e) {
    $('table-note').textContent = 'The word table could not be loaded: ' + e.message;
  }
}

function csvField(s) { return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; }

async function download(kind) {
  const r = state.shown;
  if (!r) return;
  const status = $('dl-status');
  status.textContent = ' preparing…';
  try {
    const all = [];
    let page;
    do {
      page = await fetchWords(r.id, 10000, all.length);
      all.push(...(page.words || []));
    } while ((page.words || []).length === 10000);
    const base = (r.name || r.id).replace(/[^A-Za-z0-9._-]+/g, '_');
    let blob;
    if (kind === 'csv') {
      const lines = ['word,count'].concat(all.map((w) => csvField(w.word) + ',' + w.count));
      blob = new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
    } else {
      blob = new Blob([JSON.stringify({ id: r.id, name: r.name, mode: page.mode, total: page.total,
        complete: page.complete, words: all }, null, 1)], { type: 'application/json' });
    }
    const a = el('a', { href: URL.createObjectURL(blob), download: `${base}.words.${kind}` });
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    status.textContent = ` ${fmt(all.length)} words downloaded.`;
  } catch (e) {
    status.textContent = ' download failed: ' + e.message;
  }
}

function setupResult() {
  $('words-prev').addEventListener('click', () => { state.wordsOffset = Math.max(0, state.wordsOffset - WORDS_PAGE); loadWords(); });
  $('words-next').addEventListener('click', () => { state.wordsOffset += WORDS_PAGE; loadWords(); });
  $('dl-csv').addEventListener('click', () => download('csv'));
  $('dl-json').addEventListener('click', () => download('json'));
  window.addEventListener('hashchange', openFromHash);
}

// ---- cluster ------------------------------------------------------------------------------------
// GET /api/events: a status event every second (the cluster panel), job events as anyone's jobs move
// (the live card, the history). EventSource reconnects by itself and resumes from the last event id.
function connectEvents() {
  if (!window.EventSource) { pollCluster(); return; }
  const es = new EventSource('api/events');
  state.events = es;
  let lastStatus = 0;
  es.addEventListener('status', (m) => {
    try {
      renderCluster(JSON.parse(m.data).status || {});
      lastStatus = Date.now();
      $('cluster-error').hidden = true;
    } catch (e) { /* a malformed event: wait for the next */ }
  });
  es.addEventListener('job', (m) => {
    let job;
    try { job = JSON.parse(m.data).job || {}; } catch (e) { return; }
    renderLive(job);
    if (job.state === 'done' || job.state === 'failed') scheduleHistory();
  });
  // No status for 3 s (node down, network gone): say so; the stream keeps trying.
  setInterval(() => {
    if (Date.now() - lastStatus > 3000) clusterUnreachable('no news from this node for 3 s (reconnecting)');
  }, 1000);
}

function clusterUnreachable(why) {
  const badge = $('cluster-badge');
  badge.className = 'badge badge-bad';
  badge.textContent = 'unreachable';
  $('cluster-error').textContent = why;
  $('cluster-error').hidden = false;
  for (const li of $('members').children) li.classList.add('stale');
}

async function pollCluster() {
  try {
    const r = await fetch('api/cluster', { cache: 'no-store' });
    const c = await r.json();
    if (!r.ok) throw new Error(c && c.message ? c.message : 'HTTP ' + r.status);
    renderCluster(c);
    $('cluster-error').hidden = true;
  } catch (e) {
    clusterUnreachable('cannot reach /api/cluster: ' + e.message);
  }
  setTimeout(pollCluster, 1000);
}

function renderCluster(c) {
  const members = Array.isArray(c.members) ? c.members : [];
  const up = (m) => m.alive || m.id === c.id;
  const alive = members.filter(up).length;
  const badge = $('cluster-badge');
  if (c.leader && c.leader.id) {
    badge.className = 'badge ' + (alive === members.length ? 'badge-ok' : 'badge-warn');
    badge.textContent = `leader ${shortId(c.leader.id)} · term ${c.term} · ${alive}/${members.length} up`;
  } else {
    badge.className = 'badge badge-bad';
    badge.textContent = `no leader · term ${c.term ?? '–'}`;
  }
  $('cl-term').textContent = c.term ?? '–';
  $('cl-leader').textContent = c.leader && c.leader.id ? shortId(c.leader.id) : 'none';
  $('cl-commit').textContent = fmt(c.commitIndex);
  $('members').replaceChildren(...members.map((m) => {
    // A member not heard from is shown as down, in words and colour, not by its last known role.
    const isUp = up(m);
    const info = el('div', {}, [el('span', { cls: 'member-id', text: m.id }),
      el('span', { cls: 'member-addr', text: `${m.http || ''}${m.id === c.id ? ' · this node' : ''}${m.voter === false ? ' · non-voter' : ''}` +
        (typeof m.lastContactMs === 'number' && m.id !== c.id ? ` · seen ${m.lastContactMs} ms ago` : '') })]);
    return el('li', { 'data-id': m.id, 'data-up': isUp ? 'yes' : 'no' },
      [el('span', { cls: 'dot' + (isUp ? ' alive' : ''), 'aria-hidden': 'true' }), info,
        el('span', { cls: 'role ' + (isUp ? (m.role || '') : 'down'), text: isUp ? (m.role || '?') : 'down' })]);
  }));
}

// ---- history ------------------------------------------------------------------------------------
let historyTimer = null;
function scheduleHistory() {
  clearTimeout(historyTimer);
  historyTimer = setTimeout(loadHistory, 200);
}

async function loadHistory() {
  try {
    const r = await fetch('api/jobs', { cache: 'no-store' });
    if (!r.ok) return;
    state.history = (await r.json()).jobs || [];
    renderHistory();
  } catch (e) { /* keep the old list */ }
}

function renderHistory() {
  const jobs = state.history;
  const list = $('history');
  $('history-more').hidden = jobs.length <= state.historyShown;
  if (!jobs.length) { list.replaceChildren(el('li', { cls: 'muted', text: 'no jobs yet' })); return; }
  list.replaceChildren(...jobs.slice(0, state.historyShown).map((j) => {
    const b = el('button', { type: 'button', cls: 'history-item' }, [
      el('span', { cls: 'h-name', text: j.name || j.id }),
      el('span', { cls: 'h-words', text: fmt(j.words) + ' words' }),
      el('span', { cls: 'h-sub', text: `${fmtBytes(j.bytes)} · ${j.mode || ''} · ${j.state || ''}` +
        (j.createdAt ? ' · ' + new Date(j.createdAt).toLocaleString() : '') })]);
    b.addEventListener('click', () => openJob(j.id));
    return el('li', {}, [b]);
  }));
}

async function openJob(id) {
  try {
    const r = await fetch('api/jobs/' + encodeURIComponent(id), { cache: 'no-store' });
    const body = await r.json();
    if (!r.ok) { const [t, d] = explain(r.status, body, r.headers.get('Retry-After')); showError(t, d); return; }
    clearError();
    showResult(body, true);
  } catch (e) { showError('Connection lost', 'Could not load the job.'); }
}

function openFromHash() {
  const m = /^#\/jobs\/([^/]+)$/.exec(location.hash);
  if (!m) return;
  const id = decodeURIComponent(m[1]);
  if (!state.shown || state.shown.id !== id) openJob(id);
}

async function loadLimits() {
  try {
    const r = await fetch('api/limits', { cache: 'no-store' });
    if (r.ok) state.maxUpload = (await r.json()).maxUpload || null;
  } catch (e) { /* optional */ }
}

setupChooser();
setupResult();
$('history-more').addEventListener('click', () => { state.historyShown += 20; renderHistory(); });
loadLimits();
connectEvents();
loadHistory();
openFromHash();
