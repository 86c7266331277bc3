/* charts.js — small live line charts in plain SVG, and the reading of the
 * node's /metrics (Prometheus text) into the numbers they plot.
 * Written for the console (docs/console.md): no library, nothing fetched
 * from elsewhere. The SVG's geometry is set through attributes, since the
 * Content-Security-Policy allows no inline style. */
'use strict';

const weftCharts = (() => {
  const SVG = 'http://www.w3.org/2000/svg';
  const POINTS = 60; /* two minutes at one sample every 2 s */

  /* A chart in container: {push(value or null)}; format(v) writes a value
   * for the caption. */
  function chart(container, title, format) {
    const fig = document.createElement('figure');
    fig.className = 'chart';
    const cap = document.createElement('figcaption');
    const name = document.createElement('span');
    name.textContent = title;
    const now = document.createElement('span');
    now.className = 'now';
    now.textContent = '—';
    cap.append(name, now);
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + (POINTS - 1) + ' 100');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    const base = document.createElementNS(SVG, 'line');
    base.setAttribute('class', 'base');
    for (const [k, v] of [['x1', 0], ['y1', 99], ['x2', POINTS - 1], ['y2', 99]]) base.setAttribute(k, v);
    const line = document.createElementNS(SVG, 'polyline');
    svg.append(base, line);
    fig.append(cap, svg);
    container.append(fig);
    const values = [];

    function push(v) {
      values.push(v);
      if (values.length > POINTS) values.shift();
      const nums = values.filter((x) => x !== null);
      const max = Math.max(1e-9, ...nums);
      const start = POINTS - values.length;
      const pts = [];
      values.forEach((x, i) => {
        const y = 99 - ((x === null ? 0 : x) / max) * 94;
        pts.push((start + i) + ',' + y.toFixed(2));
      });
      line.setAttribute('points', pts.join(' '));
      now.textContent = v === null ? '—' : format(v);
      svg.setAttribute('aria-label', title + ': now ' + now.textContent +
        (nums.length ? ', highest ' + format(Math.max(...nums)) : '') + ' over the last ' +
        values.length + ' samples');
    }
    return { push };
  }

  /* Prometheus text into {name: [{labels: {...}, value}]}. */
  function parse(text) {
    const out = {};
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      const labels = {};
      if (m[3]) {
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
        let l;
        while ((l = re.exec(m[3]))) labels[l[1]] = l[2];
      }
      (out[m[1]] = out[m[1]] || []).push({ labels, value: parseFloat(m[4]) });
    }
    return out;
  }

  function sum(metrics, name, match) {
    let t = 0;
    for (const s of metrics[name] || [])
      if (!match || Object.keys(match).every((k) => s.labels[k] === match[k])) t += s.value;
    return t;
  }

  /* The rates and gauges the charts plot, from two samples dt seconds apart:
   * calls/s, traps/s, commits/s, the p99 call latency in seconds (the upper
   * bound of the histogram bucket holding the 99th percentile of the calls
   * in between; null with no calls) and the store's size in bytes. */
  function derive(prev, cur, dt) {
    const rate = (name, match) => Math.max(0, sum(cur, name, match) - sum(prev, name, match)) / dt;
    const calls = rate('weft_calls_total');
    let p99 = null;
    const n = sum(cur, 'weft_call_seconds_count') - sum(prev, 'weft_call_seconds_count');
    if (n > 0) {
      const before = {};
      for (const b of prev.weft_call_seconds_bucket || []) before[b.labels.le] = b.value;
      const buckets = (cur.weft_call_seconds_bucket || [])
        .map((b) => ({ le: b.labels.le === '+Inf' ? Infinity : parseFloat(b.labels.le),
                       count: b.value - (before[b.labels.le] || 0) }))
        .sort((a, b) => a.le - b.le);
      let finite = 0;
      for (const b of buckets) {
        if (b.count >= 0.99 * n) {
          p99 = b.le === Infinity ? finite : b.le; /* past the last bound: at least that */
          break;
        }
        finite = b.le;
      }
    }
    return {
      calls,
      traps: rate('weft_calls_total', { outcome: 'trap' }),
      commits: rate('weft_commits_total'),
      p99,
      store: sum(cur, 'weft_store_bytes'),
    };
  }

  return { chart, parse, derive };
})();
