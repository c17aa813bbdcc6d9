// The lab's zones as the DNS service answers them: the forward zone of `domain` (and of `hostname`
// when it is outside the domain) and the reverse zones of the lab's subnets. Built from settings into
// plain maps (a snapshot; the service builds a new one when a DHCP name, a port or an interface
// changes), then asked one question at a time. Authoritative only: a name outside every zone is
// REFUSED, never looked up elsewhere.
import { addressBytes, type Subnet } from './addresses.js';
import { RCODE } from './header.js';
import { lowerName } from './names.js';
import type { ResourceRecord } from './message.js';
import { CLASS, TYPE, type RecordData, type SoaData, type SrvData } from './records.js';

/** The service names that get the host's addresses (autoconfig and autodiscover: mail client setup). */
export const HOST_SERVICE_LABELS = ['mail', 'www', 'autoconfig', 'autodiscover'] as const;

/** RFC 6186 and RFC 8314 section 5.1: mail service discovery, and the labnet listener each one names. */
export const MAIL_SRV = [
  { owner: '_submission._tcp', service: 'smtp', listener: 'submission' },
  { owner: '_submissions._tcp', service: 'smtp', listener: 'smtps' },
  { owner: '_imap._tcp', service: 'imap', listener: 'imap' },
  { owner: '_imaps._tcp', service: 'imap', listener: 'imaps' },
  { owner: '_pop3._tcp', service: 'pop3', listener: 'pop3' },
  { owner: '_pop3s._tcp', service: 'pop3', listener: 'pop3s' },
] as const;

/** SOA timers (RFC 1912 section 2.2 ranges); the minimum is the negative-caching TTL (RFC 2308 section 4). */
export const SOA_TIMERS = { refresh: 3600, retry: 600, expire: 86_400 } as const;

export interface ZoneSettings {
  domain: string;
  hostname: string;
  ttl: number;
  negativeTtl: number;
  serial: number;
  /** Addresses of the host and its service names in this view. */
  hostAddresses: string[];
  /** Every address that is the host's (any view): each gets a PTR to the hostname. */
  allHostAddresses: string[];
  reverse: Subnet[];
  /** Port of each MAIL_SRV owner; undefined when the service does not run (target "."). */
  srvPorts: Record<string, number | undefined>;
  /** DHCP clients' names: label and IPv4 address. */
  dhcpNames: ReadonlyArray<{ label: string; address: string }>;
}

interface RRSet {
  ttl: number;
  data: RecordData[];
}

interface ForwardZone {
  kind: 'forward';
  apex: string;
}

interface ReverseZone {
  kind: 'reverse';
  apex: string;
  subnet: Subnet;
}

type ZoneApex = ForwardZone | ReverseZone;

export type ZoneAnswer =
  | { refused: true }
  | {
      refused: false;
      rcode: number;
      /** Records at the question's name: type, TTL and data (the owner is the question as asked). */
      answers: Array<{ type: number; ttl: number; data: RecordData }>;
      authorities: ResourceRecord[];
      additionals: ResourceRecord[];
    };

/** The reverse-lookup name of an address ("1.50.168.192.in-addr.arpa", RFC 1035 section 3.5; RFC 3596 section 2.5). */
export function reverseName(address: string): string | undefined {
  const b = addressBytes(address);
  if (!b) return undefined;
  if (b.length === 4) return `${b[3]}.${b[2]}.${b[1]}.${b[0]}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((b[i] & 0xf).toString(16), (b[i] >> 4).toString(16));
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** The reverse zone apex for a subnet: its whole octets (IPv4) or nibbles (IPv6). */
export function reverseApex(s: Subnet): string {
  if (s.family === 4) {
    const octets = [...s.network.subarray(0, Math.floor(s.prefix / 8))].reverse();
    return [...octets.map(String), 'in-addr', 'arpa'].join('.');
  }
  const count = Math.floor(s.prefix / 4);
  const nibbles: string[] = [];
  for (let i = 0; i < count; i++) nibbles.push(((s.network[i >> 1] >> (i & 1 ? 0 : 4)) & 0xf).toString(16));
  return [...nibbles.reverse(), 'ip6', 'arpa'].join('.');
}

/**
 * The leading address bits a reverse name spells (octets for in-addr.arpa, nibbles for ip6.arpa),
 * as a list of [value, width in bits]; undefined when a label is not a canonical digit.
 */
function reverseDigits(name: string, family: 4 | 6): number[] | undefined {
  const suffix = family === 4 ? 'in-addr.arpa' : 'ip6.arpa';
  const head = name === suffix ? '' : name.slice(0, -(suffix.length + 1));
  const labels = head === '' ? [] : head.split('.').reverse();
  const out: number[] = [];
  for (const l of labels) {
    if (family === 4) {
      if (!/^(0|[1-9]\d{0,2})$/.test(l) || Number(l) > 255) return undefined;
      out.push(Number(l));
    } else {
      if (!/^[0-9a-f]$/.test(l)) return undefined;
      out.push(parseInt(l, 16));
    }
  }
  if (out.length > (family === 4 ? 4 : 32)) return undefined;
  return out;
}

/** Whether the address prefix a reverse name spells overlaps the subnet. */
function overlaps(digits: number[], s: Subnet): boolean {
  const width = s.family === 4 ? 8 : 4;
  for (let i = 0; i < digits.length && i * width < s.prefix; i++) {
    const bits = Math.min(width, s.prefix - i * width);
    const netDigit = s.family === 4 ? s.network[i] : (s.network[i >> 1] >> (i & 1 ? 0 : 4)) & 0xf;
    const shift = width - bits;
    if (digits[i] >> shift !== netDigit >> shift) return false;
  }
  return true;
}

function under(name: string, apex: string): boolean {
  return name === apex || (name.length > apex.length && name.endsWith(apex) && name[name.length - apex.length - 1] === '.');
}

export class LabZone {
  private readonly rrsets = new Map<string, Map<number, RRSet>>();
  /** Names that exist: those with records and every name between them and their zone's apex (RFC 8020). */
  private readonly names = new Set<string>();
  private readonly apexes: ZoneApex[] = [];
  private readonly soa: SoaData;
  /** Names the lab reserves (DHCP clients cannot take them). */
  readonly reserved = new Set<string>();
  /** DHCP names not served because they clash with a reserved name. */
  readonly clashes: string[] = [];

  constructor(readonly settings: ZoneSettings) {
    const s = settings;
    const domain = lowerName(s.domain);
    const host = lowerName(s.hostname);
    this.soa = {
      mname: host,
      rname: `hostmaster.${domain}`,
      serial: s.serial >>> 0,
      ...SOA_TIMERS,
      minimum: s.negativeTtl,
    };
    this.apexes.push({ kind: 'forward', apex: domain });
    if (!under(host, domain)) this.apexes.push({ kind: 'forward', apex: host });
    for (const subnet of s.reverse) this.apexes.push({ kind: 'reverse', apex: reverseApex(subnet), subnet });

    for (const z of this.apexes) {
      this.add(z.apex, TYPE.SOA, this.soa);
      this.add(z.apex, TYPE.NS, host);
    }
    const v4 = s.hostAddresses.filter((a) => addressBytes(a)?.length === 4);
    const v6 = s.hostAddresses.filter((a) => addressBytes(a)?.length === 16);
    const hostNames = [host, domain, ...HOST_SERVICE_LABELS.map((l) => `${l}.${domain}`)];
    for (const n of hostNames) {
      this.reserved.add(n);
      for (const a of v4) this.add(n, TYPE.A, a);
      for (const a of v6) this.add(n, TYPE.AAAA, a);
    }
    this.add(domain, TYPE.MX, { preference: 10, exchange: host });
    for (const srv of MAIL_SRV) {
      const port = s.srvPorts[srv.owner];
      // RFC 2782 / RFC 6186 section 3.4: target "." says the service is decidedly not available.
      const data: SrvData = port === undefined ? { priority: 0, weight: 0, port: 0, target: '.' } : { priority: 0, weight: 1, port, target: host };
      this.add(`${srv.owner}.${domain}`, TYPE.SRV, data);
      this.reserved.add(`${srv.owner}.${domain}`);
    }
    for (const a of s.allHostAddresses) {
      const r = reverseName(a);
      if (r && this.reverseZoneOf(r)) this.add(r, TYPE.PTR, host, true);
    }
    for (const d of s.dhcpNames) {
      const name = `${d.label}.${domain}`;
      if (this.reserved.has(name)) {
        this.clashes.push(d.label);
        continue;
      }
      this.add(name, TYPE.A, d.address);
      const r = reverseName(d.address);
      if (r && this.reverseZoneOf(r)) this.add(r, TYPE.PTR, name, true);
    }
  }

  get serial(): number {
    return this.soa.serial;
  }

  private add(name: string, type: number, data: RecordData, onlyIfNew = false): void {
    let sets = this.rrsets.get(name);
    if (!sets) {
      sets = new Map();
      this.rrsets.set(name, sets);
    }
    let set = sets.get(type);
    if (!set) {
      set = { ttl: this.settings.ttl, data: [] };
      sets.set(type, set);
    }
    if (onlyIfNew && set.data.length > 0) return; // one PTR per address: the first name given
    if (set.data.some((d) => JSON.stringify(d) === JSON.stringify(data))) return;
    set.data.push(data);
    const zone = this.zoneOf(name);
    // The name and every name between it and its apex exist.
    let n = name;
    while (zone && !this.names.has(n)) {
      this.names.add(n);
      if (n === zone.apex) break;
      n = n.slice(n.indexOf('.') + 1);
    }
  }

  private reverseZoneOf(name: string): ReverseZone | undefined {
    let best: ReverseZone | undefined;
    for (const z of this.apexes) {
      if (z.kind !== 'reverse' || !under(name, z.apex)) continue;
      const digits = reverseDigits(name, z.subnet.family);
      if (digits && !overlaps(digits, z.subnet)) continue;
      if (!best || z.apex.length > best.apex.length) best = z;
    }
    return best;
  }

  /** The zone a lower-cased name is in, or undefined (not ours: REFUSED). */
  zoneOf(name: string): ZoneApex | undefined {
    let best: ZoneApex | undefined;
    for (const z of this.apexes) if (z.kind === 'forward' && under(name, z.apex) && (!best || z.apex.length > best.apex.length)) best = z;
    return best ?? this.reverseZoneOf(name);
  }

  /** RFC 1034 section 4.3.2 for an authoritative-only server (no delegations, no CNAMEs, no wildcards). */
  lookup(qnameAsked: string, qtype: number, qclass: number): ZoneAnswer {
    if (qclass !== CLASS.IN && qclass !== CLASS.ANY) return { refused: true };
    const qname = lowerName(qnameAsked);
    const zone = this.zoneOf(qname);
    if (!zone) return { refused: true };
    const negative = (rcode: number): ZoneAnswer => ({
      refused: false,
      rcode,
      answers: [],
      // RFC 2308 sections 3 and 5: the SOA, with the TTL of the negative answer.
      authorities: [{ name: zone.apex, type: TYPE.SOA, class: CLASS.IN, ttl: Math.min(this.settings.ttl, this.soa.minimum), data: this.soa }],
      additionals: [],
    });
    if (!this.names.has(qname)) return negative(RCODE.NXDOMAIN);
    const sets = this.rrsets.get(qname);
    const answers: Array<{ type: number; ttl: number; data: RecordData }> = [];
    if (sets) {
      for (const [type, set] of sets) {
        if (qtype !== TYPE.ANY && qtype !== type) continue;
        for (const data of set.data) answers.push({ type, ttl: set.ttl, data });
      }
    }
    if (answers.length === 0) return negative(RCODE.NOERROR);
    return { refused: false, rcode: RCODE.NOERROR, answers, authorities: [], additionals: this.additional(answers) };
  }

  /** RFC 1035 section 3.3 and RFC 2782: addresses of the names an NS, MX or SRV answer points to. */
  private additional(answers: ReadonlyArray<{ type: number; data: RecordData }>): ResourceRecord[] {
    const targets: string[] = [];
    for (const a of answers) {
      const t =
        a.type === TYPE.NS
          ? (a.data as string)
          : a.type === TYPE.MX
            ? (a.data as { exchange: string }).exchange
            : a.type === TYPE.SRV
              ? (a.data as SrvData).target
              : undefined;
      if (t && t !== '.' && !targets.includes(t)) targets.push(t);
    }
    const out: ResourceRecord[] = [];
    for (const t of targets) {
      const sets = this.rrsets.get(t);
      for (const type of [TYPE.A, TYPE.AAAA]) {
        const set = sets?.get(type);
        if (set) for (const data of set.data) out.push({ name: t, type, class: CLASS.IN, ttl: set.ttl, data });
      }
    }
    return out;
  }

  /** Every record, for the status view and tests (owner, type, data). */
  records(): ResourceRecord[] {
    const out: ResourceRecord[] = [];
    for (const [name, sets] of this.rrsets)
      for (const [type, set] of sets) for (const data of set.data) out.push({ name, type, class: CLASS.IN, ttl: set.ttl, data });
    return out;
  }
}
