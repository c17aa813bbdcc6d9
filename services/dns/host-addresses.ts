// Which addresses the lab host's names (hostname, mail, www, autoconfig, autodiscover, the domain)
// resolve to. Configured (`services.dns.hostAddresses`): those, for everyone. Automatic (empty): this
// machine's own addresses, and each client gets the ones of the interface on its own network, as
// dnsmasq's --localise-queries does: a student on the lab LAN gets the lab-side address, a program on
// the machine itself gets 127.0.0.1 and ::1. A client on no directly attached network gets every
// non-loopback address. The interfaces are re-read by `refresh()` (the service calls it every few
// seconds), since a lab interface may come up after labnet started.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { addressBytes, inSubnet, subnetOf, unmapIpv4, type Subnet } from './addresses.js';

export interface InterfaceAddress {
  interface: string;
  address: string;
  family: 4 | 6;
  prefix: number;
  internal: boolean;
}

export type InterfaceReader = () => InterfaceAddress[];

/** This machine's addresses, without IPv6 link-local ones (they need a zone index no DNS answer carries). */
export function readInterfaces(): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    for (const i of infos ?? ([] as NetworkInterfaceInfo[])) {
      if (i.family === 'IPv6' && /^fe[89ab]/i.test(i.address)) continue;
      const prefix = i.cidr ? Number(i.cidr.split('/')[1]) : i.family === 'IPv4' ? 32 : 128;
      out.push({ interface: name, address: i.address, family: i.family === 'IPv4' ? 4 : 6, prefix, internal: i.internal });
    }
  }
  return out;
}

/** The view everyone gets when nothing narrower applies. */
export const ALL_VIEW = '*';

const VIEW_CACHE_MAX = 4096;

export class HostAddresses {
  private interfaces: InterfaceAddress[] = [];
  private signatureText = '';
  private viewCache = new Map<string, string>();

  constructor(
    /** Configured addresses; empty: automatic. */
    private readonly configured: readonly string[],
    private readonly read: InterfaceReader = readInterfaces,
  ) {
    this.refresh();
  }

  get automatic(): boolean {
    return this.configured.length === 0;
  }

  /** Re-reads the interfaces; true when anything changed. */
  refresh(): boolean {
    if (!this.automatic) return false;
    const now = this.read();
    const text = now.map((i) => `${i.interface}/${i.address}/${i.prefix}`).join(',');
    if (text === this.signatureText) return false;
    this.interfaces = now;
    this.signatureText = text;
    this.viewCache = new Map();
    return true;
  }

  get signature(): string {
    return this.signatureText;
  }

  /** The view of a client address: the interface on its network, or ALL_VIEW. */
  viewFor(client: string): string {
    if (!this.automatic) return ALL_VIEW;
    const hit = this.viewCache.get(client);
    if (hit !== undefined) return hit;
    const bytes = addressBytes(unmapIpv4(client));
    let view = ALL_VIEW;
    if (bytes) {
      for (const i of this.interfaces) {
        const s = subnetOf(i.address, i.prefix);
        if (s && inSubnet(s, bytes)) {
          view = i.interface;
          break;
        }
      }
    }
    if (this.viewCache.size >= VIEW_CACHE_MAX) this.viewCache = new Map();
    this.viewCache.set(client, view);
    return view;
  }

  /** Addresses the host's names have in a view. */
  addressesFor(view: string): string[] {
    if (!this.automatic) return [...this.configured];
    if (view !== ALL_VIEW) return this.interfaces.filter((i) => i.interface === view).map((i) => i.address);
    const external = this.interfaces.filter((i) => !i.internal).map((i) => i.address);
    return external.length > 0 ? external : this.interfaces.map((i) => i.address);
  }

  /** Every address that is the host's (each gets a PTR record). */
  all(): string[] {
    return this.automatic ? this.interfaces.map((i) => i.address) : [...this.configured];
  }

  /** The networks of the host's addresses: the reverse zones when none are configured. */
  subnets(): Subnet[] {
    const out: Subnet[] = [];
    const add = (s: Subnet | undefined): void => {
      if (!s) return;
      // A reverse zone needs at least a whole first octet (IPv4) or four nibbles (IPv6).
      if ((s.family === 4 && s.prefix < 8) || (s.family === 6 && s.prefix < 16)) return;
      if (!out.some((o) => o.family === s.family && o.prefix === s.prefix && o.network.every((b, k) => b === s.network[k]))) out.push(s);
    };
    if (this.automatic) for (const i of this.interfaces) add(subnetOf(i.address, i.prefix));
    else for (const a of this.configured) add(subnetOf(a, addressBytes(a)?.length === 4 ? 24 : 64));
    return out;
  }
}
