// raftwc web page: upload a file, follow the shards live, show the result, the cluster and the history.
// Plain JavaScript, no external assets. All server data is inserted with textContent (never as HTML).
'use strict';

const $ = (id) => document.getElementById(id);
const state = { file: null, busy: false, jobId: null, pollTimer: null, maxUpload: null, events: null };

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
function progressBar(fraction, done) {
  const fill = el('div', { cls: 'bar-fill' + (done ? ' done' : '') });
  fill.style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 100) + '%';
  return el('div', { cls: 'bar' }, [fill]);
}
function newJobId() {
  const b = new Uint8Array(12);
  (window.crypto || window.msCrypto).getRandomValues(b);
  return 'web-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---- errors -------------------------------------------------------------------------------------
function showError(title, detail) {
  const box = $('error');
  box.replaceChildren(el('strong', { text: title }), document.createTextNode(detail || ''));
  box.hidden = false;
}
function clearError() { $('error').hidden = true; }

function explain(status, body, retryAfter) {
  const msg = body && typeof body.message === 'string' ? body.message : '';
  switch (status) {
    case 0: return ['Connection lost', 'The server closed the connection before answering. ' +
      (state.maxUpload && state.file && state.file.size > state.maxUpload ? 'The file is larger than the upload limit.' : 'Is the node running?')];
    case 400: return ['The request was rejected (400)', msg || 'The server could not read this upload.'];
    case 404: return ['Not found (404)', msg];
    case 413: return ['File too large (413)', msg || 'The file exceeds the server\'s upload limit.'];
    case 429: return ['Too many requests (429)', msg + (retryAfter ? ` Try again in ${retryAfter} s.` : '')];
    case 503: return ['Cluster not ready (503)', (msg || 'No leader is available right now.') +
      (retryAfter ? ` Retry in ${retryAfter} s.` : ' Retry in a moment.')];
    case 504: return ['Timed out (504)', msg || 'The cluster did not finish in time.'];
    default: return [`Error ${status}`, msg || 'Unexpected answer from the server.'];
  }
}

// ---- file choice --------------------------------------------------------------------------------
function chooseFile(file) {
  state.file = file || null;
  $('file-name').textContent = file ? `${file.name} · ${fmtBytes(file.size)}` : '';
  $('count-btn').disabled = !file || state.busy;
  clearError();
  if (file && state.maxUpload && file.size > state.maxUpload) {
    showError('File too large', `${file.name} is ${fmtBytes(file.size)}; the server accepts at most ${fmtBytes(state.maxUpload)}.`);
    $('count-btn').disabled = true;
  } else if (file && !state.busy) {
    upload();
  }
}

function setupDrop() {
  const drop = $('drop');
  $('file').addEventListener('change', (e) => chooseFile(e.target.files[0]));
  ['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); }));
  ['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove('over'); }));
  drop.addEventListener('drop', (e) => { if (e.dataTransfer.files.length) chooseFile(e.dataTransfer.files[0]); });
  $('count-btn').addEventListener('click', () => { if (state.file && !state.busy) upload(); });
}

// ---- upload -------------------------------------------------------------------------------------
function setProgress(text, fraction) {
  $('progress').hidden = false;
  $('progress-text').textContent = text;
  $('progress-pct').textContent = fraction == null ? '' : Math.round(fraction * 100) + '%';
  const bar = $('progress-bar');
  bar.style.width = (fraction == null ? 100 : Math.round(fraction * 100)) + '%';
  bar.classList.toggle('done', fraction === 1);
}

function upload() {
  const file = state.file;
  if (!file) return;
  state.busy = true;
  state.jobId = newJobId();
  $('count-btn').disabled = true;
  clearError();
  $('result').dataset.state = 'uploading';
  setProgress('Uploading ' + file.name, 0);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', 'api/count?mode=' + encodeURIComponent($('mode').value));
  xhr.setRequestHeader('X-Filename', encodeURIComponent(file.name));
  xhr.setRequestHeader('X-Job-Id', state.jobId);
  xhr.setRequestHeader('Content-Type', 'application/octet-stream');
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) setProgress('Uploading ' + file.name, e.total ? e.loaded / e.total : 1); };
  xhr.upload.onload = () => { setProgress('Stored · counting on the cluster…', null); };
  xhr.onload = () => {
    finishUpload();
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
    if (xhr.status === 200 && body) {
      setProgress('Done', 1);
      showResult(body);
      loadHistory();
    } else {
      $('progress').hidden = true;
      $('result').dataset.state = 'error';
      const [t, d] = explain(xhr.status, body, xhr.getResponseHeader('Retry-After'));
      showError(t, d);
    }
  };
  xhr.onerror = () => {
    finishUpload();
    $('progress').hidden = true;
    $('result').dataset.state = 'error';
    const [t, d] = explain(0, null, null);
    showError(t, d);
  };
  xhr.send(file);
  pollJob(state.jobId);
}

function finishUpload() {
  state.busy = false;
  clearTimeout(state.pollTimer);
  state.pollTimer = null;
  $('live-card').hidden = true;
  $('count-btn').disabled = !state.file;
}

// While the POST is in flight, follow the job's shards: from the event stream (every node reports every
// job), or by polling where EventSource is missing.
function pollJob(id) {
  if (state.events) return;
  const tick = async () => {
    if (!state.busy || state.jobId !== id) return;
    try {
      const r = await fetch('api/jobs/' + encodeURIComponent(id), { cache: 'no-store' });
      if (r.ok && state.busy && state.jobId === id) renderLive(await r.json());
    } catch (e) { /* transient: keep polling */ }
    if (state.busy && state.jobId === id) state.pollTimer = setTimeout(tick, 300);
  };
  state.pollTimer = setTimeout(tick, 300);
}

function renderLive(job) {
  const shards = Array.isArray(job.shards) ? job.shards : [];
  $('live-card').hidden = false;
  $('live-state').textContent = job.state || '';
  const tbody = $('live-table').tBodies[0];
  tbody.replaceChildren(...shards.map((s) => {
    const p = typeof s.progress === 'number' ? s.progress : (s.state === 'done' ? 1 : 0);
    const bar = el('td', {}, [progressBar(p, s.state === 'done')]);
    return el('tr', {}, [td(shortId(s.node), 'node'), td(fmt(s.offset), 'num'), td(fmtBytes(s.length), 'num'),
      td(fmt(s.words), 'num'), bar]);
  }));
  if (job.state === 'storing' && !shards.length) {
    tbody.replaceChildren(el('tr', {}, [el('td', { colspan: '5', cls: 'muted', text: 'replicating the file to the cluster…' })]));
  }
}

// ---- result -------------------------------------------------------------------------------------
function showResult(r) {
  const card = $('result');
  card.hidden = false;
  $('res-name').textContent = r.name || '';
  $('res-words').textContent = fmt(r.words);
  $('res-lines').textContent = fmt(r.lines);
  $('res-chars').textContent = fmt(r.chars);  // absent or null (an older node took part): –
  $('res-bytes').textContent = fmt(r.bytes);
  $('res-maxline').textContent = fmt(r.maxLineWidth);
  $('res-unique').textContent = fmt(r.uniqueWords);

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
  card.dataset.state = 'done';
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
    if (state.busy && job.id === state.jobId) renderLive(job);
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
}

let historyTimer = null;
function scheduleHistory() {
  clearTimeout(historyTimer);
  historyTimer = setTimeout(loadHistory, 200);
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
  const alive = members.filter((m) => m.alive).length;
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
    const info = el('div', {}, [el('span', { cls: 'member-id', text: m.id }),
      el('span', { cls: 'member-addr', text: `${m.http || ''}${m.id === c.id ? ' · this node' : ''}${m.voter === false ? ' · non-voter' : ''}` +
        (typeof m.lastContactMs === 'number' && m.id !== c.id ? ` · seen ${m.lastContactMs} ms ago` : '') })]);
    // A member not heard from is shown as down, in words and colour, not by its last known role.
    const up = m.alive || m.id === c.id;
    return el('li', { title: up ? 'alive' : 'not responding' },
      [el('span', { cls: 'dot' + (up ? ' alive' : '') }), info,
        el('span', { cls: 'role ' + (up ? (m.role || '') : 'down'), text: up ? (m.role || '?') : 'down' })]);
  }));
}

// ---- history ------------------------------------------------------------------------------------
async function loadHistory() {
  try {
    const r = await fetch('api/jobs', { cache: 'no-store' });
    if (!r.ok) return;
    const jobs = (await r.json()).jobs || [];
    const list = $('history');
    if (!jobs.length) { list.replaceChildren(el('li', { cls: 'muted', text: 'no jobs yet' })); return; }
    list.replaceChildren(...jobs.slice(0, 50).map((j) => {
      const b = el('button', { type: 'button', title: 'show this result' }, [
        el('span', { cls: 'h-name', text: j.name || j.id }),
        el('span', { cls: 'h-words', text: fmt(j.words) + ' words' }),
        el('span', { cls: 'h-sub', text: `${fmtBytes(j.bytes)} · ${j.mode || ''} · ${j.state || ''}` +
          (j.createdAt ? ' · ' + new Date(j.createdAt).toLocaleString() : '') })]);
      b.addEventListener('click', () => openJob(j.id));
      return el('li', {}, [b]);
    }));
  } catch (e) { /* keep the old list */ }
}

async function openJob(id) {
  try {
    const r = await fetch('api/jobs/' + encodeURIComponent(id), { cache: 'no-store' });
    const body = await r.json();
    if (!r.ok) { const [t, d] = explain(r.status, body, r.headers.get('Retry-After')); showError(t, d); return; }
    clearError();
    showResult(body);
    $('result').scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (e) { showError('Connection lost', 'Could not load the job.'); }
}

async function loadLimits() {
  try {
    const r = await fetch('api/limits', { cache: 'no-store' });
    if (r.ok) state.maxUpload = (await r.json()).maxUpload || null;
  } catch (e) { /* optional */ }
}

setupDrop();
loadLimits();
connectEvents();
loadHistory();
