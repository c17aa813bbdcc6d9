// The free-address index: which pool addresses can be handed out, found in O(1). dnsmasq scans its
// whole lease table per lookup and slows down as it grows; here the lease store keeps this index in
// step with every state change instead.
//
// Two sets: addresses never leased since start-up (`fresh`) and addresses freed by a release or an
// expiry (`reusable`, oldest first, so a client coming back soon still finds its old address: leases
// are sticky). New clients get fresh addresses first.
export class FreeAddressIndex {
  private readonly fresh = new Set<number>();
  private readonly reusable = new Set<number>();
  readonly size: number;

  /** `excluded`: reserved addresses, the server's own address, the router... never handed out from the pool. */
  constructor(
    readonly first: number,
    readonly last: number,
    private readonly excluded: ReadonlySet<number>,
  ) {
    for (let ip = first; ip <= last; ip++) if (!excluded.has(ip)) this.fresh.add(ip);
    this.size = this.fresh.size;
  }

  inPool(ip: number): boolean {
    return ip >= this.first && ip <= this.last && !this.excluded.has(ip);
  }

  isFree(ip: number): boolean {
    return this.fresh.has(ip) || this.reusable.has(ip);
  }

  /** Marks an address as in use (offered, leased or declined). */
  take(ip: number): void {
    if (!this.fresh.delete(ip)) this.reusable.delete(ip);
  }

  /** Returns an address to the index; `used` says it had a client (goes behind the fresh ones). */
  give(ip: number, used = true): void {
    if (!this.inPool(ip)) return;
    if (used) {
      this.fresh.delete(ip);
      this.reusable.add(ip);
    } else if (!this.reusable.has(ip)) this.fresh.add(ip);
  }

  /** The next address for a new client, or undefined when the pool is exhausted. */
  next(): number | undefined {
    for (const ip of this.fresh) return ip;
    for (const ip of this.reusable) return ip;
    return undefined;
  }

  get freeCount(): number {
    return this.fresh.size + this.reusable.size;
  }
}
