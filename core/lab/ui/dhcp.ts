// DHCP: per client MAC a ladder of its exchange (DISCOVER, OFFER, REQUEST, ACK; NAK, DECLINE, RELEASE,
// INFORM), every packet opening to its BOOTP fields (offset, size, value, meaning) and options (code,
// name, value, meaning) with one sentence on what the message does; and the lease table.
import type { DhcpPacketData, LeaseRow } from '../wire.js';
import { h } from './dom.js';
import { clock, clockMs, duration } from './format.js';
import { fieldTable, ladder } from './ladder.js';
import { dhcpFrameLink } from './packet-links.js';
import { navigate } from './router.js';
import { loginFirst } from './sessions.js';
import { store } from './store.js';

const openRungs = new Set<string>();

function shortType(t: string): string {
  return t.replace(/^DHCP/, '');
}

function leaseTable(rows: LeaseRow[]): HTMLElement {
  const now = Date.now();
  if (rows.length === 0) return h('p', { class: 'empty' }, 'No leases yet.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'list leases' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['MAC address', 'IP address', 'host name', 'expires', 'state'].map((c) => h('th', null, c)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            { class: 'row', tabindex: 0, data: { mac: r.mac }, onclick: () => navigate(`#/dhcp/${encodeURIComponent(r.mac)}`) },
            h('td', { class: 'mono' }, r.mac),
            h('td', { class: 'mono' }, r.address || '—'),
            h('td', null, r.hostname ?? h('span', { class: 'muted' }, '—')),
            h(
              'td',
              null,
              r.expiresAt ? `${clock(r.expiresAt)} (${r.expiresAt > now ? `in ${duration(r.expiresAt - now)}` : 'past'})` : r.state === 'bound' ? 'never' : '—',
            ),
            h(
              'td',
              null,
              h('span', { class: `pill ${r.state === 'bound' ? 'ok' : r.state === 'offered' ? 'warn' : 'off'}` }, r.state),
              r.restored ? h('small', { class: 'muted restored', title: 'read from the lease journal when labnet started' }, ' from the journal') : null,
            ),
          ),
        ),
      ),
    ),
  );
}

function packetDetails(p: DhcpPacketData): HTMLElement {
  return h(
    'div',
    { class: 'dhcp-details' },
    h('p', { class: 'explain' }, p.sentence),
    dhcpFrameLink(p.mac, p.xid, p.t, p.dir === 'in'),
    h(
      'p',
      { class: 'muted' },
      `${p.dir === 'in' ? 'received from' : 'sent to'} ${p.peer.address}:${p.peer.port} at ${clockMs(p.t)} · transaction ${p.xid} · UDP ${p.dir === 'in' ? '68 → 67' : '67 → 68'}`,
    ),
    h('h4', null, 'BOOTP header (RFC 2131)'),
    fieldTable(
      ['field', 'offset', 'size', 'value', 'what it means'],
      p.fields.map((f) => [
        h('b', null, f.name),
        String(f.offset),
        `${f.size}`,
        h('span', { class: 'mono' }, f.value),
        h('span', { class: 'note-cell' }, f.note),
      ]),
      'bootp',
    ),
    h('h4', null, 'Options (RFC 2132)'),
    fieldTable(
      ['code', 'name', 'value', 'what it means'],
      p.options.map((o) => [String(o.code), h('b', null, o.name), h('span', { class: 'mono' }, o.value), h('span', { class: 'note-cell' }, o.note)]),
      'options',
    ),
  );
}

export function dhcpView(selected: string | undefined): HTMLElement {
  if (store.viewer.role === 'anonymous') return loginFirst('your DHCP exchange');
  const byMac = new Map<string, DhcpPacketData[]>();
  for (const p of store.dhcp) {
    const list = byMac.get(p.mac) ?? [];
    list.push(p);
    byMac.set(p.mac, list);
  }
  const macs = [...byMac.keys()].sort((a, b) => (byMac.get(b)!.at(-1)!.t ?? 0) - (byMac.get(a)!.at(-1)!.t ?? 0));
  const mac = selected && byMac.has(selected) ? selected : macs[0];
  const packets = mac ? byMac.get(mac)! : [];
  const lease = mac ? store.leases.get(mac) : undefined;
  // labnet's own check for other DHCP servers: it sends a DISCOVER with the server's own MAC.
  const probe = packets.some((p) => p.probe === true);
  return h(
    'section',
    { class: 'view dhcp' },
    h(
      'div',
      { class: 'view-head' },
      h('h2', null, 'DHCP'),
      h(
        'p',
        { class: 'muted' },
        'How a machine that joins the network gets its address: it broadcasts a DISCOVER (UDP port 68 to 67), servers OFFER an address, the client REQUESTs one and the server confirms with an ACK.',
      ),
    ),
    macs.length === 0
      ? h(
          'p',
          { class: 'empty' },
          store.viewer.role === 'instructor'
            ? 'No DHCP traffic yet. DHCP runs when labnet serves a lab interface (labnet start --dhcp-interface IF).'
            : 'No DHCP exchange of your machine yet (it shows once your machine got its address from this lab).',
        )
      : h(
          'div',
          { class: 'dhcp-layout' },
          h(
            'nav',
            { class: 'mac-list', aria: { label: 'clients by MAC address' } },
            macs.map((m) => {
              const last = byMac.get(m)!.at(-1)!;
              const l = store.leases.get(m);
              return h(
                'a',
                { href: `#/dhcp/${encodeURIComponent(m)}`, class: m === mac ? 'active' : '', data: { mac: m } },
                h('span', { class: 'mono' }, m),
                h(
                  'small',
                  null,
                  `${last.probe ? "this server's own probe" : `${l?.address || ''} ${l?.hostname ?? ''}`} · ${shortType(last.type)} ${clock(last.t)}`,
                ),
              );
            }),
          ),
          h(
            'div',
            { class: 'mac-ladder' },
            h(
              'h3',
              null,
              h('span', { class: 'mono' }, mac ?? ''),
              probe ? " (this server's MAC)" : '',
              lease?.address ? ` → ${lease.address}` : '',
              lease?.hostname ? ` (${lease.hostname})` : '',
            ),
            probe
              ? h(
                  'p',
                  { class: 'explain probe-note' },
                  'Before it serves, labnet checks that no other DHCP server answers on this network: it broadcasts a DISCOVER of its own, with its own MAC address as chaddr, and listens for OFFERs. An OFFER here would mean a second server (labnet then refuses to start).',
                )
              : null,
            ladder(
              probe
                ? { client: 'labnet (probe, its own MAC)', server: 'other DHCP servers' }
                : { client: `client ${mac ?? ''}`, server: 'DHCP server (labnet)' },
              packets.map((p) => ({
                key: `${p.seq}`,
                from: p.probe ? (p.dir === 'out' ? 'client' : 'server') : p.dir === 'in' ? 'client' : 'server',
                label: shortType(p.type),
                sub: `${clockMs(p.t)} · xid ${p.xid}${p.fields.find((f) => f.name === 'yiaddr' && f.value !== '0.0.0.0') ? ` · yiaddr ${p.fields.find((f) => f.name === 'yiaddr')!.value}` : ''}`,
                className: `dhcp-${shortType(p.type).toLowerCase()}`,
                details: () => packetDetails(p),
              })),
              openRungs,
            ),
          ),
        ),
    h('h3', null, 'Leases'),
    h(
      'p',
      { class: 'muted' },
      'The leases in the server’s journal when labnet started, updated by every packet since (the journal survives a restart, so a student keeps their address).',
    ),
    leaseTable([...store.leases.values()].sort((a, b) => b.t - a.t)),
  );
}
