// Reads a capture as it streams from the capture tool's stdout (dumpcap writes pcapng, tcpdump the
// classic pcap format) or from a file: one record per frame with its link type, time in microseconds
// and bytes. Every length is checked against a cap before anything is buffered for it, so a broken or
// hostile stream gives a CaptureFormatError, never unbounded memory.
import { BLOCK, decodeBlock, MAX_BLOCK_BYTES, PcapngError, unitsPerSecond } from './pcapng.js';

export interface CapturedRecord {
  interfaceId: number;
  linkType: number;
  /** Microseconds since the epoch. */
  timeUs: number;
  /** The frame's bytes (a view into the reader's buffer: copy it to keep it). */
  readonly data: Buffer;
  originalLength: number;
  /**
   * The same bytes as `view[start..end)`, when the reader has them that way: a reader handing out
   * thousands of frames a second makes no Buffer per frame unless `data` is asked for.
   */
  readonly view?: Uint8Array;
  readonly start?: number;
  readonly end?: number;
}

/** The record object the reader reuses for every frame: valid only during the callback. */
class ScratchRecord implements CapturedRecord {
  interfaceId = 0;
  linkType = 1;
  timeUs = 0;
  originalLength = 0;
  view: Uint8Array | undefined = undefined;
  start = 0;
  end = 0;
  private buffer: Buffer | undefined = undefined;

  get data(): Buffer {
    if (this.buffer === undefined) {
      const v = this.view!;
      this.buffer = Buffer.from(v.buffer, v.byteOffset + this.start, this.end - this.start);
    }
    return this.buffer;
  }

  /** The frame is `view[start..end)`. */
  setView(view: Uint8Array, start: number, end: number): void {
    this.view = view;
    this.start = start;
    this.end = end;
    this.buffer = undefined;
  }

  setData(data: Buffer): void {
    this.buffer = data;
    this.view = undefined;
  }
}

export interface CaptureInterface {
  linkType: number;
  snapLength: number;
  name?: string;
  unitsPerSecond: number;
}

export class CaptureFormatError extends Error {
  override name = 'CaptureFormatError';
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAP_HEADER = 24;
const PCAP_RECORD = 16;
const EMPTY = Buffer.alloc(0);

/** Feeds a capture stream chunk by chunk; calls `onFrame` for each complete frame. */
export class CaptureStreamReader {
  private pending: Buffer = EMPTY;
  private format: 'unknown' | 'pcap' | 'pcapng' = 'unknown';
  private pcapLe = true;
  private pcapNs = false;
  private pcapLinkType = 1;
  private pcapSnap = 0;
  private sectionLe = true;
  private readonly record = new ScratchRecord();
  readonly interfaces: CaptureInterface[] = [];
  /** Frames read so far. */
  frames = 0;
  /** Frames the kernel or the tool dropped, from pcapng interface statistics (when it writes them). */
  dropped = 0;

  /** `onFrame` gets one record object, reused: copy what it needs to keep before it returns. */
  constructor(
    private readonly onFrame: (record: CapturedRecord) => void,
    private readonly onInterface: (iface: CaptureInterface) => void = () => {},
  ) {}

  get detectedFormat(): 'unknown' | 'pcap' | 'pcapng' {
    return this.format;
  }

  push(chunk: Buffer): void {
    if (this.pending.length > 0) {
      // The previous chunk ended inside a record: complete it with just enough of this chunk (doubling
      // the piece taken), rather than copying the whole chunk behind the tail on every push.
      for (let take = Math.min(chunk.length, 4096); ; take = Math.min(chunk.length, take * 2)) {
        const pending = this.pending;
        const b = Buffer.concat([pending, chunk.subarray(0, take)]);
        const at = this.consume(b);
        if (take === chunk.length) {
          this.keep(b.subarray(at));
          return;
        }
        if (at >= pending.length) {
          // The pending record and the records after it in `take` are read: go on in the chunk itself.
          chunk = chunk.subarray(at - pending.length);
          this.pending = EMPTY;
          break;
        }
        // Records read are not read twice: only the incomplete rest stays pending.
        if (at > 0) this.pending = pending.subarray(at);
      }
    }
    this.keep(chunk.subarray(this.consume(chunk)));
  }

  /** Keeps the incomplete tail; copied when small, so one big chunk is not kept alive for it. */
  private keep(tail: Buffer): void {
    this.pending = tail.length === 0 ? EMPTY : tail.length < 65536 ? Buffer.from(tail) : tail;
  }

  /** Reads the complete records in `b`; returns where the first incomplete one starts. */
  private consume(b: Buffer): number {
    if (this.format === 'unknown') {
      if (b.length < 4) return 0;
      const magicLe = b.readUInt32LE(0);
      const magicBe = b.readUInt32BE(0);
      if (magicLe === PCAPNG_SHB) this.format = 'pcapng';
      else if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS || magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) this.format = 'pcap';
      else throw new CaptureFormatError('not a pcap or pcapng stream (unknown magic number)');
    }
    return this.format === 'pcap' ? this.readPcap(b, 0) : this.readPcapng(b, 0);
  }

  private readPcap(b: Buffer, at: number): number {
    if (this.interfaces.length === 0) {
      if (b.length - at < PCAP_HEADER) return at;
      const magicLe = b.readUInt32LE(at);
      this.pcapLe = magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS;
      const magic = this.pcapLe ? magicLe : b.readUInt32BE(at);
      this.pcapNs = magic === PCAP_MAGIC_NS;
      this.pcapSnap = this.pcapLe ? b.readUInt32LE(at + 16) : b.readUInt32BE(at + 16);
      // The link type is the low 16 bits (the upper bits may carry FCS information).
      this.pcapLinkType = (this.pcapLe ? b.readUInt32LE(at + 20) : b.readUInt32BE(at + 20)) & 0xffff;
      const iface = { linkType: this.pcapLinkType, snapLength: this.pcapSnap, unitsPerSecond: this.pcapNs ? 1e9 : 1e6 };
      this.interfaces.push(iface);
      this.onInterface(iface);
      at += PCAP_HEADER;
    }
    const u32 = this.pcapLe ? (o: number) => b.readUInt32LE(o) : (o: number) => b.readUInt32BE(o);
    while (b.length - at >= PCAP_RECORD) {
      const capLen = u32(at + 8);
      if (capLen > MAX_BLOCK_BYTES) throw new CaptureFormatError(`a record of ${capLen} bytes is larger than ${MAX_BLOCK_BYTES}`);
      if (b.length - at < PCAP_RECORD + capLen) break;
      const sec = u32(at);
      const frac = u32(at + 4);
      this.frames++;
      const r = this.record;
      r.interfaceId = 0;
      r.linkType = this.pcapLinkType;
      r.timeUs = sec * 1e6 + (this.pcapNs ? Math.floor(frac / 1000) : frac);
      r.setData(b.subarray(at + PCAP_RECORD, at + PCAP_RECORD + capLen));
      r.originalLength = u32(at + 12);
      this.onFrame(r);
      at += PCAP_RECORD + capLen;
    }
    return at;
  }

  private readPcapng(b: Buffer, at: number): number {
    // Enhanced Packet Blocks are read in place through a plain byte view (no Buffer per frame, no
    // bounds-checked Buffer reads); everything else goes through the block decoder.
    const u = new Uint8Array(b.buffer, b.byteOffset, b.length);
    const le32 = (o: number): number => (u[o] | (u[o + 1] << 8) | (u[o + 2] << 16) | (u[o + 3] << 24)) >>> 0;
    for (;;) {
      if (this.sectionLe && u.length - at >= 32 && le32(at) === BLOCK.EPB) {
        // The common case: an Enhanced Packet Block (options skipped).
        const total = le32(at + 4);
        if (total > MAX_BLOCK_BYTES || total < 32 || total % 4 !== 0)
          throw new CaptureFormatError(`block length ${total} is not a multiple of 4 between 32 and ${MAX_BLOCK_BYTES}`);
        if (u.length - at < total) return at;
        const capLen = le32(at + 20);
        if (28 + capLen > total - 4 || le32(at + total - 4) !== total) throw new CaptureFormatError('malformed enhanced packet block');
        const id = le32(at + 8);
        const iface = this.interfaces[id];
        if (!iface) throw new CaptureFormatError(`packet for interface ${id}, which was not described`);
        const units = le32(at + 12) * 4294967296 + le32(at + 16);
        const r = this.record;
        r.interfaceId = id;
        r.linkType = iface.linkType;
        r.timeUs = iface.unitsPerSecond === 1e6 ? units : Math.floor((units * 1e6) / iface.unitsPerSecond);
        r.setView(u, at + 28, at + 28 + capLen);
        r.originalLength = le32(at + 24);
        this.frames++;
        at += total;
        this.onFrame(r);
        continue;
      }
      let r;
      try {
        r = decodeBlock(b, at, this.sectionLe);
      } catch (err) {
        if (err instanceof PcapngError) throw new CaptureFormatError(err.message);
        throw err;
      }
      if (!r) return at;
      const block = r.block;
      at += r.length;
      switch (block.type) {
        case 'shb':
          this.sectionLe = block.littleEndian;
          this.interfaces.length = 0; // interface ids restart in each section
          break;
        case 'idb': {
          const name = block.options.find((o) => o.code === 2)?.value.toString('utf8');
          const iface: CaptureInterface = {
            linkType: block.linkType,
            snapLength: block.snapLength,
            unitsPerSecond: unitsPerSecond(block),
            ...(name ? { name } : {}),
          };
          this.interfaces.push(iface);
          this.onInterface(iface);
          break;
        }
        case 'epb': {
          const iface = this.interfaces[block.interfaceId];
          if (!iface) throw new CaptureFormatError(`packet for interface ${block.interfaceId}, which was not described`);
          const units = iface.unitsPerSecond;
          const timeUs = units === 1e6 ? Number(block.timestamp) : Math.floor((Number(block.timestamp) * 1e6) / units);
          this.frames++;
          const rec = this.record;
          rec.interfaceId = block.interfaceId;
          rec.linkType = iface.linkType;
          rec.timeUs = timeUs;
          rec.setData(block.data);
          rec.originalLength = block.originalLength;
          this.onFrame(rec);
          break;
        }
        case 'spb': {
          const iface = this.interfaces[0];
          if (!iface) throw new CaptureFormatError('simple packet before any interface');
          this.frames++;
          const rec = this.record;
          rec.interfaceId = 0;
          rec.linkType = iface.linkType;
          rec.timeUs = 0;
          rec.setData(block.data);
          rec.originalLength = block.originalLength;
          this.onFrame(rec);
          break;
        }
        case 'isb': {
          const drop = block.options.find((o) => o.code === 5 && o.value.length === 8);
          if (drop) this.dropped = Number(this.sectionLe ? drop.value.readBigUInt64LE(0) : drop.value.readBigUInt64BE(0));
          break;
        }
        default:
          break;
      }
    }
  }
}

/** Reads a whole capture file (pcap or pcapng) into records. */
export function readCaptureFile(data: Buffer): CapturedRecord[] {
  const out: CapturedRecord[] = [];
  const reader = new CaptureStreamReader((r) =>
    out.push({ interfaceId: r.interfaceId, linkType: r.linkType, timeUs: r.timeUs, data: Buffer.from(r.data), originalLength: r.originalLength }),
  );
  reader.push(data);
  return out;
}
