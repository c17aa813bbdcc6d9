// The DHCP view: each DHCP packet event (services/dhcp publishes the decoded BOOTP fields) becomes the
// field-by-field view of the ladder, Wireshark style: one table of the BOOTP header (RFC 2131 section 2:
// name, offset, size, what it means) and one of the options (RFC 2132: code, name, what it means),
// which drive the view; plus the lease table as the packets show it. Read-only: DHCP is not changed.
import type { PacketEvent } from '../events.js';
import type { DhcpFieldData, DhcpOptionData, DhcpPacketData, LeaseRow } from './wire.js';

/** The fixed BOOTP header (RFC 2131 figure 1): event field name, offset, size, note. */
const BOOTP_FIELDS: ReadonlyArray<{ name: string; offset: number; size: number; note: string }> = [
  { name: 'op', offset: 0, size: 1, note: '1 BOOTREQUEST (client to server), 2 BOOTREPLY (server to client).' },
  { name: 'htype', offset: 1, size: 1, note: 'Hardware address type: 1 is Ethernet.' },
  { name: 'hlen', offset: 2, size: 1, note: 'Hardware address length: 6 octets for an Ethernet MAC address.' },
  { name: 'hops', offset: 3, size: 1, note: 'Relay agents the message passed (0 on the local network).' },
  { name: 'xid', offset: 4, size: 4, note: 'Transaction id chosen by the client: it ties the answers to its request.' },
  { name: 'secs', offset: 8, size: 2, note: 'Seconds since the client began asking.' },
  {
    name: 'flags',
    offset: 10,
    size: 2,
    note: 'Bit 15 is the broadcast bit: the client cannot take unicast packets before it has an address, so the server must answer by broadcast.',
  },
  { name: 'ciaddr', offset: 12, size: 4, note: "Client's current address: only filled in when it already has one (renewing, INFORM)." },
  { name: 'yiaddr', offset: 16, size: 4, note: '"Your" address: the address the server gives the client.' },
  { name: 'siaddr', offset: 20, size: 4, note: 'Next server: where a network boot would fetch its file from.' },
  { name: 'giaddr', offset: 24, size: 4, note: 'Relay agent address: set when a router forwarded the request from another network.' },
  { name: 'chaddr', offset: 28, size: 16, note: "Client hardware address: the MAC address of the client's network card (the first hlen octets)." },
  { name: 'sname', offset: 44, size: 64, note: 'Server host name (optional, usually empty).' },
  { name: 'file', offset: 108, size: 128, note: 'Boot file name for network boot (usually empty).' },
];

/** Options by the names services/dhcp gives them (RFC 2132 and others): code and what they mean. */
const OPTIONS: Record<string, { code: number; note: string }> = {
  subnetMask: { code: 1, note: 'Subnet mask: with the address it gives the network prefix (255.255.255.0 is /24).' },
  timeOffset: { code: 2, note: 'Offset from UTC in seconds.' },
  router: { code: 3, note: 'Default gateway: where packets for other networks go.' },
  dnsServers: { code: 6, note: 'DNS servers that turn names into addresses.' },
  hostName: { code: 12, note: 'The name of the client machine.' },
  domainName: { code: 15, note: 'The domain to append to short names.' },
  interfaceMtu: { code: 26, note: 'MTU to use on this interface.' },
  broadcastAddress: { code: 28, note: 'The broadcast address of the subnet.' },
  ntpServers: { code: 42, note: 'Time servers.' },
  requestedAddress: { code: 50, note: 'The address the client asks for (the one it was offered, or had before).' },
  leaseTime: { code: 51, note: "How long the address is the client's, in seconds; it renews at half time (T1)." },
  overload: { code: 52, note: 'More options are in the sname/file fields.' },
  messageType: { code: 53, note: 'Which DHCP message this is: DISCOVER, OFFER, REQUEST, ACK, NAK, DECLINE, RELEASE or INFORM.' },
  serverId: { code: 54, note: 'Server identifier: which DHCP server answered, or which one the client chose.' },
  parameterRequestList: { code: 55, note: 'The options the client wants the server to send.' },
  message: { code: 56, note: 'A text message, for example why the server refused.' },
  maxMessageSize: { code: 57, note: 'The largest DHCP message the client accepts.' },
  renewalTime: { code: 58, note: 'T1: after this many seconds the client asks its server to renew.' },
  rebindingTime: { code: 59, note: 'T2: after this many seconds the client asks any server.' },
  vendorClassId: { code: 60, note: 'What kind of client this is (operating system, DHCP client).' },
  clientId: { code: 61, note: 'Client identifier: type 01 followed by the MAC address, usually.' },
  clientFqdn: { code: 81, note: "The client's full domain name and who updates DNS." },
  relayAgentInfo: { code: 82, note: 'Added by a relay agent.' },
  domainSearch: { code: 119, note: 'Domains to search for short names.' },
  classlessRoutes: { code: 121, note: 'Routes to other networks (and possibly the default route).' },
};

const SENTENCES: Record<string, string> = {
  DHCPDISCOVER:
    'The client has no address yet, so it sends from 0.0.0.0 (UDP port 68) to the broadcast address 255.255.255.255 (port 67): "is there a DHCP server? I need an address".',
  DHCPOFFER:
    'The server picks a free address from its pool and offers it (yiaddr), with the subnet mask, router, DNS servers and lease time. Nothing is promised until the client asks for it.',
  DHCPREQUEST:
    'The client asks for the offered address (option 50) from the server it chose (option 54), still by broadcast so that other servers see their offer was not taken; when renewing it asks its server directly, with its address in ciaddr.',
  DHCPACK:
    "The server confirms: the address is the client's for the lease time. The client may first check with ARP that no other machine uses it, then configures its interface.",
  DHCPNAK: "The server refuses: the requested address is wrong for this network or no longer the client's. The client starts over with DHCPDISCOVER.",
  DHCPDECLINE:
    'The client found with ARP that the offered address is already used by another machine and refuses it; the server keeps that address out of its pool for a while.',
  DHCPRELEASE: 'The client gives its address back before the lease ends (for example when it shuts down cleanly).',
  DHCPINFORM: 'The client already has an address (set by hand) and only asks for the other settings, such as DNS servers.',
};

/** The value of a field or option as text (arrays joined). */
function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(show).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The field after the BOOTP header: the DHCP magic cookie (always this value in a packet labnet decoded). */
function magicCookie(): DhcpFieldData {
  return {
    name: 'magic cookie',
    offset: 236,
    size: 4,
    value: '99.130.83.99 (0x63825363)',
    note: 'Marks the start of the DHCP options: without it this would be a plain BOOTP message (labnet drops packets with another value).',
  };
}

function sentenceOf(type: string): string {
  return (Object.hasOwn(SENTENCES, type) ? SENTENCES[type] : undefined) ?? 'A BOOTP message without a DHCP message type.';
}

function optionNote(name: string): string {
  return (Object.hasOwn(OPTIONS, name) ? OPTIONS[name]?.note : undefined) ?? 'An option this view has no note for.';
}

function optionCode(name: string): number {
  const known = OPTIONS[name];
  if (known) return known.code;
  const m = /^option(\d{1,3})$/.exec(name);
  return m ? Number(m[1]) : -1;
}

function leaseText(seconds: number): string {
  if (seconds === 0xffffffff) return 'infinite';
  if (seconds >= 3600) return `${seconds} s (${(seconds / 3600).toFixed(seconds % 3600 === 0 ? 0 : 1)} h)`;
  if (seconds >= 60) return `${seconds} s (${Math.round(seconds / 60)} min)`;
  return `${seconds} s`;
}

const MAX_OPTIONS = 64;

/** The view of one DHCP packet event. */
export function dhcpPacketView(e: PacketEvent, seq: number): DhcpPacketData {
  const f = e.fields;
  const opts = (f.options && typeof f.options === 'object' ? f.options : {}) as Record<string, unknown>;
  const type = typeof opts.messageType === 'string' ? opts.messageType : f.op === 'BOOTREPLY' ? 'BOOTREPLY' : 'BOOTREQUEST';
  const fields: DhcpFieldData[] = BOOTP_FIELDS.map((d) => {
    let value = show(f[d.name]);
    if (d.name === 'flags') value = value === 'broadcast' ? '0x8000 (broadcast bit set)' : value === 'unicast' ? '0x0000 (broadcast bit clear)' : value;
    if (d.name === 'op') value = value === 'BOOTREQUEST' ? '1 (BOOTREQUEST)' : value === 'BOOTREPLY' ? '2 (BOOTREPLY)' : value;
    if (d.name === 'htype' && value === '1') value = '1 (Ethernet)';
    if ((d.name === 'sname' || d.name === 'file') && value === '') value = '(empty)';
    return { name: d.name, offset: d.offset, size: d.size, value, note: d.note };
  });
  fields.push(magicCookie());
  const options: DhcpOptionData[] = [];
  for (const [name, raw] of Object.entries(opts).slice(0, MAX_OPTIONS)) {
    const code = optionCode(name);
    let value = show(raw);
    if ((name === 'leaseTime' || name === 'renewalTime' || name === 'rebindingTime') && typeof raw === 'number') value = leaseText(raw);
    options.push({ code, name, value, note: optionNote(name) });
  }
  options.sort((a, b) => (name53(a) ? -1 : name53(b) ? 1 : 0));
  const mac = show(f.chaddr);
  return {
    seq,
    t: e.time,
    dir: e.direction,
    mac,
    xid: show(f.xid),
    type,
    summary: e.summary,
    sentence: sentenceOf(type),
    peer: { address: e.peer.address, port: e.peer.port },
    fields,
    options,
  };
}

function name53(o: DhcpOptionData): boolean {
  return o.code === 53;
}

/** The lease table as the packets show it: one row per client MAC, bounded. */
export class LeaseTable {
  private readonly rows = new Map<string, LeaseRow>();

  constructor(private readonly max = 2000) {}

  /** Updates the row for this packet; returns the changed row, if any. */
  apply(p: DhcpPacketData, opts: Record<string, unknown>): LeaseRow | undefined {
    const row = this.rows.get(p.mac);
    const yiaddr = p.fields.find((x) => x.name === 'yiaddr')?.value ?? '';
    const ciaddr = p.fields.find((x) => x.name === 'ciaddr')?.value ?? '';
    const hostname = typeof opts.hostName === 'string' ? opts.hostName : undefined;
    const next: LeaseRow = row ? { ...row, t: p.t } : { mac: p.mac, address: '', state: 'offered', t: p.t };
    delete next.restored;
    if (hostname) next.hostname = hostname.slice(0, 64);
    switch (p.type) {
      case 'DHCPOFFER':
        if (next.state !== 'bound') {
          next.address = yiaddr;
          next.state = 'offered';
        }
        break;
      case 'DHCPACK': {
        if (yiaddr !== '0.0.0.0') next.address = yiaddr;
        const lease = typeof opts.leaseTime === 'number' ? opts.leaseTime : undefined;
        if (lease !== undefined) next.expiresAt = lease === 0xffffffff ? undefined : p.t + lease * 1000;
        next.state = 'bound';
        break;
      }
      case 'DHCPNAK':
        next.state = 'refused';
        break;
      case 'DHCPDECLINE':
        next.state = 'declined';
        break;
      case 'DHCPRELEASE':
        if (ciaddr !== '0.0.0.0') next.address = ciaddr;
        next.state = 'released';
        break;
      case 'DHCPDISCOVER':
      case 'DHCPREQUEST':
        // The client's hostname is all these add; a row appears once the server answers.
        if (!row) return undefined;
        break;
      default:
        if (!row) return undefined;
    }
    if (!row && this.rows.size >= this.max) this.rows.delete(this.rows.keys().next().value!);
    this.rows.delete(p.mac);
    this.rows.set(p.mac, next);
    return next;
  }

  /**
   * Adds the leases the DHCP service's journal holds (at start: the table is right before any client
   * renews); rows already known from packets stay as they are. Returns the rows added.
   */
  restore(rows: readonly unknown[], now: number): LeaseRow[] {
    const added: LeaseRow[] = [];
    for (const x of rows) {
      if (this.rows.size >= this.max) break;
      const r = x as { mac?: unknown; address?: unknown; hostname?: unknown; state?: unknown; expiresAt?: unknown };
      if (typeof r.mac !== 'string' || typeof r.address !== 'string' || this.rows.has(r.mac)) continue;
      const state = r.state === 'released' || r.state === 'declined' ? r.state : 'bound';
      const row: LeaseRow = {
        mac: r.mac.slice(0, 64),
        address: r.address.slice(0, 64),
        state,
        t: now,
        restored: true,
        ...(typeof r.hostname === 'string' ? { hostname: r.hostname.slice(0, 64) } : {}),
        ...(typeof r.expiresAt === 'number' && r.expiresAt < 0xffffffff * 1000 ? { expiresAt: r.expiresAt } : {}),
      };
      this.rows.set(row.mac, row);
      added.push(row);
    }
    return added;
  }

  /** Rows, with expired leases marked as such. */
  list(now: number): LeaseRow[] {
    return [...this.rows.values()].map((r) => (r.state === 'bound' && r.expiresAt !== undefined && r.expiresAt < now ? { ...r, state: 'expired' } : r));
  }

  /** The address of this MAC's row when the row says bound. */
  boundAddressOf(mac: string): string | undefined {
    const row = this.rows.get(mac);
    return row?.state === 'bound' ? row.address || undefined : undefined;
  }

  /** Addresses a MAC was given (a student browsing from one of them sees that MAC's exchange). */
  addressOf(mac: string): string | undefined {
    return this.rows.get(mac)?.address || undefined;
  }
}

/** The options object of a DHCP packet event. */
export function dhcpOptions(e: PacketEvent): Record<string, unknown> {
  const o = e.fields.options;
  return o && typeof o === 'object' ? (o as Record<string, unknown>) : {};
}

/**
 * A packet view as the few values that are its own (seq, time, addresses, field values, option names
 * and values), for storage: the names, offsets, sizes, notes and the sentence are the view's constants
 * and come back from `unpackDhcpPacket`, which rebuilds an equal view.
 */
export type PackedDhcpPacket = [
  seq: number,
  t: number,
  dir: 'in' | 'out',
  mac: string,
  xid: string,
  type: string,
  summary: string,
  peerAddress: string,
  peerPort: number,
  probe: 0 | 1,
  values: string[],
  options: Array<[number, string, string]>,
];

export function packDhcpPacket(p: DhcpPacketData): PackedDhcpPacket {
  return [
    p.seq,
    p.t,
    p.dir,
    p.mac,
    p.xid,
    p.type,
    p.summary,
    p.peer.address,
    p.peer.port,
    p.probe ? 1 : 0,
    p.fields.slice(0, BOOTP_FIELDS.length).map((f) => f.value),
    p.options.map((o) => [o.code, o.name, o.value]),
  ];
}

export function unpackDhcpPacket(a: PackedDhcpPacket): DhcpPacketData {
  const [seq, t, dir, mac, xid, type, summary, address, port, probe, values, options] = a;
  const fields: DhcpFieldData[] = BOOTP_FIELDS.map((d, i) => ({ name: d.name, offset: d.offset, size: d.size, value: values[i] ?? '', note: d.note }));
  fields.push(magicCookie());
  const p: DhcpPacketData = {
    seq,
    t,
    dir,
    mac,
    xid,
    type,
    summary,
    sentence: sentenceOf(type),
    peer: { address, port },
    fields,
    options: options.map(([code, name, value]) => ({ code, name, value, note: optionNote(name) })),
  };
  if (probe) p.probe = true;
  return p;
}
