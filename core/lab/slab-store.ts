// Off-heap storage for what the live lab keeps (transcripts, the replay window): the encoded octets of
// each line or item in fixed-size blocks carved from a few large Buffers (slabs), instead of a JS
// object and strings per line. V8's young generation then sees only the short-lived objects of the
// moment (the event, the line being encoded), and the old generation holds a few slabs and per-session
// typed arrays rather than hundreds of thousands of small objects: scavenges stay short (issue 13) and
// old space does not fragment as lines come and go (issue 14).
//
// A block freed by an eviction goes back to the pool and is handed out again: the slabs grow to the
// high-water mark of the lab's byte budget (lab.history.maxBytes, plus at most a partly filled block
// or two per session) and stay there, so RSS stays flat once the lab's history is full.
import type { LineData } from './wire.js';
import { kindDir } from './wire.js';
import { jsonNumber, jsonPayload, jsonString, LINE_KIND_CODE, NOTE_KEYS, type OpenArgs, textArgs, USUAL_NOTE } from './wire-codec.js';

/** Octets per block: a small session costs a block or two. */
export const BLOCK_SIZE = 4096;
/** Blocks per slab (one Buffer of BLOCK_SIZE * BLOCKS_PER_SLAB octets, 256 KiB). */
export const BLOCKS_PER_SLAB = 64;
const SLAB_SHIFT = 6; // log2(BLOCKS_PER_SLAB)

/**
 * A pool of equal blocks (BLOCK_SIZE octets unless told) in slabs of BLOCKS_PER_SLAB blocks; blocks
 * are named by number (slab * BLOCKS_PER_SLAB + index); released blocks are handed out again first.
 */
export class SlabPool {
  constructor(readonly blockSize = BLOCK_SIZE) {}

  private readonly slabs: Buffer[] = [];
  private free = new Int32Array(BLOCKS_PER_SLAB);
  private freeCount = 0;

  /** Blocks handed out and not released. */
  get blocksInUse(): number {
    return this.slabs.length * BLOCKS_PER_SLAB - this.freeCount;
  }

  /** Octets the slabs take (what the pool costs in RSS, used or not). */
  get octets(): number {
    return this.slabs.length * BLOCKS_PER_SLAB * this.blockSize;
  }

  alloc(): number {
    if (this.freeCount === 0) this.grow();
    return this.free[--this.freeCount];
  }

  release(block: number): void {
    this.free[this.freeCount++] = block;
  }

  /** The slab holding a block (its octets start at `offset(block)`). */
  slab(block: number): Buffer {
    return this.slabs[block >>> SLAB_SHIFT];
  }

  offset(block: number): number {
    return (block & (BLOCKS_PER_SLAB - 1)) * this.blockSize;
  }

  private grow(): void {
    const n = this.slabs.length;
    // allocUnsafeSlow: a Buffer of its own, outside Node's shared 8 KiB pool.
    this.slabs.push(Buffer.allocUnsafeSlow(BLOCKS_PER_SLAB * this.blockSize));
    if (this.free.length < (n + 1) * BLOCKS_PER_SLAB) {
      const f = new Int32Array((n + 1) * BLOCKS_PER_SLAB * 2);
      f.set(this.free.subarray(0, this.freeCount));
      this.free = f;
    }
    // Lowest blocks handed out first.
    for (let i = BLOCKS_PER_SLAB - 1; i >= 0; i--) this.free[this.freeCount++] = n * BLOCKS_PER_SLAB + i;
  }
}

/**
 * An append-only run of octets in pool blocks, addressed by logical offset (0 at the first octet ever
 * appended, growing); the oldest octets can be let go (dropTo), which returns whole blocks to the pool.
 * An entry longer than a block spans several.
 */
export class BlockLog {
  /**
   * Blocks in order, as a ring (capacity a power of two). A plain array of small integers: a
   * session's log holds a block or two, and a typed array for that cost three objects (~180 octets)
   * where this is two (~40), on every short-lived session (issue 14).
   */
  private blocks: number[] = [0, 0, 0, 0];
  private first = 0;
  private count = 0;
  /** Logical offset of the first octet of the first block. */
  private base = 0;
  /** Logical offset of the next octet appended. */
  end = 0;

  constructor(private readonly pool: SlabPool) {}

  /** Blocks held. */
  get blockCount(): number {
    return this.count;
  }

  /** Appends src[from, to); returns the logical offset it starts at. */
  append(src: Uint8Array, from: number, to: number): number {
    const at = this.end;
    let pos = from;
    while (pos < to) {
      const used = this.end - this.base - (this.count - 1) * BLOCK_SIZE;
      if (this.count === 0 || used === BLOCK_SIZE) {
        this.push(this.pool.alloc());
        continue;
      }
      const block = this.blocks[(this.first + this.count - 1) & (this.blocks.length - 1)];
      const n = Math.min(BLOCK_SIZE - used, to - pos);
      const slab = this.pool.slab(block);
      const o = this.pool.offset(block) + used;
      if (n < 64) for (let i = 0; i < n; i++) slab[o + i] = src[pos + i];
      else slab.set(src.subarray(pos, pos + n), o);
      pos += n;
      this.end += n;
    }
    return at;
  }

  /** Copies `length` octets at logical `offset` to dst at dstOffset. */
  copy(offset: number, length: number, dst: Uint8Array, dstOffset: number): void {
    let rel = offset - this.base;
    let left = length;
    let out = dstOffset;
    while (left > 0) {
      const i = Math.floor(rel / BLOCK_SIZE);
      const within = rel - i * BLOCK_SIZE;
      const block = this.blocks[(this.first + i) & (this.blocks.length - 1)];
      const n = Math.min(BLOCK_SIZE - within, left);
      const o = this.pool.offset(block) + within;
      const slab = this.pool.slab(block);
      if (n < 64) for (let k = 0; k < n; k++) dst[out + k] = slab[o + k];
      else dst.set(slab.subarray(o, o + n), out);
      out += n;
      left -= n;
      rel += n;
    }
  }

  /** The octets at `offset` as text (UTF-8). */
  text(offset: number, length: number): string {
    const rel = offset - this.base;
    const i = Math.floor(rel / BLOCK_SIZE);
    const within = rel - i * BLOCK_SIZE;
    if (within + length <= BLOCK_SIZE) {
      const block = this.blocks[(this.first + i) & (this.blocks.length - 1)];
      const o = this.pool.offset(block) + within;
      return this.pool.slab(block).toString('utf8', o, o + length);
    }
    const b = Buffer.allocUnsafe(length);
    this.copy(offset, length, b, 0);
    return b.toString('utf8');
  }

  /** Lets go of the octets before logical `offset`: the blocks wholly before it go back to the pool. */
  dropTo(offset: number): void {
    while (this.count > 0 && offset - this.base >= BLOCK_SIZE) {
      this.pool.release(this.blocks[this.first]);
      this.first = (this.first + 1) & (this.blocks.length - 1);
      this.count--;
      this.base += BLOCK_SIZE;
    }
    if (this.count === 0) {
      // Nothing held: the next append starts a fresh block at the current end.
      this.base = this.end;
    }
  }

  /** Returns every block to the pool (the log is empty afterwards, its offsets carry on). */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.pool.release(this.blocks[(this.first + i) & (this.blocks.length - 1)]);
    this.first = 0;
    this.count = 0;
    this.base = this.end;
  }

  private push(block: number): void {
    if (this.count === this.blocks.length) {
      // Built by push: the array stays packed (new Array(n) would make it holey for good).
      const b: number[] = [];
      for (let i = 0; i < this.count; i++) b.push(this.blocks[(this.first + i) & (this.blocks.length - 1)]);
      for (let i = this.count; i < 2 * this.count; i++) b.push(0);
      this.blocks = b;
      this.first = 0;
    }
    if (this.count === 0) this.base = this.end;
    this.blocks[(this.first + this.count) & (this.blocks.length - 1)] = block;
    this.count++;
  }
}

/**
 * Text as UTF-8 in a scratch buffer shared by every encoding of the moment (the caller copies the
 * octets out before the next call). Returns the octet count; the octets are at `scratch()[0, n)`.
 */
let scratchBuf = Buffer.allocUnsafeSlow(64 * 1024);
/** A scratch buffer larger than this is let go after use (a rare huge item does not stay in RSS). */
const SCRATCH_KEEP = 256 * 1024;

export function encodeUtf8(text: string): number {
  // A UTF-16 unit is at most 3 octets of UTF-8.
  const need = text.length * 3;
  if (need > scratchBuf.length) scratchBuf = Buffer.allocUnsafeSlow(need);
  return scratchBuf.write(text, 0, 'utf8');
}

export function scratch(): Buffer {
  return scratchBuf;
}

/** Shrinks the scratch buffer back after a huge item. */
export function settleScratch(): void {
  if (scratchBuf.length > SCRATCH_KEEP) scratchBuf = Buffer.allocUnsafeSlow(64 * 1024);
}

// ---- a line's body, written as octets ----
//
// A line's entry without its position (event number, time, session): `"kind","text"` or
// `"kind","text",{extra}`, JSON text to follow `[0,dseq,dt,sid,` in a batch: the same octets as
// JSON.stringify of the extra object with its keys in LineExtra's order (wire-codec.ts), written as
// UTF-8 straight into the scratch buffer, with no string built for the line.
// test/lab/wire-codec.property.test.ts holds it to JSON.stringify of that object.

let pos = 0;

/** Room for `n` more octets at `pos` in the scratch buffer (its octets so far kept). */
function room(n: number): void {
  if (pos + n <= scratchBuf.length) return;
  const b = Buffer.allocUnsafeSlow(Math.max(2 * scratchBuf.length, pos + n));
  scratchBuf.copy(b, 0, 0, pos);
  scratchBuf = b;
}

/** Text as UTF-8 (for pieces already in JSON form). */
function putText(s: string): void {
  room(3 * s.length);
  pos += scratchBuf.write(s, pos, 'utf8');
}

/** Text known to be ASCII (the encoder's own keys and punctuation). */
function putAscii(s: string): void {
  room(s.length);
  const b = scratchBuf;
  for (let i = 0; i < s.length; i++) b[pos + i] = s.charCodeAt(i);
  pos += s.length;
}

/** Strings up to this long are written a character at a time; longer ones by Buffer.write. */
const PUT_LOOP_MAX = 128;

/** A string as jsonString writes it. */
function putString(s: string): void {
  if (typeof s !== 'string' || s.length > PUT_LOOP_MAX) return putText(jsonString(s));
  room(s.length + 2);
  const b = scratchBuf;
  const at = pos;
  b[at] = 0x22;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) {
      // An escape or a character of more than one octet: as jsonString writes it.
      pos = at;
      return putText(jsonString(s));
    }
    b[at + 1 + i] = c;
  }
  b[at + 1 + s.length] = 0x22;
  pos = at + s.length + 2;
}

/** A number as jsonNumber writes it. */
function putNumber(n: number): void {
  if (!Number.isSafeInteger(n)) return putText(jsonNumber(n));
  room(17);
  const b = scratchBuf;
  if (n < 0) {
    b[pos++] = 0x2d;
    n = -n;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = (x - (x % 10)) / 10) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    const d = n % 10;
    b[pos + i] = 0x30 + d;
    n = (n - d) / 10;
  }
  pos += digits;
}

/** Whether an extra field was written (the first one opens the object). */
let extra = false;

/** `,` and the key (`"b":`, ASCII), or `,{` and the key for the first extra field. */
function putKey(key: string): void {
  room(2);
  scratchBuf[pos++] = 0x2c; // ,
  if (!extra) scratchBuf[pos++] = 0x7b; // {
  extra = true;
  putAscii(key);
}

/**
 * Writes a line's body (see above) as UTF-8 into the scratch buffer; returns its octet count (the
 * octets are at `scratch()[0, n)`). `args`, for an open or close line, is what textArgsJson of its
 * text gives, when the caller knows it without parsing the text: as JSON (a repeated close line's), or
 * an open line's values when openArgsPlain holds for them.
 */
export function encodeLine(l: LineData, args?: string | OpenArgs): number {
  pos = 0;
  extra = false;
  const kind = l.kind;
  const code = LINE_KIND_CODE[kind] ?? 'n';
  putAscii('"');
  if (typeof code === 'string') putAscii(code);
  else putText(`${code as unknown as string}`);
  putAscii('",');
  if (typeof args === 'string') putText(args);
  else if (args !== undefined) {
    putAscii('[');
    putString(args.peer);
    putAscii(',');
    putNumber(args.peerPort);
    putAscii(',');
    putString(args.local);
    putAscii(',');
    putNumber(args.localPort);
    putAscii(',');
    putString(args.listener);
    putAscii(args.tls ? ',1]' : ',0]');
  } else {
    const args = kind === 'open' || kind === 'close' ? textArgs(kind, l.text) : undefined;
    if (args !== undefined) putText(JSON.stringify(args));
    else putString(l.text);
  }
  if (l.bytes !== undefined) {
    putKey('"b":');
    putNumber(l.bytes);
  }
  if (l.cut !== undefined) {
    putKey('"u":');
    putNumber(l.cut);
  }
  if (l.payload !== undefined) {
    putKey('"p":');
    putText(jsonPayload(l.payload));
  }
  if (l.payloadBytes !== undefined) {
    putKey('"pb":');
    putNumber(l.payloadBytes);
  }
  if (l.payloadLater) {
    putKey('"pl":');
    putAscii('1');
  }
  if (l.encrypted) {
    putKey('"e":');
    putAscii('1');
  }
  const usual = USUAL_NOTE[kind];
  if (l.note === undefined) {
    if (usual !== undefined) {
      putKey('"n":');
      putAscii('""');
    }
  } else if (l.note !== usual) {
    const key = NOTE_KEYS.get(l.note);
    if (key !== undefined) {
      putKey('"n":');
      putText(JSON.stringify(key));
    } else {
      putKey('"nt":');
      putText(JSON.stringify(l.note));
    }
  }
  if (l.skipped !== undefined) {
    putKey('"k":');
    putNumber(l.skipped);
  }
  const q = l.request;
  if (q) {
    putKey('"q":');
    putAscii('[');
    putString(q.method);
    putAscii(',');
    putString(q.path);
    putAscii(',');
    putNumber(q.ms);
    putAscii(']');
  }
  if (l.handshake) {
    putKey('"h":');
    putAscii('1');
  }
  if (l.dir !== undefined && l.dir !== kindDir(kind)) {
    putKey('"d":');
    putText(JSON.stringify(l.dir));
  }
  if (extra) putAscii('}');
  return pos;
}
