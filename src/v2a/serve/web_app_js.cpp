// app.js: the page logic in plain JavaScript (no framework, no build step). Every label carries a
// request id, so a retried POST after a network error is recognised by the server, not duplicated.
#include "v2a/serve/web_assets.h"

namespace v2a::serve::web {

extern const char kAppJs[] = R"JS('use strict';
const $ = (id) => document.getElementById(id);
const state = { annotator: localStorage.getItem('v2a.annotator') || '', info: null, tab: 'rate',
                rate: null, rateShownAt: 0, compare: null, compareShownAt: 0, busy: false, demoTimer: null };

function requestId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

async function api(method, path, body) {
  const options = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const res = await fetch(path, options);
  let data = {};
  try { data = await res.json(); } catch (e) { data = {}; }
  if (!res.ok) {
    const err = new Error(data.error || ('HTTP ' + res.status));
    err.status = res.status;
    throw err;
  }
  return data;
}

function q(path) { return path + (path.includes('?') ? '&' : '?') + 'annotator=' + encodeURIComponent(state.annotator); }
function setStatus(id, text, isError) { const el = $(id); el.textContent = text || ''; el.classList.toggle('error', !!isError); }

// ---------------------------------------------------------------- tabs and sign-in
function showTab(tab) {
  if (!['rate', 'compare', 'agreement', 'demo'].includes(tab)) tab = 'rate';
  state.tab = tab;
  document.querySelectorAll('#tabs a').forEach((a) => a.classList.toggle('active', a.dataset.tab === tab));
  const signedIn = !!state.annotator;
  $('login').hidden = signedIn;
  $('who').hidden = !signedIn;
  $('who-name').textContent = state.annotator;
  document.querySelectorAll('section.tab').forEach((s) => { s.hidden = !signedIn || s.id !== tab; });
  document.querySelectorAll('video').forEach((v) => { if (!v.closest('section').id || v.closest('section').id !== tab) v.pause(); });
  if (!signedIn) { $('login-name').focus(); return; }
  if (tab === 'rate') loadRate();
  if (tab === 'compare') loadCompare();
  if (tab === 'agreement') loadAgreement();
  if (tab === 'demo') loadDemo();
}

async function login(event) {
  event.preventDefault();
  const name = $('login-name').value.trim();
  try {
    const out = await api('POST', '/api/login', { annotator: name, token: $('login-token').value || null });
    state.annotator = out.annotator;
    localStorage.setItem('v2a.annotator', state.annotator);
    setStatus('login-error', '');
    showTab(state.tab);
  } catch (e) { setStatus('login-error', e.message, true); }
}

function signOut() {
  state.annotator = '';
  localStorage.removeItem('v2a.annotator');
  showTab(state.tab);
}

function handleAuth(e, statusId) {
  if (e.status === 401) { signOut(); setStatus('login-error', e.message, true); return; }
  setStatus(statusId, e.message, true);
}

function drawProgress(prefix, p, doneWord) {
  const done = prefix === 'rate' ? p.rated : p.compared;
  const mine = done + p.remaining;
  $(prefix + '-bar').style.width = (mine ? (100 * done / mine) : 100) + '%';
  $(prefix + '-progress').textContent = done + ' of ' + mine + ' ' + doneWord + ' by you · ' +
      p.complete + ' of ' + p.total + ' have ' + (p.raters_per_clip || p.raters_per_pair) + ' raters';
}

// ---------------------------------------------------------------- Rate
function showClip(clip) {
  state.rate = clip;
  $('rate-done').hidden = true;
  $('rate-card').hidden = false;
  $('rate-card').dataset.clipId = clip.id;
  $('rate-video').src = clip.media;
  $('rate-caption').textContent = clip.caption ? '\u201c' + clip.caption + '\u201d' : '';
  document.querySelectorAll('#rate .choice').forEach((b) => b.classList.remove('picked'));
  state.rateShownAt = performance.now();
}

function showRateDone() {
  state.rate = null;
  $('rate-card').hidden = true;
  $('rate-card').dataset.clipId = '';
  $('rate-video').removeAttribute('src');
  $('rate-done').hidden = false;
}

async function loadRate() {
  try {
    const out = await api('POST', '/api/rate/next', { annotator: state.annotator });
    drawProgress('rate', out.progress, 'rated');
    if (out.done) showRateDone(); else showClip(out.clip);
  } catch (e) { handleAuth(e, 'rate-status'); }
}

async function rate(label) {
  if (!state.rate || state.busy) return;
  state.busy = true;
  const clip = state.rate;
  const body = { annotator: state.annotator, clip_id: clip.id, label, request_id: requestId(),
                 response_ms: Math.round(performance.now() - state.rateShownAt) };
  const button = document.querySelector('#rate .choice[data-label="' + label + '"]');
  if (button) button.classList.add('picked');
  document.querySelectorAll('#rate .choice').forEach((b) => { b.disabled = true; });
  try {
    // One retry with the same request id: if the first attempt was committed, the server says so.
    try { await api('POST', '/api/labels', body); }
    catch (e) { if (e.status) throw e; await api('POST', '/api/labels', body); }
    setStatus('rate-status', 'Saved: ' + clip.id + ' \u2192 ' + label);
    await loadRate();
  } catch (e) { handleAuth(e, 'rate-status'); }
  finally {
    document.querySelectorAll('#rate .choice').forEach((b) => { b.disabled = false; });
    state.busy = false;
  }
}

async function rateSkip() {
  if (!state.rate || state.busy) return;
  state.busy = true;
  try {
    await api('POST', '/api/rate/skip', { annotator: state.annotator, clip_id: state.rate.id });
    setStatus('rate-status', 'Skipped ' + state.rate.id);
    await loadRate();
  } catch (e) { handleAuth(e, 'rate-status'); }
  finally { state.busy = false; }
}

async function rateUndo() {
  if (state.busy) return;
  state.busy = true;
  try {
    const out = await api('POST', '/api/labels/undo', { annotator: state.annotator });
    setStatus('rate-status', 'Undone: ' + out.undone.clip_id + ' (' + out.undone.label + ') \u2014 rate it again');
    drawProgress('rate', out.progress, 'rated');
    if (out.clip) showClip(out.clip);
  } catch (e) { handleAuth(e, 'rate-status'); }
  finally { state.busy = false; }
}

// ---------------------------------------------------------------- Compare
function showPair(out) {
  state.compare = { left: out.left, right: out.right };
  $('compare-done').hidden = true;
  $('compare-card').hidden = false;
  $('compare-card').dataset.left = out.left.id;
  $('compare-card').dataset.right = out.right.id;
  $('compare-left').src = out.left.media;
  $('compare-right').src = out.right.media;
  $('compare-caption').textContent = out.left.caption ? '\u201c' + out.left.caption + '\u201d' : out.group;
  state.compareShownAt = performance.now();
}

async function loadCompare() {
  try {
    const out = await api('POST', '/api/compare/next', { annotator: state.annotator });
    drawProgress('compare', out.progress, 'judged');
    if (out.done) {
      state.compare = null;
      $('compare-card').hidden = true;
      $('compare-done').hidden = false;
      if (out.progress.total === 0)
        $('compare-done-text').textContent = 'No video has two versions. Register versions as <clip>__<version> ids (e.g. <clip>__s1, <clip>__s2).';
    } else showPair(out);
  } catch (e) { handleAuth(e, 'compare-status'); }
}

async function compare(choice) {
  if (!state.compare || state.busy) return;
  state.busy = true;
  const body = { annotator: state.annotator, left: state.compare.left.id, right: state.compare.right.id, choice,
                 request_id: requestId(), response_ms: Math.round(performance.now() - state.compareShownAt) };
  try {
    try { await api('POST', '/api/comparisons', body); }
    catch (e) { if (e.status) throw e; await api('POST', '/api/comparisons', body); }
    setStatus('compare-status', 'Saved: ' + (choice === 'tie' ? 'tie' : (choice === 'left' ? 'A' : 'B') + ' is better'));
    await loadCompare();
  } catch (e) { handleAuth(e, 'compare-status'); }
  finally { state.busy = false; }
}

async function compareSkip() {
  if (!state.compare || state.busy) return;
  state.busy = true;
  try {
    await api('POST', '/api/compare/skip', { annotator: state.annotator, left: state.compare.left.id, right: state.compare.right.id });
    await loadCompare();
  } catch (e) { handleAuth(e, 'compare-status'); }
  finally { state.busy = false; }
}

async function compareUndo() {
  if (state.busy) return;
  state.busy = true;
  try {
    const out = await api('POST', '/api/comparisons/undo', { annotator: state.annotator });
    setStatus('compare-status', 'Undone the last comparison \u2014 judge it again');
    drawProgress('compare', out.progress, 'judged');
    if (out.left) showPair(out);
  } catch (e) { handleAuth(e, 'compare-status'); }
  finally { state.busy = false; }
}

// ---------------------------------------------------------------- Agreement
function cell(text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td; }
function kappa(k) { return k === null || k === undefined ? '\u2014' : k.toFixed(3); }
function fillTable(id, rows, toCells) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren();
  for (const r of rows) { const tr = document.createElement('tr'); toCells(r).forEach((c) => tr.appendChild(c)); body.appendChild(tr); }
}

async function loadAgreement() {
  try {
    const a = await api('GET', '/api/agreement');
    const labels = a.annotators.reduce((n, x) => n + x.labels, 0);
    const stats = [[kappa(a.fleiss_kappa), "Fleiss' \u03ba over " + a.fleiss_clips + ' clips'],
                   [labels, 'labels'], [a.annotators.length, 'annotators'], [a.comparisons, 'A/B comparisons']];
    $('agreement-stats').replaceChildren(...stats.map(([v, t]) => {
      const d = document.createElement('div'); d.className = 'stat';
      const b = document.createElement('b'); b.textContent = v; const s = document.createElement('span'); s.textContent = t;
      d.append(b, s); return d;
    }));
    fillTable('agreement-pairs', a.cohen_kappa, (p) => [cell(p.a), cell(p.b), cell(p.shared, 'num'), cell(kappa(p.kappa), 'num')]);
    fillTable('agreement-clips', a.clips, (c) => {
      const bar = document.createElement('td'); const mini = document.createElement('div'); mini.className = 'mini';
      for (const [k, cls] of [['good', 'g'], ['medium', 'm'], ['bad', 'b']]) {
        const s = document.createElement('div'); s.className = cls; s.style.width = (c.total ? 100 * c[k] / c.total : 0) + '%'; mini.appendChild(s);
      }
      bar.appendChild(mini);
      return [cell(c.clip_id), cell(c.good, 'num'), cell(c.medium, 'num'), cell(c.bad, 'num'), cell(c.total + ' / ' + a.raters_per_clip, 'num'), bar];
    });
    fillTable('agreement-ab', a.pairs, (p) => [cell(p.a), cell(p.b), cell(p.a_wins, 'num'), cell(p.ties, 'num'), cell(p.b_wins, 'num')]);
  } catch (e) { if (e.status === 401) signOut(); }
}

// ---------------------------------------------------------------- Demo
function loadDemo() {
  const d = state.info && state.info.demo;
  $('demo-disabled').hidden = !!(d && d.enabled);
  $('demo-form').hidden = !(d && d.enabled);
  if (d && d.enabled) {
    $('demo-limits').textContent = 'Up to ' + Math.round(d.max_upload_bytes / 1048576) + ' MB and ' + d.max_upload_seconds +
        ' s; the model generates ' + d.duration + ' s of audio. Steps up to ' + d.max_steps + '.';
    $('demo-steps').max = d.max_steps;
  }
}

async function demoSubmit(event) {
  event.preventDefault();
  const file = $('demo-video').files[0];
  if (!file) return;
  const form = new FormData();
  form.append('video', file);
  form.append('prompt', $('demo-prompt').value);
  form.append('negative', $('demo-negative').value);
  form.append('seed', $('demo-seed').value);
  form.append('steps', $('demo-steps').value);
  form.append('cfg', $('demo-cfg').value);
  $('demo-submit').disabled = true;
  $('demo-result').hidden = true;
  setStatus('demo-status', 'Uploading\u2026');
  try {
    const res = await fetch('/api/demo/jobs', { method: 'POST', body: form, headers: { 'X-V2A-Request': '1' }, credentials: 'same-origin' });
    const job = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(job.error || ('HTTP ' + res.status));
    pollJob(job.id);
  } catch (e) { setStatus('demo-status', e.message, true); $('demo-submit').disabled = false; }
}

async function pollJob(id) {
  try {
    const job = await api('GET', '/api/demo/jobs/' + id);
    $('demo-progress-row').hidden = false;
    $('demo-bar').style.width = (job.steps ? 100 * job.step / job.steps : 0) + '%';
    $('demo-progress').textContent = job.state + ' \u00b7 step ' + job.step + ' of ' + job.steps;
    if (job.state === 'done') {
      setStatus('demo-status', 'Generated in ' + job.seconds.toFixed(1) + ' s (seed ' + job.seed + ', cfg ' + job.cfg + ')');
      $('demo-output').src = job.result;
      $('demo-download').href = job.download;
      $('demo-result').hidden = false;
      $('demo-submit').disabled = false;
      return;
    }
    if (job.state === 'failed') { setStatus('demo-status', job.error, true); $('demo-submit').disabled = false; return; }
    setStatus('demo-status', job.state === 'queued' ? 'Waiting for the model\u2026' : 'Generating\u2026');
    state.demoTimer = setTimeout(() => pollJob(id), 500);
  } catch (e) { setStatus('demo-status', e.message, true); $('demo-submit').disabled = false; }
}

// ---------------------------------------------------------------- keys and start
document.addEventListener('keydown', (event) => {
  const t = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
  const k = event.key.toLowerCase();
  if (state.tab === 'rate') {
    const label = { '1': 'good', '2': 'medium', '3': 'bad' }[k];
    if (label) { event.preventDefault(); rate(label); }
    else if (k === 's') { event.preventDefault(); rateSkip(); }
    else if (k === 'u') { event.preventDefault(); rateUndo(); }
  } else if (state.tab === 'compare') {
    const choice = { a: 'left', arrowleft: 'left', b: 'right', arrowright: 'right', t: 'tie' }[k];
    if (choice) { event.preventDefault(); compare(choice); }
    else if (k === 's') { event.preventDefault(); compareSkip(); }
    else if (k === 'u') { event.preventDefault(); compareUndo(); }
  }
});

document.querySelectorAll('#rate .choice').forEach((b) => b.addEventListener('click', () => rate(b.dataset.label)));
document.querySelectorAll('#compare .choice').forEach((b) => b.addEventListener('click', () => compare(b.dataset.choice)));
$('rate-skip').addEventListener('click', rateSkip);
$('rate-undo').addEventListener('click', rateUndo);
$('rate-undo-done').addEventListener('click', rateUndo);
$('compare-skip').addEventListener('click', compareSkip);
$('compare-undo').addEventListener('click', compareUndo);
$('agreement-refresh').addEventListener('click', loadAgreement);
$('login-form').addEventListener('submit', login);
$('sign-out').addEventListener('click', signOut);
$('demo-form').addEventListener('submit', demoSubmit);
window.addEventListener('hashchange', () => showTab(location.hash.slice(1)));

(async () => {
  try { state.info = await api('GET', '/api/info'); } catch (e) { state.info = null; }
  $('login-token-row').hidden = !(state.info && state.info.token_required);
  showTab(location.hash.slice(1) || 'rate');
})();
)JS";

}  // namespace v2a::serve::web
