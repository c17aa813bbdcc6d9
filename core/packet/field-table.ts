// One declarative field table per header, the way Wireshark's dissectors declare their fields once:
// name, filter name, offset, length, bit mask, how to show the value and the note in the course's
// words. The same table drives the decoding (`decodeFields`), the fast index of every captured frame
// (`readField`), the field-by-field view with offsets and bit masks, the byte highlighting in the hex
// pane and the tshark oracle tests (which compare on the filter name). Nothing about a field is
// written in two places.

export interface FieldSpec {
  /**
   * Wireshark's display-filter name ('ip.ttl'): the key the view, the filters and the oracle use. A
   * grouping with no Wireshark field of its own (the IPv4 options block) is named 'labnet.<...>'.
   */
  readonly id: string;
  /** The field's name as the course (or the RFC) calls it. */
  readonly name: string;
  /** Offset from the start of the header, in bytes. */
  readonly offset: number;
  /** Bytes the field occupies; for a bit field, the bytes its mask is laid over. */
  readonly length: number;
  /** The field's bits within those bytes; absent for whole-byte fields. */
  readonly mask?: number;
  readonly format: FieldFormat;
  /** The value is raw x scale (IHL and the data offset count 4-byte words, fragment offsets 8-byte units). */
  readonly scale?: number;
  /** Unit of the scaled value ('bytes'). */
  readonly unit?: string;
  /** Wireshark's filter value is the raw count, not the scaled value (ip.frag_offset). */
  readonly filterRaw?: boolean;
  /** What raw values mean (EtherType 0x0800: IPv4). */
  readonly values?: Readonly<Record<number, string>>;
  /** The note shown beside the field, in the course's words (and correcting the course where it is loose). */
  readonly note?: string;
  /** Sub-fields over the same bytes (flags, DS field). */
  readonly children?: readonly FieldSpec[];
}

/** Trailing zero bits of a mask (the shift that brings the field to bit 0). */
function maskShift(mask: number): number {
  if (mask === 0) return 0;
  return 31 - Math.clz32(mask & -mask);
}

/** The unsigned big-endian number in `length` (1-4) bytes at `at`. */
export function readUint(b: Uint8Array, at: number, length: number): number {
  switch (length) {
    case 1:
      return b[at];
    case 2:
      return (b[at] << 8) | b[at + 1];
    case 3:
      return (b[at] << 16) | (b[at + 1] << 8) | b[at + 2];
    default:
      return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  }
}

/** What each spec needs at decode time, worked out once: the mask's shift, the hex width, the bit layout. */
interface Compiled {
  divisor: number;
  hexDigits: number;
  layout: boolean[] | undefined;
}

const compiledSpecs = new WeakMap<FieldSpec, Compiled>();

function compile(spec: FieldSpec): Compiled {
  let c = compiledSpecs.get(spec);
  if (!c) {
    const mask = spec.mask;
    c = {
      divisor: mask === undefined ? 1 : 2 ** maskShift(mask),
      hexDigits: mask !== undefined ? Math.ceil((32 - Math.clz32(mask) - maskShift(mask)) / 4) : spec.length * 2,
      layout: mask === undefined ? undefined : [...mask.toString(2).padStart(spec.length * 8, '0')].map((ch) => ch === '1'),
    };
    compiledSpecs.set(spec, c);
  }
  return c;
}

/** The raw number of a 1-4 byte field of a header starting at `base` (mask applied and shifted). */
export function readField(spec: FieldSpec, b: Uint8Array, base: number): number {
  const v = readUint(b, base + spec.offset, spec.length);
  const mask = spec.mask;
  // `>>>` reads the masked bits as unsigned 32-bit, so a mask over bit 31 still gives a positive number.
  return mask === undefined ? v : (v & mask) >>> maskShift(mask);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hexOf(b: Uint8Array, from: number, to: number, sep = ''): string {
  let s = '';
  for (let i = from; i < to; i++) s += i === from ? HEX[b[i]] : sep + HEX[b[i]];
  return s;
}

export function formatMac(b: Uint8Array, at: number): string {
  return hexOf(b, at, at + 6, ':');
}

import { formatIpv4, formatIpv6 } from '../ip-text.js';
import type { PacketField, FieldFormat } from './view-types.js';
export type { ChecksumCheck, PacketField, FieldFormat } from './view-types.js';

export { formatIpv4, formatIpv6 };

/** A bit field drawn over its bytes: the mask's bits as 0/1, the others as dots, in groups of four. */
export function bitPattern(word: number, mask: number, length: number): string {
  return drawBits(
    word,
    [...mask.toString(2).padStart(length * 8, '0')].map((ch) => ch === '1'),
  );
}

function drawBits(word: number, layout: readonly boolean[]): string {
  const bin = (word >>> 0).toString(2).padStart(layout.length, '0');
  let s = '';
  for (let i = 0; i < layout.length; i++) {
    if (i > 0 && (i & 3) === 0) s += ' ';
    s += layout[i] ? bin[i] : '.';
  }
  return s;
}

function numberText(spec: FieldSpec, raw: number, hexDigits: number): string {
  const shown = spec.format === 'hex' ? `0x${raw.toString(16).padStart(hexDigits, '0')}` : String(raw);
  const meaning = spec.values?.[raw];
  if (spec.scale !== undefined) return `${raw * spec.scale}${spec.unit ? ` ${spec.unit}` : ''} (${raw} x ${spec.scale})`;
  const unit = spec.unit ? ` ${spec.unit}` : '';
  return meaning === undefined ? `${shown}${unit}` : `${meaning} (${shown})`;
}

/**
 * Decodes one field of a header starting at `base` in `b`. The caller has checked that its bytes were
 * captured.
 */
export function decodeField(spec: FieldSpec, b: Uint8Array, base: number): PacketField {
  const at = base + spec.offset;
  // Every property in one order from the start (one hidden class); JSON leaves out the undefined ones.
  const f: PacketField = {
    id: spec.id,
    name: spec.name,
    offset: at,
    length: spec.length,
    mask: undefined,
    raw: 0,
    value: 0,
    text: '',
    bits: undefined,
    note: spec.note,
    check: undefined,
    children: undefined,
  };
  switch (spec.format) {
    case 'mac':
      f.raw = hexOf(b, at, at + 6);
      f.value = f.text = formatMac(b, at);
      break;
    case 'ipv4':
      f.raw = hexOf(b, at, at + 4);
      f.value = f.text = formatIpv4(b, at);
      break;
    case 'ipv6':
      f.raw = hexOf(b, at, at + 16);
      f.value = f.text = formatIpv6(b, at);
      break;
    case 'bytes':
      f.raw = f.value = hexOf(b, at, at + Math.min(spec.length, MAX_HEX_BYTES));
      f.text = bytesText(b, at, spec.length);
      break;
    default: {
      const c = compile(spec);
      const word = readUint(b, at, spec.length);
      const raw = spec.mask === undefined ? word : Math.floor(((word & spec.mask) >>> 0) / c.divisor);
      f.raw = raw;
      if (spec.format === 'flag') {
        f.value = raw === 1;
        const meaning = spec.values?.[raw];
        f.text = meaning ? `${raw === 1 ? 'Set' : 'Not set'}: ${meaning}` : raw === 1 ? 'Set' : 'Not set';
      } else {
        f.value = spec.scale !== undefined ? raw * spec.scale : raw;
        f.text = numberText(spec, raw, c.hexDigits);
      }
      if (c.layout !== undefined) {
        f.mask = spec.mask;
        f.bits = drawBits(word, c.layout);
      }
    }
  }
  if (spec.children) {
    const children: PacketField[] = [];
    for (const child of spec.children) children.push(decodeField(child, b, base));
    f.children = children;
  }
  return f;
}

/**
 * Decodes the fields of `table` for a header at `base`, stopping at the first field whose bytes were
 * not captured (`end` is the end of what was captured). Returns the fields and, when the header was
 * cut short, the name of the first missing field.
 */
export function decodeFields(table: readonly FieldSpec[], b: Uint8Array, base: number, end: number): { fields: PacketField[]; missing?: string } {
  const fields: PacketField[] = [];
  for (const spec of table) {
    if (base + spec.offset + spec.length > end) return { fields, missing: spec.name };
    fields.push(decodeField(spec, b, base));
  }
  return { fields };
}

/** The bytes a table covers (its header length when fixed). */
export function tableLength(table: readonly FieldSpec[]): number {
  let end = 0;
  for (const s of table) end = Math.max(end, s.offset + s.length);
  return end;
}

/** Byte strings keep at most this many bytes as hex in `raw` and `value` (the hex pane has them all). */
export const MAX_HEX_BYTES = 64;

function bytesText(b: Uint8Array, at: number, length: number): string {
  return length <= 16 ? hexOf(b, at, at + length, ' ') : `${hexOf(b, at, at + 16, ' ')} ... (${length} bytes)`;
}

/**
 * A byte-string field the decoder places itself (an option, a payload, padding) rather than reads
 * from a fixed offset. `raw` and `value` hold the first MAX_HEX_BYTES bytes as hex.
 */
export function spanField(id: string, name: string, b: Uint8Array, offset: number, length: number, text?: string, note?: string): PacketField {
  const hex = hexOf(b, offset, offset + Math.min(length, MAX_HEX_BYTES));
  return {
    id,
    name,
    offset,
    length,
    mask: undefined,
    raw: hex,
    value: hex,
    text: text ?? bytesText(b, offset, length),
    bits: undefined,
    note,
    check: undefined,
    children: undefined,
  };
}
