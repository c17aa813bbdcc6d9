// Packets: the captured frames of the viewer's own exchanges (frames.ts: flows, frames, layers, bytes,
// the TCP ladder), and the decoded datagrams of services other than DHCP (the lab's DNS queries, field
// by field).
import type { PacketData } from '../wire.js';
import { h, replace, type Child } from './dom.js';
import { framesView } from './frames.js';
import type { Route } from './router.js';
import { clockMs, endpoint } from './format.js';
import { loginFirst } from './sessions.js';
import { store, type Change } from './store.js';

const MAX_DEPTH = 6;
const MAX_KEYS = 100;

/** A field tree of whatever the decoder gave (bounded in depth and width), values as text. */
function tree(value: unknown, depth = 0): Child {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof value !== 'object') return h('span', { class: 'mono' }, String(value as string | number | boolean));
  if (depth >= MAX_DEPTH) return h('span', { class: 'muted' }, '…');
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  return h(
    'dl',
    { class: 'tree' },
    entries.slice(0, MAX_KEYS).map(([k, v]) => [h('dt', null, k), h('dd', null, tree(v, depth + 1))]),
    entries.length > MAX_KEYS ? h('dd', { class: 'muted' }, `… ${entries.length - MAX_KEYS} more`) : null,
  );
}

function packetRow(p: PacketData): HTMLElement {
  const details = h('div', { class: 'packet-fields' });
  const btn = h(
    'button',
    { type: 'button', class: 'packet-line', aria: { expanded: 'false' } },
    h('span', { class: 't' }, clockMs(p.t)),
    h('span', { class: `proto-tag p-${p.service}` }, p.service.toUpperCase()),
    h('span', { class: 'dir' }, p.dir === 'in' ? `from ${endpoint(p.peer)}` : `to ${endpoint(p.peer)}`),
    h('span', { class: 'mono summary' }, p.summary),
  );
  btn.addEventListener('click', () => {
    const open = btn.getAttribute('aria-expanded') === 'true';
    btn.setAttribute('aria-expanded', String(!open));
    details.replaceChildren(...(open ? [] : [tree(p.fields) as Node]));
  });
  return h('li', { class: 'packet', data: { seq: String(p.seq) } }, btn, details);
}

/** The DNS queries and other decoded datagrams of the lab's own services (no capture needed). */
export function datagramsView(): HTMLElement {
  const list = [...store.packets].reverse();
  return h(
    'section',
    { class: 'datagrams' },
    h('h3', null, 'Decoded datagrams'),
    list.length === 0
      ? h('p', { class: 'empty' }, 'No datagrams yet (DNS queries to the lab appear here).')
      : h(
          'ol',
          { class: 'packet-list' },
          list.slice(0, 300).map((p) => packetRow(p)),
        ),
  );
}

/** Packets: the captured frames (frames.ts), and below them the decoded datagrams. */
export function packetsView(route: Route): { el: HTMLElement; change(c: Change): boolean } {
  if (store.viewer.role === 'anonymous') return { el: loginFirst('your packets'), change: (c) => c !== 'hello' };
  const frames = framesView(route);
  const datagrams = h('div', null, datagramsView());
  return {
    el: h('div', { class: 'packets-page' }, frames.el, datagrams),
    change(c) {
      if (c === 'hello') return false;
      if (c === 'packets') replace(datagrams, datagramsView());
      return true;
    },
  };
}
