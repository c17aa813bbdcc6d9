// Names the lab learns while it runs: a DHCP client's host name (option 12, RFC 2132 section 3.14)
// bound to the address it leased, so that `alice-laptop.lab.test` resolves as it does with dnsmasq.
// DHCP feeds it (on ACK, RELEASE and DECLINE), the lab DNS reads it; neither imports the other, both
// get this one registry from the container (TOKENS.LabNames).
//
// Rules, as dnsmasq applies them: a name is one label of letters, digits and "-" (RFC 1123 section
// 2.1), lower-cased; a client sending "laptop.example.org" gets "laptop" (its domain is ignored); a
// name held by another address moves to the newest lease; an address has at most one name; a name
// is gone when its lease ends (`expiresAt`), without anyone having to say so.
import { isIPv4 } from 'node:net';
import type { LabnetConfig } from './config.js';

export interface LabNameEntry {
  /** One lower-case label (the lab DNS answers `<label>.<domain>`). */
  label: string;
  /** IPv4 address in dotted form. */
  address: string;
  /** Milliseconds since the epoch when the name stops resolving (the lease's end). */
  expiresAt: number;
  /** Who gave it ('dhcp'). */
  source: string;
}

/** Most names the registry keeps (a /16 pool is 65,534 leases). */
export const MAX_LAB_NAMES = 65_536;

/**
 * The label a host name becomes, or undefined when it cannot be one: the part before the first dot,
 * lower-cased, which must be 1-63 letters, digits and inner hyphens (RFC 1123 section 2.1, RFC 952).
 */
export function hostLabel(raw: string): string | undefined {
  const first = raw.split('.', 1)[0].trim().toLowerCase();
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(first) ? first : undefined;
}

export class LabNames {
  private readonly byAddress = new Map<string, LabNameEntry>();
  private readonly byLabel = new Map<string, LabNameEntry>();
  private listeners: Array<() => void> = [];
  /** Bumped on every change: readers rebuild what they derived when it moves. */
  version = 0;

  /**
   * Binds the label of `hostname` to `address` until `expiresAt`. Returns the label, or undefined
   * when the host name is not usable (then any name the address had is removed).
   */
  set(address: string, hostname: string, expiresAt: number, source = 'dhcp'): string | undefined {
    if (!isIPv4(address)) return undefined;
    const label = hostLabel(hostname);
    if (!label) {
      this.remove(address);
      return undefined;
    }
    const current = this.byAddress.get(address);
    if (current && current.label === label && current.expiresAt === expiresAt && current.source === source) return label;
    if (current) this.detach(current);
    const holder = this.byLabel.get(label);
    if (holder) this.detach(holder);
    if (this.byAddress.size >= MAX_LAB_NAMES) this.evictOldest();
    const entry: LabNameEntry = { label, address, expiresAt, source };
    this.byAddress.set(address, entry);
    this.byLabel.set(label, entry);
    this.changed();
    return label;
  }

  /** Removes the name of `address` (the lease was released, declined or given to someone else). */
  remove(address: string): void {
    const entry = this.byAddress.get(address);
    if (!entry) return;
    this.detach(entry);
    this.changed();
  }

  /** The address `label` resolves to now. */
  addressOf(label: string, now: number): string | undefined {
    const e = this.byLabel.get(label.toLowerCase());
    return e && e.expiresAt > now ? e.address : undefined;
  }

  /** The label `address` has now. */
  labelOf(address: string, now: number): string | undefined {
    const e = this.byAddress.get(address);
    return e && e.expiresAt > now ? e.label : undefined;
  }

  /** Every name valid at `now`. */
  entries(now: number): LabNameEntry[] {
    return [...this.byAddress.values()].filter((e) => e.expiresAt > now);
  }

  get size(): number {
    return this.byAddress.size;
  }

  /** Calls `cb` after every change; returns the function that stops it. */
  onChange(cb: () => void): () => void {
    this.listeners = [...this.listeners, cb];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== cb);
    };
  }

  private detach(entry: LabNameEntry): void {
    if (this.byAddress.get(entry.address) === entry) this.byAddress.delete(entry.address);
    if (this.byLabel.get(entry.label) === entry) this.byLabel.delete(entry.label);
  }

  private evictOldest(): void {
    let oldest: LabNameEntry | undefined;
    for (const e of this.byAddress.values()) if (!oldest || e.expiresAt < oldest.expiresAt) oldest = e;
    if (oldest) this.detach(oldest);
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}

/**
 * The address DHCP should hand out as the clients' DNS server (option 6) when the lab DNS runs: the
 * DHCP interface's own address, if the lab DNS is enabled, listens there (on the wildcard address or
 * on exactly that one) and answers on port 53 (a DHCP client cannot be told another port). Undefined
 * otherwise; an explicit `services.dhcp.dns` list always wins over this (the caller checks).
 */
export function labDnsAddressFor(config: LabnetConfig, portOffset: number, interfaceAddress: string): string | undefined {
  const dns = config.services.dns;
  if (!dns?.enabled) return undefined;
  if (dns.port === 0 || dns.port + portOffset !== 53) return undefined;
  const listen = config.listen;
  if (listen !== '0.0.0.0' && listen !== '::' && listen !== interfaceAddress) return undefined;
  return interfaceAddress;
}
