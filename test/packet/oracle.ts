// Compares one frame as labnet decodes it with the same frame as tshark decodes it: every field we
// show must be one tshark shows too (same filter name), at the same bytes (and bits), with the same
// value; checksum verdicts must agree (our "offloaded" is tshark's "bad": it cannot tell).
import type { DecodedFrame } from '../../core/packet/decode-frame.js';
import type { PacketField } from '../../core/packet/field-table.js';
import { fieldSpecs } from '../../core/packet/field-registry.js';
import type { TsharkField } from './tshark.js';

export interface Comparison {
  compared: Map<string, number>;
  mismatches: string[];
}

export function allFields(frame: DecodedFrame): PacketField[] {
  const out: PacketField[] = [];
  const walk = (fs: readonly PacketField[]): void => {
    for (const f of fs) {
      out.push(f);
      if (f.children) walk(f.children);
    }
  };
  for (const l of frame.layers) walk(l.fields);
  return out;
}

/** The absolute bit positions (byte * 8 + bit from the top) a field covers. */
function bits(offset: number, length: number, mask: number | undefined, rightAlignTo?: number): Set<number> {
  const out = new Set<number>();
  if (!mask) {
    for (let i = offset * 8; i < (offset + length) * 8; i++) out.add(i);
    return out;
  }
  const last = rightAlignTo ?? offset + length - 1;
  for (let b = 0; b < 32; b++) {
    if (Math.floor(mask / 2 ** b) % 2 === 1) {
      const byte = last - Math.floor(b / 8);
      out.add(byte * 8 + (7 - (b % 8)));
    }
  }
  return out;
}

/** Where tshark's bits lie: its mask is right-aligned to the end of the field's natural width. */
function theirBits(t: TsharkField): Set<number> {
  const mask = t.mask ?? 0;
  const length = t.length ?? 0;
  if (!mask) return bits(t.offset!, length, 0);
  const maskBytes = Math.ceil((32 - Math.clz32(mask)) / 8);
  return bits(t.offset!, length, mask, Math.max(t.offset! + length - 1, t.offset! + maskBytes - 1));
}

function subset(a: Set<number>, b: Set<number>): boolean {
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function positionMatches(f: PacketField, t: TsharkField): boolean {
  if (t.offset === undefined) return true;
  const ours = bits(f.offset, f.length, f.mask);
  const theirs = theirBits(t);
  if (!t.mask) return f.mask ? subset(ours, theirs) && t.offset === f.offset : t.offset === f.offset && t.length === f.length;
  return ours.size === theirs.size && subset(ours, theirs);
}

function expandIpv6(a: string): string {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

function parseNumber(s: string): number {
  return /^0x/i.test(s) ? Number.parseInt(s, 16) : Number(s);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** tshark's absolute time ("Dec  3, 2026 18:06:44.009169000 UTC") in milliseconds since the epoch. */
function tsharkTime(s: string): number | undefined {
  const m = /^([A-Z][a-z]{2}) +(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d+) UTC$/.exec(s);
  if (!m) return undefined;
  const frac = Number(`0.${m[7]}`);
  return Date.UTC(Number(m[3]), MONTHS.indexOf(m[1]), Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6])) + frac * 1000;
}

function valueMatches(f: PacketField, t: TsharkField, filterRaw: boolean): boolean {
  const time = tsharkTime(t.value);
  if (time !== undefined && typeof f.value === 'number') return Math.abs(time - f.value) < 0.0005;
  if (typeof f.value === 'boolean') return (t.value === '1' || t.value.toLowerCase() === 'true') === f.value;
  if (typeof f.value === 'number') return parseNumber(t.value) === (filterRaw ? (f.raw as number) : f.value);
  const ours = f.value.toLowerCase();
  const theirs = t.value.toLowerCase();
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ours)) return ours === theirs;
  if (/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(ours)) return ours === theirs;
  if (ours.includes(':')) return expandIpv6(ours) === expandIpv6(theirs);
  // A byte string as hex (perhaps only its first bytes): tshark shows it with colons, or as its raw hex.
  return theirs.replace(/:/g, '').startsWith(ours) || (t.hex ?? '').toLowerCase().startsWith(ours);
}

const STATUS: Record<string, string> = { good: '1', bad: '0', offloaded: '0', unverified: '2', none: '3' };

export function compareFrame(ours: DecodedFrame, theirs: TsharkField[], label: string): Comparison {
  const specs = fieldSpecs();
  const compared = new Map<string, number>();
  const mismatches: string[] = [];
  const used = new Set<TsharkField>();
  for (const f of allFields(ours)) {
    // labnet's own groupings (the options block) have no Wireshark field to compare with.
    if (f.id.startsWith('labnet.')) {
      compared.set(f.id, (compared.get(f.id) ?? 0) + 1);
      continue;
    }
    const named = theirs.filter((t) => t.name === f.id && !used.has(t));
    if (named.length === 0) {
      mismatches.push(`${label}: ${f.id} at byte ${f.offset}: tshark shows no such field`);
      continue;
    }
    const placed = named.filter((t) => positionMatches(f, t));
    if (placed.length === 0) {
      const where = named.map((t) => `${t.offset}+${t.length}/0x${(t.mask ?? 0).toString(16)}`).join(', ');
      mismatches.push(`${label}: ${f.id}: ours at ${f.offset}+${f.length}/0x${(f.mask ?? 0).toString(16)}, tshark at ${where}`);
      continue;
    }
    const filterRaw = specs.get(f.id)?.filterRaw === true;
    const match = placed.find((t) => valueMatches(f, t, filterRaw));
    if (!match) {
      mismatches.push(
        `${label}: ${f.id} at ${f.offset}: ours ${JSON.stringify(f.value)} (raw ${JSON.stringify(f.raw)}), tshark ${placed.map((t) => JSON.stringify(t.value)).join(' / ')}`,
      );
      continue;
    }
    used.add(match);
    compared.set(f.id, (compared.get(f.id) ?? 0) + 1);
  }
  // Checksum verdicts: the frame's own (first) occurrence of each checksum field.
  const seen = new Set<string>();
  for (const f of allFields(ours)) {
    if (!f.check || seen.has(f.id)) continue;
    seen.add(f.id);
    const status = theirs.find((t) => t.name === `${f.id}.status`);
    if (!status) {
      mismatches.push(`${label}: ${f.id}: tshark gives no checksum status`);
      continue;
    }
    if (STATUS[f.check.status] !== status.value) mismatches.push(`${label}: ${f.id}: ours ${f.check.status} (${f.check.text}), tshark status ${status.value}`);
    const calculated = theirs.find((t) => t.name === `${f.id}_calculated`);
    if (calculated && f.check.computed !== undefined && parseNumber(calculated.value) !== f.check.computed) {
      mismatches.push(`${label}: ${f.id}: ours computes 0x${f.check.computed.toString(16)}, tshark ${calculated.value}`);
    }
    compared.set(`${f.id}.status`, (compared.get(`${f.id}.status`) ?? 0) + 1);
  }
  return { compared, mismatches };
}

export function mergeCounts(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}
