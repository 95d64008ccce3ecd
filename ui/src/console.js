// The engine console (/console on the system listener): asks for the API
// token once (kept in sessionStorage, this tab only), lists the stored specs
// by namespace with the status the engines report (GET /v1/specs), follows
// changes live (GET /v1/specs/watch over fetch streaming: EventSource cannot
// send the Authorization header), draws the selected namespace's graph with
// Mermaid from the specs' ports, shows a spec's document as YAML or JSON and
// lists the durable jobs (GET /v1/jobs). Reads only; changes nothing.
import { stringify } from 'yaml';
import {
  $, h, announce, errorText, clock, readEvents, newest, STALE,
} from './common.js';

const KEY = 'weir-console-token';
const state = { specs: [], head: 0, namespace: null, selected: null, format: 'yaml', changed: new Set(), watch: null };
// A burst of changes asks for several listings, and a namespace picked
// quickly several graphs: only the newest of each lands.
const listings = newest();
const draws = newest();

const token = () => sessionStorage.getItem(KEY);

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { accept: 'application/json', authorization: `Bearer ${token()}`, ...(init.headers ?? {}) } });
  if (response.status === 401) {
    logout('The token was refused: enter it again.');
    throw new Error('unauthorized');
  }
  return response;
}

async function json(path) {
  const response = await api(path);
  const body = await response.json().catch(() => null);
  return { status: response.status, ok: response.ok, body };
}

function logout(message) {
  sessionStorage.removeItem(KEY);
  state.watch?.abort();
  $('#app').hidden = true;
  $('#forget').hidden = true;
  $('#login').hidden = false;
  setLive(false);
  if (message) {
    $('#token-error').textContent = message;
    $('#token').setAttribute('aria-invalid', 'true');
    announce(message, 'error');
  }
  $('#token').focus();
}

function setLive(live) {
  const badge = $('#live');
  badge.textContent = live ? 'live' : 'offline';
  badge.className = `badge ${live ? 'active' : 'inactive'}`;
}

async function loadSpecs() {
  const reply = await listings(json('/v1/specs'));
  if (reply === STALE) return true; // the newer listing draws
  if (!reply.ok) {
    announce(`Could not list the specs: ${errorText(reply)}`, 'error');
    return false;
  }
  state.specs = reply.body.items;
  state.head = reply.body.head ?? state.head;
  const namespaces = [...new Set(state.specs.map((s) => s.namespace))].sort();
  if (!namespaces.includes(state.namespace)) state.namespace = namespaces.find((n) => n !== 'system') ?? namespaces[0] ?? null;
  renderNamespaces(namespaces);
  renderSpecs();
  await renderGraph();
  return true;
}

function renderNamespaces(namespaces) {
  $('#namespaces').replaceChildren(...namespaces.map((ns) => h('button', {
    type: 'button',
    'aria-pressed': String(ns === state.namespace),
    onclick: async () => { state.namespace = ns; renderNamespaces(namespaces); renderSpecs(); await renderGraph(); },
  }, `${ns} (${state.specs.filter((s) => s.namespace === ns).length})`)));
}

const statusOf = (spec) => (typeof spec.status === 'string' ? { state: spec.status } : spec.status ?? { state: 'unknown' });

function renderSpecs() {
  const rows = state.specs.filter((s) => s.namespace === state.namespace)
    .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  $('#specs').replaceChildren(...rows.map((spec) => {
    const status = statusOf(spec);
    const label = status.state ?? status.status ?? 'unknown';
    return h('tr', { class: state.changed.has(spec.id) ? 'changed' : undefined, 'data-name': spec.name },
      h('th', { scope: 'row' }, spec.name ?? spec.id),
      h('td', {}, spec.document?.kind ?? ''),
      h('td', { class: 'num' }, spec.revision),
      h('td', {}, h('span', { class: `badge ${label}`, title: status.message ?? '' }, label),
        status.message ? h('div', { class: 'field-error' }, status.message) : null),
      h('td', {}, clock(spec.updated_at)),
      h('td', {}, h('button', { type: 'button', 'aria-label': `Show the document of ${spec.name}`, onclick: () => showDocument(spec.id) }, 'Document')));
  }));
  state.changed.clear();
  if (state.selected) showDocument(state.selected, false);
}

function showDocument(id, focus = true) {
  const spec = state.specs.find((s) => s.id === id);
  state.selected = spec ? id : null;
  $('#doc-none').hidden = Boolean(spec);
  const text = !spec ? '' : state.format === 'yaml' ? stringify(spec.document) : JSON.stringify(spec.document, null, 2);
  $('#document').textContent = text;
  $('#doc-title').textContent = spec ? `Document of ${spec.namespace}/${spec.name}` : 'Document';
  if (spec && focus) $('#document').focus();
}

/** The namespace's specs as a Mermaid flowchart, a node per spec and an edge per linked port. */
export function mermaidOf(specs) {
  const index = new Map();
  const lines = ['flowchart LR'];
  specs.forEach((spec, i) => {
    index.set(spec.name, i);
    index.set(spec.id, i);
    const label = `${spec.name ?? spec.id}<br/>(${spec.document?.kind ?? '?'})`.replaceAll('"', "'");
    lines.push(`  n${i}["${label}"]`);
  });
  specs.forEach((spec, i) => {
    for (const [port, targets] of Object.entries(spec.document?.ports ?? {})) {
      for (const target of Array.isArray(targets) ? targets : []) {
        const j = index.get(target.name ?? target.id);
        if (j === undefined) continue;
        lines.push(`  n${i} -- "${`${port} → ${target.port ?? 'in'}`.replaceAll('"', "'")}" --> n${j}`);
      }
    }
  });
  return lines.join('\n');
}

/** Fits the graph to the panel's width, or shows it at its own size (scrolling). */
function sizeGraph() {
  const actual = $('#graph-size').getAttribute('aria-pressed') === 'true';
  const svg = document.querySelector('#graph svg');
  if (svg) svg.style.width = actual ? svg.style.maxWidth : '';
}

let graphCount = 0; // each draw renders under its own id
async function renderGraph() {
  const specs = state.specs.filter((s) => s.namespace === state.namespace);
  const source = mermaidOf(specs);
  $('#graph-ns').textContent = state.namespace ? `· ${state.namespace}` : '';
  $('#graph-source').textContent = source;
  if (!window.mermaid) {
    $('#graph').textContent = 'Mermaid did not load.';
    return;
  }
  try {
    graphCount += 1;
    const drawn = await draws(window.mermaid.render(`graph-${graphCount}`, source));
    if (drawn === STALE) return;
    $('#graph').innerHTML = drawn.svg;
    sizeGraph();
    $('#graph').setAttribute('aria-label', `The workflow graph of ${state.namespace}: ${specs.length} specs`);
  } catch (error) {
    $('#graph').textContent = `The graph could not be drawn: ${error.message}`;
  }
}

async function loadJobs() {
  let reply;
  try {
    reply = await json('/v1/jobs?limit=50');
  } catch {
    return;
  }
  const rows = $('#jobs');
  if (!reply.ok) {
    rows.replaceChildren(h('tr', {}, h('td', { colSpan: 7, class: 'empty' }, reply.status === 404 ? 'This engine serves no jobs API.' : `Could not list the jobs: ${errorText(reply)}`)));
    return;
  }
  const items = reply.body.items ?? [];
  rows.replaceChildren(...(items.length ? items.map((job) => h('tr', { 'data-job': job.id },
    h('td', { class: 'mono', title: job.id }, String(job.id).slice(0, 8)),
    h('td', {}, `${job.namespace}/${job.node}`),
    h('td', {}, h('span', { class: `badge ${job.status}` }, job.status)),
    h('td', { class: 'num' }, `${job.attempts}/${job.max_attempts}`),
    h('td', {}, clock(job.created_at)),
    h('td', {}, job.finished_at ? clock(job.finished_at) : '—'),
    h('td', {}, job.error ? (typeof job.error === 'string' ? job.error : job.error.message ?? JSON.stringify(job.error)) : '')))
    : [h('tr', {}, h('td', { colSpan: 7, class: 'empty' }, 'No jobs.'))]));
}

/** Follows the change stream from the listing's head; reconnects from the last event seen. */
async function watch() {
  state.watch?.abort();
  const controller = new AbortController();
  state.watch = controller;
  let reload;
  while (!controller.signal.aborted) {
    try {
      const response = await api(`/v1/specs/watch?after=${state.head}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
      if (response.status === 410) {
        await loadSpecs();
        continue;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      setLive(true);
      await readEvents(response, ({ data }) => {
        const change = JSON.parse(data);
        state.head = change.seq ?? state.head;
        if (change.entity && change.entity !== 'spec') return;
        state.changed.add(change.id);
        const verb = { insert: 'created', update: 'updated', delete: 'deleted' }[change.operation] ?? change.operation;
        announce(`${change.namespace}/${change.name}: ${verb} (revision ${change.revision}).`, 'info');
        // The engines report a changed spec's status a moment later: list now and again shortly.
        clearTimeout(reload);
        loadSpecs();
        reload = setTimeout(() => loadSpecs(), 1000);
      }, controller.signal);
    } catch (error) {
      if (controller.signal.aborted || error.message === 'unauthorized') return;
    }
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function connect() {
  $('#login').hidden = true;
  let listed = false;
  try {
    listed = await loadSpecs();
  } catch {
    return;
  }
  if (!listed) return;
  $('#app').hidden = false;
  $('#forget').hidden = false;
  announce(`Connected: ${state.specs.length} specs.`, 'success');
  watch();
  await loadJobs();
  document.body.dataset.ready = 'true';
}

$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = $('#token').value.trim();
  if (!value) {
    $('#token-error').textContent = 'enter the API token';
    $('#token').setAttribute('aria-invalid', 'true');
    $('#token').focus();
    announce('Nothing was sent: the token is empty.', 'error');
    return;
  }
  $('#token-error').textContent = '';
  $('#token').removeAttribute('aria-invalid');
  sessionStorage.setItem(KEY, value);
  $('#token').value = '';
  connect();
});
$('#forget').addEventListener('click', () => { logout(); announce('The token was forgotten.', 'info'); });
for (const format of ['yaml', 'json']) {
  $(`#as-${format}`).addEventListener('click', () => {
    state.format = format;
    $('#as-yaml').setAttribute('aria-pressed', String(format === 'yaml'));
    $('#as-json').setAttribute('aria-pressed', String(format === 'json'));
    if (state.selected) showDocument(state.selected, false);
  });
}
$('#graph-size').addEventListener('click', (event) => {
  event.target.setAttribute('aria-pressed', String(event.target.getAttribute('aria-pressed') !== 'true'));
  sizeGraph();
});
setInterval(() => { if (!$('#app').hidden) loadJobs(); }, 3000);

window.mermaid?.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral', flowchart: { htmlLabels: false } });
if (token()) connect();
else {
  $('#login').hidden = false;
  $('#token').focus();
}
