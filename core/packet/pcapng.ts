// pcapng (draft-ietf-opsawg-pcapng): a codec as pure functions, encode and decode per block type in
// one registry (round-trip tested), and the writer of labnet's exports: a section header, one
// interface, the frames as Enhanced Packet Blocks (with a comment naming the labnet session) and the
// TLS key log as a Decryption Secrets Block, so Wireshark opens a TLS session already decrypted.
// Everything is little-endian on write; both byte orders are read.

export const BLOCK = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  PB: 0x00000002,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  DSB: 0x0000000a,
} as const;

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Decryption Secrets Block secrets type for a TLS key log (SSLKEYLOGFILE format). */
export const SECRETS_TLS_KEYLOG = 0x544c534b;

export const OPTION = {
  END: 0,
  COMMENT: 1,
  SHB_HARDWARE: 2,
  SHB_OS: 3,
  SHB_USERAPPL: 4,
  IF_NAME: 2,
  IF_DESCRIPTION: 3,
  IF_TSRESOL: 9,
  IF_FILTER: 11,
  IF_OS: 12,
  EPB_FLAGS: 2,
  ISB_IFDROP: 5,
} as const;

/** Blocks larger than this are refused (a frame of 256 KiB plus options fits easily). */
export const MAX_BLOCK_BYTES = 1 << 20;

export interface PcapngOption {
  code: number;
  value: Buffer;
}

export interface SectionHeaderBlock {
  type: 'shb';
  littleEndian: boolean;
  major: number;
  minor: number;
  options: PcapngOption[];
}

export interface InterfaceDescriptionBlock {
  type: 'idb';
  linkType: number;
  snapLength: number;
  options: PcapngOption[];
}

export interface EnhancedPacketBlock {
  type: 'epb';
  interfaceId: number;
  /** In the interface's time units (microseconds unless if_tsresol says otherwise). */
  timestamp: bigint;
  originalLength: number;
  data: Buffer;
  options: PcapngOption[];
}

export interface SimplePacketBlock {
  type: 'spb';
  originalLength: number;
  data: Buffer;
}

export interface DecryptionSecretsBlock {
  type: 'dsb';
  secretsType: number;
  data: Buffer;
  options: PcapngOption[];
}

export interface InterfaceStatisticsBlock {
  type: 'isb';
  interfaceId: number;
  timestamp: bigint;
  options: PcapngOption[];
}

export interface OtherBlock {
  type: 'other';
  blockType: number;
  body: Buffer;
}

export type PcapngBlock =
  SectionHeaderBlock | InterfaceDescriptionBlock | EnhancedPacketBlock | SimplePacketBlock | DecryptionSecretsBlock | InterfaceStatisticsBlock | OtherBlock;

export class PcapngError extends Error {
  override name = 'PcapngError';
}

const pad4 = (n: number): number => (n + 3) & ~3;

class Reader {
  constructor(
    readonly b: Buffer,
    readonly le: boolean,
  ) {}
  u16(at: number): number {
    return this.le ? this.b.readUInt16LE(at) : this.b.readUInt16BE(at);
  }
  u32(at: number): number {
    return this.le ? this.b.readUInt32LE(at) : this.b.readUInt32BE(at);
  }
}

/** Options in body[from, to): code, length, value padded to 4 bytes; bounded by the body's size. */
function decodeOptions(r: Reader, from: number, to: number): PcapngOption[] {
  const out: PcapngOption[] = [];
  let at = from;
  while (at + 4 <= to) {
    const code = r.u16(at);
    const len = r.u16(at + 2);
    if (code === OPTION.END) break;
    if (at + 4 + len > to) throw new PcapngError(`option ${code} runs past its block`);
    out.push({ code, value: Buffer.from(r.b.subarray(at + 4, at + 4 + len)) });
    at += 4 + pad4(len);
  }
  return out;
}

function optionsLength(options: readonly PcapngOption[]): number {
  if (options.length === 0) return 0;
  let n = 4; // opt_endofopt
  for (const o of options) n += 4 + pad4(o.value.length);
  return n;
}

function writeOptions(out: Buffer, at: number, options: readonly PcapngOption[]): number {
  if (options.length === 0) return at;
  for (const o of options) {
    out.writeUInt16LE(o.code, at);
    out.writeUInt16LE(o.value.length, at + 2);
    o.value.copy(out, at + 4);
    at += 4 + pad4(o.value.length);
  }
  out.writeUInt32LE(0, at);
  return at + 4;
}

/** A block: type, total length, body, total length again. */
function frameBlock(blockType: number, bodyLength: number, fill: (out: Buffer, at: number) => void): Buffer {
  const total = 12 + bodyLength;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(blockType, 0);
  out.writeUInt32LE(total, 4);
  fill(out, 8);
  out.writeUInt32LE(total, total - 4);
  return out;
}

function writeTimestamp(out: Buffer, at: number, ts: bigint): void {
  out.writeUInt32LE(Number((ts >> 32n) & 0xffffffffn), at);
  out.writeUInt32LE(Number(ts & 0xffffffffn), at + 4);
}

export function encodeBlock(block: PcapngBlock): Buffer {
  switch (block.type) {
    case 'shb':
      return frameBlock(BLOCK.SHB, 16 + optionsLength(block.options), (out, at) => {
        out.writeUInt32LE(BYTE_ORDER_MAGIC, at);
        out.writeUInt16LE(block.major, at + 4);
        out.writeUInt16LE(block.minor, at + 6);
        out.writeInt32LE(-1, at + 8); // section length unknown
        out.writeInt32LE(-1, at + 12);
        writeOptions(out, at + 16, block.options);
      });
    case 'idb':
      return frameBlock(BLOCK.IDB, 8 + optionsLength(block.options), (out, at) => {
        out.writeUInt16LE(block.linkType, at);
        out.writeUInt16LE(0, at + 2);
        out.writeUInt32LE(block.snapLength, at + 4);
        writeOptions(out, at + 8, block.options);
      });
    case 'epb':
      return frameBlock(BLOCK.EPB, 20 + pad4(block.data.length) + optionsLength(block.options), (out, at) => {
        out.writeUInt32LE(block.interfaceId, at);
        writeTimestamp(out, at + 4, block.timestamp);
        out.writeUInt32LE(block.data.length, at + 12);
        out.writeUInt32LE(block.originalLength, at + 16);
        block.data.copy(out, at + 20);
        writeOptions(out, at + 20 + pad4(block.data.length), block.options);
      });
    case 'spb':
      return frameBlock(BLOCK.SPB, 4 + pad4(block.data.length), (out, at) => {
        out.writeUInt32LE(block.originalLength, at);
        block.data.copy(out, at + 4);
      });
    case 'dsb':
      return frameBlock(BLOCK.DSB, 8 + pad4(block.data.length) + optionsLength(block.options), (out, at) => {
        out.writeUInt32LE(block.secretsType, at);
        out.writeUInt32LE(block.data.length, at + 4);
        block.data.copy(out, at + 8);
        writeOptions(out, at + 8 + pad4(block.data.length), block.options);
      });
    case 'isb':
      return frameBlock(BLOCK.ISB, 12 + optionsLength(block.options), (out, at) => {
        out.writeUInt32LE(block.interfaceId, at);
        writeTimestamp(out, at + 4, block.timestamp);
        writeOptions(out, at + 12, block.options);
      });
    case 'other':
      return frameBlock(block.blockType, pad4(block.body.length), (out, at) => {
        block.body.copy(out, at);
      });
  }
}

/**
 * Decodes the block at `at` in `b`. Returns undefined when the block is not complete yet (streaming);
 * throws PcapngError when it is malformed. `littleEndian` is the section's byte order (the SHB sets it).
 */
export function decodeBlock(b: Buffer, at: number, littleEndian: boolean): { block: PcapngBlock; length: number } | undefined {
  if (b.length - at < 12) return undefined;
  let le = littleEndian;
  const rawType = b.readUInt32LE(at);
  if (rawType === BLOCK.SHB) {
    // The byte-order magic decides the section's order (the SHB type reads the same both ways).
    const magic = b.readUInt32LE(at + 8);
    if (magic === BYTE_ORDER_MAGIC) le = true;
    else if (magic === 0x4d3c2b1a) le = false;
    else throw new PcapngError('section header with an unknown byte-order magic');
  }
  const r = new Reader(b, le);
  const type = r.u32(at);
  const total = r.u32(at + 4);
  if (total < 12 || total % 4 !== 0) throw new PcapngError(`block length ${total} is not a multiple of 4 of at least 12`);
  if (total > MAX_BLOCK_BYTES) throw new PcapngError(`block of ${total} bytes is larger than ${MAX_BLOCK_BYTES}`);
  if (b.length - at < total) return undefined;
  if (r.u32(at + total - 4) !== total) throw new PcapngError('block lengths at start and end differ');
  const body = at + 8;
  const bodyEnd = at + total - 4;
  const need = (n: number): void => {
    if (bodyEnd - body < n) throw new PcapngError(`block type ${type} too short for its fields`);
  };
  let block: PcapngBlock;
  switch (type) {
    case BLOCK.SHB:
      need(16);
      block = { type: 'shb', littleEndian: le, major: r.u16(body + 4), minor: r.u16(body + 6), options: decodeOptions(r, body + 16, bodyEnd) };
      break;
    case BLOCK.IDB:
      need(8);
      block = { type: 'idb', linkType: r.u16(body), snapLength: r.u32(body + 4), options: decodeOptions(r, body + 8, bodyEnd) };
      break;
    case BLOCK.EPB: {
      need(20);
      const capLen = r.u32(body + 12);
      if (body + 20 + capLen > bodyEnd) throw new PcapngError('packet data runs past its block');
      block = {
        type: 'epb',
        interfaceId: r.u32(body),
        timestamp: (BigInt(r.u32(body + 4)) << 32n) | BigInt(r.u32(body + 8)),
        originalLength: r.u32(body + 16),
        data: b.subarray(body + 20, body + 20 + capLen),
        options: decodeOptions(r, body + 20 + pad4(capLen), bodyEnd),
      };
      break;
    }
    case BLOCK.SPB: {
      need(4);
      const originalLength = r.u32(body);
      block = { type: 'spb', originalLength, data: b.subarray(body + 4, Math.min(bodyEnd, body + 4 + originalLength)) };
      break;
    }
    case BLOCK.DSB: {
      need(8);
      const len = r.u32(body + 4);
      if (body + 8 + len > bodyEnd) throw new PcapngError('secrets run past their block');
      block = {
        type: 'dsb',
        secretsType: r.u32(body),
        data: Buffer.from(b.subarray(body + 8, body + 8 + len)),
        options: decodeOptions(r, body + 8 + pad4(len), bodyEnd),
      };
      break;
    }
    case BLOCK.ISB:
      need(12);
      block = {
        type: 'isb',
        interfaceId: r.u32(body),
        timestamp: (BigInt(r.u32(body + 4)) << 32n) | BigInt(r.u32(body + 8)),
        options: decodeOptions(r, body + 12, bodyEnd),
      };
      break;
    default:
      block = { type: 'other', blockType: type, body: Buffer.from(b.subarray(body, bodyEnd)) };
  }
  return { block, length: total };
}

export function textOption(code: number, text: string): PcapngOption {
  return { code, value: Buffer.from(text, 'utf8') };
}

/** Time units per second of an interface: if_tsresol (RFC: high bit set means a power of 2). Default 10^6. */
export function unitsPerSecond(idb: InterfaceDescriptionBlock): number {
  const o = idb.options.find((x) => x.code === OPTION.IF_TSRESOL);
  if (!o || o.value.length < 1) return 1e6;
  const v = o.value[0];
  return v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
}

/** A frame for a pcapng file: its time in microseconds since the epoch. */
export interface ExportFrame {
  timeUs: number;
  data: Buffer;
  originalLength: number;
  comment?: string;
}

export interface PcapngFileOptions {
  linkType: number;
  snapLength: number;
  interfaceName?: string;
  /** The filter the capture ran with (if_filter, type 0: a libpcap filter string). */
  filter?: string;
  /** SSLKEYLOGFILE lines embedded as a Decryption Secrets Block before the frames. */
  keyLog?: readonly string[];
  application?: string;
  /** Comments on the section (what a reader of the file should know: frames the capture missed). */
  comments?: readonly string[];
}

/** A whole pcapng file: one section, one interface, the key log, the frames. */
export function encodePcapng(frames: Iterable<ExportFrame>, options: PcapngFileOptions): Buffer {
  const parts: Buffer[] = [
    encodeBlock({
      type: 'shb',
      littleEndian: true,
      major: 1,
      minor: 0,
      options: [...(options.comments ?? []).map((c) => textOption(OPTION.COMMENT, c)), textOption(OPTION.SHB_USERAPPL, options.application ?? 'labnet')],
    }),
  ];
  const idbOptions: PcapngOption[] = [];
  if (options.interfaceName) idbOptions.push(textOption(OPTION.IF_NAME, options.interfaceName));
  if (options.filter) idbOptions.push({ code: OPTION.IF_FILTER, value: Buffer.concat([Buffer.from([0]), Buffer.from(options.filter, 'utf8')]) });
  idbOptions.push({ code: OPTION.IF_TSRESOL, value: Buffer.from([6]) });
  parts.push(encodeBlock({ type: 'idb', linkType: options.linkType, snapLength: options.snapLength, options: idbOptions }));
  if (options.keyLog && options.keyLog.length > 0) {
    const text = options.keyLog.map((l) => `${l.trimEnd()}\n`).join('');
    parts.push(encodeBlock({ type: 'dsb', secretsType: SECRETS_TLS_KEYLOG, data: Buffer.from(text, 'latin1'), options: [] }));
  }
  for (const f of frames) {
    parts.push(
      encodeBlock({
        type: 'epb',
        interfaceId: 0,
        timestamp: BigInt(Math.round(f.timeUs)),
        originalLength: f.originalLength,
        data: f.data,
        options: f.comment ? [textOption(OPTION.COMMENT, f.comment)] : [],
      }),
    );
  }
  return Buffer.concat(parts);
}
