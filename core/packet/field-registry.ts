// Every field table in one place: the view can show a field's note by its id without the frame
// repeating it, and the oracle tests know how Wireshark counts each field.
import { ARP } from './arp.js';
import { ETHERNET, VLAN } from './ethernet.js';
import type { FieldSpec } from './field-table.js';
import { ICMP, ICMPV6 } from './icmp.js';
import { IPV4, IPV4_OPTION } from './ipv4.js';
import { IPV6 } from './ipv6.js';
import { BOOTP } from './payload.js';
import { TCP, TCP_OPTION } from './tcp.js';
import { UDP } from './udp.js';

export const FIELD_TABLES = { ETHERNET, VLAN, ARP, IPV4, IPV4_OPTION, IPV6, ICMP, ICMPV6, UDP, TCP, TCP_OPTION, BOOTP } as const;

function isSpec(x: unknown): x is FieldSpec {
  return typeof x === 'object' && x !== null && typeof (x as FieldSpec).id === 'string' && typeof (x as FieldSpec).offset === 'number';
}

function collect(x: unknown, out: Map<string, FieldSpec>, depth: number): void {
  if (depth > 4 || typeof x !== 'object' || x === null) return;
  if (isSpec(x)) {
    if (!out.has(x.id)) out.set(x.id, x);
    for (const c of x.children ?? []) collect(c, out, depth + 1);
    return;
  }
  for (const v of Object.values(x)) collect(v, out, depth + 1);
}

let cache: Map<string, FieldSpec> | undefined;

/** Every declared field by its id (Wireshark filter name). */
export function fieldSpecs(): ReadonlyMap<string, FieldSpec> {
  if (!cache) {
    cache = new Map();
    collect(FIELD_TABLES, cache, 0);
  }
  return cache;
}

/** id -> { name, note }: the notes beside each field, for a view that shows them once. */
export function fieldNotes(): Record<string, { name: string; note?: string }> {
  const out: Record<string, { name: string; note?: string }> = {};
  for (const [id, s] of fieldSpecs()) out[id] = s.note ? { name: s.name, note: s.note } : { name: s.name };
  return out;
}
