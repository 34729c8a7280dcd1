/**
 * The dashboard: one static page (HTML, CSS, vanilla JS, a canvas chart) kept in a TS module so
 * the build needs no asset step. It draws from `/api/stream` (Server-Sent Events) and updates in
 * place; text is set with `textContent` only, since agent ids, topics and reasons are client input.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenClaw Gateway</title>
<style>
  :root { --bg:#0f1419; --panel:#171d24; --line:#2a333d; --text:#d7dde4; --dim:#8593a3; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --accent:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; gap:1.5rem; align-items:baseline; padding:.8rem 1.2rem; border-bottom:1px solid var(--line); flex-wrap:wrap; }
  header h1 { font-size:1.1rem; margin:0; }
  header span { color:var(--dim); }
  #stage.ready { color:var(--ok); } #stage.not-ready { color:var(--warn); }
  #connection.live { color:var(--ok); } #connection.lost { color:var(--bad); }
  main { display:grid; grid-template-columns: 1fr 1fr; gap:1rem; padding:1rem 1.2rem; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:.8rem; min-width:0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size:.95rem; margin:0 0 .6rem; color:var(--dim); font-weight:600; }
  table { width:100%; border-collapse:collapse; }
  th, td { text-align:left; padding:.25rem .5rem; border-bottom:1px solid var(--line); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:22rem; }
  th { color:var(--dim); font-weight:500; }
  .state-running, .health-healthy { color:var(--ok); }
  .state-initializing, .state-maintenance, .state-upgrade, .health-degraded, .health-unknown { color:var(--warn); }
  .state-terminated, .health-unhealthy { color:var(--bad); }
  canvas { width:100%; height:180px; display:block; }
  .legend span { margin-right:1rem; } .legend i { display:inline-block; width:.8rem; height:.2rem; vertical-align:middle; margin-right:.3rem; }
  ol { list-style:none; margin:0; padding:0; max-height:260px; overflow:auto; font-family: ui-monospace, monospace; font-size:12px; }
  li { padding:.15rem 0; border-bottom:1px solid var(--line); }
  li time { color:var(--dim); margin-right:.6rem; }
  li .kind { margin-right:.6rem; color:var(--accent); }
  li.kind-anomaly .kind, li.kind-dead-letter .kind, li.kind-restart .kind { color:var(--bad); }
  .empty { color:var(--dim); font-style:italic; }
</style>
</head>
<body>
<header>
  <h1>OpenClaw Gateway</h1>
  <span>id <b id="gateway-id">…</b></span>
  <span>v<b id="gateway-version">…</b></span>
  <span>stage <b id="stage">…</b></span>
  <span>uptime <b id="uptime">…</b></span>
  <span>agents <b id="agent-count">0</b></span>
  <span id="connection">connecting…</span>
</header>
<main>
  <section class="wide">
    <h2>Throughput (messages/s)</h2>
    <canvas id="chart" width="1200" height="180"></canvas>
    <div class="legend"><span><i style="background:#58a6ff"></i>accepted</span><span><i style="background:#3fb950"></i>delivered</span><span><i style="background:#d29922"></i>dropped</span><span><i style="background:#f85149"></i>dead-lettered</span></div>
  </section>
  <section class="wide">
    <h2>Agents</h2>
    <table id="agents"><thead><tr><th>Agent</th><th>Service</th><th>Version</th><th>State</th><th>Health</th><th>Managed</th><th>Lease</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Topics and services</h2>
    <table id="targets"><thead><tr><th>Kind</th><th>Name</th><th>msg/s</th><th>Total</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Recent events</h2>
    <ol id="events"></ol>
  </section>
</main>
<script>
(function () {
  'use strict';
  var MAX_EVENTS = 200;
  var history = [];
  var historyLimit = 120;
  /** This gateway, from the status: leases of agents owned elsewhere are shown as theirs. */
  var gatewayId = '';
  var $ = function (id) { return document.getElementById(id); };

  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    td.title = text;
    row.appendChild(td);
  }
  function duration(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  }
  function renderStatus(status) {
    $('gateway-id').textContent = status.gatewayId;
    gatewayId = status.gatewayId;
    $('gateway-version').textContent = status.version;
    $('stage').textContent = status.stage;
    $('stage').className = status.ready ? 'ready' : 'not-ready';
    $('uptime').textContent = duration(status.uptimeMs);
    $('agent-count').textContent = String(status.agents.total);
  }
  function renderAgents(agents) {
    var body = $('agents').tBodies[0];
    var rows = document.createDocumentFragment();
    if (agents.length === 0) {
      var empty = document.createElement('tr');
      cell(empty, 'no agents registered', 'empty');
      rows.appendChild(empty);
    }
    var now = Date.now();
    agents.forEach(function (agent) {
      var row = document.createElement('tr');
      row.dataset.agentId = agent.agentId;
      row.dataset.state = agent.state;
      cell(row, agent.agentId);
      cell(row, agent.service);
      cell(row, agent.version);
      cell(row, agent.state, 'state-' + agent.state);
      cell(row, agent.health, 'health-' + agent.health);
      cell(row, agent.managed ? 'yes' : 'no');
      // Another gateway holds (and renews) that lease; our copy of its expiry is not kept current.
      if (agent.gatewayId !== gatewayId) cell(row, 'at ' + agent.gatewayId);
      else cell(row, agent.leaseExpiresAt > now ? 'in ' + duration(agent.leaseExpiresAt - now) : 'expired');
      rows.appendChild(row);
    });
    body.replaceChildren(rows);
  }
  function renderTargets(targets) {
    var body = $('targets').tBodies[0];
    var rows = document.createDocumentFragment();
    targets.forEach(function (target) {
      var row = document.createElement('tr');
      row.dataset.target = target.kind + ':' + target.name;
      cell(row, target.kind);
      cell(row, target.name);
      cell(row, String(target.perSecond));
      cell(row, String(target.total));
      rows.appendChild(row);
    });
    body.replaceChildren(rows);
  }
  function addEvents(events) {
    var list = $('events');
    events.forEach(function (event) {
      var item = document.createElement('li');
      item.className = 'kind-' + event.kind;
      item.dataset.kind = event.kind;
      var time = document.createElement('time');
      time.textContent = new Date(event.at).toLocaleTimeString();
      var kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = event.kind;
      var text = document.createElement('span');
      text.textContent = event.message;
      item.append(time, kind, text);
      list.insertBefore(item, list.firstChild);
    });
    while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
  }
  var SERIES = [['accepted', '#58a6ff'], ['delivered', '#3fb950'], ['dropped', '#d29922'], ['deadLettered', '#f85149']];
  function drawChart() {
    var canvas = $('chart');
    var ctx = canvas.getContext('2d');
    var width = canvas.width, height = canvas.height, pad = 24;
    ctx.clearRect(0, 0, width, height);
    var max = 1;
    history.forEach(function (p) { SERIES.forEach(function (s) { if (p[s[0]] > max) max = p[s[0]]; }); });
    ctx.strokeStyle = '#2a333d'; ctx.fillStyle = '#8593a3'; ctx.font = '11px sans-serif'; ctx.lineWidth = 1;
    for (var g = 0; g <= 4; g++) {
      var y = pad + (height - 2 * pad) * g / 4;
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(width - 4, y); ctx.stroke();
      ctx.fillText(String(Math.round(max * (4 - g) / 4 * 10) / 10), 2, y - 2);
    }
    if (history.length < 2) return;
    var step = (width - pad - 4) / (historyLimit - 1);
    var offset = historyLimit - history.length;
    // Accepted and delivered are often equal: drawing the others first and wider keeps each
    // series visible as a coloured edge instead of one line hiding another.
    SERIES.slice().reverse().forEach(function (s, i, drawn) {
      ctx.strokeStyle = s[1]; ctx.lineWidth = 2 + 2 * (drawn.length - 1 - i); ctx.beginPath();
      history.forEach(function (p, i) {
        var x = pad + (offset + i) * step;
        var y = height - pad - (p[s[0]] / max) * (height - 2 * pad);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
  }
  function apply(data) {
    renderStatus(data.status);
    renderAgents(data.agents);
    renderTargets(data.targets);
    addEvents(data.events);
    if (data.point) { history.push(data.point); if (history.length > historyLimit) history.shift(); }
    drawChart();
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }
  var source = new EventSource('api/stream');
  source.addEventListener('open', function () { $('connection').textContent = 'live'; $('connection').className = 'live'; });
  source.addEventListener('error', function () { $('connection').textContent = 'reconnecting…'; $('connection').className = 'lost'; });
  source.addEventListener('snapshot', function (e) {
    var data = JSON.parse(e.data);
    history = (data.history || []).slice(-historyLimit);
    $('events').replaceChildren();
    data.point = undefined;
    apply(data);
  });
  source.addEventListener('update', function (e) { apply(JSON.parse(e.data)); });
})();
</script>
</body>
</html>
`;
