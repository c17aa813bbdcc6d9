// Leases in memory: by address, by client and by hardware address, with the free-address index kept
// in step. The store decides nothing about the protocol (server.ts does); it guarantees that an
// address is never held by two clients, that declined addresses stay out of the pool until their time
// is up, and that every binding, release and decline reaches the journal (bindings durably before the
// ACK goes out; a binding the journal could not record is rolled back, so memory never holds more
// than the disk).
//
// Who a lease belongs to (RFC 2131 4.2 and RFC 2132 9.14 key a client by its client identifier, else
// its hardware address): when both the lease and the request carry a client identifier they must be
// equal; when either has none, the hardware addresses must be equal. A client that first sends option
// 61 (`01`+MAC) and later renews without it, or the reverse, is the same client; Kea
// (Lease4::belongsToClient) and dnsmasq (lease4_find_by_client) decide the same way.
import { FreeAddressIndex } from './allocator.js';
import type { LeaseJournal, LeaseRecord } from './lease-journal.js';
import { intToIp } from './ipv4.js';

/**
 * offered: held for a client between OFFER and REQUEST; bound: ACKed; released/expired: free again but
 * remembered so the client gets the same address back; declined: unusable until `expires`.
 */
export type LeaseState = 'offered' | 'bound' | 'released' | 'expired' | 'declined';

/** A requesting client, as server.ts derives it from a packet. */
export interface ClientIdentity {
  /** 'id:<hex>' (option 61) when sent, else the hardware key. */
  key: string;
  /** Whether the request carried a client identifier. */
  hasId: boolean;
  /** 'hw:<htype>:<mac>'; '' without a hardware address (hlen 0). */
  hw: string;
  /** chaddr as text ('' when hlen is 0). */
  mac: string;
}

export interface Lease {
  ip: number;
  /** Client key: 'id:<hex>' (option 61) or 'hw:<htype>:<mac>' (chaddr); '' for a declined address. */
  client: string;
  /** 'hw:<htype>:<mac>' of the client ('' when unknown or declined). */
  hw: string;
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

const RECORDED = Promise.resolve();

/** The hardware key of a MAC (as journal records and leases carry it). */
export function hwKey(htype: number, mac: string): string {
  return mac ? `hw:${htype}:${mac}` : '';
}

/** RFC 2131 4.2 client identity with the hardware-address fallback (see the comment at the top). */
export function ownedBy(lease: Lease, who: ClientIdentity): boolean {
  if (lease.client === '') return false;
  if (lease.client === who.key) return true;
  if (who.hasId && lease.client.startsWith('id:')) return false;
  return lease.hw !== '' && lease.hw === who.hw;
}

export class LeaseStore {
  private readonly byIp = new Map<number, Lease>();
  private readonly byClient = new Map<string, Lease>();
  /** The latest lease per hardware key, for clients that drop or add their client identifier. */
  private readonly byHw = new Map<string, Lease>();

  constructor(
    readonly index: FreeAddressIndex,
    private readonly journal: LeaseJournal | undefined,
  ) {}

  /** Loads journal records (at start-up, before serving). */
  restore(records: Iterable<LeaseRecord>, now: number): void {
    for (const r of records) {
      const existing = this.byIp.get(r.ip);
      if (existing) this.detach(existing);
      const hw = r.client.startsWith('hw:') ? r.client : hwKey(r.htype ?? 1, r.mac);
      const lease: Lease = { ip: r.ip, client: r.client, hw, mac: r.mac, state: r.state, expires: r.expires, ...(r.hostname ? { hostname: r.hostname } : {}) };
      if (lease.state === 'bound' && lease.expires <= now) lease.state = 'expired';
      if (lease.state === 'declined' && lease.expires <= now) continue;
      this.attach(lease);
    }
  }

  get(ip: number): Lease | undefined {
    return this.byIp.get(ip);
  }

  /** The lease recorded under exactly this client key. */
  forClient(client: string): Lease | undefined {
    return this.byClient.get(client);
  }

  /** This client's lease: by its key, else by its hardware address when the identifiers allow it. */
  find(who: ClientIdentity): Lease | undefined {
    const direct = this.byClient.get(who.key);
    if (direct) return direct;
    if (!who.hw) return undefined;
    const byHw = this.byHw.get(who.hw);
    return byHw && ownedBy(byHw, who) ? byHw : undefined;
  }

  static active(lease: Lease, now: number): boolean {
    return (lease.state === 'bound' || lease.state === 'offered' || lease.state === 'declined') && lease.expires > now;
  }

  /** True when `ip` may be given to `who` now (reservations are checked by the caller). */
  availableFor(ip: number, who: ClientIdentity, now: number, reserved: boolean): boolean {
    if (!reserved && !this.index.inPool(ip)) return false;
    const lease = this.byIp.get(ip);
    if (!lease) return true;
    if (lease.state === 'declined') return lease.expires <= now;
    if (ownedBy(lease, who)) return true;
    return !LeaseStore.active(lease, now);
  }

  /** Whether another client holds `ip` now (bound, offered or declined and not yet expired). */
  heldByOther(ip: number, who: ClientIdentity, now: number): boolean {
    const lease = this.byIp.get(ip);
    return lease !== undefined && LeaseStore.active(lease, now) && !ownedBy(lease, who);
  }

  /** Holds `ip` for `who` until `until` (an OFFER). A bound lease of the same client stays bound. */
  offer(ip: number, who: ClientIdentity, hostname: string | undefined, until: number, now: number): void {
    const cur = this.byIp.get(ip);
    const mine = cur !== undefined && ownedBy(cur, who);
    if (mine && cur.state === 'bound' && cur.expires > now) return;
    this.claim(ip, who);
    const previous = mine && (cur.state === 'released' || cur.state === 'expired') ? { state: cur.state, expires: cur.expires } : undefined;
    this.attach({
      ip,
      client: who.key,
      hw: who.hw,
      mac: who.mac,
      state: 'offered',
      expires: until,
      ...(hostname ? { hostname } : {}),
      ...(previous ? { previous } : {}),
    });
  }

  /** Forgets the offer held for `who` (it chose another server). */
  dropOffer(who: ClientIdentity): void {
    const lease = this.find(who);
    if (!lease || lease.state !== 'offered') return;
    this.lapseOffer(lease);
  }

  /**
   * Binds `ip` to `who` until `expires`; resolves once the binding is durable. When the journal
   * cannot record it, the binding is undone (the address goes back to what it was: the offer, the
   * previous lease, or free) and the promise rejects: no ACK may leave for it.
   */
  bind(ip: number, who: ClientIdentity, hostname: string | undefined, expires: number): Promise<void> {
    const before = this.journal ? this.byIp.get(ip) : undefined;
    const beforeMine = this.journal ? this.find(who) : undefined;
    this.claim(ip, who);
    const lease: Lease = { ip, client: who.key, hw: who.hw, mac: who.mac, state: 'bound', expires, ...(hostname ? { hostname } : {}) };
    this.attach(lease);
    if (!this.journal) return RECORDED;
    const durable = this.record(lease, true);
    durable.catch(() => this.undoBind(lease, before, beforeMine));
    return durable;
  }

  /** Puts back what `bind` replaced (the offer, the previous lease, or nothing), unless the address changed since. */
  private undoBind(lease: Lease, before: Lease | undefined, beforeMine: Lease | undefined): void {
    if (this.byIp.get(lease.ip) !== lease) return;
    this.detach(lease);
    this.index.give(lease.ip, false);
    for (const old of [before, beforeMine]) {
      if (old && !this.byIp.has(old.ip) && !(old.client && this.byClient.has(old.client))) this.attach(old);
    }
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
    const declined: Lease = { ip: lease.ip, client: '', hw: '', mac: '', state: 'declined', expires: until };
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
      yield { ip: l.ip, client: l.client, mac: l.mac, state, expires: durable.expires, ...(l.hostname ? { hostname: l.hostname } : {}), ...htypeOf(l) };
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
  private claim(ip: number, who: ClientIdentity): void {
    const cur = this.byIp.get(ip);
    if (cur) this.detach(cur);
    const mine = this.find(who);
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
    if (lease.hw) this.byHw.set(lease.hw, lease);
    if (lease.state === 'bound' || lease.state === 'offered' || lease.state === 'declined') this.index.take(lease.ip);
    else this.index.give(lease.ip);
  }

  private detach(lease: Lease): void {
    if (this.byIp.get(lease.ip) === lease) this.byIp.delete(lease.ip);
    if (lease.client && this.byClient.get(lease.client) === lease) this.byClient.delete(lease.client);
    if (lease.hw && this.byHw.get(lease.hw) === lease) this.byHw.delete(lease.hw);
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
      ...htypeOf(lease),
    });
    if (!durable) p.catch(() => {});
    return p;
  }
}

/** The journal records the hardware type only when it is not Ethernet (1) and the key does not say it. */
function htypeOf(lease: Lease): { htype?: number } {
  if (!lease.hw || lease.client.startsWith('hw:')) return {};
  const htype = Number(lease.hw.slice(3, lease.hw.indexOf(':', 3)));
  return htype === 1 ? {} : { htype };
}
