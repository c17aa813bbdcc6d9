// Sessions: the live list (protocol, client address and port, user, TLS, start, duration, bytes, state),
// filtered by protocol, user and address; a row opens the session's transcript.
import type { SessionSummary } from '../wire.js';
import { h } from './dom.js';
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

function matches(s: SessionSummary, f: SessionFilter): boolean {
  if (s.lab && !f.lab) return false;
  if (f.service && s.service !== f.service) return false;
  if (f.user && !(s.user ?? '').toLowerCase().includes(f.user.toLowerCase())) return false;
  if (f.address && !s.peer.address.includes(f.address)) return false;
  return true;
}

export function tlsBadge(s: SessionSummary): HTMLElement {
  if (s.tls === 'none') return h('span', { class: 'badge plain', title: 'not encrypted: anyone on the path can read it' }, 'plain');
  return h('span', { class: 'badge tls', title: s.tlsSummary ?? (s.tls === 'starttls' ? 'switched to TLS with STARTTLS' : 'TLS from the first byte') }, s.tls === 'starttls' ? 'STARTTLS' : 'TLS');
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

export function sessionsView(f: SessionFilter): HTMLElement {
  if (store.viewer.role === 'anonymous') return loginFirst('your sessions');
  const all = [...store.sessions.values()].sort((a, b) => b.openedAt - a.openedAt);
  const services = [...new Set(all.map((s) => s.service))].sort();
  const shown = all.filter((s) => matches(s, f));
  const now = Date.now();
  const input = (name: 'user' | 'address', placeholder: string): HTMLInputElement => {
    const el = h('input', { type: 'search', name, value: f[name], placeholder, aria: { label: placeholder } });
    el.addEventListener('change', () => setFilter({ ...f, [name]: el.value.trim() }));
    return el;
  };
  const select = h(
    'select',
    { name: 'service', aria: { label: 'protocol' } },
    h('option', { value: '' }, 'all protocols'),
    services.map((s) => {
      const o = h('option', { value: s }, s.toUpperCase());
      if (s === f.service) o.selected = true;
      return o;
    }),
  );
  select.addEventListener('change', () => setFilter({ ...f, service: select.value }));
  const labBox = h('input', { type: 'checkbox', checked: f.lab, name: 'lab' });
  labBox.addEventListener('change', () => setFilter({ ...f, lab: labBox.checked }));
  const hidden = all.filter((s) => s.lab && !f.lab).length;
  const rows = shown.slice(0, 500).map((s) =>
    h(
      'tr',
      {
        class: `row ${s.closedAt === undefined ? 'is-open' : 'is-closed'}${store.pinned === s.id ? ' is-pinned' : ''}`,
        tabindex: 0,
        data: { session: s.id },
        onclick: () => navigate(`#/session/${s.id}`),
        onkeydown: (e) => {
          if (e.key === 'Enter') navigate(`#/session/${s.id}`);
        },
      },
      h('td', { class: 'proto' }, h('span', { class: `proto-tag p-${s.service}` }, s.service.toUpperCase()), s.listener && s.listener !== s.service ? h('small', null, ` ${s.listener}`) : null),
      h('td', { class: 'mono' }, endpoint(s.peer)),
      h('td', { data: { label: 'user' } }, s.user ?? h('span', { class: 'muted' }, '—')),
      h('td', null, tlsBadge(s)),
      h('td', { class: 'num', data: { label: 'start' } }, clock(s.openedAt)),
      h('td', { class: 'num', data: { label: 'for' } }, duration((s.closedAt ?? now) - s.openedAt)),
      h('td', { class: 'num', data: { label: 'in' } }, bytes(s.bytesIn)),
      h('td', { class: 'num', data: { label: 'out' } }, bytes(s.bytesOut)),
      h('td', null, stateBadge(s)),
    ),
  );
  return h(
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
      h('label', { class: 'check' }, labBox, ` the lab’s own connections${hidden > 0 ? ` (${hidden} hidden)` : ''}`),
    ),
    shown.length === 0
      ? h(
          'p',
          { class: 'empty' },
          all.length === 0 ? 'No sessions yet. Connect a mail client, run curl, or type into nc: sessions appear here as they happen.' : 'No session matches the filter.',
        )
      : h(
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
            h('tbody', null, rows),
          ),
        ),
  );
}

export function loginFirst(what: string): HTMLElement {
  return h(
    'section',
    { class: 'view' },
    h(
      'div',
      { class: 'login-first' },
      h('h2', null, 'Log in to follow ' + what),
      h('p', null, 'Use the form at the top with your lab account (the same user name and password as for mail). Everyone can see the overview; each student sees only their own sessions.'),
    ),
  );
}
