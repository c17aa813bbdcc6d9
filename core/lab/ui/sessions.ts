// Sessions: the live list (protocol, client address and port, user, TLS, start, duration, bytes, state),
// filtered by protocol, user and address; a row opens the session's transcript.
import type { SessionSummary } from '../wire.js';
import { h, replace, type Child } from './dom.js';
import { bytes, clock, duration, endpoint } from './format.js';
import { navigate } from './router.js';
import { store } from './store.js';

export interface SessionFilter {
  service: string;
  user: string;
  address: string;
  /** Also list the lab's own connections (this page, its stream). */
  lab: boolean;
}

export function filterFrom(params: URLSearchParams): SessionFilter {
  return { service: params.get('service') ?? '', user: params.get('user') ?? '', address: params.get('address') ?? '', lab: params.get('lab') === '1' };
}

/** The protocol a student knows the session by: HTTPS is the HTTP service's TLS listener. */
export function protocolOf(s: SessionSummary): string {
  return s.service === 'http' && s.tls !== 'none' ? 'https' : s.service;
}

function matches(s: SessionSummary, f: SessionFilter): boolean {
  if (s.lab && !f.lab) return false;
  if (f.service && protocolOf(s) !== f.service) return false;
  if (f.user && !(s.user ?? '').toLowerCase().includes(f.user.toLowerCase())) return false;
  if (f.address && !s.peer.address.includes(f.address)) return false;
  return true;
}

export function tlsBadge(s: SessionSummary): HTMLElement {
  if (s.tls === 'none') return h('span', { class: 'badge plain', title: 'not encrypted: anyone on the path can read it' }, 'plain');
  return h(
    'span',
    { class: 'badge tls', title: s.tlsSummary ?? (s.tls === 'starttls' ? 'switched to TLS with STARTTLS' : 'TLS from the first byte') },
    s.tls === 'starttls' ? 'STARTTLS' : 'TLS',
  );
}

export function stateBadge(s: SessionSummary): HTMLElement {
  return s.closedAt === undefined ? h('span', { class: 'pill ok live-pill' }, 'open') : h('span', { class: 'pill off', title: s.closeReason ?? '' }, 'closed');
}

function setFilter(f: SessionFilter): void {
  const q = new URLSearchParams();
  if (f.service) q.set('service', f.service);
  if (f.user) q.set('user', f.user);
  if (f.address) q.set('address', f.address);
  if (f.lab) q.set('lab', '1');
  const qs = q.toString();
  navigate(`#/sessions${qs ? `?${qs}` : ''}`, true);
}

/** One row, drawn again only when what it shows changed. */
function rowFor(s: SessionSummary, now: number): { key: string; cells: Child[] } {
  const dur = duration((s.closedAt ?? now) - s.openedAt);
  const key = JSON.stringify([s.user, s.tls, s.bytesIn, s.bytesOut, s.closedAt, dur, store.pinned === s.id]);
  return {
    key,
    cells: [
      h(
        'td',
        { class: 'proto' },
        h('span', { class: `proto-tag p-${s.service}` }, s.service.toUpperCase()),
        s.listener && s.listener !== s.service ? h('small', null, ` ${s.listener}`) : null,
      ),
      h('td', { class: 'mono' }, endpoint(s.peer)),
      h('td', { data: { label: 'user' } }, s.user ?? h('span', { class: 'muted' }, '—')),
      h('td', null, tlsBadge(s)),
      h('td', { class: 'num', data: { label: 'start' } }, clock(s.openedAt)),
      h('td', { class: 'num', data: { label: 'for' } }, dur),
      h('td', { class: 'num', data: { label: 'in' } }, bytes(s.bytesIn)),
      h('td', { class: 'num', data: { label: 'out' } }, bytes(s.bytesOut)),
      h('td', null, stateBadge(s)),
    ],
  };
}

/**
 * The sessions list. Rows are kept and updated in place (keyed by session), never rebuilt wholesale:
 * a row under the reader's mouse must still be there when the click lands.
 */
export function sessionsView(f: SessionFilter): { el: HTMLElement; update(): void } {
  if (store.viewer.role === 'anonymous') return { el: loginFirst('your sessions'), update() {} };
  const input = (name: 'user' | 'address', placeholder: string): HTMLInputElement => {
    const el = h('input', { type: 'search', name, value: f[name], placeholder, aria: { label: placeholder } });
    el.addEventListener('change', () => setFilter({ ...f, [name]: el.value.trim() }));
    return el;
  };
  const select = h('select', { name: 'service', aria: { label: 'protocol' } });
  select.addEventListener('change', () => setFilter({ ...f, service: select.value }));
  const labBox = h('input', { type: 'checkbox', checked: f.lab, name: 'lab' });
  labBox.addEventListener('change', () => setFilter({ ...f, lab: labBox.checked }));
  const labLabel = h('span');
  const tbody = h('tbody');
  const table = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'list' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['protocol', 'client', 'user', 'TLS', 'start', 'duration', 'in', 'out', 'state'].map((c) => h('th', null, c)),
        ),
      ),
      tbody,
    ),
  );
  const empty = h('p', { class: 'empty' });
  const listBox = h('div');
  const rows = new Map<string, { tr: HTMLTableRowElement; key: string }>();
  let servicesKey = '';
  const el = h(
    'section',
    { class: 'view sessions' },
    h(
      'div',
      { class: 'view-head' },
      h('h2', null, store.viewer.role === 'instructor' ? 'All sessions' : 'Your sessions'),
      h(
        'p',
        { class: 'muted' },
        store.viewer.role === 'instructor'
          ? 'Every connection to the lab, newest first.'
          : `The connections you logged in to, and those from your address ${store.viewer.address} nobody else logged in to. Newest first.`,
      ),
    ),
    h(
      'form',
      { class: 'filters', role: 'search' },
      select,
      input('user', 'user'),
      input('address', 'client address'),
      h('label', { class: 'check' }, labBox, labLabel),
    ),
    listBox,
  );
  const update = (): void => {
    const all = [...store.sessions.values()].sort((a, b) => b.openedAt - a.openedAt);
    const services = [...new Set(all.map(protocolOf))].sort();
    if (services.join() !== servicesKey) {
      servicesKey = services.join();
      replace(
        select,
        h('option', { value: '' }, 'all protocols'),
        services.map((name) => {
          const o = h('option', { value: name }, name.toUpperCase());
          if (name === f.service) o.selected = true;
          return o;
        }),
      );
    }
    const hidden = all.filter((s) => s.lab && !f.lab).length;
    labLabel.textContent = ` the lab’s own connections${hidden > 0 ? ` (${hidden} hidden)` : ''}`;
    const shown = all.filter((s) => matches(s, f)).slice(0, 500);
    if (shown.length === 0) {
      empty.textContent =
        all.length === 0
          ? 'No sessions yet. Connect a mail client, run curl, or type into nc: sessions appear here as they happen.'
          : 'No session matches the filter.';
      if (listBox.firstChild !== empty) replace(listBox, empty);
      return;
    }
    if (listBox.firstChild !== table) replace(listBox, table);
    const now = Date.now();
    const keep = new Set<string>();
    shown.forEach((s, i) => {
      keep.add(s.id);
      const r = rowFor(s, now);
      let row = rows.get(s.id);
      if (!row) {
        const tr = h('tr', {
          tabindex: 0,
          data: { session: s.id },
          onclick: () => navigate(`#/session/${s.id}`),
          onkeydown: (e) => {
            if (e.key === 'Enter') navigate(`#/session/${s.id}`);
          },
        });
        row = { tr, key: '' };
        rows.set(s.id, row);
      }
      if (row.key !== r.key) {
        row.key = r.key;
        row.tr.className = `row ${s.closedAt === undefined ? 'is-open' : 'is-closed'}${store.pinned === s.id ? ' is-pinned' : ''}`;
        replace(row.tr, r.cells);
      }
      if (tbody.children[i] !== row.tr) tbody.insertBefore(row.tr, tbody.children[i] ?? null);
    });
    for (const [id, row] of rows) {
      if (!keep.has(id)) {
        row.tr.remove();
        rows.delete(id);
      }
    }
  };
  update();
  return { el, update };
}

export function loginFirst(what: string): HTMLElement {
  return h(
    'section',
    { class: 'view' },
    h(
      'div',
      { class: 'login-first' },
      h('h2', null, 'Log in to follow ' + what),
      h(
        'p',
        null,
        'Use the form at the top with your lab account (the same user name and password as for mail). Everyone can see the overview; each student sees only their own sessions.',
      ),
    ),
  );
}
