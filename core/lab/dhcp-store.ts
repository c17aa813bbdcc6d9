// The lab's DHCP packet window (lab.history.dhcpPackets, 5,000 by default) kept off the JS heap: each
// packet view is packed (packDhcpPacket: its own values, not the notes) and written as JSON into a
// fixed slot of a few large Buffers, instead of the ~40 objects and strings of a DhcpPacketData.
// A class renewing its leases pushes a few hundred packets a minute through the window; as objects
// they lived ~12 minutes, long enough to reach old space, and died there: old space fragmented and RSS
// crept up (issue 14). Slots freed by an eviction are handed out again, so the Buffers grow to the
// window's high-water mark and stay there. What stays on the heap per packet: its slot number, seq,
// length and MAC in plain arrays (numbers unboxed, the MAC a short string).
import { packDhcpPacket, unpackDhcpPacket, type PackedDhcpPacket } from './dhcp-view.js';
import { SlabPool } from './slab-store.js';
import type { DhcpPacketData } from './wire.js';

/** Octets per slot: a packed packet is typically 300-700 octets; a longer one is kept in a Buffer of its own. */
export const DHCP_SLOT = 1024;

export class DhcpPacketStore {
  /** The slots: blocks of the lab's slab pool, of DHCP_SLOT octets. */
  private readonly pool = new SlabPool(DHCP_SLOT);
  /** Slot numbers, oldest packet first. */
  private readonly order: number[] = [];
  /** By slot: seq, encoded length (-1: in `big`), MAC. */
  private readonly seqs: number[] = [];
  private readonly lens: number[] = [];
  private readonly macs: string[] = [];
  private readonly big = new Map<number, Buffer>();

  get size(): number {
    return this.order.length;
  }

  /** Octets the slot Buffers take (RSS, used or not). */
  get octets(): number {
    return this.pool.octets;
  }

  /** Packets whose packed form did not fit a slot. */
  get oversized(): number {
    return this.big.size;
  }

  push(p: DhcpPacketData): void {
    const slot = this.alloc();
    this.write(slot, p);
    this.order.push(slot);
  }

  /** Drops the oldest packet; returns its MAC. */
  shift(): string | undefined {
    const slot = this.order.shift();
    if (slot === undefined) return undefined;
    return this.release(slot);
  }

  /** Drops the oldest packet of this MAC; returns whether there was one. */
  removeFirstOf(mac: string): boolean {
    const i = this.indexOfMac(mac);
    if (i < 0) return false;
    const [slot] = this.order.splice(i, 1);
    this.release(slot);
    return true;
  }

  macAt(i: number): string {
    return this.macs[this.order[i]];
  }

  seqAt(i: number): number {
    return this.seqs[this.order[i]];
  }

  /** The packet at position i (0 is the oldest), decoded: a new object each call. */
  at(i: number): DhcpPacketData {
    const slot = this.order[i];
    const len = this.lens[slot];
    const at = this.pool.offset(slot);
    const text = len < 0 ? this.big.get(slot)!.toString('utf8') : this.pool.slab(slot).toString('utf8', at, at + len);
    return unpackDhcpPacket(JSON.parse(text) as PackedDhcpPacket);
  }

  /** Replaces the packet at position i (same slot). */
  set(i: number, p: DhcpPacketData): void {
    const slot = this.order[i];
    this.big.delete(slot);
    this.write(slot, p);
  }

  private indexOfMac(mac: string): number {
    for (let i = 0; i < this.order.length; i++) if (this.macs[this.order[i]] === mac) return i;
    return -1;
  }

  private write(slot: number, p: DhcpPacketData): void {
    const json = JSON.stringify(packDhcpPacket(p));
    this.seqs[slot] = p.seq;
    this.macs[slot] = p.mac;
    // At most 3 octets per UTF-16 unit: only a long string needs its exact length measured.
    if (json.length * 3 <= DHCP_SLOT || Buffer.byteLength(json) <= DHCP_SLOT) {
      this.lens[slot] = this.pool.slab(slot).write(json, this.pool.offset(slot), 'utf8');
    } else {
      this.lens[slot] = -1;
      this.big.set(slot, Buffer.from(json, 'utf8'));
    }
  }

  private release(slot: number): string {
    const mac = this.macs[slot];
    this.macs[slot] = '';
    this.big.delete(slot);
    this.pool.release(slot);
    return mac;
  }

  private alloc(): number {
    const slot = this.pool.alloc();
    // Block numbers are dense (a new slab's blocks come lowest first): these arrays grow to the highest.
    while (this.seqs.length <= slot) {
      this.seqs.push(0);
      this.lens.push(0);
      this.macs.push('');
    }
    return slot;
  }
}
