// Shared by every pane: JSON requests, the status line, JSON Schema checks
// through Ajv with each error placed beside its field, newest-answer-wins
// for requests that overlap, the sample picker of the panes with a script
// editor, and small DOM helpers.
// Owns no pane's state.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** `document.querySelector`, failing loudly when the page lacks the element. */
export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`missing element ${selector}`);
  return found;
}

/** Creates an element with properties and children (strings become text). */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else if (key === 'class') element.className = value;
    else if (key in element && typeof value !== 'string') element[key] = value;
    else element.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/**
 * Sends a request with a JSON body (when given) and reads a JSON answer.
 * Resolves to `{status, ok, body, headers}`; a network failure resolves to
 * status 0 with an error body, so callers handle one shape.
 */
export async function request(method, url, body, headers = {}) {
  const init = { method, headers: { accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    return { status: 0, ok: false, body: { error: { message: `network error: ${error.message}` } } };
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { error: { message: text.slice(0, 500) } };
  }
  return { status: response.status, ok: response.ok, body: parsed, headers: response.headers };
}

/** The message of an error answer, with its status. */
export function errorText(reply) {
  const message = reply.body?.error?.message ?? `HTTP ${reply.status}`;
  return reply.status ? `${message} (HTTP ${reply.status})` : message;
}

let statusTimer;
/** Announces an outcome in the page's status line (an aria-live region). */
export function announce(message, kind = 'info') {
  const line = $('#status');
  line.setAttribute('aria-live', kind === 'error' ? 'assertive' : 'polite');
  line.className = `status status-${kind}`;
  line.textContent = message;
  clearTimeout(statusTimer);
  if (kind === 'success') statusTimer = setTimeout(() => { line.className = 'status'; }, 8000);
}

/** A compiled JSON Schema validator (draft 2020-12, every error, formats). */
export function compileSchema(schema) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** Fetches a schema from `url` and compiles it; throws with the reason. */
export async function loadSchema(url) {
  const reply = await request('GET', url);
  if (!reply.ok) throw new Error(`cannot load the schema ${url}: ${errorText(reply)}`);
  return { schema: reply.body, validate: compileSchema(reply.body) };
}

/**
 * Ajv's errors as `{field, message}`: the field is the JSON pointer of the
 * value at fault (a missing property's own pointer for `required`).
 */
export function schemaErrors(validate) {
  return (validate.errors ?? []).map((e) => {
    const pointer = e.keyword === 'required'
      ? `${e.instancePath}/${e.params.missingProperty}`
      : e.keyword === 'additionalProperties'
        ? `${e.instancePath}/${e.params.additionalProperty}`
        : e.instancePath;
    const message = e.keyword === 'required' ? 'is required' : e.message;
    return { pointer, message };
  });
}

/**
 * Shows errors beside the fields of `form`: each `{pointer, message}` goes
 * to the field whose `data-pointer` is the longest prefix of its pointer;
 * what fits no field goes to the form's own error box. Returns how many
 * errors were shown and focuses the first field at fault.
 */
export function showErrors(form, errors) {
  clearErrors(form);
  const fields = [...form.querySelectorAll('[data-pointer]')];
  const general = [];
  let first;
  for (const { pointer, message } of errors) {
    const field = fields
      .filter((f) => pointer === f.dataset.pointer || pointer.startsWith(`${f.dataset.pointer}/`))
      .sort((a, b) => b.dataset.pointer.length - a.dataset.pointer.length)[0];
    if (!field) {
      general.push(`${pointer || '(body)'} ${message}`);
      continue;
    }
    const box = form.querySelector(`#${field.id}-error`);
    box.textContent = box.textContent ? `${box.textContent}; ${message}` : message;
    field.setAttribute('aria-invalid', 'true');
    first ??= field;
  }
  const box = form.querySelector('.form-error');
  if (box && general.length) box.textContent = general.join('; ');
  (first ?? box)?.focus?.();
  return errors.length;
}

/** Removes every error shown in `form`. */
export function clearErrors(form) {
  for (const box of form.querySelectorAll('.field-error, .form-error')) box.textContent = '';
  for (const field of form.querySelectorAll('[aria-invalid]')) field.removeAttribute('aria-invalid');
}

/** What `newest()` gives for an answer a newer request overtook. */
export const STALE = Symbol('stale');

/**
 * For requests that can overlap (a list reloaded twice, a pick changed
 * while its data loads): `take(pending)` resolves to the answer, or to
 * `STALE` when another `take` (or `supersede()`) came after it, so only
 * the newest answer is ever drawn. A stale failure is `STALE` too.
 */
export function newest() {
  let latest = 0;
  const take = async (pending) => {
    const ticket = ++latest;
    try {
      const value = await pending;
      return ticket === latest ? value : STALE;
    } catch (error) {
      if (ticket !== latest) return STALE;
      throw error;
    }
  };
  take.supersede = () => { latest += 1; };
  return take;
}

/**
 * The sample picker of a pane with a script editor: fills `#sample` from
 * /samples/index.json, and a pick loads that sample into `#source` and its
 * name into `#script-name`. When loads overlap (arrow keys on the select
 * pick at every step) only the newest lands. Returns a function another
 * way of loading a script (an upload) calls first, so a sample still on
 * its way does not land over it.
 */
export async function offerSamples() {
  const loads = newest();
  const reply = await request('GET', '/samples/index.json');
  if (reply.ok) for (const name of reply.body) $('#sample').append(h('option', { value: name }, name));
  $('#sample').addEventListener('change', async (event) => {
    const name = event.target.value;
    if (!name) return;
    const loaded = await loads(fetch(`/samples/${encodeURIComponent(name)}`)
      .then(async (response) => ({ status: response.status, text: response.ok ? await response.text() : null })));
    if (loaded === STALE) return;
    if (loaded.text === null) {
      announce(`Could not load the sample ${name} (HTTP ${loaded.status}).`, 'error');
      return;
    }
    $('#source').value = loaded.text;
    $('#script-name').value = name;
    announce(`Loaded the sample ${name}.`, 'info');
  });
  return loads.supersede;
}

/** Bytes as `1.2 KiB`. */
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A time as the user's local `HH:MM:SS`. */
export function clock(when) {
  const date = when ? new Date(when) : new Date();
  return Number.isNaN(date.getTime()) ? String(when) : date.toLocaleTimeString([], { hour12: false });
}

/**
 * Reads a Server-Sent Events body from a fetch response, calling
 * `onEvent({event, data, id})` per event (fetch streaming, because
 * EventSource can neither POST nor send an Authorization header).
 */
export async function readEvents(response, onEvent, signal) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { event: 'message', data: [], id: undefined };
  while (!signal?.aborted) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let newline;
    while ((newline = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer[newline] === '\r' ? 2 : 1));
      if (line === '') {
        if (event.data.length) onEvent({ event: event.event, data: event.data.join('\n'), id: event.id });
        event = { event: 'message', data: [], id: undefined };
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') event.data.push(text);
        else if (field === 'event') event.event = text;
        else if (field === 'id') event.id = text;
      }
    }
  }
}
