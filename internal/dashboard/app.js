// fulcrum dashboard: polls the runtime API (API version 9) every second.
// Plain ES2017, no frameworks, nothing loaded from elsewhere.
//
// Convention (checked by dashboard_test.go against a running fulcrum): the
// API's JSON is read only through these names, always as name['field']:
// nx (/nginx), cn (/connections), rq (/http/requests), up (one upstream of
// /http/upstreams), pr and po (one of its peers, now and a second ago),
// rs and ro (a peer's responses, now and a second ago), hc (a peer's
// health_checks), qu (an upstream's queue), su (one upstream of
// /stream/upstreams), sp and so (one of its peers, now and a second ago),
// er (an error answer) and ee (its error object).
'use strict';

(function () {
  const api = (document.body.getAttribute('data-api') || '/api').replace(/\/+$/, '');
  const base = api + '/9';
  const classes = ['1xx', '2xx', '3xx', '4xx', '5xx'];
  const columns = ['server', 'state', 'weight', 'active', 'req/s', 'requests']
    .concat(classes, ['4xx/s', '5xx/s', 'sent/s', 'rcvd/s', 'fails', 'unavail', 'health', '']);

  const streamColumns = ['server', 'state', 'weight', 'active', 'conn/s', 'connections', 'sent/s', 'rcvd/s', 'fails', 'unavail', ''];

  let prev = null;       // the previous sample: {t, cn, rq, peers: Map, speers: Map}
  let layout = '';       // the upstreams and servers the tables show
  let rows = new Map();  // "upstream/id" -> {cells, buttons}
  let queues = new Map(); // upstream name -> the caption's queue text
  let streamLayout = ''; // the same for the stream upstreams
  let streamRows = new Map();
  let canWrite = false;  // the API answers PATCH (api write=on)
  let generation = -1;   // probe write access again after a reload
  let failing = false;   // the message shows that the API does not answer

  function $(id) { return document.getElementById(id); }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function num(n) { return typeof n === 'number' ? n.toLocaleString('en-US') : '\u2013'; }

  function rate(n) {
    if (n === null) return '\u2013';
    return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
  }

  function bytes(n) {
    if (n === null) return '\u2013';
    const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
  }

  function duration(ms) {
    let s = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d > 0) return d + 'd ' + h + 'h ' + m + 'm';
    if (h > 0) return h + 'h ' + m + 'm ' + s + 's';
    if (m > 0) return m + 'm ' + s + 's';
    return s + 's';
  }

  // perSecond is the rate of a counter between two samples dt seconds
  // apart; null without a previous sample, 0 if the counter went back.
  function perSecond(now, before, dt) {
    if (before === undefined || before === null || !(dt > 0)) return null;
    return Math.max(0, now - before) / dt;
  }

  function get(path) {
    return fetch(base + path, { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('GET ' + base + path + ': ' + r.status + ' ' + r.statusText);
      return r.json();
    });
  }

  function message(text, isError) {
    const m = $('message');
    m.hidden = !text;
    m.className = isError ? 'message error' : 'message';
    setText(m, text || '');
  }

  function status(text, cls) {
    const s = $('status');
    s.className = 'status ' + cls;
    setText(s, text);
  }

  // probeWrite asks whether the API takes changes: a PATCH of /nginx,
  // which changes nothing, is refused as MethodDisabled without
  // write=on and as MethodNotSupported with it.
  async function probeWrite() {
    try {
      const r = await fetch(base + '/nginx', {
        method: 'PATCH', cache: 'no-store', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' }, body: '{}'
      });
      const er = await r.json();
      const ee = er['error'] || {};
      return ee['code'] === 'MethodNotSupported';
    } catch (e) {
      return false;
    }
  }

  function showProcess(nx, t) {
    setText($('version'), nx['build'] + ' ' + nx['version']);
    const gen = nx['generation'];
    setText($('generation'), num(gen));
    setText($('pid'), String(nx['pid']));
    const loaded = Date.parse(nx['load_timestamp']);
    const now = Date.parse(nx['timestamp']) || t;
    setText($('uptime-label'), gen > 1 ? 'since reload' : 'uptime');
    setText($('uptime'), duration(now - loaded));
  }

  function showCounters(cn, rq, dt) {
    setText($('conn-active'), num(cn['active']));
    setText($('conn-idle'), num(cn['idle']));
    setText($('conn-accepted'), num(cn['accepted']));
    setText($('conn-dropped'), num(cn['dropped']));
    setText($('req-total'), num(rq['total']));
    setText($('req-current'), num(rq['current']));
    setText($('conn-rate'), rate(prev ? perSecond(cn['accepted'], prev.cn['accepted'], dt) : null));
    setText($('req-rate'), rate(prev ? perSecond(rq['total'], prev.rq['total'], dt) : null));
  }

  // layoutOf names what the tables show, so they are built again only when
  // a reload changes the upstreams or their servers.
  function layoutOf(ups) {
    return JSON.stringify(Object.keys(ups).map(function (name) {
      const up = ups[name];
      return [name, up['zone'] || '', up['peers'].map(function (pr) { return [pr['id'], pr['server'], pr['name'], pr['backup']]; })];
    })) + '|' + canWrite;
  }

  function build(ups) {
    const box = $('upstreams');
    box.textContent = '';
    rows = new Map();
    queues = new Map();
    Object.keys(ups).forEach(function (name) {
      const up = ups[name];
      const sec = el('div', 'upstream');
      const h = el('h2', '', 'upstream ' + name + ' ');
      h.appendChild(el('span', 'meta', up['zone'] ? '(zone ' + up['zone'] + ')' : '(no zone: read only)'));
      if (up['queue']) queues.set(name, h.appendChild(el('span', 'meta', '')));
      sec.appendChild(h);
      const table = el('table');
      const head = el('tr');
      columns.forEach(function (c, i) { head.appendChild(el('th', i === 0 ? 'name' : '', c)); });
      table.appendChild(el('thead')).appendChild(head);
      const body = el('tbody');
      up['peers'].forEach(function (pr) {
        body.appendChild(buildRow(name, up, pr));
      });
      table.appendChild(body);
      sec.appendChild(table);
      box.appendChild(sec);
    });
  }

  function buildRow(name, up, pr) {
    const tr = el('tr');
    const cells = {};
    columns.forEach(function (c, i) {
      const td = el('td', i === 0 ? 'name' : '');
      tr.appendChild(td);
      cells[c] = td;
    });
    cells.server.textContent = pr['server'];
    if (pr['name'] !== pr['server']) cells.server.appendChild(el('span', 'tag', pr['name']));
    if (pr['backup']) cells.server.appendChild(el('span', 'tag', 'backup'));
    const badge = el('span', 'state');
    cells.state.appendChild(badge);
    const buttons = {};
    if (canWrite && up['zone']) {
      [['drain', 'drain', { drain: true }], ['down', 'set down', { down: true }], ['restore', 'bring up', { down: false }]]
        .forEach(function (b) {
          const btn = el('button', '', b[1]);
          btn.type = 'button';
          btn.addEventListener('click', function () { change('http', name, pr['id'], pr['server'], b[1], b[2]); });
          cells[''].appendChild(btn);
          buttons[b[0]] = btn;
        });
    }
    rows.set(name + '/' + pr['id'], { cells: cells, badge: badge, buttons: buttons });
    return tr;
  }

  function showUpstreams(ups, dt, peers) {
    const l = layoutOf(ups);
    if (l !== layout) {
      build(ups);
      layout = l;
    }
    Object.keys(ups).forEach(function (name) {
      const up = ups[name];
      const qu = up['queue'];
      const q = queues.get(name);
      if (q && qu) setText(q, ' queue ' + num(qu['size']) + '/' + num(qu['max_size']) + ', ' + num(qu['overflows']) + ' overflows');
      up['peers'].forEach(function (pr) {
        const key = name + '/' + pr['id'] + '/' + pr['server'];
        peers.set(key, pr);
        const row = rows.get(name + '/' + pr['id']);
        if (row) showPeer(row, pr, prev ? prev.peers.get(key) : undefined, dt);
      });
    });
  }

  function showPeer(row, pr, po, dt) {
    const c = row.cells;
    const rs = pr['responses'];
    const ro = po ? po['responses'] : undefined;
    const st = pr['state'];
    setText(row.badge, st);
    row.badge.className = 'state state-' + st;
    setText(c.weight, num(pr['weight']));
    setText(c.active, num(pr['active']));
    setText(c.requests, num(pr['requests']));
    setText(c['1xx'], num(rs['1xx']));
    setText(c['2xx'], num(rs['2xx']));
    setText(c['3xx'], num(rs['3xx']));
    setText(c['4xx'], num(rs['4xx']));
    setText(c['5xx'], num(rs['5xx']));
    setText(c['req/s'], rate(po ? perSecond(pr['requests'], po['requests'], dt) : null));
    const r4 = ro ? perSecond(rs['4xx'], ro['4xx'], dt) : null;
    const r5 = ro ? perSecond(rs['5xx'], ro['5xx'], dt) : null;
    setText(c['4xx/s'], rate(r4));
    setText(c['5xx/s'], rate(r5));
    c['4xx/s'].className = r4 > 0 ? 'bad' : '';
    c['5xx/s'].className = r5 > 0 ? 'bad' : '';
    setText(c['sent/s'], bytes(po ? perSecond(pr['sent'], po['sent'], dt) : null));
    setText(c['rcvd/s'], bytes(po ? perSecond(pr['received'], po['received'], dt) : null));
    setText(c.fails, num(pr['fails']));
    setText(c.unavail, num(pr['unavail']));
    // What the active checks say: the state when they keep a server out,
    // else the last check's verdict; and the checks failed so far.
    const hc = pr['health_checks'];
    let health = st === 'unhealthy' ? 'failing' : st === 'checking' ? 'checking' : '\u2013';
    if (hc && st !== 'unhealthy' && st !== 'checking' && hc['last_passed'] !== undefined) {
      health = hc['last_passed'] ? 'passed' : 'last failed';
    }
    if (hc) health += ' (' + num(hc['fails']) + ' failed)';
    setText(c.health, health);
    c.health.className = st === 'unhealthy' || (hc && hc['last_passed'] === false) ? 'bad' : '';
    const b = row.buttons;
    if (b.drain) {
      b.drain.disabled = st === 'draining' || st === 'down';
      b.down.disabled = st === 'down';
      b.restore.disabled = st !== 'down' && st !== 'draining';
    }
  }

  // The stream block's upstreams: connections instead of requests and
  // responses; with a zone and a writable API, buttons to set a server
  // down and bring it up (stream servers have no drain).
  function streamLayoutOf(sups) {
    return JSON.stringify(Object.keys(sups).map(function (name) {
      const su = sups[name];
      return [name, su['zone'] || '', su['peers'].map(function (sp) { return [sp['id'], sp['server'], sp['name'], sp['backup']]; })];
    })) + '|' + canWrite;
  }

  function buildStream(sups) {
    const box = $('stream-upstreams');
    box.textContent = '';
    streamRows = new Map();
    Object.keys(sups).forEach(function (name) {
      const su = sups[name];
      const sec = el('div', 'upstream');
      const h = el('h2', '', 'stream upstream ' + name + ' ');
      h.appendChild(el('span', 'meta', su['zone'] ? '(zone ' + su['zone'] + ')' : '(no zone: read only)'));
      sec.appendChild(h);
      const table = el('table');
      const head = el('tr');
      streamColumns.forEach(function (c, i) { head.appendChild(el('th', i === 0 ? 'name' : '', c)); });
      table.appendChild(el('thead')).appendChild(head);
      const body = el('tbody');
      su['peers'].forEach(function (sp) {
        const tr = el('tr');
        const cells = {};
        streamColumns.forEach(function (c, i) {
          const td = el('td', i === 0 ? 'name' : '');
          tr.appendChild(td);
          cells[c] = td;
        });
        cells.server.textContent = sp['server'];
        if (sp['name'] !== sp['server']) cells.server.appendChild(el('span', 'tag', sp['name']));
        if (sp['backup']) cells.server.appendChild(el('span', 'tag', 'backup'));
        const badge = el('span', 'state');
        cells.state.appendChild(badge);
        const buttons = {};
        if (canWrite && su['zone']) {
          [['down', 'set down', { down: true }], ['restore', 'bring up', { down: false }]].forEach(function (b) {
            const btn = el('button', '', b[1]);
            btn.type = 'button';
            btn.addEventListener('click', function () { change('stream', name, sp['id'], sp['server'], b[1], b[2]); });
            cells[''].appendChild(btn);
            buttons[b[0]] = btn;
          });
        }
        streamRows.set(name + '/' + sp['id'], { cells: cells, badge: badge, buttons: buttons });
        body.appendChild(tr);
      });
      table.appendChild(body);
      sec.appendChild(table);
      box.appendChild(sec);
    });
  }

  function showStream(sups, dt, speers) {
    const l = streamLayoutOf(sups);
    if (l !== streamLayout) {
      buildStream(sups);
      streamLayout = l;
    }
    Object.keys(sups).forEach(function (name) {
      sups[name]['peers'].forEach(function (sp) {
        const key = name + '/' + sp['id'] + '/' + sp['server'];
        speers.set(key, sp);
        const row = streamRows.get(name + '/' + sp['id']);
        if (!row) return;
        const so = prev ? prev.speers.get(key) : undefined;
        const c = row.cells;
        const st = sp['state'];
        setText(row.badge, st);
        row.badge.className = 'state state-' + st;
        setText(c.weight, num(sp['weight']));
        setText(c.active, num(sp['active']));
        setText(c.connections, num(sp['connections']));
        setText(c['conn/s'], rate(so ? perSecond(sp['connections'], so['connections'], dt) : null));
        setText(c['sent/s'], bytes(so ? perSecond(sp['sent'], so['sent'], dt) : null));
        setText(c['rcvd/s'], bytes(so ? perSecond(sp['received'], so['received'], dt) : null));
        setText(c.fails, num(sp['fails']));
        setText(c.unavail, num(sp['unavail']));
        const b = row.buttons;
        if (b.down) {
          b.down.disabled = st === 'down';
          b.restore.disabled = st !== 'down';
        }
      });
    });
  }

  // change PATCHes one server of an upstream of block ('http' or
  // 'stream') after the user confirms.
  async function change(block, name, id, server, what, body) {
    const kind = block === 'stream' ? 'stream upstream ' : 'upstream ';
    if (!window.confirm(what + ' ' + server + ' (server ' + id + ' of ' + kind + name + ')?')) return;
    const url = base + '/' + block + '/upstreams/' + encodeURIComponent(name) + '/servers/' + id;
    try {
      const r = await fetch(url, {
        method: 'PATCH', cache: 'no-store', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
      });
      failing = false;
      if (r.ok) {
        message(what + ' ' + server + ': done', false);
      } else {
        const er = await r.json().catch(function () { return {}; });
        const ee = er['error'] || {};
        message(what + ' ' + server + ' failed: ' + r.status + ' ' + (ee['code'] || '') + ' ' + (ee['text'] || ''), true);
      }
    } catch (e) {
      message(what + ' ' + server + ' failed: ' + e.message, true);
    }
  }

  // showZones shows the server zones (status_zone) in one table, built
  // again each second: a handful of rows.
  function showZones(zones, dt) {
    const box = $('server-zones');
    box.textContent = '';
    const names = Object.keys(zones);
    if (names.length === 0) return;
    const sec = el('div', 'upstream');
    sec.appendChild(el('h2', '', 'server zones'));
    const cols = ['zone', 'processing', 'requests', 'req/s'].concat(classes, ['discarded', 'sent/s', 'rcvd/s']);
    const table = el('table');
    const head = el('tr');
    cols.forEach(function (c, i) { head.appendChild(el('th', i === 0 ? 'name' : '', c)); });
    table.appendChild(el('thead')).appendChild(head);
    const body = el('tbody');
    names.forEach(function (name) {
      const z = zones[name];
      const before = prev && prev.zones ? prev.zones[name] : null;
      const r = z['responses'] || {};
      const values = [name, num(z['processing']), num(z['requests']),
        before ? rate(perSecond(z['requests'], before['requests'], dt)) : '\u2013']
        .concat(classes.map(function (c) { return num(r[c]); }), [num(z['discarded']),
          bytes(before ? perSecond(z['sent'], before['sent'], dt) : null),
          bytes(before ? perSecond(z['received'], before['received'], dt) : null)]);
      const tr = el('tr');
      values.forEach(function (v, i) { tr.appendChild(el('td', i === 0 ? 'name' : '', v)); });
      body.appendChild(tr);
    });
    table.appendChild(body);
    sec.appendChild(table);
    box.appendChild(sec);
  }

  async function poll() {
    try {
      const all = await Promise.all([get('/nginx'), get('/connections'), get('/http/requests'), get('/http/upstreams'), get('/stream/upstreams'), get('/http/server_zones')]);
      const nx = all[0], cn = all[1], rq = all[2], ups = all[3], sups = all[4], zones = all[5];
      if (nx['generation'] !== generation) {
        canWrite = await probeWrite();
        generation = nx['generation'];
        setText($('write-note'), canWrite ? 'Changes allowed (api write=on).' : 'Read only (the API has no write=on).');
      }
      const t = Date.now();
      const dt = prev ? (t - prev.t) / 1000 : 0;
      showProcess(nx, t);
      showCounters(cn, rq, dt);
      const peers = new Map();
      showUpstreams(ups, dt, peers);
      const speers = new Map();
      showStream(sups, dt, speers);
      showZones(zones, dt);
      prev = { t: t, cn: cn, rq: rq, peers: peers, speers: speers, zones: zones };
      status('live', 'ok');
      if (failing) message('', false);
      failing = false;
    } catch (e) {
      status('no answer', 'error');
      message('Cannot read the API: ' + e.message, true);
      failing = true;
      prev = null;
    }
    window.setTimeout(poll, 1000);
  }

  setText($('api'), api);
  poll();
})();
