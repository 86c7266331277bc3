/* console.js — the console's views (docs/console.md): node, apps, contexts
 * and calls, the live event stream, the state browser. Routing is the
 * location's hash (#/apps/ID, #/contexts/NAME, ...), so every view has an
 * address. Whatever the node or a guest sent is put in the page as text
 * (textContent), never parsed as HTML. */
'use strict';

(() => {
  const api = weftApi;
  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;
  const { el, text, crdtRender } = weftRender;

  /* ---- helpers ---------------------------------------------------------- */

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function bytes(n) {
    if (n === null || n === undefined) return '—';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) {
      n /= 1024;
      i++;
    }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }

  function duration(s) {
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + (d || h || m ? m + 'm ' : '') + sec + 's';
  }

  function when(ms) {
    return ms ? new Date(ms).toLocaleString() : '—';
  }

  function micros(us) {
    return us >= 1000000 ? (us / 1e6).toFixed(2) + ' s' : us >= 1000 ? (us / 1000).toFixed(2) + ' ms' : us + ' µs';
  }

  function short(id) {
    return id ? id.slice(0, 12) + '…' : '—';
  }

  function showError(node, err) {
    if (!err) {
      node.hidden = true;
      node.textContent = '';
      return;
    }
    node.hidden = false;
    node.textContent = err.code ? err.code + ': ' + err.message : String(err.message || err);
  }

  /* A delete button that asks to be pressed twice (no modal confirm(): it
   * blocks the page and is awkward on a phone). */
  function deleteButton(label, what, action) {
    let armed = null;
    const b = el('button', { type: 'button', class: 'danger', 'aria-label': label + ' ' + what }, label);
    b.addEventListener('click', async () => {
      if (!armed) {
        b.textContent = 'Confirm';
        b.setAttribute('aria-label', 'Confirm: ' + label.toLowerCase() + ' ' + what);
        armed = setTimeout(() => {
          armed = null;
          b.textContent = label;
          b.setAttribute('aria-label', label + ' ' + what);
        }, 5000);
        return;
      }
      clearTimeout(armed);
      armed = null;
      b.disabled = true;
      try {
        await action();
      } catch (e) {
        banner(e);
        b.disabled = false;
        b.textContent = label;
      }
    });
    return b;
  }

  function banner(err) {
    const b = $('banner');
    if (!err) {
      b.hidden = true;
      return;
    }
    b.hidden = false;
    b.textContent = err.code ? err.code + ': ' + err.message : String(err.message || err);
  }

  /* ---- routing --------------------------------------------------------- */

  const views = {};
  let current = null;

  function route() {
    const parts = (location.hash || '#/node').replace(/^#\/?/, '').split('/');
    const name = views[parts[0]] ? parts[0] : 'node';
    const arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : null;
    if (current && current !== name && views[current].leave) views[current].leave();
    for (const v of Object.keys(views)) $('view-' + v).hidden = v !== name;
    for (const a of document.querySelectorAll('nav a[data-view]')) {
      if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const entering = current !== name;
    current = name;
    banner(null);
    views[name].enter(arg, entering);
    if (entering) $('main').focus({ preventScroll: true });
  }

  /* Both lists are needed by several views (selects of contexts and apps). */
  async function contexts() {
    return (await api.request('GET', '/v1/contexts')).contexts;
  }

  async function apps() {
    return (await api.request('GET', '/v1/apps')).apps;
  }

  function fillSelect(select, items, value, label) {
    const keep = select.value;
    select.replaceChildren(...items.map((it) => el('option', { value: value(it) }, label(it))));
    if (items.some((it) => value(it) === keep)) select.value = keep;
  }

  /* ---- node ------------------------------------------------------------ */

  const metrics = (() => {
    const box = $('charts');
    const charts = {
      calls: weftCharts.chart(box, 'Calls / s', (v) => v.toFixed(1)),
      p99: weftCharts.chart(box, 'p99 latency', (v) => (v * 1000 >= 1 ? (v * 1000).toFixed(0) + ' ms' : (v * 1e6).toFixed(0) + ' µs')),
      traps: weftCharts.chart(box, 'Traps / s', (v) => v.toFixed(2)),
      commits: weftCharts.chart(box, 'Commits / s', (v) => v.toFixed(1)),
      store: weftCharts.chart(box, 'Store size', bytes),
    };
    let prev = null, prevT = 0;
    async function sample() {
      if (document.hidden && prev) return; /* the next sample's rates span the gap */
      let text;
      try {
        text = await api.request('GET', '/metrics');
      } catch (e) {
        return;
      }
      const cur = weftCharts.parse(text), t = performance.now();
      if (prev) {
        const d = weftCharts.derive(prev, cur, Math.max(0.001, (t - prevT) / 1000));
        for (const k of Object.keys(charts)) charts[k].push(d[k]);
      } else {
        charts.store.push(weftCharts.derive(cur, cur, 1).store);
      }
      prev = cur;
      prevT = t;
    }
    return { sample };
  })();

  async function nodeRefresh() {
    try {
      const n = await api.request('GET', '/v1/node');
      $('node-id').textContent = n.id || '—';
      $('node-version').textContent = n.version;
      $('node-uptime').textContent = duration(n.uptime_s);
      $('node-data').textContent = bytes(n.data_dir_bytes);
      let ready = 'yes';
      try {
        await api.request('GET', '/ready');
      } catch (e) {
        ready = 'no (' + e.message + ')';
      }
      $('node-ready').textContent = ready;
      const p = await api.request('GET', '/v1/peers');
      $('node-peer-port').textContent = p.peer_port === null || p.peer_port === undefined ? 'none' : String(p.peer_port);
      $('peers-none').hidden = p.peers.length > 0;
      $('peers-box').hidden = !p.peers.length;
      fill($('peers').tBodies[0], p.peers.map((x) => el('tr', {},
        el('td', { class: 'mono', title: x.id }, short(x.id)),
        el('td', {}, x.addr || '—'),
        el('td', {}, el('span', { class: x.state === 'up' ? 'up' : 'down' }, x.state)),
        el('td', {}, x.direction || '—'),
        el('td', {}, String(x.lag_ops ?? '—')),
        el('td', {}, x.rtt_us ? micros(x.rtt_us) : '—'),
        el('td', {}, bytes(x.bytes_in) + ' / ' + bytes(x.bytes_out)),
        el('td', {}, x.last_error || ''))));
    } catch (e) {
      banner(e);
    }
  }

  let nodeTimer = null;
  views.node = {
    enter() {
      nodeRefresh();
      clearInterval(nodeTimer);
      nodeTimer = setInterval(nodeRefresh, 5000);
    },
    leave() {
      clearInterval(nodeTimer);
      nodeTimer = null;
    },
  };

  /* ---- apps ------------------------------------------------------------ */

  async function appsRefresh() {
    try {
      const list = await apps();
      fill($('apps').tBodies[0], list.map((a) => el('tr', {},
        el('td', {}, a.name || '—'),
        el('td', { class: 'mono', title: a.id }, short(a.id)),
        el('td', {}, a.abi || '—'),
        el('td', {}, bytes(a.size)),
        el('td', {}, when(a.created_ms)),
        el('td', {},
          el('a', { href: '#/apps/' + a.id, 'aria-label': 'Inspect ' + (a.name || a.id) }, 'Inspect'), ' ',
          deleteButton('Delete', a.name || a.id, async () => {
            await api.request('DELETE', '/v1/apps/' + a.id);
            if (location.hash === '#/apps/' + a.id) location.hash = '#/apps';
            appsRefresh();
          })))));
      if (!list.length) fill($('apps').tBodies[0], [el('tr', {}, el('td', { colspan: 6 }, '(no apps yet: deploy one above)'))]);
    } catch (e) {
      banner(e);
    }
  }

  async function appShow(id) {
    const box = $('app-detail');
    if (!id) {
      box.hidden = true;
      return;
    }
    try {
      const a = await api.request('GET', '/v1/apps/' + enc(id));
      box.hidden = false;
      $('app-h').textContent = 'App ' + (a.name || short(a.id));
      $('app-id').textContent = a.id;
      $('app-abi').textContent = a.abi || '—';
      $('app-size').textContent = bytes(a.size);
      fill($('app-exports').tBodies[0], (a.exports || []).map((x) =>
        el('tr', {}, el('td', { class: 'mono' }, text(x, 'name')), el('td', {}, x.kind),
          el('td', { class: 'mono' }, x.type || ''))));
      fill($('app-imports').tBodies[0], (a.imports || []).map((x) =>
        el('tr', {}, el('td', { class: 'mono' }, text(x, 'module')), el('td', { class: 'mono' }, text(x, 'name')),
          el('td', {}, x.kind), el('td', { class: 'mono' }, x.type || ''))));
      $('app-manifest').textContent = a.manifest ? JSON.stringify(a.manifest, null, 2) : '(none)';
      $('app-schema-box').hidden = !a.schema;
      $('app-schema').replaceChildren(...(a.schema || []).map((l) => el('li', {}, l)));
      box.scrollIntoView({ block: 'nearest' });
    } catch (e) {
      box.hidden = true;
      banner(e);
    }
  }

  async function deploy(file) {
    const status = $('deploy-status'), prog = $('deploy-progress');
    showError($('deploy-error'), null);
    if (!file) return;
    const name = $('deploy-name').value.trim() || file.name.replace(/\.wasm$/, '');
    prog.hidden = false;
    prog.value = 0;
    status.textContent = 'Uploading ' + file.name + ' (' + bytes(file.size) + ')…';
    try {
      const a = await api.upload('/v1/apps?name=' + enc(name), file, (f) => {
        prog.value = Math.round(f * 100);
        prog.textContent = prog.value + '%';
        if (f >= 1) status.textContent = 'Validating ' + file.name + '…';
      });
      prog.value = 100;
      status.textContent = 'Deployed ' + (a.name || file.name) + ' as ' + a.id + '.';
      $('deploy-file').value = '';
      await appsRefresh();
      location.hash = '#/apps/' + a.id;
    } catch (e) {
      status.textContent = '';
      showError($('deploy-error'), { code: e.code, message: file.name + ': ' + e.message });
    } finally {
      prog.hidden = true;
    }
  }

  (() => {
    const drop = $('drop');
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      const f = e.dataTransfer && e.dataTransfer.files[0];
      if (f) deploy(f);
    });
    $('deploy-file').addEventListener('change', (e) => deploy(e.target.files[0]));
    $('deploy-form').addEventListener('submit', (e) => e.preventDefault());
  })();

  views.apps = {
    enter(id) {
      appsRefresh();
      appShow(id);
    },
  };

  /* ---- contexts and calls ---------------------------------------------- */

  let ctxOpen = null; /* the context whose call panel is shown */

  async function ctxRefresh() {
    try {
      const [list, appList] = await Promise.all([contexts(), apps()]);
      const names = {};
      for (const a of appList) names[a.id] = a.name;
      fillSelect($('ctx-app'), appList, (a) => a.id, (a) => (a.name || '') + ' (' + short(a.id) + ')');
      fill($('contexts').tBodies[0], list.map((c) => {
        const name = text(c, 'name');
        return el('tr', { class: name === ctxOpen ? 'selected' : null },
          el('td', {}, name),
          el('td', { title: c.app }, (names[c.app] || '') + ' ', el('span', { class: 'mono' }, short(c.app))),
          el('td', {}, when(c.created_ms)),
          el('td', {},
            el('a', { href: '#/contexts/' + enc(name), 'aria-label': 'Open ' + name }, 'Open'), ' ',
            deleteButton('Delete', name, async () => {
              await api.request('DELETE', '/v1/contexts/' + enc(name));
              if (ctxOpen === name) location.hash = '#/contexts';
              ctxRefresh();
            })));
      }));
      if (!list.length) fill($('contexts').tBodies[0], [el('tr', {}, el('td', { colspan: 4 }, '(no contexts yet)'))]);
    } catch (e) {
      banner(e);
    }
  }

  $('ctx-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    showError($('ctx-error'), null);
    const body = { app: $('ctx-app').value };
    const name = $('ctx-name').value.trim();
    if (name) body.name = name;
    const members = $('ctx-members').value.split(/[\s,]+/).filter((m) => m);
    if (members.length) body.members = members;
    try {
      const c = await api.request('POST', '/v1/contexts', { body: JSON.stringify(body), type: 'application/json' });
      $('ctx-name').value = '';
      $('ctx-members').value = '';
      location.hash = '#/contexts/' + enc(text(c, 'name'));
    } catch (err) {
      showError($('ctx-error'), err);
    }
  });

  async function ctxShow(name) {
    ctxOpen = name;
    const panel = $('call-panel');
    if (!name) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    $('call-h').textContent = 'Call a function in ' + name;
    try {
      const c = await api.request('GET', '/v1/contexts/' + enc(name));
      $('call-members').textContent = c.members && c.members.length
        ? 'Members (the nodes it replicates on): ' + c.members.map(short).join(', ')
        : 'Members: none (a node without sync).';
      const a = await api.request('GET', '/v1/apps/' + enc(c.app));
      $('call-fns').replaceChildren(...(a.exports || []).filter((x) => x.kind === 'func')
        .map((x) => el('option', { value: text(x, 'name') }, x.type || '')));
    } catch (e) {
      banner(e);
    }
    logsLoad();
  }

  function inputKind() {
    return document.querySelector('input[name="call-input"]:checked').value;
  }

  function callKind() {
    return document.querySelector('input[name="call-kind"]:checked').value;
  }

  function inputChanged() {
    const k = inputKind();
    $('call-file-row').hidden = k !== 'file';
    $('call-text-row').hidden = k === 'file';
    $('call-text-label').textContent = k === 'json' ? 'Arguments, a JSON array of numbers: [1, 2.5]' : 'Input text (stdin)';
  }
  for (const r of document.querySelectorAll('input[name="call-input"]')) r.addEventListener('change', inputChanged);

  function lineItem(meta, msg) {
    return el('li', {}, meta ? el('span', { class: 'meta' }, meta) : null, msg);
  }

  function showResult(res, err) {
    const d = err ? err.detail || {} : res;
    let message = null;
    if (err) {
      message = { code: err.code, message: err.message };
      if (d.trap) message.message += ' (trap ' + d.trap + ')';
      if (d.status !== undefined) message.message += ' (exit status ' + d.status + ')';
      if (d.backtrace && d.backtrace.length)
        message.message += '\nbacktrace: ' + d.backtrace.map((f) => (f.name || 'func ' + f.func)).join(' ← ');
      if (d.rolled_back) message.message += '\nits writes were rolled back';
    }
    showError($('call-error'), message);
    $('call-facts').hidden = !res;
    if (res) {
      $('call-fuel').textContent = String(res.fuel);
      $('call-duration').textContent = micros(res.duration_us);
      $('call-id').textContent = res.call_id || '—';
    }
    let out = text(d, 'output');
    if (res && res.values) out += (out ? '\n' : '') + 'values: ' + JSON.stringify(res.values);
    $('call-output').textContent = out || '(no output)';
    $('call-logs').replaceChildren(...(d.logs || []).map((l) => lineItem(null, typeof l === 'string' ? l : text(l, 'line'))));
    $('call-events').replaceChildren(...((res && res.events) || []).map((ev) =>
      lineItem('#' + ev.seq + ' ' + ev.name, text(ev, 'payload'))));
    if (!$('call-events').children.length) $('call-events').append(lineItem(null, err ? '(none: nothing is kept of a failed call)' : '(none)'));
    if (!$('call-logs').children.length) $('call-logs').append(lineItem(null, '(none)'));
  }

  $('call-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const fn = $('call-fn').value.trim(), name = ctxOpen;
    if (!fn || !name) return;
    const path = '/v1/contexts/' + enc(name) + '/call/' + enc(fn);
    const k = inputKind(), view = callKind() === 'view';
    const go = $('call-go');
    go.disabled = true;
    showError($('call-error'), null);
    $('call-output').textContent = 'Calling…';
    try {
      let res;
      if (k === 'json') {
        const t = $('call-text').value.trim() || '[]';
        try {
          JSON.parse(t);
        } catch (err) {
          throw { code: 'BAD_INPUT', message: 'the arguments are not JSON: ' + err.message };
        }
        res = view ? await api.request('GET', path + '?args=' + enc(t))
                   : await api.request('POST', path, { body: t, type: 'application/json' });
      } else {
        let body;
        if (k === 'file') {
          body = $('call-file').files[0];
          if (!body) throw { code: 'BAD_INPUT', message: 'choose a file first' };
        } else {
          body = $('call-text').value;
        }
        /* A view's input travels in the query: text only. */
        res = view ? await api.request('GET', path + '?input=' + enc(typeof body === 'string' ? body : await body.text()))
                   : await api.request('POST', path, { body, type: 'application/octet-stream' });
      }
      showResult(res, null);
    } catch (err) {
      showResult(null, err);
    } finally {
      go.disabled = false;
      $('call-result').scrollIntoView({ block: 'start' });
      logsLoad();
    }
  });

  async function logsLoad() {
    const name = ctxOpen;
    if (!name) return;
    try {
      const r = await api.request('GET', '/v1/contexts/' + enc(name) + '/logs?limit=4096');
      const lines = r.logs.slice(-50).reverse();
      $('ctx-logs').replaceChildren(...lines.map((l) =>
        lineItem(new Date(l.time_ms).toLocaleTimeString() + ' ' + l.call_id + ' ' + l.level, text(l, 'msg'))));
      if (!lines.length) $('ctx-logs').replaceChildren(el('li', {}, '(no log lines yet)'));
    } catch (e) {
      $('ctx-logs').replaceChildren(el('li', {}, 'cannot read the logs: ' + e.message));
    }
  }
  $('logs-load').addEventListener('click', logsLoad);

  views.contexts = {
    enter(name) {
      ctxShow(name);
      ctxRefresh();
    },
  };

  /* ---- events ---------------------------------------------------------- */

  const ev = { stream: null, ctx: null, paused: false, held: [], rows: [] };
  const MAX_ROWS = 500;

  function evMatches(row) {
    const f = $('ev-filter').value.trim().toLowerCase();
    return !f || row.name.toLowerCase().includes(f) || row.payload.toLowerCase().includes(f);
  }

  function evRow(row) {
    const tr = el('tr', {}, el('td', {}, row.id), el('td', {}, row.name), el('td', { class: 'mono' }, row.payload),
      el('td', {}, row.at.toLocaleTimeString()));
    tr.hidden = !evMatches(row);
    row.tr = tr;
    return tr;
  }

  function evShow(row) {
    const body = $('events').tBodies[0];
    body.prepend(evRow(row));
    ev.rows.unshift(row);
    while (ev.rows.length > MAX_ROWS) ev.rows.pop().tr.remove();
  }

  function evStatus(s) {
    const held = ev.held.length ? ' — paused, ' + ev.held.length + ' held' : ev.paused ? ' — paused' : '';
    $('ev-status').textContent = ev.ctx ? 'Stream of ' + ev.ctx + ': ' + (s || ev.state || '') + held : 'Pick a context.';
    if (s) ev.state = s;
  }

  function evStart(name) {
    if (ev.stream) ev.stream.close();
    ev.stream = null;
    ev.ctx = name;
    ev.held = [];
    ev.rows = [];
    $('events').tBodies[0].replaceChildren();
    if (!name) {
      evStatus();
      return;
    }
    evStatus('connecting…');
    ev.stream = api.stream('/v1/contexts/' + enc(name) + '/events', {
      event(m) {
        if (m.event === 'deleted') {
          evStatus('the context was deleted');
          ev.stream.close();
          return;
        }
        if (m.event === 'lagged') return; /* the stream resumes from its last id */
        let d = {};
        try {
          d = JSON.parse(m.data);
        } catch (e) {
          return;
        }
        const row = { id: String(d.seq ?? m.id), name: d.name || m.event, payload: text(d, 'payload'), at: new Date() };
        if (ev.paused) ev.held.push(row);
        else evShow(row);
        evStatus();
      },
      status: evStatus,
    });
  }

  $('ev-ctx').addEventListener('change', () => {
    location.hash = '#/events/' + enc($('ev-ctx').value);
  });
  $('ev-filter').addEventListener('input', () => {
    for (const r of ev.rows) r.tr.hidden = !evMatches(r);
  });
  $('ev-pause').addEventListener('click', () => {
    ev.paused = !ev.paused;
    const b = $('ev-pause');
    b.setAttribute('aria-pressed', String(ev.paused));
    b.textContent = ev.paused ? 'Resume' : 'Pause';
    if (!ev.paused) {
      for (const row of ev.held) evShow(row);
      ev.held = [];
    }
    evStatus();
  });
  $('ev-clear').addEventListener('click', () => {
    ev.rows = [];
    ev.held = [];
    $('events').tBodies[0].replaceChildren();
    evStatus();
  });

  views.events = {
    async enter(name) {
      try {
        const list = await contexts();
        fillSelect($('ev-ctx'), list, (c) => text(c, 'name'), (c) => text(c, 'name'));
        if (!name && list.length) name = text(list[0], 'name');
        if (name) $('ev-ctx').value = name;
      } catch (e) {
        banner(e);
      }
      if (name !== ev.ctx || !ev.stream) evStart(name);
    },
    leave() {
      if (ev.stream) ev.stream.close();
      ev.stream = null;
      ev.ctx = null;
    },
  };

  /* ---- state ----------------------------------------------------------- */

  const st = { ctx: null, kvCursor: null, crdtCursor: null, tblCursor: null, tables: {} };

  /* The public tables of the context's app, from its schema (a Cosmictron
   * app's "schema" lines: "table NAME (public...): columns..."), offered by
   * name with their columns. */
  async function stTables(name) {
    st.tables = {};
    try {
      const c = await api.request('GET', '/v1/contexts/' + enc(name));
      const a = await api.request('GET', '/v1/apps/' + enc(c.app));
      for (const line of a.schema || []) {
        const m = /^table (\S+) \(public[^)]*\): (.*)$/.exec(line);
        if (m) st.tables[m[1]] = m[2];
      }
    } catch (e) { /* the tables are offered when known, typed otherwise */ }
    $('tbl-names').replaceChildren(...Object.keys(st.tables).map((t) => el('option', { value: t })));
  }

  function stCtx() {
    return $('st-ctx').value;
  }

  async function kvPage(first) {
    const name = stCtx();
    if (!name) return;
    showError($('st-error'), null);
    let q = 'limit=' + enc($('kv-limit').value || '50');
    const prefix = $('kv-prefix').value;
    if (prefix) q += '&prefix=' + enc(prefix);
    if (!first && st.kvCursor) q += '&' + st.kvCursor;
    try {
      const r = await api.request('GET', '/v1/contexts/' + enc(name) + '/kv?' + q);
      fill($('kv').tBodies[0], r.items.map((it) =>
        el('tr', {}, el('td', { class: 'mono' }, text(it, 'key')), el('td', { class: 'mono' }, text(it, 'value')))));
      if (!r.items.length) fill($('kv').tBodies[0], [el('tr', {}, el('td', { colspan: 2 }, '(no keys)'))]);
      st.kvCursor = r.next !== undefined && r.next !== null ? 'after=' + enc(r.next)
        : r.next_base64 ? 'after_base64=' + enc(r.next_base64) : null;
      $('kv-next').disabled = !st.kvCursor;
    } catch (e) {
      showError($('st-error'), e);
    }
  }

  async function crdtPage(first) {
    const name = stCtx();
    if (!name) return;
    let q = 'limit=100';
    if (!first && st.crdtCursor) q += '&' + st.crdtCursor;
    try {
      const r = await api.request('GET', '/v1/contexts/' + enc(name) + '/crdt?' + q);
      const rows = r.items.map((it) => {
        const key = text(it, 'key');
        /* Keys that are not text cannot be named in the path. */
        const open = it.key !== undefined
          ? el('button', { type: 'button', class: 'quiet', onclick: () => crdtShow(name, it.key) }, key)
          : el('span', { class: 'mono' }, key);
        return el('tr', {}, el('td', {}, open), el('td', {}, it.type));
      });
      if (first) fill($('crdt').tBodies[0], rows);
      else $('crdt').tBodies[0].append(...rows);
      if (first && !rows.length) fill($('crdt').tBodies[0], [el('tr', {}, el('td', { colspan: 2 }, '(no CRDT keys)'))]);
      st.crdtCursor = r.next !== undefined && r.next !== null ? 'after=' + enc(r.next)
        : r.next_base64 ? 'after_base64=' + enc(r.next_base64) : null;
      $('crdt-next').disabled = !st.crdtCursor;
    } catch (e) {
      if (e.status === 404 && e.message.indexOf('context') < 0) {
        fill($('crdt').tBodies[0], [el('tr', {}, el('td', { colspan: 2 }, 'this node serves no CRDTs'))]);
      } else {
        showError($('st-error'), e);
      }
    }
  }

  async function crdtShow(name, key) {
    const box = $('crdt-value');
    try {
      const doc = await api.request('GET', '/v1/contexts/' + enc(name) + '/crdt/' + enc(key));
      box.hidden = false;
      $('crdt-h').textContent = key + ' (' + doc.type + ')';
      $('crdt-body').replaceChildren(...crdtRender(doc));
    } catch (e) {
      showError($('st-error'), e);
    }
  }

  /* A Cosmictron context's public table (docs/cosmictron.md): rows as JSON
   * objects in primary-key order; the columns are the rows' members, as
   * the API gives no schema yet. */
  async function tblPage(first) {
    const name = stCtx(), table = $('tbl-name').value.trim();
    if (!name || !table) return;
    let q = 'limit=' + enc($('kv-limit').value || '50');
    if (!first && st.tblCursor) q += '&after=' + enc(st.tblCursor);
    const head = $('tbl').tHead, body = $('tbl').tBodies[0];
    try {
      const r = await api.request('GET', '/v1/contexts/' + enc(name) + '/tables/' + enc(table) + '?' + q);
      const cols = [];
      for (const row of r.items) for (const k of Object.keys(row)) if (!cols.includes(k)) cols.push(k);
      head.replaceChildren(el('tr', {}, ...cols.map((c) => el('th', { scope: 'col' }, c))));
      fill(body, r.items.map((row) => el('tr', {}, ...cols.map((c) => {
        const v = row[c];
        return el('td', { class: 'mono' }, v === null || v === undefined ? el('span', { class: 'hex' }, 'null')
          : typeof v === 'string' ? v : JSON.stringify(v));
      }))));
      st.tblCursor = r.next === undefined ? null : r.next;
      $('tbl-schema').textContent = st.tables[table] ? table + ': ' + st.tables[table] : '';
      $('tbl-next').disabled = !st.tblCursor;
      $('tbl-status').textContent = r.items.length + ' row(s) of ' + table + (st.tblCursor ? ', more on the next page' : '');
    } catch (e) {
      head.replaceChildren();
      fill(body, []);
      $('tbl-next').disabled = true;
      $('tbl-status').textContent = e.status === 404
        ? 'No public table ' + table + ' here (' + e.message + ')' : e.code + ': ' + e.message;
    }
  }

  $('tbl-form').addEventListener('submit', (e) => {
    e.preventDefault();
    st.tblCursor = null;
    tblPage(true);
  });
  $('tbl-next').addEventListener('click', () => tblPage(false));

  function stLoad() {
    st.kvCursor = st.crdtCursor = st.tblCursor = null;
    $('crdt-value').hidden = true;
    $('tbl').tHead.replaceChildren();
    fill($('tbl').tBodies[0], []);
    $('tbl-status').textContent = '';
    $('tbl-schema').textContent = '';
    $('tbl-next').disabled = true;
    if (stCtx()) stTables(stCtx());
    kvPage(true);
    crdtPage(true);
    if ($('tbl-name').value.trim()) tblPage(true);
  }

  $('kv-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (location.hash !== '#/state/' + enc(stCtx())) location.hash = '#/state/' + enc(stCtx());
    else stLoad();
  });
  $('st-ctx').addEventListener('change', () => {
    location.hash = '#/state/' + enc(stCtx());
  });
  $('kv-next').addEventListener('click', () => kvPage(false));
  $('kv-first').addEventListener('click', () => kvPage(true));
  $('crdt-next').addEventListener('click', () => crdtPage(false));

  views.state = {
    async enter(name) {
      try {
        const list = await contexts();
        fillSelect($('st-ctx'), list, (c) => text(c, 'name'), (c) => text(c, 'name'));
        if (name) $('st-ctx').value = name;
      } catch (e) {
        banner(e);
      }
      stLoad();
    },
  };

  /* ---- start ----------------------------------------------------------- */

  function tokenChanged() {
    $('forget-token').hidden = !api.token();
  }
  document.addEventListener('weft-token', tokenChanged);
  $('forget-token').addEventListener('click', () => {
    api.forget();
    location.reload();
  });
  $('auth-cancel').addEventListener('click', () => $('auth').close(''));
  window.addEventListener('hashchange', route);
  tokenChanged();
  route();
  metrics.sample();
  setInterval(metrics.sample, 2000);
})();
