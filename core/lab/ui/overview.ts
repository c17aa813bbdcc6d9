// Overview (anyone): every service with its state, listeners, open sessions, sessions per minute and
// bytes in and out with small live charts; the machine's interfaces with MAC, addresses, MTU, link
// state and counters with rates.
import type { InterfaceRow, ServiceRow } from '../wire.js';
import { sparkline } from './charts.js';
import { h } from './dom.js';
import { bytes, count, duration, rate } from './format.js';
import { store } from './store.js';

const SERVICE_WHAT: Record<string, string> = {
  http: 'web server (HTTP)',
  https: 'web server over TLS (HTTPS)',
  smtp: 'sending mail (SMTP)',
  pop3: 'fetching mail (POP3)',
  imap: 'mailboxes on the server (IMAP)',
  dhcp: 'addresses for the lab network (DHCP)',
  dns: 'names to addresses (DNS)',
};

function stateClass(state: string): string {
  return state === 'running' ? 'ok' : state === 'failed' ? 'bad' : 'warn';
}

function serviceCard(s: ServiceRow): HTMLElement {
  const hist = store.charts.services[s.name];
  return h(
    'article',
    { class: 'card service', data: { service: s.name } },
    h(
      'header',
      null,
      h('h3', null, s.name.toUpperCase()),
      h('span', { class: `pill ${stateClass(s.state)}` }, s.state),
      h('span', { class: 'muted what' }, SERVICE_WHAT[s.name] ?? ''),
    ),
    h(
      'ul',
      { class: 'listeners' },
      s.listeners.map((l) =>
        h(
          'li',
          null,
          h('b', null, `${l.port}/${l.protocol}`),
          ` ${l.name}`,
          l.tls ? h('span', { class: 'badge tls', title: 'TLS from the first byte' }, 'TLS') : null,
        ),
      ),
      s.listeners.length === 0 ? h('li', { class: 'muted' }, 'no listener') : null,
    ),
    s.error ? h('p', { class: 'error' }, s.error) : null,
    h(
      'dl',
      { class: 'figures' },
      h('div', null, h('dt', null, 'open'), h('dd', null, count(s.open))),
      h('div', null, h('dt', null, 'per min'), h('dd', null, count(s.perMinute))),
      h('div', null, h('dt', null, 'in'), h('dd', null, bytes(s.bytesIn), h('small', null, rate(s.rateIn)))),
      h('div', null, h('dt', null, 'out'), h('dd', null, bytes(s.bytesOut), h('small', null, rate(s.rateOut)))),
    ),
    h(
      'div',
      { class: 'charts' },
      h(
        'figure',
        null,
        sparkline(hist?.opened ?? [], { label: `${s.name}: sessions opened per second`, className: 'c1' }),
        h('figcaption', null, 'sessions/s'),
      ),
      h('figure', null, sparkline(hist?.rateIn ?? [], { label: `${s.name}: octets in per second`, className: 'c2' }), h('figcaption', null, 'in/s')),
      h('figure', null, sparkline(hist?.rateOut ?? [], { label: `${s.name}: octets out per second`, className: 'c3' }), h('figcaption', null, 'out/s')),
    ),
  );
}

function counterTable(i: InterfaceRow): HTMLElement {
  const row = (label: string, c: InterfaceRow['rx'], r: InterfaceRow['rxRate']): HTMLElement =>
    h(
      'tr',
      null,
      h('th', { class: 'io-label' }, label),
      h('td', null, bytes(c.bytes), h('small', null, rate(r.bytes))),
      h('td', null, count(c.packets), h('small', null, `${count(r.packets)}/s`)),
      h('td', { class: c.errors > 0 ? 'bad-text' : 'muted' }, count(c.errors)),
      h('td', { class: c.drops > 0 ? 'warn-text' : 'muted' }, count(c.drops)),
    );
  return h(
    'table',
    { class: 'io' },
    h('thead', null, h('tr', null, h('th', null, ''), h('th', null, 'octets'), h('th', null, 'packets'), h('th', null, 'errors'), h('th', null, 'drops'))),
    h('tbody', null, row('in (rx)', i.rx, i.rxRate), row('out (tx)', i.tx, i.txRate)),
  );
}

function interfaceCard(i: InterfaceRow): HTMLElement {
  const hist = store.charts.interfaces[i.name];
  const up = i.state === 'up' || (i.state === 'unknown' && i.carrier === true);
  return h(
    'article',
    { class: 'card iface', data: { iface: i.name } },
    h(
      'header',
      null,
      h('h3', null, i.name),
      h(
        'span',
        { class: `pill ${up ? 'ok' : 'off'}`, title: `operstate ${i.state}${i.carrier !== undefined ? `, carrier ${i.carrier ? 'on' : 'off'}` : ''}` },
        up ? 'link up' : `link ${i.state}`,
      ),
      i.speed ? h('span', { class: 'muted' }, `${i.speed} Mb/s`) : null,
    ),
    h(
      'dl',
      { class: 'kv' },
      h('dt', null, 'MAC'),
      h('dd', { class: 'mono' }, i.mac || '—'),
      h('dt', null, 'MTU'),
      h('dd', null, `${i.mtu} octets`),
      h('dt', null, 'addresses'),
      h(
        'dd',
        { class: 'mono' },
        i.addresses.length === 0
          ? h('span', { class: 'muted' }, 'none')
          : i.addresses.map((a) => h('div', null, `${a.address}/${a.prefix}`, h('small', null, ` ${a.family}`))),
      ),
    ),
    counterTable(i),
    h(
      'div',
      { class: 'charts' },
      h('figure', null, sparkline(hist?.rx ?? [], { label: `${i.name}: octets received per second`, className: 'c2' }), h('figcaption', null, 'rx/s')),
      h('figure', null, sparkline(hist?.tx ?? [], { label: `${i.name}: octets sent per second`, className: 'c3' }), h('figcaption', null, 'tx/s')),
    ),
  );
}

export function overviewView(): HTMLElement {
  const o = store.overview;
  if (!o) return h('section', { class: 'view' }, h('p', { class: 'muted' }, 'Waiting for the lab…'));
  const lab = o.lab;
  return h(
    'section',
    { class: 'view overview' },
    h(
      'div',
      { class: 'view-head' },
      h('h2', null, `Services on ${o.hostname}`),
      h(
        'p',
        { class: 'muted' },
        `up ${duration(o.t - o.startedAt)} · ${count(lab.sessionsKept)} sessions kept · ${count(lab.streams)} live viewers${lab.thinned + lab.sessionsThinned > 0 ? ` · not recorded (over the recording budget: a flood or a benchmark): ${count(lab.thinned)} lines, ${count(lab.sessionsThinned)} sessions` : ''}`,
      ),
    ),
    h('div', { class: 'grid services' }, o.services.map(serviceCard)),
    h(
      'div',
      { class: 'view-head' },
      h('h2', null, 'Network interfaces of this machine'),
      h(
        'p',
        { class: 'muted' },
        'What psutil.net_io_counters(pernic=True) and the MAC address show in the course: the kernel counts every packet in and out of each card.',
      ),
    ),
    h('div', { class: 'grid ifaces' }, o.interfaces.map(interfaceCard)),
  );
}
