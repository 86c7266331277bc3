/* api.js — the console's client of the node's public HTTP API (docs/http.md):
 * requests with the bearer token, uploads with progress, and event streams.
 *
 * The token: a node with tokens answers 401; the console then asks for one
 * (the dialog in index.html) and keeps it in sessionStorage only, so it
 * dies with the tab and is never written to disk by the page. Streams are
 * read with fetch rather than EventSource, which cannot send an
 * Authorization header. */
'use strict';

const weftApi = (() => {
  const KEY = 'weft.token';
  let asking = null; /* the open dialog's promise: concurrent 401s share it */

  function token() {
    return sessionStorage.getItem(KEY);
  }

  function forget() {
    sessionStorage.removeItem(KEY);
    document.dispatchEvent(new Event('weft-token'));
  }

  function authHeaders(h) {
    const t = token();
    if (t) h.Authorization = 'Bearer ' + t;
    return h;
  }

  /* An error answer of the API: status, code and message, and the whole
   * error object (a trap's backtrace, logs, ...). */
  class ApiError extends Error {
    constructor(status, doc, fallback) {
      const e = doc && doc.error ? doc.error : {};
      super(e.message || fallback || 'HTTP ' + status);
      this.status = status;
      this.code = e.code || 'HTTP_' + status;
      this.detail = e;
    }
  }

  /* Opens the token dialog; resolves true once a token is stored, false
   * when the user cancels. */
  function askToken() {
    if (asking) return asking;
    const dlg = document.getElementById('auth');
    const input = document.getElementById('auth-token');
    const why = document.getElementById('auth-why');
    why.textContent = token()
      ? 'The node refused the token this tab had. Enter another one; it is kept in this tab\'s session storage only.'
      : 'The node answered 401: it needs a token. It is kept in this tab\'s session storage only.';
    input.value = '';
    asking = new Promise((resolve) => {
      const done = () => {
        dlg.removeEventListener('close', done);
        asking = null;
        const t = input.value.trim();
        input.value = '';
        if (dlg.returnValue === 'ok' && t) {
          sessionStorage.setItem(KEY, t);
          document.dispatchEvent(new Event('weft-token'));
          resolve(true);
        } else {
          resolve(false);
        }
      };
      dlg.addEventListener('close', done);
      dlg.returnValue = '';
      dlg.showModal();
      input.focus();
    });
    return asking;
  }

  async function parse(resp) {
    const type = resp.headers.get('Content-Type') || '';
    if (resp.status === 204) return null;
    if (type.startsWith('application/json')) {
      const text = await resp.text();
      try {
        return JSON.parse(text);
      } catch (e) {
        return { error: { code: 'BAD_ANSWER', message: 'the node answered malformed JSON' } };
      }
    }
    return resp.text();
  }

  /* One API request; resolves with the parsed answer (JSON, text, or null
   * for 204), rejects with an ApiError. A 401 asks for a token and retries. */
  async function request(method, path, opts = {}) {
    for (;;) {
      const headers = authHeaders({});
      if (opts.type) headers['Content-Type'] = opts.type;
      let resp;
      try {
        resp = await fetch(path, { method, headers, body: opts.body, cache: 'no-store' });
      } catch (e) {
        throw new ApiError(0, null, 'cannot reach the node: ' + e.message);
      }
      if (resp.status === 401 && (await askToken())) continue;
      const doc = await parse(resp);
      if (!resp.ok) throw new ApiError(resp.status, typeof doc === 'object' ? doc : null);
      return doc;
    }
  }

  /* POSTs a file with XMLHttpRequest, whose upload reports progress:
   * onProgress(fraction). Resolves with the JSON answer. */
  function upload(path, file, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      const h = authHeaders({ 'Content-Type': 'application/wasm' });
      for (const k of Object.keys(h)) xhr.setRequestHeader(k, h[k]);
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      });
      xhr.addEventListener('error', () => reject(new ApiError(0, null, 'the upload failed: cannot reach the node')));
      xhr.addEventListener('load', async () => {
        let doc = null;
        try {
          doc = JSON.parse(xhr.responseText);
        } catch (e) { /* not JSON: the status says it */ }
        if (xhr.status === 401 && (await askToken())) {
          upload(path, file, onProgress).then(resolve, reject);
          return;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(doc);
        else reject(new ApiError(xhr.status, doc));
      });
      xhr.send(file);
    });
  }

  /* Follows a Server-Sent Events stream (docs/http.md "Events"):
   * on.event({id, event, data}) for each message, on.status(text) as the
   * connection changes. Reconnects with Last-Event-ID after a break,
   * waiting 0.25 s doubling to 4 s. Returns {close()}. */
  function stream(path, on) {
    let closed = false, ctl = null, lastId = null, wait = 250;

    function dispatch(block) {
      const msg = { id: null, event: 'message', data: '' };
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        let value = i < 0 ? '' : line.slice(i + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') msg.event = value;
        else if (field === 'id') msg.id = value;
      }
      if (!data.length && msg.id === null) return;
      msg.data = data.join('\n');
      if (msg.id !== null) lastId = msg.id;
      on.event(msg);
    }

    async function run() {
      while (!closed) {
        ctl = new AbortController();
        const headers = authHeaders({ Accept: 'text/event-stream' });
        if (lastId !== null) headers['Last-Event-ID'] = lastId;
        try {
          const resp = await fetch(path, { headers, signal: ctl.signal, cache: 'no-store' });
          if (resp.status === 401) {
            if (await askToken()) continue;
            on.status('stopped: the node needs a token');
            return;
          }
          if (!resp.ok) {
            const doc = await parse(resp);
            on.status('stopped: ' + new ApiError(resp.status, typeof doc === 'object' ? doc : null).message);
            return;
          }
          on.status('live');
          wait = 250;
          const reader = resp.body.getReader();
          const dec = new TextDecoder();
          let buf = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
            let end;
            while ((end = buf.indexOf('\n\n')) >= 0) {
              dispatch(buf.slice(0, end));
              buf = buf.slice(end + 2);
            }
          }
        } catch (e) {
          if (closed) return;
        }
        if (closed) return;
        on.status('reconnecting…');
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 4000);
      }
    }
    run();
    return {
      close() {
        closed = true;
        if (ctl) ctl.abort();
      },
    };
  }

  return { request, upload, stream, token, forget, ApiError };
})();
