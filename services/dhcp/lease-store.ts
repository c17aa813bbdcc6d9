// Leases in memory: by address and by client, with the free-address index kept in step. The store
// decides nothing about the protocol (server.ts does); it guarantees that an address is never held by
// two clients, that declined addresses stay out of the pool until their time is up, and that every
// binding, release and decline reaches the journal (bindings durably before the ACK goes out).
import { FreeAddressIndex } from './allocator.js';
import type { LeaseJournal, LeaseRecord } from './lease-journal.js';
import { intToIp } from './ipv4.js';

/**
 * offered: held for a client between OFFER and REQUEST; bound: ACKed; released/expired: free again but
 * remembered so the client gets the same address back; declined: unusable until `expires`.
 */
export type LeaseState = 'offered' | 'bound' | 'released' | 'expired' | 'declined';

export interface Lease {
  ip: number;
  /** Client key: 'id:<hex>' (option 61) or 'hw:<mac>' (chaddr); '' for a declined address. */
  client: string;
  mac: string;
  hostname?: string;
  state: LeaseState;
  /** ms since the epoch: end of the lease, the offer hold or the decline. */
  expires: number;
  /** For an offer made over a remembered lease: what to fall back to if the offer lapses. */
  previous?: { state: LeaseState; expires: number };
}

export interface LeaseStoreCounts {
  bound: number;
  offered: number;
  declined: number;
  free: number;
  pool: number;
}

export class LeaseStore {
  private readonly byIp = new Map<number, Lease>();
  private readonly byClient = new Map<string, Lease>();

  constructor(
    readonly index: FreeAddressIndex,
    private readonly journal: LeaseJournal | undefined,
  ) {}

  /** Loads journal records (at start-up, before serving). */
  restore(records: Iterable<LeaseRecord>, now: number): void {
    for (const r of records) {
      const existing = this.byIp.get(r.ip);
      if (existing) this.detach(existing);
      const lease: Lease = { ip: r.ip, client: r.client, mac: r.mac, state: r.state, expires: r.expires, ...(r.hostname ? { hostname: r.hostname } : {}) };
      if (lease.state === 'bound' && lease.expires <= now) lease.state = 'expired';
      if (lease.state === 'declined' && lease.expires <= now) continue;
      this.attach(lease);
    }
  }

  get(ip: number): Lease | undefined {
    return this.byIp.get(ip);
  }

  forClient(client: string): Lease | undefined {
    return this.byClient.get(client);
  }

  static active(lease: Lease, now: number): boolean {
    return (lease.state === 'bound' || lease.state === 'offered' || lease.state === 'declined') && lease.expires > now;
  }

  /** True when `ip` may be given to `client` now (reservations are checked by the caller). */
  availableFor(ip: number, client: string, now: number, reserved: boolean): boolean {
    if (!reserved && !this.index.inPool(ip)) return false;
    const lease = this.byIp.get(ip);
    if (!lease) return true;
    if (lease.state === 'declined') return lease.expires <= now;
    if (lease.client === client) return true;
    return !LeaseStore.active(lease, now);
  }

  /** Holds `ip` for `client` until `until` (an OFFER). A bound lease of the same client stays bound. */
  offer(ip: number, client: string, mac: string, hostname: string | undefined, until: number, now: number): void {
    const cur = this.byIp.get(ip);
    if (cur && cur.client === client && cur.state === 'bound' && cur.expires > now) return;
    this.claim(ip, client);
    const previous =
      cur && cur.client === client && (cur.state === 'released' || cur.state === 'expired') ? { state: cur.state, expires: cur.expires } : undefined;
    this.attach({ ip, client, mac, state: 'offered', expires: until, ...(hostname ? { hostname } : {}), ...(previous ? { previous } : {}) });
  }

  /** Forgets the offer held for `client` (it chose another server). */
  dropOffer(client: string): void {
    const lease = this.byClient.get(client);
    if (!lease || lease.state !== 'offered') return;
    this.lapseOffer(lease);
  }

  /** Binds `ip` to `client` until `expires`; resolves once the binding is durable. */
  bind(ip: number, client: string, mac: string, hostname: string | undefined, expires: number): Promise<void> {
    this.claim(ip, client);
    const lease: Lease = { ip, client, mac, state: 'bound', expires, ...(hostname ? { hostname } : {}) };
    this.attach(lease);
    return this.record(lease, true);
  }

  release(lease: Lease, now: number): void {
    lease.state = 'released';
    lease.expires = now;
    delete lease.previous;
    this.index.give(lease.ip);
    void this.record(lease, false);
  }

  /** The client found the address in use (its ARP check): nobody gets it until `until`. */
  decline(lease: Lease, until: number): void {
    this.detach(lease);
    const declined: Lease = { ip: lease.ip, client: '', mac: '', state: 'declined', expires: until };
    this.attach(declined);
    void this.record(declined, false);
  }

  /** Returns lapsed offers, expired leases and finished declines to the free index. */
  sweep(now: number): number {
    let freed = 0;
    for (const lease of this.byIp.values()) {
      if (lease.expires > now) continue;
      if (lease.state === 'offered') {
        this.lapseOffer(lease);
        freed++;
      } else if (lease.state === 'bound') {
        lease.state = 'expired';
        this.index.give(lease.ip);
        freed++;
      } else if (lease.state === 'declined') {
        this.detach(lease);
        this.index.give(lease.ip, false);
        freed++;
      }
    }
    return freed;
  }

  /** The next pool address for a new client (sweeping once if the index looks empty). */
  nextFree(now: number): number | undefined {
    let ip = this.index.next();
    if (ip === undefined && this.sweep(now) > 0) ip = this.index.next();
    return ip;
  }

  counts(now: number): LeaseStoreCounts {
    let bound = 0;
    let offered = 0;
    let declined = 0;
    for (const l of this.byIp.values()) {
      if (!LeaseStore.active(l, now)) continue;
      if (l.state === 'bound') bound++;
      else if (l.state === 'offered') offered++;
      else if (l.state === 'declined') declined++;
    }
    return { bound, offered, declined, free: this.index.freeCount, pool: this.index.size };
  }

  /** What compaction writes: everything worth remembering, in durable form. */
  *records(): Iterable<LeaseRecord> {
    for (const l of this.byIp.values()) {
      const durable = l.state === 'offered' ? l.previous : { state: l.state, expires: l.expires };
      if (!durable) continue;
      const state = durable.state === 'expired' ? 'bound' : durable.state;
      if (state !== 'bound' && state !== 'released' && state !== 'declined') continue;
      yield { ip: l.ip, client: l.client, mac: l.mac, state, expires: durable.expires, ...(l.hostname ? { hostname: l.hostname } : {}) };
    }
  }

  get size(): number {
    return this.byIp.size;
  }

  describe(ip: number): string {
    const l = this.byIp.get(ip);
    return l ? `${intToIp(ip)} ${l.state} ${l.client}` : `${intToIp(ip)} free`;
  }

  private lapseOffer(lease: Lease): void {
    if (lease.previous) {
      lease.state = lease.previous.state;
      lease.expires = lease.previous.expires;
      delete lease.previous;
      this.index.give(lease.ip);
    } else {
      this.detach(lease);
      this.index.give(lease.ip, false);
    }
  }

  /** Takes `ip` out of the index and away from any other client remembered on it. */
  private claim(ip: number, client: string): void {
    const cur = this.byIp.get(ip);
    if (cur) this.detach(cur);
    const mine = this.byClient.get(client);
    // One address per client: moving to a new address gives the old one back.
    if (mine && mine.ip !== ip) {
      this.detach(mine);
      if (mine.state !== 'declined') this.index.give(mine.ip);
    }
    this.index.take(ip);
  }

  private attach(lease: Lease): void {
    this.byIp.set(lease.ip, lease);
    if (lease.client) this.byClient.set(lease.client, lease);
    if (lease.state === 'bound' || lease.state === 'offered' || lease.state === 'declined') this.index.take(lease.ip);
    else this.index.give(lease.ip);
  }

  private detach(lease: Lease): void {
    if (this.byIp.get(lease.ip) === lease) this.byIp.delete(lease.ip);
    if (lease.client && this.byClient.get(lease.client) === lease) this.byClient.delete(lease.client);
  }

  private record(lease: Lease, durable: boolean): Promise<void> {
    if (!this.journal) return Promise.resolve();
    const state = lease.state === 'expired' ? 'bound' : lease.state;
    if (state === 'offered') return Promise.resolve();
    const p = this.journal.append({
      ip: lease.ip,
      client: lease.client,
      mac: lease.mac,
      state,
      expires: lease.expires,
      ...(lease.hostname ? { hostname: lease.hostname } : {}),
    });
    if (!durable) p.catch(() => {});
    return p;
  }
}
