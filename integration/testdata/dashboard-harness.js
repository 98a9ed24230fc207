// Runs the dashboard's script (app.js) under node with a minimal DOM,
// against a running fulcrum, for dashboard_test.go. Usage:
//   node dashboard-harness.js ORIGIN PAGE_PATH [CLICK_SERVER]
// It loads the page and its script from ORIGIN, polls twice, clicks the
// "drain" button of CLICK_SERVER's row if given (confirming), polls again,
// and prints what the page shows as JSON.
'use strict';
const vm = require('vm');

const [origin, pagePath, clickServer] = process.argv.slice(2);

class Elem {
  constructor(tag) {
    this.tagName = tag; this.children = []; this.text = ''; this.className = '';
    this.hidden = false; this.disabled = false; this.listeners = {}; this.attrs = {};
  }
  get textContent() { return this.text + this.children.map((c) => c.textContent).join(''); }
  set textContent(v) { this.text = String(v); this.children = []; }
  appendChild(c) { this.children.push(c); return c; }
  addEventListener(ev, fn) { (this.listeners[ev] = this.listeners[ev] || []).push(fn); }
  getAttribute(n) { return n in this.attrs ? this.attrs[n] : null; }
  all(tag) { return this.children.flatMap((c) => (c.tagName === tag ? [c] : []).concat(c.all(tag))); }
}

let timer = null;
let timerSet = null;
function nextTimer() { return new Promise((resolve) => { timerSet = resolve; }); }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const page = await (await fetch(origin + pagePath)).text();
  const byId = {};
  for (const m of page.matchAll(/\bid="([^"]+)"/g)) byId[m[1]] = new Elem('x');
  const body = new Elem('body');
  body.attrs['data-api'] = page.match(/data-api="([^"]*)"/)[1].replace(/&amp;/g, '&');
  const src = page.match(/<script src="([^"]+)"/)[1];
  const script = await (await fetch(origin + src)).text();
  const sandbox = {
    document: { body, getElementById: (id) => byId[id] || null, createElement: (tag) => new Elem(tag) },
    window: {
      setTimeout: (fn) => { timer = fn; if (timerSet) timerSet(); },
      confirm: () => true,
    },
    fetch: (url, opts) => fetch(origin + url, opts),
    console,
  };
  let polled = nextTimer();
  vm.runInNewContext(script, sandbox, { filename: src });
  await polled;
  await sleep(300);
  polled = nextTimer(); timer(); await polled;
  const rows = () => byId.upstreams.all('tr').slice(0).map((tr) => tr.children.map((td) => td.textContent));
  const out = { before: rows() };
  if (clickServer) {
    const tr = byId.upstreams.all('tr').find((r) => r.children[0].textContent.startsWith(clickServer));
    const btn = tr && tr.all('button').find((b) => b.textContent === 'drain');
    if (!btn) throw new Error('no drain button for ' + clickServer);
    // The page's message starts hidden (index.html); change() shows it when
    // the PATCH has answered, done or failed. Wait for that (up to 10 s on a
    // loaded machine) before the next poll, or the poll may race the PATCH.
    byId.message.hidden = true;
    byId.message.textContent = '';
    btn.listeners.click.forEach((f) => f());
    for (let i = 0; i < 500 && byId.message.hidden; i++) await sleep(20);
    if (byId.message.hidden) throw new Error('the drain button\'s PATCH did not answer within 10 s');
    out.message = byId.message.textContent;
    polled = nextTimer(); timer(); await polled;
  }
  out.after = rows();
  out.ids = {};
  for (const id of Object.keys(byId)) if (id !== 'upstreams') out.ids[id] = byId[id].textContent;
  out.statusClass = byId.status.className;
  out.buttons = byId.upstreams.all('button').map((b) => b.textContent + (b.disabled ? ' (disabled)' : ''));
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
