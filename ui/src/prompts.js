// The Prompt Registry pane (/prompts): a paged list filtered by name prefix,
// and one form to create or edit a PromptPair, checked before sending
// against the schema the server enforces (GET /api/prompts/schema). Talks
// only to /api/prompts.
import {
  $, h, request, errorText, announce, loadSchema, schemaErrors, showErrors, clearErrors, newest, STALE,
} from './common.js';

const FIELDS = ['name', 'description', 'prompt_a', 'prompt_b', 'model', 'temperature', 'max_tokens'];
const NUMBERS = new Set(['temperature', 'max_tokens']);

const state = {
  validate: null,
  /** Cursors of the pages seen before this one (a stack), and this page's. */
  previous: [],
  cursor: '',
  next: null,
  /** The record being edited, or null when creating. */
  editing: null,
  /** The newer record a 409 showed. */
  newer: null,
};

const form = $('#editor');
const listings = newest();

/** The form's values as the API's body: numbers as numbers, empty fields left out. */
function formBody() {
  const body = {};
  for (const field of FIELDS) {
    const raw = $(`#${field}`).value;
    if (raw.trim() === '') continue;
    body[field] = NUMBERS.has(field) ? Number(raw) : raw;
  }
  return body;
}

function fill(record) {
  for (const field of FIELDS) $(`#${field}`).value = record?.[field] ?? '';
  $('#revision').value = record?.revision ?? '';
}

function startEditing(record) {
  state.editing = record;
  fill(record);
  clearErrors(form);
  hideConflict();
  $('#form-title').textContent = record ? `Edit “${record.name}”` : 'New PromptPair';
  $('#save').textContent = record ? 'Save changes' : 'Create';
  $('#name').focus();
}

async function loadPage(cursor = state.cursor) {
  const size = $('#page-size').value;
  const query = new URLSearchParams({ limit: size });
  const prefix = $('#prefix').value;
  if (prefix) query.set('prefix', prefix);
  if (cursor) query.set('cursor', cursor);
  // Replies can arrive out of order (a page-size change, then a filter):
  // only the newest request's answer may draw the list.
  const reply = await listings(request('GET', `/api/prompts?${query}`));
  if (reply === STALE) return;
  if (!reply.ok) {
    announce(`Could not list the PromptPairs: ${errorText(reply)}`, 'error');
    return;
  }
  state.cursor = cursor;
  state.next = reply.body.next_cursor;
  renderRows(reply.body.items);
  $('#prev').disabled = state.previous.length === 0;
  $('#next').disabled = !state.next;
  $('#page-label').textContent = `Page ${state.previous.length + 1}`;
}

function renderRows(items) {
  const rows = $('#rows');
  rows.replaceChildren();
  if (items.length === 0) {
    rows.append(h('tr', {}, h('td', { colSpan: 6, class: 'empty' }, 'No PromptPairs match.')));
    return;
  }
  for (const item of items) {
    rows.append(h('tr', { 'data-name': item.name },
      h('th', { scope: 'row' }, item.name),
      h('td', {}, item.model),
      h('td', { class: 'num' }, item.temperature),
      h('td', { class: 'num' }, item.max_tokens),
      h('td', {}, item.revision),
      h('td', {}, h('div', { class: 'actions' },
        h('button', { type: 'button', 'aria-label': `Edit ${item.name}`, onclick: () => edit(item.id) }, 'Edit'),
        h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${item.name}`, onclick: () => confirmDelete(item) }, 'Delete')))));
  }
}

async function edit(id) {
  const reply = await request('GET', `/api/prompts/${encodeURIComponent(id)}`);
  if (!reply.ok) {
    announce(`Could not open the PromptPair: ${errorText(reply)}`, 'error');
    return;
  }
  startEditing(reply.body);
  announce(`Editing “${reply.body.name}” (revision ${reply.body.revision}).`, 'info');
}

/** Checks the form against the server's schema; sends only when it passes. */
async function save(event) {
  event.preventDefault();
  hideConflict();
  const body = formBody();
  if (!state.validate) {
    announce('The form cannot be checked: the schema did not load. Reload the page.', 'error');
    return;
  }
  if (!state.validate(body)) {
    const count = showErrors(form, schemaErrors(state.validate));
    announce(`Nothing was sent: ${count} ${count === 1 ? 'field needs' : 'fields need'} attention.`, 'error');
    return;
  }
  clearErrors(form);
  await send(body, state.editing ? Number($('#revision').value) : null);
}

async function send(body, revision) {
  const reply = revision === null
    ? await request('POST', '/api/prompts', body)
    : await request('PUT', `/api/prompts/${encodeURIComponent(state.editing.id)}`, { ...body, revision });
  if (reply.ok) {
    announce(revision === null
      ? `Created “${reply.body.name}”.`
      : `Saved “${reply.body.name}” (revision ${reply.body.revision}).`, 'success');
    startEditing(reply.body);
    await loadPage();
    return;
  }
  const error = reply.body?.error ?? {};
  if (reply.status === 400 && Array.isArray(error.details)) {
    // The server's pointers name the request (`/body/name`): strip `/body`.
    const errors = error.details.map((d) => ({ pointer: String(d.pointer ?? '').replace(/^\/body/, ''), message: d.message }));
    showErrors(form, errors);
    announce(`The server refused the PromptPair: ${errors.length} ${errors.length === 1 ? 'field needs' : 'fields need'} attention.`, 'error');
  } else if (reply.status === 409 && error.code === 'stale_revision') {
    await showConflict(revision);
  } else if (reply.status === 409) {
    showErrors(form, [{ pointer: '/name', message: error.message ?? 'name taken' }]);
    announce(`Not saved: ${errorText(reply)}`, 'error');
  } else {
    announce(`Not saved: ${errorText(reply)}`, 'error');
  }
}

async function showConflict(mine) {
  const reply = await request('GET', `/api/prompts/${encodeURIComponent(state.editing.id)}`);
  if (!reply.ok) {
    announce(`Not saved: the PromptPair changed, and reading it again failed: ${errorText(reply)}`, 'error');
    return;
  }
  state.newer = reply.body;
  $('#conflict-mine').textContent = mine;
  $('#conflict-theirs').textContent = reply.body.revision;
  $('#conflict-newer').replaceChildren(...FIELDS.flatMap((f) => [h('dt', {}, f), h('dd', {}, String(reply.body[f] ?? ''))]));
  $('#conflict').hidden = false;
  $('#conflict').focus();
  announce(`Not saved: “${reply.body.name}” was changed by someone else (now revision ${reply.body.revision}). Load it, or overwrite it on purpose.`, 'error');
}

function hideConflict() {
  $('#conflict').hidden = true;
  state.newer = null;
}

async function confirmDelete(item) {
  const dialog = $('#confirm-delete');
  $('#confirm-name').textContent = item.name;
  dialog.returnValue = '';
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener('close', resolve, { once: true }));
  if (dialog.returnValue !== 'delete') {
    announce(`Kept “${item.name}”.`, 'info');
    return;
  }
  const reply = await request('DELETE', `/api/prompts/${encodeURIComponent(item.id)}`);
  if (reply.status === 204 || reply.ok) {
    announce(`Deleted “${item.name}”.`, 'success');
    if (state.editing?.id === item.id) startEditing(null);
    await loadPage();
  } else {
    announce(`Not deleted: ${errorText(reply)}`, 'error');
  }
}

form.addEventListener('submit', save);
$('#new').addEventListener('click', () => { startEditing(null); announce('', 'info'); });
$('#conflict-reload').addEventListener('click', () => {
  const newer = state.newer;
  startEditing(newer);
  announce(`Loaded revision ${newer.revision} of “${newer.name}”.`, 'info');
});
$('#conflict-overwrite').addEventListener('click', async () => {
  const newer = state.newer;
  const body = formBody();
  hideConflict();
  await send(body, newer.revision);
});
$('#filter').addEventListener('submit', (event) => {
  event.preventDefault();
  state.previous = [];
  loadPage('');
});
$('#page-size').addEventListener('change', () => { state.previous = []; loadPage(''); });
$('#next').addEventListener('click', () => {
  state.previous.push(state.cursor);
  loadPage(state.next);
});
$('#prev').addEventListener('click', () => loadPage(state.previous.pop() ?? ''));

try {
  state.validate = (await loadSchema('/api/prompts/schema')).validate;
} catch (error) {
  announce(error.message, 'error');
}
await loadPage('');
document.body.dataset.ready = 'true';
