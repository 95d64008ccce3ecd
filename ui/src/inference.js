// The Inference Window (/inference): picks a PromptPair and a script, checks
// the request against GET /api/inferences/schema, runs it with
// POST /api/inferences?stream=true and reads the Server-Sent Events from the
// response body (start, a/b deltas, side, done), filling answers A and B as
// tokens arrive; shows each side's timings and token counts, a word diff of
// the two answers, and the pair's history (GET /api/inferences?prompt_pair_id=),
// each record reopenable (GET /api/inferences/:id).
import { diffWords } from 'diff';
import {
  $, h, request, errorText, announce, loadSchema, schemaErrors, showErrors, clearErrors, clock, readEvents,
  offerSamples, newest, STALE,
} from './common.js';

const form = $('#run');
const sides = { a: $('#side-a'), b: $('#side-b') };
const text = { a: '', b: '' };
let validate = null;
let controller = null;
let historyCursor = null;
/** History requests: one overtaken by a newer one (another pair picked) is dropped. */
const histories = newest();

const part = (side, name) => $(`[data-part="${name}"]`, sides[side]);

function resetSide(side, status = 'waiting') {
  text[side] = '';
  setText(side, '');
  setSideStatus(side, status);
  for (const name of ['latency', 'ttft', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'finish']) part(side, name).textContent = '—';
  part(side, 'model').textContent = '';
  part(side, 'error').textContent = '';
}

function setSideStatus(side, status) {
  const badge = part(side, 'status');
  badge.textContent = status;
  badge.className = `badge ${status}`;
}

function setText(side, value) {
  text[side] = value;
  $('pre', part(side, 'answer')).textContent = value;
  renderDiff();
}

const ms = (v) => (typeof v === 'number' ? `${Math.round(v)} ms` : '—');

/** A side's final facts: `{status, content?, error?, usage?, model?, finish_reason?, latency_ms?, time_to_first_token_ms?}`. */
function applySide(side, facts) {
  if (!facts) return;
  setSideStatus(side, facts.status ?? 'done');
  if (typeof facts.content === 'string') setText(side, facts.content);
  part(side, 'latency').textContent = ms(facts.latency_ms);
  part(side, 'ttft').textContent = ms(facts.time_to_first_token_ms);
  const usage = facts.usage ?? {};
  for (const key of ['prompt_tokens', 'completion_tokens', 'total_tokens']) part(side, key).textContent = usage[key] ?? '—';
  part(side, 'finish').textContent = facts.finish_reason ?? '—';
  part(side, 'model').textContent = facts.model ? `· ${facts.model}` : '';
  const error = facts.error;
  part(side, 'error').textContent = error ? `${side.toUpperCase()} failed: ${error.message ?? error}${error.code ? ` (${error.code})` : ''}` : '';
}

function renderDiff() {
  const shown = $('#show-diff').checked;
  $('#diff').hidden = !shown;
  if (!shown) return;
  const pieces = diffWords(text.a, text.b);
  $('#diff-text').replaceChildren(...pieces.map((p) => (p.added ? h('ins', {}, p.value) : p.removed ? h('del', {}, p.value) : p.value)));
}

/** Shows a stored record; `streamed` keeps the text a side streamed when the record has none (a side cut off mid-answer). */
function showRecord(record, streamed = false) {
  $('#record').textContent = `Request ${record.id} · ${record.status}${record.created_at ? ` · ${clock(record.created_at)}` : ''}`;
  for (const side of ['a', 'b']) {
    const partial = streamed ? text[side] : '';
    resetSide(side, record[side]?.status ?? 'failed');
    applySide(side, record[side]);
    if (partial && typeof record[side]?.content !== 'string') setText(side, partial);
  }
}

async function loadPairs() {
  const select = $('#pair');
  let cursor = '';
  for (let page = 0; page < 20; page += 1) {
    const query = new URLSearchParams({ limit: '100' });
    if (cursor) query.set('cursor', cursor);
    const reply = await request('GET', `/api/prompts?${query}`);
    if (!reply.ok) {
      announce(`Could not list the PromptPairs: ${errorText(reply)}`, 'error');
      return;
    }
    for (const pair of reply.body.items) select.append(h('option', { value: pair.id }, `${pair.name} (${pair.model})`));
    cursor = reply.body.next_cursor;
    if (!cursor) return;
  }
}

function payload() {
  return { prompt_pair_id: $('#pair').value, script: { name: $('#script-name').value, source: $('#source').value } };
}

async function run(event) {
  event.preventDefault();
  const body = payload();
  if (!validate) return announce('The request cannot be checked: the schema did not load. Reload the page.', 'error');
  const errors = [];
  if (!body.prompt_pair_id) errors.push({ pointer: '/prompt_pair_id', message: 'pick a PromptPair' });
  if (body.script.source.trim() === '') errors.push({ pointer: '/script/source', message: 'pick, paste or type a script' });
  if (!validate(body)) errors.push(...schemaErrors(validate).filter((e) => !errors.some((x) => x.pointer === e.pointer)));
  if (errors.length) {
    showErrors(form, errors);
    return announce(`Nothing was sent: ${errors.length} ${errors.length === 1 ? 'problem' : 'problems'} to fix.`, 'error');
  }
  clearErrors(form);
  resetSide('a');
  resetSide('b');
  $('#record').textContent = '';
  controller = new AbortController();
  $('#submit').disabled = true;
  $('#stop').disabled = false;
  announce('Running A and B…', 'info');
  try {
    const response = await fetch('/api/inferences?stream=true', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      const reply = { status: response.status, body: await response.json().catch(() => null) };
      const details = reply.body?.error?.details;
      if (response.status === 400 && Array.isArray(details)) showErrors(form, details.map((d) => ({ pointer: String(d.pointer ?? '').replace(/^\/body/, ''), message: d.message })));
      for (const side of ['a', 'b']) setSideStatus(side, 'failed');
      announce(`The request was refused: ${errorText(reply)}`, 'error');
      return;
    }
    let finished = false;
    await readEvents(response, (e) => { finished = onEvent(e) || finished; }, controller.signal);
    if (!finished) announce('The stream ended before the request finished.', 'error');
  } catch (error) {
    if (error.name === 'AbortError') announce('Stopped.', 'info');
    else announce(`The request failed: ${error.message}`, 'error');
  } finally {
    $('#submit').disabled = false;
    $('#stop').disabled = true;
    controller = null;
  }
}

/** Handles one event; true once the final record arrived. */
function onEvent({ event, data }) {
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return false;
  }
  if (event === 'start') {
    $('#record').textContent = `Request ${value.id} · ${value.status}`;
    setSideStatus('a', 'streaming');
    setSideStatus('b', 'streaming');
  } else if (event === 'a' || event === 'b') {
    setText(event, text[event] + (value.delta ?? ''));
  } else if (event === 'side') {
    applySide(value.side, value);
  } else if (event === 'done') {
    showRecord(value, true);
    const failed = ['a', 'b'].filter((s) => value[s]?.status === 'failed' || value[s]?.error);
    if (value.status === 'done' && failed.length === 0) announce('A and B answered.', 'success');
    else announce(`Finished ${value.status}: ${failed.map((s) => s.toUpperCase()).join(' and ') || 'a side'} failed.`, 'error');
    loadHistory(true);
    return true;
  } else if (event === 'error') {
    announce(`The request failed: ${value.message ?? value.error?.message ?? data}`, 'error');
  }
  return false;
}

async function loadHistory(fresh) {
  const pair = $('#pair').value;
  const rows = $('#history');
  if (fresh) {
    historyCursor = null;
    rows.replaceChildren();
  }
  $('#history-pair').textContent = pair ? `· ${$('#pair').selectedOptions[0].textContent}` : '';
  if (!pair) {
    histories.supersede();
    rows.replaceChildren(h('tr', {}, h('td', { colSpan: 6, class: 'empty' }, 'Pick a PromptPair to see its earlier requests.')));
    $('#more').hidden = true;
    return;
  }
  const query = new URLSearchParams({ prompt_pair_id: pair });
  if (historyCursor) query.set('cursor', historyCursor);
  const reply = await histories(request('GET', `/api/inferences?${query}`));
  if (reply === STALE) return;
  if (!reply.ok) {
    rows.replaceChildren(h('tr', {}, h('td', { colSpan: 6, class: 'empty' }, `History unavailable: ${errorText(reply)}`)));
    return;
  }
  for (const item of reply.body.items) {
    rows.append(h('tr', {},
      h('td', {}, clock(item.created_at)),
      h('td', {}, item.script?.name ?? ''),
      h('td', {}, h('span', { class: `badge ${item.status}` }, item.status)),
      h('td', {}, item.a?.status ?? ''),
      h('td', {}, item.b?.status ?? ''),
      h('td', {}, h('button', { type: 'button', 'aria-label': `Open request ${item.id}`, onclick: () => reopen(item.id) }, 'Open'))));
  }
  if (!rows.children.length) rows.append(h('tr', {}, h('td', { colSpan: 6, class: 'empty' }, 'No requests yet for this PromptPair.')));
  historyCursor = reply.body.next_cursor;
  $('#more').hidden = !historyCursor;
}

async function reopen(id) {
  const reply = await request('GET', `/api/inferences/${encodeURIComponent(id)}`);
  if (!reply.ok) return announce(`Could not open request ${id}: ${errorText(reply)}`, 'error');
  showRecord(reply.body);
  announce(`Reopened request ${id}.`, 'info');
  $('#a-title').scrollIntoView({ block: 'nearest' });
}

form.addEventListener('submit', run);
$('#source').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
});
$('#stop').addEventListener('click', () => controller?.abort());
$('#show-diff').addEventListener('change', renderDiff);
$('#pair').addEventListener('change', () => loadHistory(true));
$('#more').addEventListener('click', () => loadHistory(false));

await Promise.all([loadPairs(), offerSamples()]);
const wanted = new URLSearchParams(location.search).get('pair');
if (wanted) $('#pair').value = wanted;
await loadHistory(true);
try {
  validate = (await loadSchema('/api/inferences/schema')).validate;
} catch (error) {
  announce(error.message, 'error');
}
document.body.dataset.ready = 'true';
