// The Compiler pane (/compiler): builds `{script: {name, source}, settings}`,
// checks it against GET /api/compile/schema, submits it (POST /api/compile
// → 202 {job_id, status}), then polls GET /api/jobs/:id until the job is
// final and shows its log and manifest (artifacts, pass timings, diagnostics
// linked to the script's lines) and, when the script was executed, what it
// printed (the run.txt artifact). Talks only to /api/compile and /api/jobs.
import {
  $, h, request, errorText, announce, loadSchema, schemaErrors, showErrors, clearErrors, bytes, clock,
  offerSamples,
} from './common.js';

const FINAL = new Set(['success', 'failed', 'cancelled']);
const POLL_MS = 400;
const form = $('#compile');
let validate = null;
let polling = 0;
/** Whether the server's schema offers `settings.execute`. */
let executeOffered = false;

function body() {
  return {
    script: { name: $('#script-name').value, source: $('#source').value },
    settings: {
      passes: [...form.querySelectorAll('input[name=pass]:checked')].map((i) => i.value),
      strip_docstrings: $('#strip_docstrings').checked,
      strip_comments: $('#strip_comments').checked,
      ...(executeOffered ? { execute: $('#execute').checked } : {}),
    },
  };
}

const samples = offerSamples();

$('#upload').addEventListener('change', async (event) => {
  const [file] = event.target.files;
  if (!file) return;
  (await samples)();
  $('#source').value = await file.text();
  $('#script-name').value = file.name;
  announce(`Loaded ${file.name} (${bytes(file.size)}).`, 'info');
});

async function submit(event) {
  event.preventDefault();
  const payload = body();
  const errors = [];
  if (payload.script.source.trim() === '') errors.push({ pointer: '/script/source', message: 'write, paste, pick or upload a script' });
  if (payload.settings.passes.length === 0) errors.push({ pointer: '/settings/passes', message: 'pick at least one pass' });
  if (validate && !validate(payload)) errors.push(...schemaErrors(validate));
  if (!validate) {
    announce('The request cannot be checked: the schema did not load. Reload the page.', 'error');
    return;
  }
  if (errors.length) {
    showErrors(form, dedupe(errors));
    announce(`Nothing was sent: ${errors.length} ${errors.length === 1 ? 'problem' : 'problems'} to fix.`, 'error');
    return;
  }
  clearErrors(form);
  $('#submit').disabled = true;
  const reply = await request('POST', '/api/compile', payload);
  $('#submit').disabled = false;
  if (!reply.ok) {
    const details = reply.body?.error?.details;
    if (reply.status === 400 && Array.isArray(details)) {
      showErrors(form, details.map((d) => ({ pointer: String(d.pointer ?? '').replace(/^\/body/, ''), message: d.message })));
    }
    announce(`The compile was refused: ${errorText(reply)}`, 'error');
    return;
  }
  startJob(reply.body, payload.script.source);
}

function dedupe(errors) {
  const seen = new Set();
  return errors.filter((e) => !seen.has(`${e.pointer} ${e.message}`) && seen.add(`${e.pointer} ${e.message}`));
}

function startJob(job, source) {
  polling += 1;
  $('#job-none').hidden = true;
  $('#job').hidden = false;
  $('#manifest').hidden = true;
  $('#job-error').textContent = '';
  $('#job-id').textContent = job.job_id;
  $('#job-log').replaceChildren();
  renderListing(source, []);
  setStatus(job.status, job);
  announce(`Job ${job.job_id} submitted: ${job.status}.`, 'info');
  poll(job.job_id, polling, job.status);
}

function setStatus(status, job) {
  const badge = $('#job-status');
  badge.textContent = status;
  badge.className = `badge ${status}`;
  $('#job-attempts').textContent = job.attempts ? `attempt ${job.attempts}` : '';
  $('#job-log').append(h('li', {}, `${clock()}  ${status}`));
}

async function poll(id, generation, last) {
  while (generation === polling) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const reply = await request('GET', `/api/jobs/${encodeURIComponent(id)}`);
    if (generation !== polling) return;
    if (!reply.ok) {
      announce(`Could not read job ${id}: ${errorText(reply)}`, 'error');
      return;
    }
    const job = reply.body;
    if (job.status !== last) {
      setStatus(job.status, job);
      last = job.status;
    }
    if (FINAL.has(job.status)) {
      finish(job);
      return;
    }
  }
}

function finish(job) {
  if (job.error) $('#job-error').textContent = typeof job.error === 'string' ? job.error : (job.error.message ?? JSON.stringify(job.error));
  if (job.manifest) renderManifest(job.job_id, job.manifest);
  const failedCompile = job.manifest?.status === 'failed';
  if (job.status === 'success' && !failedCompile) announce(`Job ${job.job_id} succeeded.`, 'success');
  else announce(`Job ${job.job_id} ${job.status}${failedCompile ? ': the script did not compile' : ''}.`, 'error');
}

function renderManifest(id, manifest) {
  $('#manifest').hidden = false;
  const status = $('#manifest-status');
  status.textContent = manifest.status;
  status.className = `badge ${manifest.status}`;
  const input = manifest.input ?? {};
  $('#manifest-input').textContent = `${input.name ?? ''} · ${bytes(input.size ?? 0)} · sha256 ${String(input.sha256 ?? '').slice(0, 16)}…`;
  const artifacts = manifest.artifacts ?? [];
  $('#artifacts').replaceChildren(...(artifacts.length ? artifacts.map((a) => h('tr', {},
    h('td', {}, h('a', { href: `/api/jobs/${encodeURIComponent(id)}/artifacts/${encodeURIComponent(a.path)}`, download: a.path }, a.path)),
    h('td', {}, a.pass ?? ''),
    h('td', { class: 'num' }, bytes(a.size)),
    h('td', { class: 'mono', title: a.sha256 }, `${String(a.sha256).slice(0, 12)}…`))) : [h('tr', {}, h('td', { colSpan: 4, class: 'empty' }, 'No artifacts.'))]));
  $('#pass-times').replaceChildren(...(manifest.passes ?? []).map((p) => {
    const micros = p.time_us ?? p.micros ?? 0;
    return h('tr', {}, h('td', {}, p.name), h('td', {}, h('span', { class: `badge ${p.status ?? 'ok'}` }, p.status ?? 'ok')),
      h('td', { class: 'num' }, micros >= 1000 ? `${(micros / 1000).toFixed(2)} ms` : `${micros} µs`));
  }));
  const diagnostics = manifest.diagnostics ?? [];
  $('#diagnostics').replaceChildren(...(diagnostics.length ? diagnostics.map((d) => h('li', {},
    h('span', { class: `badge ${d.severity === 'error' ? 'failed' : 'queued'}` }, d.severity), ' ',
    h('a', { href: `#line-${d.line}`, onclick: () => focusLine(d.line) }, `line ${d.line}, column ${d.col}`), `: ${d.message}`))
    : [h('li', { class: 'empty' }, 'No diagnostics.')]));
  renderListing($('#listing').dataset.source ?? '', diagnostics.map((d) => d.line));
  renderRun(id, manifest.run);
}

/** The sandbox run of an executed script: its outcome, then run.txt. */
async function renderRun(id, run) {
  $('#run').hidden = !run;
  if (!run) return;
  const ok = run.exit_code === 0 && !run.timed_out;
  const status = $('#run-status');
  status.textContent = run.timed_out ? 'timed out' : `exit ${run.exit_code}`;
  status.className = `badge ${ok ? 'success' : 'failed'}`;
  const flags = [run.oom_killed && 'out of memory', run.truncated && 'output cut at the limit'].filter(Boolean);
  $('#run-summary').textContent = `${run.duration_ms} ms in the sandbox${flags.length ? ` · ${flags.join(' · ')}` : ''}`;
  const reply = await fetch(`/api/jobs/${encodeURIComponent(id)}/artifacts/run.txt`);
  $('#run-output').textContent = reply.ok ? await reply.text() : `run.txt could not be read (HTTP ${reply.status})`;
}

function renderListing(source, flagged) {
  const listing = $('#listing');
  listing.dataset.source = source;
  const lines = source.split('\n');
  listing.replaceChildren(...lines.map((line, i) => h('li', {
    id: `line-${i + 1}`, tabindex: '-1', class: flagged.includes(i + 1) ? 'flagged' : undefined,
  }, line)));
}

function focusLine(line) {
  const target = document.getElementById(`line-${line}`);
  if (!target) return;
  for (const li of document.querySelectorAll('.source li.focus')) li.classList.remove('focus');
  target.classList.add('focus');
  target.focus();
}

form.addEventListener('submit', submit);
// Ctrl+Enter in the source submits too (Enter itself adds a line there).
$('#source').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
});

await samples;
try {
  const loaded = await loadSchema('/api/compile/schema');
  validate = loaded.validate;
  // Offer `execute` only when this server's schema has it.
  executeOffered = Boolean(loaded.schema.properties?.settings?.properties?.execute);
  if (!executeOffered) {
    $('#execute').checked = false;
    $('#execute').disabled = true;
    $('#execute-hint').textContent = '(not offered by this server)';
  }
} catch (error) {
  announce(error.message, 'error');
}
document.body.dataset.ready = 'true';
