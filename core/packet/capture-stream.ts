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
  data: Buffer;
  originalLength: number;
}

/** One record object reused for every frame the reader hands out: valid only during the callback. */
function scratchRecord(): CapturedRecord {
  return { interfaceId: 0, linkType: 1, timeUs: 0, data: Buffer.alloc(0), originalLength: 0 };
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

/** Feeds a capture stream chunk by chunk; calls `onFrame` for each complete frame. */
export class CaptureStreamReader {
  private pending: Buffer = Buffer.alloc(0);
  private format: 'unknown' | 'pcap' | 'pcapng' = 'unknown';
  private pcapLe = true;
  private pcapNs = false;
  private pcapLinkType = 1;
  private pcapSnap = 0;
  private sectionLe = true;
  private readonly record = scratchRecord();
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
    let b = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    if (this.format === 'unknown') {
      if (b.length < 4) {
        this.pending = b;
        return;
      }
      const magicLe = b.readUInt32LE(0);
      const magicBe = b.readUInt32BE(0);
      if (magicLe === PCAPNG_SHB) this.format = 'pcapng';
      else if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS || magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) this.format = 'pcap';
      else throw new CaptureFormatError('not a pcap or pcapng stream (unknown magic number)');
    }
    at = this.format === 'pcap' ? this.readPcap(b, at) : this.readPcapng(b, at);
    b = b.subarray(at);
    // Keep only the incomplete tail; copy it when small so one big chunk is not kept alive for it.
    this.pending = b.length === 0 ? Buffer.alloc(0) : b.length < 65536 ? Buffer.from(b) : b;
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
      r.data = b.subarray(at + PCAP_RECORD, at + PCAP_RECORD + capLen);
      r.originalLength = u32(at + 12);
      this.onFrame(r);
      at += PCAP_RECORD + capLen;
    }
    return at;
  }

  private readPcapng(b: Buffer, at: number): number {
    for (;;) {
      if (this.sectionLe && b.length - at >= 32 && b.readUInt32LE(at) === BLOCK.EPB) {
        // The common case, read in place: an Enhanced Packet Block (options skipped).
        const total = b.readUInt32LE(at + 4);
        if (total > MAX_BLOCK_BYTES || total < 32 || total % 4 !== 0)
          throw new CaptureFormatError(`block length ${total} is not a multiple of 4 between 32 and ${MAX_BLOCK_BYTES}`);
        if (b.length - at < total) return at;
        const capLen = b.readUInt32LE(at + 20);
        if (28 + capLen > total - 4 || b.readUInt32LE(at + total - 4) !== total) throw new CaptureFormatError('malformed enhanced packet block');
        const iface = this.interfaces[b.readUInt32LE(at + 8)];
        if (!iface) throw new CaptureFormatError(`packet for interface ${b.readUInt32LE(at + 8)}, which was not described`);
        const units = b.readUInt32LE(at + 12) * 4294967296 + b.readUInt32LE(at + 16);
        const r = this.record;
        r.interfaceId = b.readUInt32LE(at + 8);
        r.linkType = iface.linkType;
        r.timeUs = iface.unitsPerSecond === 1e6 ? units : Math.floor((units * 1e6) / iface.unitsPerSecond);
        r.data = b.subarray(at + 28, at + 28 + capLen);
        r.originalLength = b.readUInt32LE(at + 24);
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
          rec.data = block.data;
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
          rec.data = block.data;
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
  const reader = new CaptureStreamReader((r) => out.push({ ...r, data: Buffer.from(r.data) }));
  reader.push(data);
  return out;
}
