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
    main.append(el('section', { class: 'wide', id: 'benchmark' }, el('h2', {}, 'Latest benchmark'), 'loading…'));
    built = true;
    loadBenchmark();
    setInterval(loadBenchmark, BENCHMARK_EVERY_MS);
  }

  // The latest `oep endpoint benchmark` report: read again now and then (a sweep run while the page
  // is open shows up without a reload), drawn again only when it is another report.
  const BENCHMARK_EVERY_MS = 5000;
  let benchmarkShown;

  function loadBenchmark() {
    fetch('/api/endpoints/' + encodeURIComponent(endpoint) + '/benchmark' + q)
      .then((r) => (r.status === 404 ? null : r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
      .then((report) => {
        const id = report ? report.id : null;
        if (id === benchmarkShown) return;
        benchmarkShown = id;
        if (report) showBenchmark(report);
        else document.getElementById('benchmark').replaceChildren(el('h2', {}, 'Latest benchmark'),
          el('p', { id: 'benchmark-none' }, 'No benchmark yet: oep endpoint benchmark -n ' + endpoint + ' --request-file <file> --rate 5:40:5 --target-rps <n>'));
      })
      .catch(() => undefined);
  }

  function showBenchmark(report) {
    const panel = document.getElementById('benchmark');
    const unit = report.mode === 'rate' ? 'req/s offered' : 'connections';
    const holder = el('div', { id: 'benchmark-chart' });
    panel.replaceChildren(el('h2', {}, 'Latest benchmark'),
      el('p', { id: 'benchmark-meta', class: 'meta' }, 'report ' + report.id + ' · ' + new Date(report.started_at).toLocaleString() + ' · ' +
        (report.mode === 'rate' ? 'rate sweep' : 'concurrency sweep') + ', ' + report.steps.length + ' steps of ' + report.duration_s + ' s (' + report.warmup_s + ' s warm-up)' +
        (report.deployment ? ' · deployment ' + report.deployment : '') + (report.interrupted ? ' · interrupted' : '')),
      holder,
      ...benchmarkLines(report, unit));
    benchmarkChart(report, holder, Math.max(400, Math.min(panel.clientWidth - 40, 1000)));
  }

  // Offered load on x; achieved req/s and 429 answers/s on the left axis (the same unit), p99 on
  // the right; the knee as a ring on the achieved line.
  function benchmarkChart(report, holder, width) {
    const steps = report.steps.filter((s) => s.completed > 0).sort((a, b) => a.offered - b.offered);
    const knee = report.knee;
    const data = [
      steps.map((s) => s.offered),
      steps.map((s) => s.achievedRps),
      steps.map((s) => (s.counts.s429 > 0 ? s.counts.s429 / (s.durationMs / 1000) : null)),
      steps.map((s) => (knee && s.offered === knee.offered ? s.achievedRps : null)),
      steps.map((s) => s.latencyMs.p99),
    ];
    const marks = (color, size, fill) => ({ show: true, size, stroke: color, fill, width: 2 });
    new uPlot({
      width,
      height: 260,
      scales: { x: { time: false }, rps: { auto: true, range: (u, min, max) => [0, Math.max(1, max * 1.1)] }, ms: { auto: true, range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      series: [
        { label: report.mode === 'rate' ? 'offered req/s' : 'connections' },
        { label: 'achieved req/s', scale: 'rps', stroke: COLORS[0], width: 2, points: marks(COLORS[0], 5, COLORS[0]) },
        { label: '429 answers/s', scale: 'rps', stroke: '#c0392b', paths: () => null, points: marks('#c0392b', 9, '#c0392b') },
        { label: 'knee', scale: 'rps', stroke: COLORS[1], paths: () => null, points: marks(COLORS[1], 16, '#0000') },
        { label: 'p99 ms', scale: 'ms', stroke: COLORS[2], width: 2, dash: [6, 4], points: marks(COLORS[2], 5, COLORS[2]) },
      ],
      axes: [
        { label: report.mode === 'rate' ? 'offered req/s' : 'connections', splits: () => data[0] },
        { scale: 'rps', label: 'req/s', size: 60 },
        { scale: 'ms', side: 1, label: 'p99 ms', size: 60, grid: { show: false } },
      ],
      legend: { show: true },
    }, data, holder);
  }

  // The report's reading in words, as `oep endpoint benchmark` prints it under its table.
  function benchmarkLines(report, unit) {
    const lines = [];
    const knee = report.knee;
    lines.push(el('p', { id: 'benchmark-knee' }, knee
      ? 'Knee: ' + knee.offered + ' ' + unit + ': ' + fmt(knee.achieved_rps) + ' req/s achieved, p99 ' + fmt(knee.p99_ms) + ' ms (p99 within ' + report.knee_factor + 'x the lowest step\'s, no 429)'
      : 'Knee: none (already the lowest step\'s p99 rose, or it got 429)'));
    if (report.in_flight_limit !== null) {
      const t = report.throttling;
      const limit = 'Azure\'s limit: ' + report.in_flight_limit + ' in flight (2 x max_concurrent_requests_per_instance x instance_count)';
      lines.push(el('p', { id: 'benchmark-throttling' }, t
        ? '429 from ' + t.offered + ' ' + unit + ' (' + t.s429 + ' answers, up to ' + t.max_in_flight + ' in flight); ' + limit
        : 'No 429 in any step; ' + limit));
    }
    const a = report.recommendation;
    lines.push(el('p', { id: 'benchmark-recommendation' }, a
      ? 'Recommended for ' + a.target_rps + ' req/s at ' + Math.round(a.target_utilization * 100) + '% utilization: instance_count: ' + a.instance_count + ' for ' + a.deployment +
        ' (ceil(' + a.target_rps + ' x ' + a.latency_s.toFixed(3) + ' s / ' + a.target_utilization + ' / ' + a.max_concurrent_requests_per_instance + '), Azure\'s formula with the measured p99)'
      : 'No recommendation: run with --target-rps N for an instance_count (Azure\'s formula with the measured p99).'));
    if (report.slo) lines.push(el('p', { class: report.slo.breaches.length ? 'bad' : 'ok' }, 'SLO ' + report.slo.text + ': ' + (report.slo.breaches.length ? 'broken: ' + report.slo.breaches.join('; ') : 'met')));
    for (const warning of report.warnings) lines.push(el('p', { class: 'bad' }, 'Warning: ' + warning));
    return lines;
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
