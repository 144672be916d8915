// The dashboard page: no framework, no build step. It reads the token from its own URL, lists the
// endpoints (index) or follows one endpoint's snapshots over server-sent events.
(function () {
  'use strict';
  const token = new URLSearchParams(location.search).get('token') || '';
  const q = '?token=' + encodeURIComponent(token);
  const main = document.getElementById('main');
  const status = document.getElementById('status');
  const COLORS = ['#2f6fde', '#2ca25f', '#e6862e', '#8e44ad', '#c0392b', '#16a2b8', '#7f8c8d'];
  const match = /^\/endpoints\/(.+)$/.exec(location.pathname);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) node.append(child);
    return node;
  }
  const fmt = (v, digits = 1) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));
  const pct = (v) => (v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%');

  if (!match) {
    document.getElementById('title').textContent = 'endpoints';
    fetch('/api/endpoints' + q).then((r) => r.json()).then((names) => {
      const list = el('ul', { class: 'endpoints' });
      for (const name of names) list.append(el('li', {}, el('a', { href: '/endpoints/' + encodeURIComponent(name) + q }, name)));
      main.append(el('section', { class: 'wide' }, el('h2', {}, 'Endpoints'), names.length ? list : 'No endpoints yet.'));
      status.textContent = '';
    });
    return;
  }

  const endpoint = decodeURIComponent(match[1]);
  document.title = 'oep · ' + endpoint;
  document.getElementById('title').textContent = endpoint;
  const colorOf = {};
  const charts = {};
  let built = false;

  function splitBar(deployments, key, cls) {
    const bar = el('div', { class: cls, id: key + '-split' });
    for (const d of deployments) {
      if (!d[key]) continue;
      const part = el('div', { 'data-deployment': d.name }, d.name + ' ' + d[key] + '%');
      part.style.width = d[key] + '%';
      part.style.background = colorOf[d.name];
      bar.append(part);
    }
    return bar;
  }

  function chart(id, title, unit, names) {
    const series = [{}];
    for (const name of names) series.push({ label: name, stroke: colorOf[name.split(' ')[0]], width: 2, spanGaps: true });
    const holder = el('section', {}, el('h2', {}, title));
    main.append(holder);
    charts[id] = new uPlot({ width: 400, height: 180, series, axes: [{}, { label: unit, size: 60 }], legend: { show: true } }, [[]], holder);
  }

  function build(snapshot) {
    snapshot.deployments.forEach((d, i) => (colorOf[d.name] = COLORS[i % COLORS.length]));
    const split = el('section', { class: 'wide', id: 'split' }, el('h2', {}, 'Traffic split (live, then mirrored)'));
    main.append(split);
    chart('rps', 'Requests per second', 'req/s', snapshot.deployments.map((d) => d.name));
    chart('p50', 'Latency p50 (ms)', 'ms', snapshot.deployments.map((d) => d.name));
    chart('p95', 'Latency p95 (ms)', 'ms', snapshot.deployments.map((d) => d.name));
    chart('p99', 'Latency p99 (ms)', 'ms', snapshot.deployments.map((d) => d.name));
    chart('errors', 'Error rate', '%', snapshot.deployments.map((d) => d.name));
    main.append(el('section', { id: 'replicas' }), el('section', { id: 'compare' }));
    built = true;
  }

  function update(snapshot) {
    if (!built) build(snapshot);
    const split = document.getElementById('split');
    split.replaceChildren(el('h2', {}, 'Traffic split (live, then mirrored)'), splitBar(snapshot.deployments, 'traffic', 'split'), splitBar(snapshot.deployments, 'mirror', 'split mirror-split'));
    const series = (d) => (d.mirror > 0 && d.traffic === 0 ? d.mirrored : d.live);
    const first = snapshot.deployments.length ? series(snapshot.deployments[0]) : [];
    const xs = first.map((p) => p.t);
    const pick = (field) => [xs, ...snapshot.deployments.map((d) => series(d).map((p) => (field === 'errors' ? (p.requests ? (100 * p.errors) / p.requests : null) : field === 'requests' ? p.requests : p[field])))];
    charts.rps.setData(pick('requests'));
    for (const f of ['p50', 'p95', 'p99']) charts[f].setData(pick(f));
    charts.errors.setData(pick('errors'));

    const rows = snapshot.deployments.map((d) =>
      el('tr', { 'data-deployment': d.name },
        el('td', {}, d.name), el('td', {}, d.traffic + '%'), el('td', {}, d.mirror + '%'),
        el('td', { class: 'requests' }, String(d.requests_total)), el('td', {}, String(d.mirrored_total)),
        el('td', {}, d.replicas.map((r) => '#' + r.replica + (r.ready ? ' ready' : ' not ready') + (r.restarts ? ' (' + r.restarts + ' restarts)' : '')).join(', ') || 'none')));
    document.getElementById('replicas').replaceChildren(el('h2', {}, 'Deployments and replicas'),
      el('table', {}, el('tr', {}, ...['Deployment', 'Live', 'Mirror', 'Requests', 'Mirrored', 'Replicas'].map((h) => el('th', {}, h))), ...rows));

    const compare = document.getElementById('compare');
    const c = snapshot.compare;
    if (!c) {
      compare.replaceChildren(el('h2', {}, 'Mirror comparison'), 'No mirrored requests recorded yet (oep traffic mirror -n ' + endpoint + ' <deployment>=<percent>).');
    } else {
      const good = c.agreement.above_noise !== null && c.agreement.above_noise >= 0.99;
      compare.replaceChildren(el('h2', {}, 'Mirror comparison (oep traffic compare)'),
        el('table', {},
          el('tr', {}, el('td', {}, 'Pairs'), el('td', {}, String(c.pairs))),
          el('tr', {}, el('td', {}, 'Agreement (above noise)'), el('td', { class: good ? 'ok' : 'bad' }, pct(c.agreement.above_noise))),
          el('tr', {}, el('td', {}, 'Exact / within tolerance'), el('td', {}, pct(c.agreement.exact) + ' / ' + pct(c.agreement.within_tolerance))),
          el('tr', {}, el('td', {}, 'Latency p50 live / mirror'), el('td', {}, fmt(c.latency_ms.live.p50) + ' / ' + fmt(c.latency_ms.mirror.p50) + ' ms')),
          el('tr', {}, el('td', {}, 'Mirror errors / dropped'), el('td', {}, c.mirror.errors + ' / ' + c.mirror.dropped)),
          ...c.differences.map((d) => el('tr', {}, el('td', {}, d.path), el('td', {}, d.count + ' pairs (' + pct(d.rate) + ')' + (d.above_noise ? '' : ', noise'))))));
    }
    status.textContent = 'updated ' + new Date(snapshot.time).toLocaleTimeString();
  }

  const events = new EventSource('/events/' + encodeURIComponent(endpoint) + q);
  events.onmessage = (message) => update(JSON.parse(message.data));
  events.onerror = () => (status.textContent = 'reconnecting…');
})();
