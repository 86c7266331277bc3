/* render.js — the console's pure pieces (docs/console.md): API JSON into
 * DOM nodes and text, with no state and no requests, so the browser test
 * can check each on its own. Whatever the node or a guest sent becomes text
 * nodes (textContent), never HTML. */
'use strict';

const weftRender = (() => {
  /* An element with attributes (on* keys are listeners) and children
   * (strings become text). */
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }

  /* Bytes the API sent in base64 (not UTF-8), written as the command line
   * writes them: printable ASCII as is, the rest \xNN. */
  function fromBase64(b64) {
    const raw = atob(b64);
    let s = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      s += c >= 0x20 && c < 0x7f && c !== 0x5c ? raw[i] : '\\x' + c.toString(16).padStart(2, '0');
    }
    return s;
  }

  /* obj[key], or obj[key + "_base64"] decoded for reading. */
  function text(obj, key) {
    if (!obj) return '';
    if (obj[key] !== undefined && obj[key] !== null) return String(obj[key]);
    if (obj[key + '_base64'] !== undefined) return fromBase64(obj[key + '_base64']);
    return '';
  }

  /* A CRDT byte string: a JSON string, or {"hex": ...} when not UTF-8. */
  function crdtBytes(v) {
    if (v && typeof v === 'object' && v.hex !== undefined) return el('span', { class: 'hex' }, 'hex ' + v.hex);
    return String(v);
  }

  /* A CRDT value as GET .../crdt/{key} gives it ({"type", "value"}), drawn
   * by its type: a list of nodes. */
  function crdtRender(doc) {
    const v = doc.value;
    switch (doc.type) {
    case 'gcounter':
    case 'pncounter':
      return [el('p', { class: 'big' }, String(v)), el('p', { class: 'hint' },
        doc.type === 'gcounter' ? 'a counter that only grows' : 'a counter that goes up and down')];
    case 'lww':
      return [el('p', { class: 'big' }, v === null ? '(unset)' : crdtBytes(v)),
        el('p', { class: 'hint' }, 'a last-writer-wins register')];
    case 'lww_map':
      return [el('table', {}, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Field'), el('th', { scope: 'col' }, 'Value'))),
        el('tbody', {}, ...v.map((p) => el('tr', {}, el('td', { class: 'mono' }, crdtBytes(p.field)),
          el('td', { class: 'mono' }, crdtBytes(p.value)))))),
        el('p', { class: 'hint' }, v.length + ' field(s), last writer wins per field')];
    case 'orset':
      return [el('ul', { class: 'chips' }, ...v.map((x) => el('li', {}, crdtBytes(x)))),
        el('p', { class: 'hint' }, v.length + ' element(s), an observed-remove set')];
    case 'rga': {
      const joined = v.every((x) => typeof x === 'string') ? v.join('') : null;
      const parts = [el('ol', {}, ...v.map((x) => el('li', { class: 'mono' }, crdtBytes(x))))];
      if (joined !== null) parts.push(el('p', {}, 'As text: ', el('span', { class: 'mono' }, joined)));
      parts.push(el('p', { class: 'hint' }, v.length + ' element(s) in sequence order (RGA)'));
      return parts;
    }
    default:
      return [el('pre', {}, JSON.stringify(doc, null, 2))];
    }
  }

  return { el, fromBase64, text, crdtBytes, crdtRender };
})();
