// HTTP: the request log per client (method, path, status, size, time), each linked to the transcript
// of the connection that carried it. The lab's own requests (this page, its stream) are hidden unless
// asked for.
import type { EndpointData, LineData } from '../wire.js';
import { h, replace } from './dom.js';
import { requestTable } from './session.js';
import { loginFirst } from './sessions.js';
import { store } from './store.js';

type Row = LineData & { peer: EndpointData; service: string };

let history: Row[] | undefined;
let fetching = false;
let showLab = false;

function load(redraw: () => void): void {
  if (history !== undefined || fetching) return;
  fetching = true;
  void fetch('/lab/api/http', { credentials: 'same-origin' })
    .then(async (r) => (r.ok ? ((await r.json()) as { requests: Row[] }).requests : []))
    .then((rows) => {
      history = rows;
      redraw();
    })
    .finally(() => {
      fetching = false;
    });
}

/** Forgets what was fetched (after a login change or a gap). */
export function resetHttp(): void {
  history = undefined;
}

export function httpView(): { el: HTMLElement; update(): void } {
  const el = h('section', { class: 'view http' });
  const draw = (): void => {
    if (store.viewer.role === 'anonymous') {
      replace(el, loginFirst('your HTTP requests'));
      return;
    }
    load(draw);
    const rows = new Map<number, { line: LineData; session: { id: string; peer: EndpointData; service: string } }>();
    for (const r of history ?? []) rows.set(r.seq, { line: r, session: { id: r.session, peer: r.peer, service: r.service } });
    for (const [id, lines] of store.lines) {
      const s = store.sessions.get(id);
      if (!s || (s.service !== 'http' && s.service !== 'https')) continue;
      for (const l of lines) if (l.request) rows.set(l.seq, { line: l, session: s });
    }
    const all = [...rows.values()].filter((r) => showLab || !r.line.request!.path.startsWith('/lab')).sort((a, b) => a.line.seq - b.line.seq);
    const byClient = new Map<string, typeof all>();
    for (const r of all) {
      const list = byClient.get(r.session.peer.address) ?? [];
      list.push(r);
      byClient.set(r.session.peer.address, list);
    }
    const toggle = h('input', { type: 'checkbox', checked: showLab, id: 'show-lab' });
    toggle.addEventListener('change', () => {
      showLab = toggle.checked;
      draw();
    });
    replace(
      el,
      h(
        'div',
        { class: 'view-head' },
        h('h2', null, 'HTTP requests'),
        h(
          'p',
          { class: 'muted' },
          'Each request a browser or curl sent (method and path), the status the server answered, the size and how long it took. HTTP keeps no state between requests: each line stands alone.',
        ),
        h('label', { class: 'check' }, toggle, ' show the lab’s own requests (/lab…)'),
      ),
      byClient.size === 0
        ? h('p', { class: 'empty' }, history === undefined ? 'Loading…' : 'No HTTP requests yet. Try curl -v http://this-server/ or open the landing page.')
        : [...byClient.entries()].map(([client, list]) =>
            h('div', { class: 'client-block' }, h('h3', null, 'client ', h('span', { class: 'mono' }, client)), requestTable(list.slice(-200).reverse())),
          ),
    );
  };
  draw();
  return { el, update: draw };
}
